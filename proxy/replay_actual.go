package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/internal/match"
	"github.com/graphvcr/graphvcr/redact"
)

// What the bot actually did (replay --record-actual). While replaying, the
// Replayer writes a second cassette: each request the bot sent to the graph
// listener (matched or not, token requests too) with what graphvcr answered,
// and each notification delivered with the bot's answer, timed from replay
// start. It is redacted as a recording is, with one difference that makes
// the two cassettes compare id for id: a live value bound to a pseudonym of
// the recording is written as that pseudonym (Matcher.Unrender), and only
// the values never bound get pseudonyms of their own, from a redactor whose
// numbers start past the recording's.
//
// It is one hook: serveHTTP wraps each exchange (actualLog.begin), answer
// says which recorded exchange it matched (actualLog.matched), and the
// notification sender takes its place before sending (actualLog.sending)
// and reports the bot's answer (actualLog.delivered). The slow part
// (undoing bindings, redacting, the cassette commit) runs on one goroutine
// of its own, so replay timing does not change. Events are written in the
// order graphvcr answered the exchanges and sent the notifications; an
// event redacted before a later binding is redacted again, and rewritten,
// when the replayer closes (actualLog.rewrite). Every event is kept in
// memory until then.

// ActualMeta returns the Meta of a cassette recording what a bot actually
// did while recorded was replayed: the recording's upstreams and a link to
// it (Meta.RecordedFrom: its base name and content hash). Version is left
// for the caller.
func ActualMeta(recorded *cassette.Reader) (cassette.Meta, error) {
	sum, err := fileHash(recorded.Path())
	if err != nil {
		return cassette.Meta{}, fmt.Errorf("link to recording: %w", err)
	}
	m := recorded.Meta()
	return cassette.Meta{
		FormatVersion: cassette.FormatVersion,
		Created:       time.Now(),
		Upstream:      m.Upstream,
		TokenUpstream: m.TokenUpstream,
		RecordedFrom:  filepath.Base(recorded.Path()) + " sha256:" + sum,
	}, nil
}

