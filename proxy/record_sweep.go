package proxy

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/graphvcr/graphvcr/cassette"
)

// A name or host is learned from the field that carries it (a displayName,
// a callbackUri) and then replaced wherever it recurs; an event recorded
// before the one that teaches it may hold it in a free-text field. On a
// clean close the recorder sweeps those events: it redacts them again with
// everything learned since (redaction is idempotent, so only the learned
// values change) and rewrites them in place.

// sweepLog remembers, for each committed event, the Redactor's Learned()
// generation before it was redacted.
type sweepLog struct {
	mu   sync.Mutex
	seqs []uint64
	gens []uint64
}

func (l *sweepLog) add(seq, gen uint64) {
	l.mu.Lock()
	l.seqs = append(l.seqs, seq)
	l.gens = append(l.gens, gen)
	l.mu.Unlock()
}

// stale returns, in seq order, the events redacted before generation final.
func (l *sweepLog) stale(final uint64) []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []uint64
	for i, g := range l.gens {
		if g < final {
			out = append(out, l.seqs[i])
		}
	}
	slices.Sort(out)
	return out
}

// sweep rewrites the events recorded before the last value was learned and
// marks the cassette swept.
func (r *Recorder) sweep(ctx context.Context) error {
	stale := r.sweepLog.stale(r.red.Learned())
	n, err := r.cfg.Cassette.Rewrite(ctx, stale, r.resweep)
	if err != nil {
		return fmt.Errorf("close recorder: sweep: %w", err)
	}
	if err := r.cfg.Cassette.MarkSwept(); err != nil {
		return fmt.Errorf("close recorder: sweep: %w", err)
	}
	r.log.Info("swept values learned late", "checked", len(stale), "rewritten", n)
	return nil
}

// resweep redacts a stored event again and reports whether that changed it.
func (r *Recorder) resweep(ev *cassette.Event) (bool, error) {
	changed := false
	text := func(s string) string {
		t := r.red.Text(s)
		changed = changed || t != s
		return t
	}
	header := func(h http.Header) http.Header {
		if h == nil {
			return nil
		}
		out := r.red.Header(h)
		for k, vs := range h {
			if !slices.Equal(vs, out[k]) {
				changed = true
			}
		}
		changed = changed || len(out) != len(h)
		return out
	}
	body := func(h http.Header, b []byte) []byte {
		if len(b) == 0 {
			return b
		}
		out := r.red.Body(h.Get("Content-Type"), b)
		changed = changed || !bytes.Equal(out, b)
		return out
	}
	if u := r.red.URL(ev.Request.URL); u != ev.Request.URL {
		ev.Request.URL, changed = u, true
	}
	ev.Request.Header = header(ev.Request.Header)
	ev.Request.Body = body(ev.Request.Header, ev.Request.Body)
	ev.Response.Header = header(ev.Response.Header)
	ev.Response.Body = body(ev.Response.Header, ev.Response.Body)
	if ev.Error != "" {
		ev.Error = text(ev.Error)
	}
	if ev.Bearer != nil {
		for k, v := range ev.Bearer.Claims {
			ev.Bearer.Claims[k] = text(v)
		}
	}
	return changed, nil
}
