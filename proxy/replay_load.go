package proxy

import (
	"cmp"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// load reads the cassette's heads once (response bodies stay on disk) into
// the matcher, the token endpoint's list and the notifications to schedule.
func (r *Replayer) load() ([]*notification, error) {
	rd := r.cfg.Cassette
	ps := pseudonymSet{}
	for _, p := range rd.Pseudonyms() {
		ps[p] = true
	}
	r.m = newMatcher(ps)
	r.rw.pseudonyms = ps
	meta := rd.Meta()
	graphBase, tokenBase := basePath(meta.Upstream), basePath(meta.TokenUpstream)

	answered := map[uint64]time.Duration{} // seq -> when its answer was relayed, from session start
	var notifs []*notification
	offsets := map[uint64]time.Duration{} // notification seq -> offset
	seenOrigin := map[string]bool{}
	err := rd.EachHead(func(ev *cassette.Event) error {
		switch ev.Kind {
		case cassette.KindGraph, cassette.KindToken:
			answered[ev.Seq] = ev.Offset + ev.Latency
			base := graphBase
			if ev.Kind == cassette.KindToken {
				base = tokenBase
			}
			if o := originOf(ev.Request.URL); o != "" && !seenOrigin[o] {
				seenOrigin[o] = true
				r.origins = append(r.origins, o)
			}
			c := &candidate{
				seq: ev.Seq, kind: ev.Kind, offset: ev.Offset, latency: ev.Latency,
				method: ev.Request.Method, url: requestURI(ev.Request.URL, base),
				status: ev.Response.Status, header: ev.Response.Header, errText: ev.Error,
			}
			r.unused[ev.Seq] = c
			if ev.Kind == cassette.KindToken && r.tokens.add(c) {
				return nil
			}
			r.m.add(c, ev.Request.Body)
		case cassette.KindNotification:
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
	latest := latestAnswered(answered, offsets)
	for _, n := range notifs {
		from, ok := answered[n.trigger]
		if !ok || n.trigger >= n.seq {
			// Unknown trigger (or none): time it from replay start.
			n.trigger, from = 0, 0
		}
		// The recorder picks the trigger by when the bot got its answer,
		// which a slow commit can put after the notification's arrival;
		// Graph had answered it already. Never send a notification before
		// an exchange Graph answered before sending it: the bot's ids and
		// clientContext in it may be bound by that exchange.
		if seq, at := latest(offsets[n.seq]); seq > n.trigger && seq < n.seq {
			n.trigger, from = seq, at
		}
		n.gap = max(offsets[n.seq]-from, 0)
	}
	return notifs, nil
}

// latestAnswered returns a function giving the highest seq among the
// exchanges (not notifications) answered upstream at or before t, with its
// answer time; 0 when none.
func latestAnswered(answered, notifications map[uint64]time.Duration) func(t time.Duration) (uint64, time.Duration) {
	type ans struct {
		seq uint64
		at  time.Duration
	}
	var all []ans
	for seq, at := range answered {
		if _, isNotif := notifications[seq]; !isNotif {
			all = append(all, ans{seq, at})
		}
	}
	slices.SortFunc(all, func(a, b ans) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq)) })
	// best[i] is the highest seq among all[:i+1].
	best := make([]ans, len(all))
	for i, a := range all {
		best[i] = a
		if i > 0 && best[i-1].seq > a.seq {
			best[i] = best[i-1]
		}
	}
	return func(t time.Duration) (uint64, time.Duration) {
		i := sort.Search(len(all), func(i int) bool { return all[i].at > t })
		if i == 0 {
			return 0, 0
		}
		return best[i-1].seq, best[i-1].at
	}
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
