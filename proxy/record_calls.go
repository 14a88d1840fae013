package proxy

import (
	"cmp"
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// callSegment finds the call id in a Graph path or a notification resource:
// /communications/calls/{id}/..., /app/calls/{id}/..., communications/calls/{id}.
var callSegment = regexp.MustCompile(`(?:^|/)calls/([0-9A-Za-z{}_.:-]+)`)

// createCall matches the path that creates a call (its id is in the answer).
var createCall = regexp.MustCompile(`/calls/?$`)

// canonicalCallID returns a call id in one form whatever form it came in:
// a GUID (dashed or not, braced, any case) as lower-case dashed, anything
// else lower-cased.
func canonicalCallID(s string) string {
	s = strings.ToLower(strings.Trim(s, "{}"))
	hex := strings.ReplaceAll(s, "-", "")
	if len(hex) == 32 && strings.Trim(hex, "0123456789abcdef") == "" {
		return hex[:8] + "-" + hex[8:12] + "-" + hex[12:16] + "-" + hex[16:20] + "-" + hex[20:]
	}
	return s
}

// callIDOf returns the canonical call id named in a path or resource, or "".
func callIDOf(s string) string {
	m := callSegment.FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return canonicalCallID(m[1])
}

// callIDsOf returns the calls an outbound exchange is about: the one in its
// URL path, or, for a successful create-call, the id of the new call.
func callIDsOf(method, path string, status int, respBody []byte) []string {
	if id := callIDOf(path); id != "" {
		return []string{id}
	}
	if method == "POST" && status/100 == 2 && createCall.MatchString(path) && gjson.ValidBytes(respBody) {
		if id := gjson.GetBytes(respBody, "id").String(); id != "" {
			return []string{canonicalCallID(id)}
		}
	}
	return nil
}

// notificationCallIDs returns the calls a notification body is about, from
// the resource (and resourceUrl) of each of its values.
func notificationCallIDs(body []byte) []string {
	if !gjson.ValidBytes(body) {
		// Not JSON (Graph's own examples are not always valid): scan the text.
		var ids []string
		for _, m := range callSegment.FindAllSubmatch(body, -1) {
			if id := canonicalCallID(string(m[1])); id != "" {
				ids = append(ids, id)
			}
		}
		return ids
	}
	var ids []string
	add := func(s string) {
		if id := callIDOf(s); id != "" {
			ids = append(ids, id)
		}
	}
	add(gjson.GetBytes(body, "resource").String())
	add(gjson.GetBytes(body, "resourceUrl").String())
	gjson.GetBytes(body, "value").ForEach(func(_, v gjson.Result) bool {
		add(v.Get("resource").String())
		add(v.Get("resourceUrl").String())
		return true
	})
	return ids
}

// callTracker remembers which outbound Graph exchanges concerned which call,
// in the order their requests arrived, to find a notification's trigger: the
// latest exchange on the same call whose request reached graphvcr before the
// notification did; else the latest such exchange; else 0 (session start).
//
// Request arrival, not the relay of the answer, is what counts: Graph can
// only notify about what it was asked, and it often notifies before its
// answer has crossed graphvcr (the answer waits for its durable commit; a
// fast "establishing" can even beat the create-call answer). Timing a
// replayed notification from an earlier exchange would deliver it before
// the bot has sent the request it is about, with ids not yet bound.
//
// Among candidates, an exchange that changes something (POST, PATCH, PUT,
// DELETE) is preferred to a read: Graph notifies about changes, so a bot
// polling an operation (GET) between its invite and the completion does not
// become the completion's trigger.
type callTracker struct {
	mu     sync.Mutex
	n      uint64                  // exchanges begun so far; a mark is a value of n
	all    []*relayMark            // exchanges still worth considering, in arrival order
	byCall map[string][]*relayMark // the same, per call id
	seen   map[string]struct{}     // every call id seen, for the summary
	// watching counts the marks held by notifications whose trigger is not
	// chosen yet (from mark to release): what they may still pick is kept.
	watching map[uint64]int
}

// relayMark is one outbound exchange as the tracker knows it. seq is set,
// and done closed, once the exchange is committed (seq stays 0 if it could
// not be).
type relayMark struct {
	n        uint64   // position in arrival order, from 1
	mutating bool     // not a GET, HEAD or OPTIONS
	calls    []string // the calls it is filed under
	done     chan struct{}
	seq      uint64 // guarded by callTracker.mu; final once done is closed
}

// triggerWait bounds how long a notification waits for its trigger's commit
// (the trigger's upstream answer may still be on its way).
const triggerWait = 5 * time.Second

func (t *callTracker) init() {
	t.byCall = map[string][]*relayMark{}
	t.seen = map[string]struct{}{}
	t.watching = map[uint64]int{}
}

// begin notes that an outbound exchange (method, about calls) has arrived.
// The caller must call finish on the returned mark exactly once.
func (t *callTracker) begin(method string, calls []string) *relayMark {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	m := &relayMark{n: t.n, done: make(chan struct{})}
	switch method {
	case "GET", "HEAD", "OPTIONS":
	default:
		m.mutating = true
	}
	t.all = append(t.all, m)
	t.index(m, calls)
	return m
}

// index files m under those of calls it is not filed under yet. Caller
// holds t.mu.
func (t *callTracker) index(m *relayMark, calls []string) {
	for _, c := range calls {
		if slices.Contains(m.calls, c) {
			continue
		}
		m.calls = append(m.calls, c)
		// Keep each list in arrival order: a create-call is filed under
		// its call only when its answer arrives.
		l := t.byCall[c]
		i := len(l)
		for i > 0 && l[i-1].n > m.n {
			i--
		}
		t.byCall[c] = slices.Insert(l, i, m)
	}
}

// finish records the seq an exchange was committed as (0 if it was not) and
// the calls learnt from its answer (a create-call's new id).
// A nil mark, and every call after the first, are no-ops.
func (t *callTracker) finish(m *relayMark, seq uint64, calls []string) {
	if m == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-m.done:
		return
	default:
	}
	m.seq = seq
	t.index(m, calls)
	close(m.done)
	if seq != 0 {
		t.prune(m)
	}
}

