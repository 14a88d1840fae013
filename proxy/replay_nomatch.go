package proxy

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// A request that matches nothing is answered 501 Not Implemented, in Graph's
// error shape, code "graphvcrNoMatch". Not 404: a bot may well treat a 404
// from Graph as an answer ("call already gone"), while 501 is something
// Graph never says for these APIs, so the divergence can not pass for
// recorded behaviour. The message and innerError name the nearest recorded
// requests and how they differ.
const noMatchStatus = http.StatusNotImplemented

// maxNearest is how many near misses an error names.
const maxNearest = 3

// noMatch answers a request that matches no recorded exchange and lists it
// in the report; the first time a request is seen, it is logged.
func (r *Replayer) noMatch(w http.ResponseWriter, req *http.Request, uri, liveKey string, body []byte) {
	key := req.Method + " " + liveKey
	r.mu.Lock()
	u := r.unmatched[key]
	firstTime := u == nil
	if firstTime {
		u = &Unmatched{Method: req.Method, Path: uri}
		r.unmatched[key] = u
	}
	u.Count++
	r.mu.Unlock()
	if firstTime {
		near := r.nearest(req.Method, uri, body)
		r.mu.Lock()
		u.Nearest = near
		r.mu.Unlock()
		r.log.Warn("request matches no recorded exchange", "method", req.Method,
			"shape", cassette.Shape(req.Method, uri), "nearest", len(near))
	}
	r.mu.Lock()
	near := slices.Clone(u.Nearest)
	r.mu.Unlock()

	msg := fmt.Sprintf("graphvcr: no recorded exchange matches %s %s", req.Method, req.URL.Path)
	if len(near) > 0 {
		parts := make([]string, len(near))
		for i, n := range near {
			parts[i] = fmt.Sprintf("#%d %s %s (%s)", n.Seq, n.Method, n.Path, strings.Join(n.Differences, "; "))
		}
		msg += "; nearest: " + strings.Join(parts, ", ")
	} else {
		msg += "; nothing recorded is like it"
	}
	writeGraphError(w, noMatchStatus, "graphvcrNoMatch", msg, map[string]any{"nearest": near})
}

// writeGraphError answers with Graph's error shape.
func writeGraphError(w http.ResponseWriter, status int, code, msg string, inner map[string]any) {
	if inner == nil {
		inner = map[string]any{}
	}
	inner["date"] = time.Now().UTC().Format(time.RFC3339)
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": code, "message": msg, "innerError": inner,
	}})
}

// nearest returns the recorded exchanges closest to a live request, with
// their differences.
func (r *Replayer) nearest(method, uri string, body []byte) []NearMiss {
	recorded := func(seq uint64) ([]byte, error) {
		ev, err := r.cfg.Cassette.Event(seq)
		if err != nil {
			return nil, err
		}
		return ev.Request.Body, nil
	}
	var out []NearMiss
	for _, n := range r.m.Nearest(method, uri, body, maxNearest, recorded) {
		out = append(out, NearMiss{Seq: n.Seq, Method: n.Method, Path: n.URL, Differences: n.Differences})
	}
	return out
}
