package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// serveNotify handles a webhook from Graph: it relays it to the bot (same
// path and query under cfg.Bot, headers and body as received), records it
// with the bot's answer, its trigger and the non-secret parts of its bearer
// token, and only then relays the bot's answer to Graph. A bot that cannot
// be reached is recorded as such and Graph is answered 502.
func (r *Recorder) serveNotify(w http.ResponseWriter, req *http.Request) {
	arrived := time.Now()
	mark := r.calls.mark()
	defer r.calls.release(mark)
	if !r.beginExchange() {
		http.Error(w, "graphvcr: shutting down", http.StatusServiceUnavailable)
		return
	}
	defer r.inflight.Done()

	target := joinURL(r.bot, req.URL)
	x := &rawExchange{method: req.Method, url: target}
	x.reqHeader = req.Header.Clone()
	removeHopHeaders(x.reqHeader)
	x.reqHeader.Del("Expect")
	ev := &cassette.Event{Kind: cassette.KindNotification, Offset: arrived.Sub(r.start)}
	x.bearer = req.Header.Get("Authorization")

	body, err := readBounded(req.Body, r.cfg.MaxBody)
	if err != nil {
		status, failure := http.StatusBadGateway, "read notification body: "+classify(err)
		if errors.Is(err, errTooLarge) {
			status, failure = http.StatusRequestEntityTooLarge,
				fmt.Sprintf("notification body exceeds the %d-byte limit; raise it with --max-body", r.cfg.MaxBody)
		}
		r.failNotify(w, ev, x, mark, nil, 0, status, failure)
		return
	}
	x.reqBody = body
	_, plain, _ := r.storable(x.reqHeader, body)
	calls := notificationCallIDs(plain)

	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	stop := context.AfterFunc(r.abortCtx, cancel)
	defer stop()
	out, err := http.NewRequestWithContext(ctx, req.Method, target, bytes.NewReader(body))
	if err != nil {
		r.failNotify(w, ev, x, mark, calls, 0, http.StatusBadGateway, "build bot request: "+err.Error())
		return
	}
	// Shared, not copied: neither the Client (it copies a request before
	// adding anything) nor its RoundTripper changes the request, and
	// x.reqHeader is only read (storable and the Redactor copy it).
	out.Header = x.reqHeader
	out.ContentLength = int64(len(body))
	if len(body) == 0 {
		out.Body = http.NoBody
	}
	sent := time.Now()
	resp, err := r.botClient.Do(out)
	if err != nil {
		r.failNotify(w, ev, x, mark, calls, time.Since(sent), http.StatusBadGateway, "bot: "+classify(err))
		return
	}
	answer, err := readBounded(resp.Body, r.cfg.MaxBody)
	resp.Body.Close()
	latency := time.Since(sent)
	if err != nil {
		r.failNotify(w, ev, x, mark, calls, latency, http.StatusBadGateway, "read bot answer: "+classify(err))
		return
	}
	x.status = resp.StatusCode
	removeHopHeaders(resp.Header) // resp is ours: no copy for what is stored
	x.respHeader = resp.Header
	x.respBody = answer
	ev.Latency = latency
	ev.Trigger = r.calls.trigger(r.abortCtx, mark, calls)
	r.redactInto(ev, x)
	if err := r.commit(ev, x.learnGen); err != nil {
		// Durable first: an unrecorded notification is not acknowledged, so
		// Graph retries it (and the bot, idempotent on notifications, copes).
		http.Error(w, "graphvcr: could not record the notification: "+err.Error(), http.StatusInternalServerError)
		return
	}
	r.calls.saw(calls)

	h := w.Header()
	for k, vs := range x.respHeader {
		h[k] = vs
	}
	if req.Method != http.MethodHead {
		h.Set("Content-Length", fmt.Sprint(len(answer)))
	}
	w.WriteHeader(x.status)
	_, _ = w.Write(answer)
}

// failNotify records a notification the bot did not answer and answers Graph.
func (r *Recorder) failNotify(w http.ResponseWriter, ev *cassette.Event, x *rawExchange, mark uint64,
	calls []string, latency time.Duration, status int, failure string) {
	msg := "graphvcr: " + failure
	x.status = status
	x.respHeader = http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	x.respBody = []byte(msg)
	x.failure = failure
	ev.Latency = latency
	ev.Trigger = r.calls.trigger(r.abortCtx, mark, calls)
	r.redactInto(ev, x)
	if err := r.commit(ev, x.learnGen); err != nil {
		msg += "; and it could not be recorded: " + err.Error()
	}
	r.calls.saw(calls)
	r.log.Warn("notification not delivered to the bot", "seq", ev.Seq, "status", status, "failure", ev.Error)
	http.Error(w, r.redactedText(msg), status)
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
