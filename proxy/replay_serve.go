package proxy

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/graphvcr/graphvcr/proxy/fault"
	"github.com/graphvcr/graphvcr/proxy/internal/match"
)

// serveGraph answers a Graph request with the recorded exchange matching it.
// The request is matched and reported here; what is served is answer's.
func (r *Replayer) serveGraph(w http.ResponseWriter, req *http.Request) {
	arrived := time.Now()
	body, err := readBody(req)
	if err != nil {
		writeGraphError(w, http.StatusBadRequest, "graphvcrBadRequest", err.Error(), nil)
		return
	}
	uri := pathOf(req)
	c, first, key, f, occ := r.matchFaulted(req.Method, uri, subscriptionMatchBody(req.Method, uri, body))
	if c == nil {
		r.noMatch(w, req, uri, key, body)
		return
	}
	if f.Action != fault.None && r.answerFaulted(w, req, c, uri, arrived, f, occ) {
		return
	}
	r.noteMatch(c, first, req.Method, uri, arrived)
	if r.serveSubscription(w, req, c, first, uri, body, arrived) {
		return
	}
	r.answer(w, req, c, first, uri, arrived)
}

// answer serves the recorded exchange c that a live request matched (first
// is its first use): held unanswered when the bot abandoned it, else the
// recorded answer after the recorded latency, or no answer when recording
// got none; then it starts the clock of the notifications c triggers. It is
// the one place that decides what a matched request gets: a step that
// changes that (a fault answering otherwise, or later) goes here.
func (r *Replayer) answer(w http.ResponseWriter, req *http.Request, c *match.Candidate, first bool, uri string, arrived time.Time) {
	r.actual.matched(req, c, first)
	if c.Abandoned > 0 {
		r.answered(c, first)
		r.holdAbandoned(req, c, uri, arrived)
		return
	}
	header, respBody, err := r.render(c)
	if err != nil {
		r.log.Error("read recorded response", "seq", c.Seq, "err", err)
		writeGraphError(w, http.StatusInternalServerError, "graphvcrCassette",
			fmt.Sprintf("graphvcr: read recorded response %d: %v", c.Seq, err), nil)
		return
	}
	r.wait(req.Context(), c.Latency)
	if c.ErrText != "" && c.Status == 0 {
		// The bot got no answer when recording (a reset, a timeout): neither
		// does it now. net/http closes the connection (or resets the h2 stream).
		r.answered(c, first)
		panic(http.ErrAbortHandler)
	}
	writeRecorded(w, c.Status, header, respBody)
	r.answered(c, first)
}

// Bounds of holding a request that matched an abandoned exchange.
const (
	// abandonMargin is how much longer than recorded (scaled by the speed)
	// a live bot may wait before graphvcr stops holding its request: timers
	// of a loaded machine fire late, and that is not a divergence.
	abandonMargin = time.Second
	// maxAbandonHold bounds any hold, also at speed 0 (where graphvcr holds
	// until the bot gives up) and for huge recorded times: like Graph's own
	// gateway, graphvcr does not keep a request open for ever.
	maxAbandonHold = 2 * time.Minute
)

