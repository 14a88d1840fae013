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
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// rawExchange is one exchange as it crossed graphvcr, before redaction.
type rawExchange struct {
	kind       cassette.Kind
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
	// calls are the calls the exchange is about, as far as known before its
	// answer: a Graph request's from its URL path, a notification's from
	// its body.
	calls []string
	// mark is a Graph exchange's place in the call tracker, finished once
	// the exchange is committed; nil for other kinds.
	mark *relayMark
	// after is a notification's place in the call tracker: the exchanges
	// begun up to it may be its trigger (see callTracker.mark).
	after uint64
	// validation marks Graph's validation request of a subscription (see
	// record_changes.go).
	validation bool
	// early, when set, is given the answer (or graphvcr's failure answer)
	// as soon as it is known, before the commit: the caller relays it at
	// once. A validation request's commit waits for its trigger, the POST
	// /subscriptions that Graph answers only once it has the echo.
	early func(a relayed)
}

// A direction is what differs between the two ways an exchange crosses the
// recorder: a bot's Graph or token request sent on to its upstream
// (toUpstream), and a Graph notification sent on to the bot (toBot). relay
// runs the steps both share; a direction's fields are their differences, so
// each step is written once, as martian's HAR logger is one more modifier
// in the chain every request takes.
type direction struct {
	// detached makes the request sent on outlive the one received, and
	// Close end it with errRecorderClosed (see relay and watchAbandon).
	detached bool
	// outHeader, when set, adjusts the header sent on.
	outHeader func(h http.Header)
	// send sends the request on.
	send func(r *Recorder, out *http.Request) (*http.Response, error)
	// received, when set, runs once the request body is read.
	received func(r *Recorder, x *rawExchange)
	// committing, when set, completes the event just before its commit,
	// whether the exchange got an answer or failed.
	committing func(r *Recorder, x *rawExchange, ev *cassette.Event)
	// settled runs once the commit is over: committed says whether ev is in
	// the cassette, plain is the decoded answer (nil after a failure).
	settled func(r *Recorder, req *http.Request, x *rawExchange, ev *cassette.Event, committed bool, plain []byte)

	// Failure texts: what the request body is ("request"), who the request
	// goes to ("upstream"), a prefix of a send error, what the answer is
	// ("response body"), what a failed commit did not do, and the warning
	// logged when there was no usable answer.
	body, peer, sendPrefix, answer, unrecorded, failed string
}

// relayed is what relay hands back for its caller to answer the client
// with: the answer received or, when text is set, graphvcr's own.
type relayed struct {
	status  int
	text    string      // graphvcr's plain-text answer: a failure, already redacted
	header  http.Header // the answer's, hop-by-hop headers removed
	body    []byte      // as received (possibly content-encoded)
	plain   []byte      // body decoded, when decoded is true
	decoded bool
	seq     uint64 // of the committed event
}

