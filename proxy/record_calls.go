package proxy

import (
	"regexp"
	"strings"
	"sync"

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
			ids = append(ids, canonicalCallID(string(m[1])))
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

// callTracker remembers, in the order they were relayed, which outbound
// Graph exchanges concerned which call, to find a notification's trigger:
// the latest exchange on the same call whose response was relayed before the
// notification arrived; else the latest relayed exchange; else 0. Among
// those, an exchange that changes something (POST, PATCH, PUT, DELETE) is
// preferred to a read: Graph notifies about changes, so a bot polling an
// operation (GET) between its invite and the completion does not become the
// completion's trigger, and replay times the notification from the invite.
type callTracker struct {
	mu     sync.Mutex
	n      uint64                 // relays so far; a mark is a value of n
	all    []relayMark            // every relay, in order
	byCall map[string][]relayMark // relays per call id, in order
	seen   map[string]struct{}    // every call id seen, for the summary
}

type relayMark struct {
	n        uint64 // position in relay order, from 1
	seq      uint64 // the exchange's event
	mutating bool   // not a GET, HEAD or OPTIONS
}

func (t *callTracker) init() {
	t.byCall = map[string][]relayMark{}
	t.seen = map[string]struct{}{}
}

// relayed notes that the exchange seq (with its method), about calls, has been relayed.
func (t *callTracker) relayed(seq uint64, method string, calls []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n++
	m := relayMark{n: t.n, seq: seq}
	switch method {
	case "GET", "HEAD", "OPTIONS":
	default:
		m.mutating = true
	}
	t.all = append(t.all, m)
	for _, c := range calls {
		t.byCall[c] = append(t.byCall[c], m)
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

// mark returns the current position in relay order: what a notification
// arriving now may be triggered by.
func (t *callTracker) mark() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// trigger returns the seq of a notification's trigger given the mark taken
// when it arrived and the calls it is about.
func (t *callTracker) trigger(mark uint64, calls []string) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, mutating := range []bool{true, false} {
		var best relayMark
		for _, c := range calls {
			if m, ok := latestBefore(t.byCall[c], mark, mutating); ok && m.n > best.n {
				best = m
			}
		}
		if best.n != 0 {
			return best.seq
		}
	}
	for _, mutating := range []bool{true, false} {
		if m, ok := latestBefore(t.all, mark, mutating); ok {
			return m.seq
		}
	}
	return 0
}

// latestBefore returns the last mark at or before position mark, only
// mutating ones if mutatingOnly.
func latestBefore(ms []relayMark, mark uint64, mutatingOnly bool) (relayMark, bool) {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].n <= mark && (ms[i].mutating || !mutatingOnly) {
			return ms[i], true
		}
	}
	return relayMark{}, false
}

// count returns the number of distinct calls seen.
func (t *callTracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.seen)
}
