package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Delivery retries: a bot that is not (yet) listening gets a few tries over
// about a second and a half, then the notification is reported undelivered.
const (
	deliveryAttempts = 5
	deliveryBackoff  = 100 * time.Millisecond
	deliveryTimeout  = 30 * time.Second // one attempt, bot's answer included
)

// notifyDropHeaders are recorded notification headers never sent: the
// recorded bearer token (a removed secret), lengths and encodings of the
// stored (decoded) body, and hop-by-hop headers.
var notifyDropHeaders = map[string]bool{
	"Authorization":     true,
	"Content-Length":    true,
	"Content-Encoding":  true,
	"Transfer-Encoding": true,
	"Connection":        true,
	"Host":              true,
	"Keep-Alive":        true,
	"Proxy-Connection":  true,
	"Upgrade":           true,
	"Cookie":            true,
}

// deliver posts one notification to the bot, with the session's bindings
// applied, retrying briefly while the bot can not be reached.
func (r *Replayer) deliver(ctx context.Context, n *notification) delivery {
	req, err := r.notificationRequest(n)
	if err != nil {
		r.log.Error("prepare notification", "seq", n.seq, "err", err)
		return delivery{err: err}
	}
	var d delivery
	backoff := deliveryBackoff
	for d.attempts = 1; ; d.attempts++ {
		start := time.Now()
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
	r.m.mu.RLock()
	body := r.rw.body(&r.m.b, ev.Request.Body)
	header := r.rw.header(&r.m.b, ev.Request.Header)
	path := string(r.rw.body(&r.m.b, []byte(n.path)))
	r.m.mu.RUnlock()
	for k := range header {
		if notifyDropHeaders[http.CanonicalHeaderKey(k)] {
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
	if r.cfg.Sign != nil {
		auth, err := r.cfg.Sign(ev, r.tokens.request(r.cfg.AppID))
		if err != nil {
			return nil, fmt.Errorf("sign notification %d: %w", n.seq, err)
		}
		req.Header.Set("Authorization", auth)
	}
	return &preparedRequest{req: req, body: rb}, nil
}