// prune forgets the exchanges that committed m makes unreachable, so that a
// long session's tracker holds about what is in flight, not its history.
// trigger walks each kind of candidate latest first and stops at the first
// committed one, so an older exchange of m's kind (change or read) in a
// list m is in is never reached by a notification whose mark is at or after
// m; notifications arriving later all are. An older one is kept while a
// notification with an earlier mark is still choosing its trigger.
func (t *callTracker) prune(m *relayMark) {
	for w := range t.watching {
		if w < m.n {
			return
		}
	}
	older := func(x *relayMark) bool { return x.n < m.n && x.mutating == m.mutating }
	t.all = slices.DeleteFunc(t.all, older)
	for _, c := range m.calls {
		t.byCall[c] = slices.DeleteFunc(t.byCall[c], older)
	}
}

// saw notes call ids met anywhere.
func (t *callTracker) saw(calls []string) {
	if len(calls) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range calls {
		t.seen[c] = struct{}{}
	}
}

// mark returns the current position in arrival order: what a notification
// arriving now may be triggered by. The exchanges it may pick are kept
// until release is called with it, which the caller must do once.
func (t *callTracker) mark() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.watching[t.n]++
	return t.n
}

// release ends the hold of a mark returned by mark.
func (t *callTracker) release(mark uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.watching[mark]--; t.watching[mark] <= 0 {
		delete(t.watching, mark)
	}
}

// trigger returns the seq of a notification's trigger given the mark taken
// when it arrived and the calls it is about. It waits (bounded by ctx and
// triggerWait) for the chosen exchange to be committed; one that could not
// be committed, or is not committed in time, is passed over.
func (t *callTracker) trigger(ctx context.Context, mark uint64, calls []string) uint64 {
	ctx, cancel := context.WithTimeout(ctx, triggerWait)
	defer cancel()
	for _, m := range t.candidates(mark, calls) {
		select {
		case <-m.done:
		case <-ctx.Done():
		}
		t.mu.Lock()
		seq := m.seq
		t.mu.Unlock()
		if seq != 0 {
			return seq
		}
	}
	return 0
}

// candidates lists a notification's possible triggers, best first: changes
// on its calls, reads on its calls, any change, any read, each latest first.
func (t *callTracker) candidates(mark uint64, calls []string) []*relayMark {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*relayMark
	seen := map[*relayMark]bool{}
	add := func(lists [][]*relayMark, mutating bool) {
		var picked []*relayMark
		for _, l := range lists {
			for _, m := range l {
				if m.n <= mark && m.mutating == mutating && !seen[m] {
					seen[m] = true
					picked = append(picked, m)
				}
			}
		}
		slices.SortFunc(picked, func(a, b *relayMark) int { return cmp.Compare(b.n, a.n) })
		out = append(out, picked...)
	}
	var mine [][]*relayMark
	for _, c := range calls {
		mine = append(mine, t.byCall[c])
	}
	add(mine, true)
	add(mine, false)
	add([][]*relayMark{t.all}, true)
	add([][]*relayMark{t.all}, false)
	return out
}

// count returns the number of distinct calls seen.
func (t *callTracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.seen)
}