// fileHash returns the hex SHA-256 of a file's content.
func fileHash(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// actualLog writes what the bot actually did. Its methods are nil-safe: a
// Replayer without ReplayConfig.Actual has a nil one.
type actualLog struct {
	w     *cassette.Writer
	red   *redact.Redactor
	log   *slog.Logger
	start time.Time // the Replayer's: Offsets count from it

	bot                 string   // the bot's base URL, for notification URLs
	graphBase, tokenURL string   // the recorded upstreams, for request URLs
	listener            string   // the graph listener's URL, set by Start
	pseudonyms          []string // the recording's, stored with the first event

	mu     sync.Mutex // guards everything below
	issued uint64     // tickets issued: a ticket is a place in the written order
	ready  map[uint64]*actualItem
	first  map[uint64]*actualExchange // recorded seq -> the live exchange that first matched it
	closed bool
	wake   chan struct{} // buffered 1: an item is ready, or closed
	done   chan struct{} // closed when the writing goroutine ends
}

// actualItem is one event to write, still in live terms.
type actualItem struct {
	ticket uint64
	ev     cassette.Event // URL, headers and bodies live, nothing redacted yet
	// trigger is, for a notification, the live exchange that armed it
	// (nil: replay start); its ticket has been issued before this one.
	trigger *actualExchange
	// base is the recorded upstream the request went to, in place of the
	// listener's URL in what was answered; "" for a notification.
	base string
	// self is the live exchange of a request; nil for a notification.
	self *actualExchange
}

// newActualLog returns the log of a Replayer whose cfg.Actual is set, or nil.
func newActualLog(r *Replayer) *actualLog {
	if r.cfg.Actual == nil {
		return nil
	}
	meta := r.cfg.Cassette.Meta()
	a := &actualLog{
		w:          r.cfg.Actual,
		red:        redact.New(nil),
		log:        r.log,
		bot:        strings.TrimRight(r.cfg.Bot, "/"),
		graphBase:  absoluteBase(meta.Upstream, DefaultUpstream),
		tokenURL:   absoluteBase(meta.TokenUpstream, DefaultTokenUpstream),
		pseudonyms: r.cfg.Cassette.Pseudonyms(),
		ready:      map[uint64]*actualItem{},
		first:      map[uint64]*actualExchange{},
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
	}
	// Redacting the recording's pseudonyms moves the redactor's counters
	// past them: a value never bound gets a number the recording does not
	// use, so it can not pass for one of the recording's ids.
	a.red.Text(strings.Join(a.pseudonyms, "\n"))
	a.red.TakeNew()
	a.w.StorePseudonymsFrom(a.red.TakeNew)
	return a
}

// absoluteBase returns a recorded upstream as an absolute base URL.
func absoluteBase(up, def string) string {
	up = strings.TrimRight(strings.TrimSpace(up), "/")
	if up == "" {
		up = def
	}
	if !strings.Contains(up, "://") {
		up = "https://" + up
	}
	return up
}

// run writes items in ticket order until close, undoing the bindings of m.
func (a *actualLog) run(m *match.Matcher) {
	defer close(a.done)
	seqs := map[*actualExchange]uint64{} // a written exchange -> its seq in the actual cassette
	var next uint64 = 1                  // the ticket to write next
	firstEvent := true
	var kept []written
	defer func() { a.rewrite(m, kept) }()
	for {
		a.mu.Lock()
		it := a.ready[next]
		if it == nil && a.closed {
			// A ticket whose exchange never ended (shutdown gave up on
			// it) is skipped rather than waited for.
			for t := next + 1; t <= a.issued && it == nil; t++ {
				if it = a.ready[t]; it != nil {
					next = t
				}
			}
		}
		if it != nil {
			delete(a.ready, next)
		}
		a.mu.Unlock()
		if it == nil {
			if a.isClosed() {
				return
			}
			<-a.wake
			continue
		}
		next++
		gen := m.Generation()
		ev := a.redactItem(m, it)
		if it.trigger != nil {
			ev.Trigger = seqs[it.trigger]
		}
		var ps []string
		if firstEvent {
			ps, firstEvent = a.pseudonyms, false
		}
		// The commit must happen whatever the replay does now: the
		// cassette is the evidence of what it did.
		if err := a.w.Append(context.Background(), ev, ps...); err != nil {
			a.log.Error("record actual event", "kind", ev.Kind.String(), "err", err)
			continue
		}
		if it.self != nil {
			seqs[it.self] = ev.Seq
		}
		kept = append(kept, written{seq: ev.Seq, gen: gen, it: it})
	}
}

// written is an item stored, with the bindings' generation it was
// redacted with.
type written struct {
	seq uint64
	gen uint64
	it  *actualItem
}

// rewrite redacts again the events stored before the bindings last
// changed, and writes back those that change. A live value seen before it
// was bound (the tenant of the bot's token request, answered offline and
// bound only by a later Graph request) was given a pseudonym of its own;
// now it takes the recording's, as everywhere after.
func (a *actualLog) rewrite(m *match.Matcher, kept []written) {
	final := m.Generation()
	var seqs []uint64
	byseq := map[uint64]*actualItem{}
	for _, k := range kept {
		if k.gen != final {
			seqs = append(seqs, k.seq)
			byseq[k.seq] = k.it
		}
	}
	if len(seqs) == 0 {
		return
	}
	_, err := a.w.Rewrite(context.Background(), seqs, func(ev *cassette.Event) (bool, error) {
		it := byseq[ev.Seq]
		again := a.redactItem(m, it)
		again.Seq, again.Trigger = ev.Seq, ev.Trigger
		if sameEvent(ev, again) {
			return false, nil
		}
		*ev = *again
		return true, nil
	})
	if err != nil {
		a.log.Error("record actual: rewrite events redacted before a binding", "err", err)
	}
}

// sameEvent reports whether a redacted again is what ev holds.
func sameEvent(ev, again *cassette.Event) bool {
	return ev.Request.URL == again.Request.URL &&
		bytes.Equal(ev.Request.Body, again.Request.Body) &&
		bytes.Equal(ev.Response.Body, again.Response.Body) &&
		reflect.DeepEqual(ev.Request.Header, again.Request.Header) &&
		reflect.DeepEqual(ev.Response.Header, again.Response.Header) &&
		reflect.DeepEqual(ev.Bearer, again.Bearer)
}

func (a *actualLog) isClosed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.closed
}

