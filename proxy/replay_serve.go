package proxy

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// serveGraph answers a Graph request with the recorded exchange matching it.
func (r *Replayer) serveGraph(w http.ResponseWriter, req *http.Request) {
	arrived := time.Now()
	body, err := readBody(req)
	if err != nil {
		writeGraphError(w, http.StatusBadRequest, "graphvcrBadRequest", err.Error(), nil)
		return
	}
	uri := pathOf(req)
	live := newTemplate(req.Method, uri, body, nil)
	c, first := r.m.match(cassette.Shape(req.Method, uri), &live)
	if c == nil {
		r.noMatch(w, req, uri, &live, body)
		return
	}
	r.noteMatch(c, first, req.Method, uri, arrived)
	if c.abandoned > 0 {
		r.answered(c, first)
		r.holdAbandoned(req, c, uri, arrived)
		return
	}
	header, respBody, err := r.render(c)
	if err != nil {
		r.log.Error("read recorded response", "seq", c.seq, "err", err)
		writeGraphError(w, http.StatusInternalServerError, "graphvcrCassette",
			fmt.Sprintf("graphvcr: read recorded response %d: %v", c.seq, err), nil)
		return
	}
	r.wait(req.Context(), c.latency)
	if c.errText != "" && c.status == 0 {
		// The bot got no answer when recording (a reset, a timeout): neither
		// does it now. net/http closes the connection (or resets the h2 stream).
		r.answered(c, first)
		panic(http.ErrAbortHandler)
	}
	writeRecorded(w, c.status, header, respBody)
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
func (r *Replayer) holdAbandoned(req *http.Request, c *candidate, uri string, arrived time.Time) {
	limit := maxAbandonHold
	if r.speed > 0 {
		limit = min(r.sched.scale(c.abandoned)+abandonMargin, maxAbandonHold)
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	a := Abandonment{Seq: c.seq, Method: req.Method, Path: uri, Recorded: c.abandoned}
	select {
	case <-req.Context().Done():
		a.Reproduced = true
	case <-t.C:
		r.log.Warn("the bot waited longer than recorded on an abandoned exchange; closing its connection",
			"seq", c.seq, "method", req.Method, "recorded", c.abandoned, "held", time.Since(arrived))
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
func (r *Replayer) answered(c *candidate, first bool) {
	if first {
		r.sched.arm(c.seq, time.Now())
	}
}

// servedOffline marks recorded exchanges that graphvcr answers itself in
// replay (token requests, OpenID documents) as matched, and starts the
// clock of the notifications they trigger.
func (r *Replayer) servedOffline(recs []*candidate) {
	now := time.Now()
	for _, c := range recs {
		r.m.mu.Lock()
		c.used = true
		r.m.mu.Unlock()
		r.noteMatch(c, true, c.method, c.url, now)
		r.sched.arm(c.seq, now)
	}
}

// noteMatch adds a match to the report.
func (r *Replayer) noteMatch(c *candidate, first bool, method, uri string, arrived time.Time) {
	r.mu.Lock()
	if first {
		m := Match{Seq: c.seq, Method: method, Path: uri, Status: c.status, At: r.since(arrived)}
		if c.abandoned > 0 {
			m.Status, m.Abandoned = 0, true
		}
		r.matched[c.seq] = m
		delete(r.unused, c.seq)
	} else {
		sa := r.servedAgain[c.seq]
		if sa == nil {
			sa = &ServedAgain{Seq: c.seq, Method: method, Path: uri}
			r.servedAgain[c.seq] = sa
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
func (r *Replayer) render(c *candidate) (http.Header, []byte, error) {
	r.m.mu.RLock()
	gen := r.m.gen
	r.m.mu.RUnlock()
	if h, b, ok := r.cache.get(c.seq, gen); ok {
		return h, b, nil
	}
	ev, err := r.cfg.Cassette.Event(c.seq)
	if err != nil {
		return nil, nil, err
	}
	r.m.mu.RLock()
	gen = r.m.gen
	h := r.rw.header(&r.m.b, c.header)
	b := r.rw.body(&r.m.b, ev.Response.Body)
	r.m.mu.RUnlock()
	r.cache.put(c.seq, gen, h, b)
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
