package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// hopByHop are hop-by-hop headers (RFC 9110 §7.6.1): never forwarded, never stored.
var hopByHop = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopHeaders deletes the hop-by-hop headers of h, including those
// named by its Connection header.
func removeHopHeaders(h http.Header) {
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range hopByHop {
		h.Del(k)
	}
}

// rawExchange is one exchange as it crossed graphvcr, before redaction.
type rawExchange struct {
	learnGen   uint64 // the Redactor's Learned() before redacting: see sweep
	method     string
	url        string // absolute, as sent to the upstream (or the bot)
	reqHeader  http.Header
	reqBody    []byte // as received (possibly content-encoded)
	status     int
	respHeader http.Header
	respBody   []byte // as received (possibly content-encoded)
	failure    string // transport failure; status/respHeader/respBody are then what the client got
	// gaveUp is when the bot gave up on a Graph or token exchange, from the
	// request's arrival; 0 while it waits (see watchAbandon).
	gaveUp atomic.Int64
	// bearer is a notification's Authorization header, kept only as the
	// non-secret parts of its JWT; unused for other kinds.
	bearer string
	// mark is a Graph exchange's place in the call tracker, finished once
	// the exchange is committed; nil for other kinds.
	mark *relayMark
}

// exchange sends req upstream along rt, records the exchange durably and
// returns the response goproxy relays to the bot. It never returns nil: a
// failure becomes a recorded error and a 502 (413 for a request over MaxBody).
func (r *Recorder) exchange(req *http.Request, rt route) *http.Response {
	arrived := time.Now()
	if !r.beginExchange() {
		return textResponse(req, http.StatusServiceUnavailable, "graphvcr: shutting down")
	}
	defer r.inflight.Done()

	target := joinURL(rt.base, req.URL)
	x := &rawExchange{method: req.Method, url: target}
	var pathCalls []string // the call in the URL path, found once for begin and finish
	if rt.kind == cassette.KindGraph {
		// Noted on arrival: a notification arriving from now on may be
		// about this request (see callTracker).
		pathCalls = callIDsOf(req.Method, req.URL.Path, 0, nil)
		x.mark = r.calls.begin(req.Method, pathCalls)
		defer r.calls.finish(x.mark, 0, nil) // for paths that commit nothing
	}
	x.reqHeader = req.Header.Clone()
	removeHopHeaders(x.reqHeader)
	x.reqHeader.Del("Expect") // the body is already here
	filterAcceptEncoding(x.reqHeader)

	body, err := readBoundedSize(req.Body, r.cfg.MaxBody, req.ContentLength)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return r.fail(req, rt, arrived, 0, x, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("request body exceeds the %d-byte limit; raise it with --max-body", r.cfg.MaxBody))
		}
		return r.fail(req, rt, arrived, 0, x, http.StatusBadGateway, "read request body: "+classify(err))
	}
	x.reqBody = body

	// The upstream request does not end with the bot's: Graph may act on
	// it (create the call, send the invite) and notify about it whether or
	// not the bot still waits, so its answer is recorded either way.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(req.Context()))
	defer cancel(nil)
	stop := context.AfterFunc(r.abortCtx, func() { cancel(errRecorderClosed) })
	defer stop()
	defer r.watchAbandon(req.Context(), arrived, x, cancel)()
	out, err := http.NewRequestWithContext(ctx, req.Method, target, bytes.NewReader(body))
	if err != nil {
		return r.fail(req, rt, arrived, 0, x, http.StatusBadGateway, "build upstream request: "+err.Error())
	}
	// Shared, not copied: a RoundTripper must not change the request, and
	// x.reqHeader is only read (storable and the Redactor copy it).
	out.Header = x.reqHeader
	out.ContentLength = int64(len(body))
	if len(body) == 0 {
		out.Body = http.NoBody
	}

	sent := time.Now()
	resp, err := r.transport.RoundTrip(out)
	if err != nil {
		return r.fail(req, rt, arrived, time.Since(sent), x, http.StatusBadGateway, classifyUpstream(ctx, err))
	}
	respBody, err := readBoundedSize(resp.Body, r.cfg.MaxBody, resp.ContentLength)
	resp.Body.Close()
	latency := time.Since(sent)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return r.fail(req, rt, arrived, latency, x, http.StatusBadGateway,
				fmt.Sprintf("response body exceeds the %d-byte limit; raise it with --max-body", r.cfg.MaxBody))
		}
		return r.fail(req, rt, arrived, latency, x, http.StatusBadGateway, "read response body: "+classifyUpstream(ctx, err))
	}
	x.status = resp.StatusCode
	removeHopHeaders(resp.Header) // resp is ours: no copy for what is stored
	x.respHeader = resp.Header
	x.respBody = respBody

	ev := &cassette.Event{Kind: rt.kind, Offset: arrived.Sub(r.start), Latency: latency}
	plainResp, respDecoded := r.redactInto(ev, x)
	if err := r.commit(ev, x.learnGen); err != nil {
		return textResponse(req, http.StatusInternalServerError,
			"graphvcr: could not record the exchange, so it was not relayed: "+err.Error())
	}

	if ev.Abandoned > 0 {
		r.log.Info("the bot gave up before the answer; the answer is recorded, not relayed",
			"seq", ev.Seq, "kind", rt.kind.String(), "method", req.Method, "status", x.status,
			"abandoned", ev.Abandoned, "latency", latency)
	}
	ids := pathCalls // a call in the path wins over the response, as in callIDsOf
	if ids == nil {
		ids = callIDsOf(req.Method, req.URL.Path, x.status, plainResp)
	}
	r.calls.finish(x.mark, ev.Seq, ids)
	r.calls.saw(ids)

	// What is relayed is what was received, except that absolute upstream
	// URLs point back at the base the bot used.
	// ev holds redacted copies and the exchange is committed, so the
	// received header is no longer needed as received: rewrite it in place.
	relayHeader := resp.Header
	rw := r.relayRewriter(rt)
	rw.Header(relayHeader)
	relay := respBody
	if respDecoded {
		if rewritten, changed := rw.Bytes(plainResp); changed {
			if enc, err := encodeBody(relayHeader.Get("Content-Encoding"), rewritten); err == nil {
				relay = enc
			} else {
				r.log.Warn("re-encode rewritten body; relaying it unrewritten", "seq", ev.Seq, "err", err)
			}
		}
	}
	return relayResponse(req, x.status, relayHeader, relay)
}

