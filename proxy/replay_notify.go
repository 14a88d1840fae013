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
	"github.com/graphvcr/graphvcr/proxy/internal/match"
)

// Delivery retries: a bot that is not (yet) listening gets a few tries over
// about a second and a half, then the notification is reported undelivered.
const (
	deliveryAttempts = 5
	deliveryBackoff  = 100 * time.Millisecond
	deliveryTimeout  = 30 * time.Second // one attempt, bot's answer included
)

// deliver posts one notification to the bot, with the session's bindings
// applied, retrying briefly while the bot can not be reached.
func (r *Replayer) deliver(ctx context.Context, n *notification) delivery {
	return r.prepareNotification(ctx, n)(ctx)
}

// prepareNotification does the slow part of delivering n (reading its event,
// applying the bindings, signing its token) ahead of its due time, so that
// only the send happens at it. The returned sender prepares again if the
// bindings or the bot's token request changed in between: what goes out is
// always what the session knows at the send.
func (r *Replayer) prepareNotification(_ context.Context, n *notification) sender {
	gen, tok := r.notificationState()
	req, err := r.notificationRequest(n)
	return func(ctx context.Context) delivery {
		if g, t := r.notificationState(); g != gen || t != tok {
			req, err = r.notificationRequest(n)
		}
		if err != nil {
			r.log.Error("prepare notification", "seq", n.seq, "err", err)
			return delivery{err: err}
		}
		return r.send(ctx, n, req)
	}
}

// notificationState is what a prepared notification depends on: the
// bindings' generation and the bot's token request (aud, tid).
func (r *Replayer) notificationState() (uint64, TokenRequest) {
	return r.m.Generation(), r.tokens.request(r.cfg.AppID)
}

// send posts a prepared notification, retrying briefly while the bot can not
// be reached.
func (r *Replayer) send(ctx context.Context, n *notification, req *preparedRequest) delivery {
	var d delivery
	backoff := deliveryBackoff
	for d.attempts = 1; ; d.attempts++ {
		start := time.Now()
		if d.attempts == 1 {
			d.sent = start
		}
		actx, cancel := context.WithTimeout(ctx, deliveryTimeout)
		req.body.reset()
		resp, err := r.client.Do(req.req.Clone(actx))
		if err == nil {
			discard(resp.Body)
			cancel()
			d.status, d.latency = resp.StatusCode, time.Since(start)
			return d
		}
		cancel()
		d.err = err
		if d.attempts >= deliveryAttempts || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			d.err = errors.Join(d.err, ctx.Err())
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
		backoff *= 2
	}
	r.log.Warn("notification not delivered", "seq", n.seq, "path", n.path, "attempts", d.attempts, "err", d.err)
	d.err = fmt.Errorf("deliver notification %d: %w", n.seq, d.err)
	return d
}

// preparedRequest is a notification request that can be sent again.
type preparedRequest struct {
	req  *http.Request
	body *replayableBody
}

// replayableBody lets each attempt read the body from the start.
type replayableBody struct {
	b []byte
	r *bytes.Reader
}

func (rb *replayableBody) reset()                     { rb.r = bytes.NewReader(rb.b) }
func (rb *replayableBody) Read(p []byte) (int, error) { return rb.r.Read(p) }
func (rb *replayableBody) Close() error               { return nil }

// notificationRequest builds the request of a notification from its
// recorded event: the bot's base URL + recorded path, body and headers with
// bindings applied, and Authorization from Sign when set.
func (r *Replayer) notificationRequest(n *notification) (*preparedRequest, error) {
	ev, err := r.cfg.Cassette.Event(n.seq)
	if err != nil {
		return nil, fmt.Errorf("read notification %d: %w", n.seq, err)
	}
	var body []byte
	var header http.Header
	var path string
	r.m.Render(r.rewriteURLs, func(rn match.Renderer) {
		body = rn.Body(ev.Request.Body)
		header = rn.Header(ev.Request.Header)
		path = string(rn.Body([]byte(n.path)))
	})
	if body, err = r.liveChange(body, r.tokens.request(r.cfg.AppID)); err != nil {
		return nil, fmt.Errorf("notification %d: %w", n.seq, err)
	}
	for k := range header {
		if notificationDropHeaders[http.CanonicalHeaderKey(k)] {
			delete(header, k)
		}
	}
	method := ev.Request.Method
	if method == "" {
		method = http.MethodPost
	}
	rb := &replayableBody{b: body}
	rb.reset()
	req, err := http.NewRequest(method, strings.TrimRight(r.cfg.Bot, "/")+path, rb)
	if err != nil {
		return nil, fmt.Errorf("notification %d request: %w", n.seq, err)
	}
	req.Header = header
	req.ContentLength = int64(len(body))
	req.GetBody = nil
	sign := r.cfg.Sign
	if sign == nil && r.cfg.Signer != nil {
		sign = r.cfg.Signer.Sign
	}
	if sign != nil {
		auth, err := sign(r.boundBearer(ev), r.tokens.request(r.cfg.AppID))
		if err != nil {
			return nil, fmt.Errorf("sign notification %d: %w", n.seq, err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
	}
	return &preparedRequest{req: req, body: rb}, nil
}

// boundBearer returns ev, or a copy of it whose Bearer claims have the
// pseudonyms bound so far replaced by their live values (tid, oid, ...).
// Only ids are rewritten, never URL bases: an iss of
// https://graph.microsoft.com stays that even when it was the upstream.
func (r *Replayer) boundBearer(ev *cassette.Event) *cassette.Event {
	if ev.Bearer == nil || len(ev.Bearer.Claims) == 0 {
		return ev
	}
	// The claims go through the header rewriter, which replaces a whole
	// bound value or the ids inside one, like any recorded header.
	h := make(http.Header, len(ev.Bearer.Claims))
	for k, v := range ev.Bearer.Claims {
		h[k] = []string{v}
	}
	r.m.Render(nil, func(ids match.Renderer) { h = ids.Header(h) })
	b := *ev.Bearer
	b.Claims = make(map[string]string, len(h))
	for k, vs := range h {
		b.Claims[k] = vs[0]
	}
	cp := *ev
	cp.Bearer = &b
	return &cp
}
