package proxy

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/changes"
)

// serveNotify handles a webhook from Graph: it relays it to the bot (same
// path and query under cfg.Bot, headers and body as received), records it
// with the bot's answer, its trigger and the non-secret parts of its bearer
// token, and only then relays the bot's answer to Graph. A bot that cannot
// be reached is recorded as such and Graph is answered 502.
func (r *Recorder) serveNotify(w http.ResponseWriter, req *http.Request) {
	arrived := time.Now()
	after := r.calls.mark()
	defer r.calls.release(after)
	if !r.beginExchange() {
		http.Error(w, "graphvcr: shutting down", http.StatusServiceUnavailable)
		return
	}
	defer r.inflight.Done()

	x := &rawExchange{kind: cassette.KindNotification, method: req.Method, url: joinURL(r.bot, req.URL),
		after: after, bearer: req.Header.Get("Authorization")}
	answered := false
	if token, ok := changes.ValidationToken(req.Method, req.URL.String()); ok {
		// Graph answers the POST /subscriptions this request belongs to
		// only once it has the app's echo, and this request's trigger is
		// that POST: the echo is relayed before the commit, which waits
		// for the trigger's (DESIGN: never held behind its cause).
		x.validation = true
		x.early = func(a relayed) {
			answered = true
			if a.text == "" {
				if err := changes.CheckEcho(token, a.status, a.header.Get("Content-Type"), a.body); err != nil {
					r.log.Warn("the app's answer to Graph's validation request is not the echo Graph wants; Graph will refuse the subscription",
						"path", req.URL.Path, "err", err)
				}
			}
			// Graph's client must not queue its next request (the
			// lifecycle URL's validation) behind this connection,
			// whose handler still waits for the commit.
			w.Header().Set("Connection", "close")
			r.writeNotifyAnswer(w, req, a)
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
		}
	}
	a := r.relay(req, &toBot, x, arrived)
	if answered {
		if a.text != "" && a.status == http.StatusInternalServerError {
			r.log.Warn("validation request relayed but not recorded", "err", a.text)
		}
		return
	}
	r.writeNotifyAnswer(w, req, a)
}

// writeNotifyAnswer writes what relay handed back as the answer to Graph:
// the bot's answer, or graphvcr's own text.
func (r *Recorder) writeNotifyAnswer(w http.ResponseWriter, req *http.Request, a relayed) {
	if a.text != "" {
		http.Error(w, a.text, a.status)
		return
	}
	h := w.Header()
	for k, vs := range a.header {
		h[k] = vs
	}
	if req.Method != http.MethodHead {
		h.Set("Content-Length", strconv.Itoa(len(a.body)))
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// toBot is the direction of Graph's notifications: sent on to the bot,
// ending when Graph stops waiting, each recorded with its trigger.
var toBot = direction{
	send: func(r *Recorder, out *http.Request) (*http.Response, error) {
		return r.botClient.Do(out)
	},
	received: func(r *Recorder, x *rawExchange) {
		if x.validation {
			x.calls = []string{subscriptionsKey}
			return
		}
		_, plain, _ := r.storable(x.reqHeader, x.reqBody)
		x.calls = notificationCallIDs(plain)
	},
	committing: func(r *Recorder, x *rawExchange, ev *cassette.Event) {
		ev.Trigger = r.calls.trigger(r.abortCtx, x.after, x.calls)
	},
	// A notification's calls count as seen once it is recorded, and once
	// delivering it failed: Graph is told either way.
	settled: func(r *Recorder, _ *http.Request, x *rawExchange, _ *cassette.Event, committed bool, _ []byte) {
		if (committed || x.failure != "") && !x.validation {
			r.calls.saw(x.calls)
		}
	},
	body:       "notification",
	peer:       "bot",
	sendPrefix: "bot: ",
	answer:     "bot answer",
	unrecorded: "could not record the notification",
	failed:     "notification not delivered to the bot",
}

// bearer keeps the non-secret parts of a notification's Authorization: nil
// without one, Malformed when it is not a parsable bearer JWT. The token
// itself never leaves this function.
func (r *Recorder) bearer(authorization string) *cassette.Bearer {
	if authorization == "" {
		return nil
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(authorization), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return &cassette.Bearer{Malformed: true}
	}
	header, claims, lifetime, ok := r.red.Bearer(strings.TrimSpace(token))
	if !ok {
		return &cassette.Bearer{Malformed: true}
	}
	return &cassette.Bearer{Header: header, Claims: claims, Lifetime: lifetime}
}