// Causes of an upstream request's end other than its answer, recorded as
// the exchange's Error.
var (
	errRecorderClosed = errors.New("graphvcr closed before the upstream answered")
	errAbandonedLimit = errors.New("no answer within the upstream timeout after the bot gave up")
)

// abandonedUpstreamTimeout bounds how long an upstream request the bot has
// abandoned goes on: the default transport's header timeout, which a custom
// Transport (RecordConfig.Transport) may not have.
const abandonedUpstreamTimeout = upstreamHeaderTimeout

// watchAbandon notes in x when the bot gives up on its request (botCtx
// done: its timeout fired or it closed the connection), measured from
// arrived. From then on nothing waits for the upstream request, so it is
// bounded by abandonedUpstreamTimeout and stopped when Close begins: cancel
// ends it with the reason. The returned func stops watching; call it once
// the exchange is over.
func (r *Recorder) watchAbandon(botCtx context.Context, arrived time.Time, x *rawExchange,
	cancel context.CancelCauseFunc) (stop func()) {
	var mu sync.Mutex // guards stopped and bounds
	stopped := false
	var bounds []func() bool
	stopWatch := context.AfterFunc(botCtx, func() {
		x.gaveUp.Store(int64(max(time.Since(arrived), 1))) // zero means "still waiting"
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		t := time.AfterFunc(abandonedUpstreamTimeout, func() { cancel(errAbandonedLimit) })
		c := context.AfterFunc(r.closingCtx, func() { cancel(errRecorderClosed) })
		bounds = append(bounds, t.Stop, c)
	})
	return func() {
		stopWatch()
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		for _, b := range bounds {
			b()
		}
	}
}

// classifyUpstream is classify for an upstream request's error, naming the
// reason when graphvcr itself ended the request (ctx's cause).
func classifyUpstream(ctx context.Context, err error) string {
	if cause := context.Cause(ctx); cause != nil && cause != context.Canceled {
		return "canceled: " + cause.Error()
	}
	return classify(err)
}

// fail records an exchange that got no (usable) answer and returns the
// error response the bot is given: status and a text naming the failure.
func (r *Recorder) fail(req *http.Request, rt route, arrived time.Time, latency time.Duration,
	x *rawExchange, status int, failure string) *http.Response {
	msg := "graphvcr: " + failure
	x.status = status
	x.respHeader = http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	x.respBody = []byte(msg)
	x.failure = failure
	ev := &cassette.Event{Kind: rt.kind, Offset: arrived.Sub(r.start), Latency: latency}
	r.redactInto(ev, x)
	if err := r.commit(ev, x.learnGen); err != nil {
		msg += "; and it could not be recorded: " + err.Error()
	} else {
		r.calls.finish(x.mark, ev.Seq, nil)
	}
	r.log.Warn("upstream exchange failed", "seq", ev.Seq, "kind", rt.kind.String(),
		"method", req.Method, "status", status, "failure", ev.Error)
	return textResponse(req, status, r.redactedText(msg))
}