// close writes what is left and returns once it is committed. Call it once
// nothing more can arrive (the listener and the scheduler have stopped).
func (a *actualLog) close() {
	if a == nil || a.listener == "" {
		return // never started
	}
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.signal()
	<-a.done
}

func (a *actualLog) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// put queues an item under its ticket.
func (a *actualLog) put(it *actualItem) {
	a.mu.Lock()
	a.ready[it.ticket] = it
	a.mu.Unlock()
	a.signal()
}

// ticket issues the next place in the written order. Caller holds a.mu.
func (a *actualLog) ticketLocked() uint64 {
	a.issued++
	return a.issued
}

// redactItem turns an item into the event to store: live values bound to
// the recording's pseudonyms go back to them, the rest is redacted.
func (a *actualLog) redactItem(m *match.Matcher, it *actualItem) *cassette.Event {
	ev := it.ev
	reqCT := ev.Request.Header.Get("Content-Type")
	respCT := ev.Response.Header.Get("Content-Type")
	var respBody []byte
	if it.base != "" {
		// The listener's URL in an answer goes back to the recorded
		// upstream, as the recording stores it.
		respBody, _ = newURLRewriter(a.listener, it.base).Bytes(ev.Response.Body)
	} else {
		respBody = ev.Response.Body
	}
	m.Unrender(func(rec match.Recorder) {
		ev.Request.URL = rec.Text(ev.Request.URL)
		ev.Request.Header = rec.Header(ev.Request.Header)
		ev.Request.Body = rec.Body(ev.Request.Body)
		ev.Response.Header = rec.Header(ev.Response.Header)
		respBody = rec.Body(respBody)
	})
	if auth := ev.Request.Header.Get("Authorization"); auth != "" && ev.Kind == cassette.KindNotification {
		h, c, life, ok := a.red.Bearer(auth)
		ev.Bearer = &cassette.Bearer{Header: h, Claims: c, Lifetime: life, Malformed: !ok}
	}
	ev.Request.URL = a.red.URL(ev.Request.URL)
	ev.Request.Header = a.red.Header(ev.Request.Header)
	ev.Request.Body = a.red.Body(reqCT, ev.Request.Body)
	ev.Response.Header = a.red.Header(ev.Response.Header)
	ev.Response.Body = a.red.Body(respCT, respBody)
	ev.Error = a.red.Text(ev.Error)
	return &ev
}

// actualExchange is one live request to the graph listener being watched:
// its copy of the request body, and the answer as graphvcr writes it.
type actualExchange struct {
	http.ResponseWriter
	a       *actualLog
	req     *http.Request
	arrived time.Time
	body    cappedBuffer // what the handler read of the request body

	status   int // 0 until WriteHeader
	answered time.Time
	header   http.Header
	resp     cappedBuffer

	ticket uint64 // guarded by a.mu; 0 until issued
}

// actualKey finds a request's actualExchange in its context.
type actualKey struct{}

// begin starts watching a request to the graph listener: it returns the
// writer and request the handler must use instead of w and req.
func (a *actualLog) begin(w http.ResponseWriter, req *http.Request) *actualExchange {
	x := &actualExchange{ResponseWriter: w, a: a, arrived: time.Now()}
	x.body.limit, x.resp.limit = maxReplayBody, maxReplayBody
	req = req.WithContext(context.WithValue(req.Context(), actualKey{}, x))
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = &teeBody{ReadCloser: req.Body, to: &x.body}
	}
	x.req = req
	return x
}

// matched notes that the live exchange of req is answered by the recorded
// exchange c; when it is c's first use, the notifications c triggers will
// point at it.
func (a *actualLog) matched(req *http.Request, c *match.Candidate, first bool) {
	if a == nil || !first {
		return
	}
	x, _ := req.Context().Value(actualKey{}).(*actualExchange)
	if x == nil {
		return
	}
	a.mu.Lock()
	a.first[c.Seq] = x
	a.mu.Unlock()
}

// claim issues x's ticket, once.
func (x *actualExchange) claim() {
	x.a.mu.Lock()
	if x.ticket == 0 {
		x.ticket = x.a.ticketLocked()
	}
	x.a.mu.Unlock()
}

