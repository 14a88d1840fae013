package proxy

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/internal/match"
)

// load reads the cassette's heads once (response bodies stay on disk) into
// the matcher, the token endpoint's list and the notifications to schedule.
// Anything else built from every recorded head (a fault plan, from
// timeline.HeadOf of each) belongs in this one walk.
func (r *Replayer) load() ([]*notification, error) {
	rd := r.cfg.Cassette
	r.m = match.New(rd.Pseudonyms())
	meta := rd.Meta()
	graphBase, tokenBase := basePath(meta.Upstream), basePath(meta.TokenUpstream)

	answered := map[uint64]time.Duration{} // seq -> when its answer was relayed, from session start
	var notifs []*notification
	offsets := map[uint64]time.Duration{} // notification seq -> offset
	seenOrigin := map[string]bool{}
	var graph []*match.Candidate // in seq (commit) order
	var heads faultHeads
	err := rd.EachHead(func(ev *cassette.Event) error {
		heads.add(r.cfg.Faults, ev)
		switch ev.Kind {
		case cassette.KindGraph, cassette.KindToken:
			answered[ev.Seq] = ev.Offset + ev.Latency
			if ev.Abandoned > 0 {
				// The bot never got this answer: replay arms its
				// notifications when the request is matched, so their
				// gaps count from its arrival.
				answered[ev.Seq] = ev.Offset
			}
			base := graphBase
			if ev.Kind == cassette.KindToken {
				base = tokenBase
			}
			if o := originOf(ev.Request.URL); o != "" && !seenOrigin[o] {
				seenOrigin[o] = true
				r.origins = append(r.origins, o)
			}
			c := &match.Candidate{
				Seq: ev.Seq, Kind: ev.Kind, Offset: ev.Offset, Latency: ev.Latency,
				Method: ev.Request.Method, URL: requestURI(ev.Request.URL, base),
				Status: ev.Response.Status, Header: ev.Response.Header, ErrText: ev.Error,
				Abandoned: ev.Abandoned,
			}
			if ev.Kind == cassette.KindToken && r.tokens.add(c) {
				r.m.Offline(c)
				return nil
			}
			r.m.Prepare(c, subscriptionMatchBody(c.Method, c.URL, ev.Request.Body))
			graph = append(graph, c)
		case cassette.KindNotification:
			if isValidationEvent(ev.Request.Method, ev.Request.URL) {
				return nil // replay's own handshake stands in for it (replay_changes.go)
			}
			offsets[ev.Seq] = ev.Offset
			answered[ev.Seq] = ev.Offset + ev.Latency
			notifs = append(notifs, &notification{
				seq: ev.Seq, trigger: ev.Trigger, path: requestURI(ev.Request.URL, ""),
				recordedStatus: ev.Response.Status,
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load cassette: %w", err)
	}
	// Served in the order the requests arrived: an answer that came late
	// (the bot gave up on it and retried) is committed after the retry's,
	// but the retry followed it.
	slices.SortStableFunc(graph, func(a, b *match.Candidate) int { return cmp.Compare(a.Offset, b.Offset) })
	for _, c := range graph {
		r.m.Index(c)
	}
	for _, n := range notifs {
		from, ok := answered[n.trigger]
		if !ok || n.trigger >= n.seq {
			// Unknown trigger (or none): time it from replay start.
			n.trigger, from = 0, 0
		}
		n.gap = max(offsets[n.seq]-from, 0)
	}
	if err := r.faults.init(r.cfg.Seed, r.cfg.Faults, heads); err != nil {
		return nil, err
	}
	return notifs, nil
}

// basePath returns the path of an upstream base URL ("" for a bare host).
func basePath(upstream string) string {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.EscapedPath()
}

// originOf returns scheme://host of an absolute URL, "" for a relative one.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// requestURI returns the escaped path and query of a recorded absolute URL,
// without the upstream's base path.
func requestURI(raw, base string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	p := trimBase(u.EscapedPath(), base)
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}