// relay is the step every recorded exchange takes, in either direction d:
// it copies the request's header without hop-by-hop headers, reads the
// body (bounded by MaxBody), sends the request on with a context that Close
// can end, reads the answer (bounded), redacts the exchange and commits it
// durably, and only then returns the answer for the caller to relay. A
// failure at any step is recorded as well and answered by graphvcr itself
// (see fail). x holds the exchange's kind, method and target URL, and what
// d keeps between steps; arrived is when the request reached graphvcr.
func (r *Recorder) relay(req *http.Request, d *direction, x *rawExchange, arrived time.Time) relayed {
	x.reqHeader = req.Header.Clone()
	removeHopHeaders(x.reqHeader)
	x.reqHeader.Del("Expect") // the body is already here
	if d.outHeader != nil {
		d.outHeader(x.reqHeader)
	}

	body, err := readBoundedSize(req.Body, r.cfg.MaxBody, req.ContentLength)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return r.fail(req, d, x, arrived, 0, http.StatusRequestEntityTooLarge, r.overLimit(d.body+" body"))
		}
		return r.fail(req, d, x, arrived, 0, http.StatusBadGateway, "read "+d.body+" body: "+classify(err))
	}
	x.reqBody = body
	if d.received != nil {
		d.received(r, x)
	}

	// A detached request does not end with the bot's: Graph may act on it
	// (create the call, send the invite) and notify about it whether or not
	// the bot still waits, so its answer is recorded either way. A
	// notification ends with Graph's request: nobody waits for its answer.
	parent, closed := req.Context(), error(nil)
	if d.detached {
		parent, closed = context.WithoutCancel(parent), errRecorderClosed
	}
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	stop := context.AfterFunc(r.abortCtx, func() { cancel(closed) })
	defer stop()
	if d.detached {
		defer r.watchAbandon(req.Context(), arrived, x, cancel)()
	}
	out, err := http.NewRequestWithContext(ctx, req.Method, x.url, bytes.NewReader(body))
	if err != nil {
		return r.fail(req, d, x, arrived, 0, http.StatusBadGateway, "build "+d.peer+" request: "+err.Error())
	}
	// Shared, not copied: neither a RoundTripper nor a Client (which copies
	// a request before adding anything) changes the request, and
	// x.reqHeader is only read (storable and the Redactor copy it).
	out.Header = x.reqHeader
	out.ContentLength = int64(len(body))
	if len(body) == 0 {
		out.Body = http.NoBody
	}

	sent := time.Now()
	resp, err := d.send(r, out)
	if err != nil {
		return r.fail(req, d, x, arrived, time.Since(sent), http.StatusBadGateway, d.sendPrefix+classifyUpstream(ctx, err))
	}
	answer, err := readBoundedSize(resp.Body, r.cfg.MaxBody, resp.ContentLength)
	resp.Body.Close()
	latency := time.Since(sent)
	if err != nil {
		failure := "read " + d.answer + ": " + classifyUpstream(ctx, err)
		if errors.Is(err, errTooLarge) {
			failure = r.overLimit(d.answer)
		}
		return r.fail(req, d, x, arrived, latency, http.StatusBadGateway, failure)
	}
	x.status = resp.StatusCode
	removeHopHeaders(resp.Header) // resp is ours: no copy for what is stored
	x.respHeader = resp.Header
	x.respBody = answer
	if x.early != nil {
		x.early(relayed{status: x.status, header: resp.Header, body: answer})
	}

	ev := &cassette.Event{Kind: x.kind, Offset: arrived.Sub(r.start), Latency: latency}
	if d.committing != nil {
		d.committing(r, x, ev)
	}
	plain, decoded := r.redactInto(ev, x)
	if err := r.commit(ev, x.learnGen); err != nil {
		// Durable first: an unrecorded exchange is not relayed. Graph
		// retries an unacknowledged notification (and the bot, idempotent
		// on notifications, copes).
		d.settled(r, req, x, ev, false, nil)
		return relayed{status: http.StatusInternalServerError, text: "graphvcr: " + d.unrecorded + ": " + err.Error()}
	}
	if ev.Abandoned > 0 {
		r.log.Info("the bot gave up before the answer; the answer is recorded, not relayed",
			"seq", ev.Seq, "kind", x.kind.String(), "method", req.Method, "status", x.status,
			"abandoned", ev.Abandoned, "latency", latency)
	}
	d.settled(r, req, x, ev, true, plain)
	return relayed{status: x.status, header: resp.Header, body: answer, plain: plain, decoded: decoded, seq: ev.Seq}
}

// overLimit is the failure of a body over MaxBody; what names the body.
func (r *Recorder) overLimit(what string) string {
	return fmt.Sprintf("%s exceeds the %d-byte limit; raise it with --max-body", what, r.cfg.MaxBody)
}

// toUpstream is the direction of a bot's Graph and token requests: sent on
// to their upstream, detached from the bot's request, and asking only for
// encodings graphvcr can decode and store.
var toUpstream = direction{
	detached:  true,
	outHeader: filterAcceptEncoding,
	send: func(r *Recorder, out *http.Request) (*http.Response, error) {
		return r.transport.RoundTrip(out)
	},
	settled:    settleUpstream,
	body:       "request",
	peer:       "upstream",
	answer:     "response body",
	unrecorded: "could not record the exchange, so it was not relayed",
	failed:     "upstream exchange failed",
}