// WriteHeader notes the answer as it goes out: its place in the order is
// taken now, before anything it triggers is delivered.
func (x *actualExchange) WriteHeader(code int) {
	if x.status == 0 && code >= 200 {
		x.status, x.answered = code, time.Now()
		x.header = x.ResponseWriter.Header().Clone()
		x.claim()
	}
	x.ResponseWriter.WriteHeader(code)
}

func (x *actualExchange) Write(b []byte) (int, error) {
	if x.status == 0 {
		x.WriteHeader(http.StatusOK)
	}
	x.resp.Write(b)
	return x.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (x *actualExchange) Unwrap() http.ResponseWriter { return x.ResponseWriter }

// end queues the exchange once the handler is done; aborted is true when it
// ended without an answer (panic(http.ErrAbortHandler)).
func (x *actualExchange) end(aborted bool) {
	x.claim()
	now := time.Now()
	ev := cassette.Event{
		Kind:   cassette.KindGraph,
		Offset: x.arrived.Sub(x.a.start),
		Request: cassette.Request{
			Method: x.req.Method,
			Header: x.req.Header.Clone(),
			Body:   x.body.b,
		},
	}
	base := x.a.graphBase
	if _, cls, ok := loginPath(x.req.URL.Path); ok && cls != "" {
		ev.Kind, base = cassette.KindToken, x.a.tokenURL
	}
	ev.Request.URL = base + pathOf(x.req)
	if ce := ev.Request.Header.Get("Content-Encoding"); ce != "" && len(ev.Request.Body) > 0 {
		if b, err := decodeBody(ce, ev.Request.Body, maxReplayBody); err == nil {
			ev.Request.Body = b
			ev.Request.Header.Del("Content-Encoding")
		}
	}
	if x.status != 0 {
		ev.Latency = x.answered.Sub(x.arrived)
		ev.Response = cassette.Response{Status: x.status, Header: x.header, Body: x.resp.b}
	} else {
		ev.Latency = now.Sub(x.arrived)
		ev.Error = "graphvcr gave no answer"
		if aborted && x.req.Context().Err() != nil {
			// The bot gave up first, as it did when recording.
			ev.Abandoned = max(now.Sub(x.arrived), 1)
		}
	}
	x.a.put(&actualItem{ticket: x.ticket, ev: ev, base: base, self: x})
}

// actualSlot is a notification's place in the written order, taken as it
// is sent: anything the bot does about it comes after it, as when
// recording (where the notification is committed once the bot answered,
// before the requests the bot then sends have their answers).
type actualSlot struct {
	ticket  uint64
	trigger *actualExchange
}

// sending takes the place of a notification about to be sent.
func (a *actualLog) sending(n *notification) actualSlot {
	if a == nil {
		return actualSlot{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	trig := a.first[n.trigger]
	if trig != nil && trig.ticket == 0 {
		// Armed by an exchange still unanswered (one held like an
		// abandoned one): it goes first, as it arrived first.
		trig.ticket = a.ticketLocked()
	}
	return actualSlot{ticket: a.ticketLocked(), trigger: trig}
}

// delivered notes a notification sent to the bot, with its answer.
func (a *actualLog) delivered(slot actualSlot, req *preparedRequest, d delivery) {
	if a == nil {
		return
	}
	sent := d.sent
	if sent.IsZero() {
		sent = time.Now()
	}
	ev := cassette.Event{
		Kind:     cassette.KindNotification,
		Offset:   sent.Sub(a.start),
		Latency:  d.latency,
		Response: cassette.Response{Status: d.status},
	}
	if req != nil {
		ev.Request = cassette.Request{
			Method: req.req.Method,
			URL:    a.bot + req.req.URL.RequestURI(),
			Header: req.req.Header.Clone(),
			Body:   req.body.b,
		}
	}
	if d.err != nil {
		ev.Error = d.err.Error()
	}
	a.put(&actualItem{ticket: slot.ticket, ev: ev, trigger: slot.trigger})
}

// cappedBuffer keeps the first limit bytes written to it.
type cappedBuffer struct {
	b     []byte
	limit int
}

func (c *cappedBuffer) Write(p []byte) {
	if room := c.limit - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(len(p), room)]...)
	}
}

// teeBody copies what is read of a request body.
type teeBody struct {
	io.ReadCloser
	to *cappedBuffer
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	t.to.Write(p[:n])
	return n, err
}