// holdAbandoned reproduces an exchange the bot abandoned when recording: it
// holds the request without an answer until the bot gives up (its request
// context ends: its timeout fired or it closed the connection), or until the
// recorded time to abandon, scaled by the speed, plus abandonMargin (at speed
// 0: maxAbandonHold), then closes the connection without answering (an
// HTTP/2 stream is reset). It never returns: panic(http.ErrAbortHandler) is
// net/http's way to abort a handler.
func (r *Replayer) holdAbandoned(req *http.Request, c *match.Candidate, uri string, arrived time.Time) {
	limit := maxAbandonHold
	if r.speed > 0 {
		limit = min(r.sched.scale(c.Abandoned)+abandonMargin, maxAbandonHold)
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	a := Abandonment{Seq: c.Seq, Method: req.Method, Path: uri, Recorded: c.Abandoned}
	select {
	case <-req.Context().Done():
		a.Reproduced = true
	case <-t.C:
		r.log.Warn("the bot waited longer than recorded on an abandoned exchange; closing its connection",
			"seq", c.Seq, "method", req.Method, "recorded", c.Abandoned, "held", time.Since(arrived))
	case <-r.ctx.Done():
		a.Closed = true // replay ends: the bot's outcome is unknown
	}
	a.Held = time.Since(arrived)
	r.mu.Lock()
	r.abandoned = append(r.abandoned, a)
	r.mu.Unlock()
	panic(http.ErrAbortHandler)
}

// answered starts the clock of the notifications a first match triggers.
func (r *Replayer) answered(c *match.Candidate, first bool) {
	if first {
		r.sched.arm(c.Seq, time.Now())
	}
}

// servedOffline marks recorded exchanges that graphvcr answers itself in
// replay (token requests, OpenID documents) as matched, and starts the
// clock of the notifications they trigger.
func (r *Replayer) servedOffline(recs []*match.Candidate) {
	now := time.Now()
	for _, c := range recs {
		r.m.MarkUsed(c)
		r.noteMatch(c, true, c.Method, c.URL, now)
		r.sched.arm(c.Seq, now)
	}
}

// noteMatch adds a match to the report.
func (r *Replayer) noteMatch(c *match.Candidate, first bool, method, uri string, arrived time.Time) {
	r.mu.Lock()
	if first {
		m := Match{Seq: c.Seq, Method: method, Path: uri, Status: c.Status, At: r.since(arrived)}
		if c.Abandoned > 0 {
			m.Status, m.Abandoned = 0, true
		}
		r.matched[c.Seq] = m
	} else {
		sa := r.servedAgain[c.Seq]
		if sa == nil {
			sa = &ServedAgain{Seq: c.Seq, Method: method, Path: uri}
			r.servedAgain[c.Seq] = sa
		}
		sa.Count++
	}
	r.mu.Unlock()
	if first {
		r.finishOne()
	}
}

// writeRecorded writes a recorded answer. Content-Length is that of the
// body written (the stored one is decoded, so the recorded length and
// encoding no longer apply).
func writeRecorded(w http.ResponseWriter, status int, header http.Header, body []byte) {
	h := w.Header()
	for k, vs := range header {
		if responseDropHeaders[http.CanonicalHeaderKey(k)] {
			continue
		}
		h[k] = vs
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if status < 100 || status > 999 {
		status = http.StatusBadGateway
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// render returns the recorded response of c as the bot gets it now: its
// body read from the cassette, upstream URLs pointed at the listener and
// pseudonyms replaced by the live values bound so far. Renderings are cached
// until the bindings change, so a polled exchange costs a map lookup.
func (r *Replayer) render(c *match.Candidate) (http.Header, []byte, error) {
	if h, b, ok := r.cache.get(c.Seq, r.m.Generation()); ok {
		return h, b, nil
	}
	ev, err := r.cfg.Cassette.Event(c.Seq)
	if err != nil {
		return nil, nil, err
	}
	var h http.Header
	var b []byte
	gen := r.m.Render(r.rewriteURLs, func(rn match.Renderer) {
		h = rn.Header(c.Header)
		b = rn.Body(ev.Response.Body)
	})
	r.cache.put(c.Seq, gen, h, b)
	return h, b, nil
}

// renderCache holds recent renderings by seq, for one bindings generation.
// It is bounded: when full it starts over.
type renderCache struct {
	mu    sync.Mutex
	items map[uint64]rendered
	bytes int
}

type rendered struct {
	gen    uint64
	header http.Header
	body   []byte
}

const (
	renderCacheItems = 1024
	renderCacheBytes = 32 << 20
)

func (rc *renderCache) get(seq, gen uint64) (http.Header, []byte, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	it, ok := rc.items[seq]
	if !ok || it.gen != gen {
		return nil, nil, false
	}
	return it.header, it.body, true
}

func (rc *renderCache) put(seq, gen uint64, h http.Header, b []byte) {
	if len(b) > renderCacheBytes/8 {
		return // a big body is not worth holding on to
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.items == nil || len(rc.items) >= renderCacheItems || rc.bytes+len(b) > renderCacheBytes {
		rc.items, rc.bytes = map[uint64]rendered{}, 0
	}
	if old, ok := rc.items[seq]; ok {
		rc.bytes -= len(old.body)
	}
	rc.items[seq] = rendered{gen: gen, header: h, body: b}
	rc.bytes += len(b)
}