// settleUpstream files a committed Graph exchange in the call tracker under
// the calls it is about: the one in its path, else (a create-call) the one
// in its answer. One that was not committed is finished by exchange.
func settleUpstream(r *Recorder, req *http.Request, x *rawExchange, ev *cassette.Event, committed bool, plain []byte) {
	if !committed {
		return
	}
	var ids []string
	if x.failure == "" {
		ids = x.calls // a call in the path wins over the response, as in callIDsOf
		if ids == nil {
			ids = callIDsOf(req.Method, req.URL.Path, x.status, plain)
		}
	}
	r.calls.finish(x.mark, ev.Seq, ids)
	r.calls.saw(ids)
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

	x := &rawExchange{kind: rt.kind, method: req.Method, url: joinURL(rt.base, req.URL)}
	if rt.kind == cassette.KindGraph {
		// Noted on arrival: a notification arriving from now on may be
		// about this request (see callTracker).
		x.calls = callIDsOf(req.Method, req.URL.Path, 0, nil)
		// A POST /subscriptions is also filed as what validation requests
		// are about; x.calls stays the calls proper (see settleUpstream).
		x.mark = r.calls.begin(req.Method, append(subscriptionCalls(req.Method, req.URL.Path), x.calls...))
		defer r.calls.finish(x.mark, 0, nil) // for paths that commit nothing
	}
	a := r.relay(req, &toUpstream, x, arrived)
	if a.text != "" {
		return textResponse(req, a.status, a.text)
	}

	// What is relayed is what was received, except that absolute upstream
	// URLs point back at the base the bot used. The event holds redacted
	// copies and is committed, so the received header is no longer needed
	// as received: rewrite it in place.
	rw := r.relayRewriter(rt)
	rw.Header(a.header)
	body := a.body
	if a.decoded {
		if rewritten, changed := rw.Bytes(a.plain); changed {
			if enc, err := encodeBody(a.header.Get("Content-Encoding"), rewritten); err == nil {
				body = enc
			} else {
				r.log.Warn("re-encode rewritten body; relaying it unrewritten", "seq", a.seq, "err", err)
			}
		}
	}
	return relayResponse(req, a.status, a.header, body)
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
// answer graphvcr gives the client: status and a text naming the failure.
func (r *Recorder) fail(req *http.Request, d *direction, x *rawExchange, arrived time.Time,
	latency time.Duration, status int, failure string) relayed {
	msg := "graphvcr: " + failure
	x.status = status
	x.respHeader = http.Header{"Content-Type": {"text/plain; charset=utf-8"}}
	x.respBody = []byte(msg)
	x.failure = failure
	if x.early != nil {
		x.early(relayed{status: status, text: r.redactedText(msg)})
	}
	ev := &cassette.Event{Kind: x.kind, Offset: arrived.Sub(r.start), Latency: latency}
	if d.committing != nil {
		d.committing(r, x, ev)
	}
	r.redactInto(ev, x)
	err := r.commit(ev, x.learnGen)
	if err != nil {
		msg += "; and it could not be recorded: " + err.Error()
	}
	d.settled(r, req, x, ev, err == nil, nil)
	r.log.Warn(d.failed, "seq", ev.Seq, "kind", x.kind.String(),
		"method", req.Method, "status", status, "failure", ev.Error)
	return relayed{status: status, text: r.redactedText(msg)}
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
	storeReq, storeResp, claims := r.changeSecrets(x, reqBody, respBody)
	reqHeader, respHeader = withLength(reqHeader, len(storeReq)), withLength(respHeader, len(storeResp))

	ev.Request = cassette.Request{
		Method: x.method,
		URL:    r.red.URL(storedURL(x)),
		Header: r.red.Header(reqHeader),
		Body:   r.withClaims(r.redactBody(reqHeader, storeReq), claims),
	}
	ev.Response = cassette.Response{
		Status: x.status,
		Header: r.red.Header(respHeader),
		Body:   r.redactBody(respHeader, storeResp),
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
		graphBase, tokenBase = "https://"+graphHost, "https://"+loginHost
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