// redactInto fills ev's request, response, error and (for a notification)
// bearer from x, decoded and redacted. It returns the decoded response body
// (before redaction, for URL rewriting and call ids) and whether decoding
// succeeded. The pseudonyms ev uses reach the cassette with the commit that
// stores ev (see cassette.Writer.StorePseudonymsFrom). Redactions run
// concurrently: the Redactor is safe for concurrent use.
func (r *Recorder) redactInto(ev *cassette.Event, x *rawExchange) (plain []byte, ok bool) {
	x.learnGen = r.red.Learned()
	reqHeader, reqBody, _ := r.storable(x.reqHeader, x.reqBody)
	respHeader, respBody, ok := r.storable(x.respHeader, x.respBody)

	ev.Request = cassette.Request{
		Method: x.method,
		URL:    r.red.URL(x.url),
		Header: r.red.Header(reqHeader),
		Body:   r.redactBody(reqHeader, reqBody),
	}
	ev.Response = cassette.Response{
		Status: x.status,
		Header: r.red.Header(respHeader),
		Body:   r.redactBody(respHeader, respBody),
	}
	if x.failure != "" {
		ev.Error = r.red.Text(x.failure)
	}
	ev.Abandoned = time.Duration(x.gaveUp.Load())
	if ev.Kind == cassette.KindNotification {
		ev.Bearer = r.bearer(x.bearer)
	}
	return respBody, ok
}

// redactedText redacts a message meant for the bot or the log.
func (r *Recorder) redactedText(s string) string {
	return r.red.Text(s)
}

// redactBody redacts a decoded body according to its Content-Type.
func (r *Recorder) redactBody(h http.Header, body []byte) []byte {
	if len(body) == 0 {
		return nil
	}
	return r.red.Body(h.Get("Content-Type"), body)
}

// storable returns the header and body as stored: body decoded, and the
// header without Content-Encoding and with a Content-Length that fits. A
// body that cannot be decoded is replaced by a note (its bytes could hide
// anything from redaction); ok is false then.
func (r *Recorder) storable(h http.Header, body []byte) (http.Header, []byte, bool) {
	if h == nil {
		return nil, body, true
	}
	ce := h.Get("Content-Encoding")
	if ce == "" {
		if cl := h.Get("Content-Length"); cl == "" || cl == strconv.Itoa(len(body)) {
			return h, body, true // already as stored: the redactor copies it anyway
		}
	}
	h = h.Clone()
	ok := true
	if ce != "" && len(body) > 0 {
		plain, err := decodeBody(ce, body, r.cfg.MaxBody)
		if err != nil {
			r.log.Warn("body not stored: cannot decode it", "content-encoding", ce, "err", err)
			plain = []byte("graphvcr: body not stored: " + err.Error())
			h.Set("Content-Type", "text/plain; charset=utf-8")
			ok = false
		}
		body = plain
	}
	h.Del("Content-Encoding")
	if h.Get("Content-Length") != "" {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	return h, body, ok
}

// relayRewriter maps the upstream bases to the bases the bot used. In
// reverse mode both upstreams are behind the listener; in forward mode each
// is behind its intercepted host. The current exchange's upstream goes first
// so it wins when Graph and the token endpoint share one base (a simulator).
func (r *Recorder) relayRewriter(rt route) urlRewriter {
	graphBase, tokenBase := rt.clientBase, rt.clientBase
	if rt.forward {
		graphBase, tokenBase = "https://graph.microsoft.com", "https://login.microsoftonline.com"
		if rt.kind == cassette.KindToken {
			tokenBase = rt.clientBase
		} else {
			graphBase = rt.clientBase
		}
	}
	up, tok := r.upstreamStr, r.tokenUpStr
	if rt.kind == cassette.KindToken {
		return newURLRewriter(tok, tokenBase, up, graphBase)
	}
	return newURLRewriter(up, graphBase, tok, tokenBase)
}

// joinURL appends the path and query of u to base.
func joinURL(base, u *url.URL) string {
	out := *base
	out.Path = base.Path + u.Path
	if u.RawPath != "" {
		out.RawPath = base.EscapedPath() + u.RawPath
	} else {
		out.RawPath = ""
	}
	out.RawQuery = u.RawQuery
	return out.String()
}

// classify names a transport failure the way the cassette records it:
// "connection refused", "connection reset by peer", "timeout",
// "unexpected EOF", "canceled" (the request was ended on this side),
// or the error's own text.
func classify(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset by peer"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "unexpected EOF"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // its text repeats the URL; the cause is enough
	}
	return err.Error()
}

// textResponse builds a plain-text response for req.
func textResponse(req *http.Request, status int, msg string) *http.Response {
	h := http.Header{"Content-Type": {"text/plain; charset=utf-8"}, "X-Content-Type-Options": {"nosniff"}}
	return relayResponse(req, status, h, []byte(msg+"\n"))
}

// relayResponse builds the response goproxy writes to the bot, with a
// fitting Content-Length.
func relayResponse(req *http.Request, status int, h http.Header, body []byte) *http.Response {
	resp := &http.Response{
		Status:     strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode: status,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Request:    req,
	}
	noBody := req.Method == http.MethodHead || status == http.StatusNoContent ||
		status == http.StatusNotModified || (status >= 100 && status < 200)
	if noBody {
		resp.ContentLength = 0
		if req.Method == http.MethodHead {
			// A HEAD answer keeps the length of the body it does not carry.
			if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil {
				resp.ContentLength = n
			}
		}
		body = nil
	} else {
		resp.ContentLength = int64(len(body))
		h.Set("Content-Length", strconv.Itoa(len(body)))
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp
}
