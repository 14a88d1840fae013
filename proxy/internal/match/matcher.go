// Package match finds the recorded exchange answering a live request during
// replay, and keeps what matching learns: which pseudonyms of the recording
// are bound to which live values, and which recorded exchanges were used.
//
// A Matcher keeps its lock to itself, as bbolt does: every method locks what
// it reads, and bound values leave it only through Render, which renders
// recorded bytes with the bindings of one generation.
package match

import (
	"github.com/graphvcr/graphvcr/cassette"
)

// New returns an empty Matcher for a cassette whose pseudonyms (those its
// redactor issued) are given: a recorded value among them matches any live
// value of its form and binds to it.
func New(pseudonyms []string) *Matcher {
	ps := make(pseudonymSet, len(pseudonyms))
	for _, p := range pseudonyms {
		ps[p] = true
	}
	return newMatcher(ps)
}

// Offline registers a recorded exchange that graphvcr answers itself in
// replay (a token request): it is never matched, but it is one of All and
// is used once MarkUsed says so. It is for loading, like Prepare.
func (m *Matcher) Offline(c *Candidate) { m.all = append(m.all, c) }

// All returns every recorded exchange given to Prepare or Offline, in the
// order given. The slice is fixed once loading is done: do not modify it.
func (m *Matcher) All() []*Candidate { return m.all }

// Match returns the recorded exchange answering a live request (method,
// path with query, decoded body), binding its pseudonyms: the first unused
// one in recorded order that fits, else the last used one that fits and was
// not abandoned (first is then false: it is served again). It returns nil
// when nothing fits; key then identifies the request up to ids and values,
// to count repeats of one unmatched request.
func (m *Matcher) Match(method, uri string, body []byte) (c *Candidate, first bool, key string) {
	live := newTemplate(method, uri, body, nil)
	c, first = m.match(cassette.Shape(method, uri), &live, nil)
	return c, first, live.key
}

// MatchKeep is Match with a say in the use: keep is called, under the
// Matcher's lock, with the exchange found and whether this is its first
// use, and when it returns true a first use leaves the exchange unused, so
// that the next request that fits gets it again as a first use (replay's
// faults answer a request otherwise and keep its recorded answer for the
// bot's retry). keep must be quick and must not call the Matcher.
func (m *Matcher) MatchKeep(method, uri string, body []byte, keep func(c *Candidate, first bool) bool) (c *Candidate, first bool, key string) {
	live := newTemplate(method, uri, body, nil)
	c, first = m.match(cassette.Shape(method, uri), &live, keep)
	return c, first, live.key
}

// MarkUsed records that c was answered (by graphvcr itself, for exchanges
// registered with Offline) and reports whether it was its first use.
func (m *Matcher) MarkUsed(c *Candidate) (first bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	first = !c.used
	c.used = true
	return first
}

// Generation counts the changes of the bindings so far: a rendering made at
// one generation stays right until it changes.
func (m *Matcher) Generation() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.gen
}

// Render calls f with a Renderer of the current bindings, which stay as they
// are until f returns, and returns their generation. pre, when not nil, is
// applied to recorded bytes before the bindings (URL rewriting). f must not
// call the Matcher.
func (m *Matcher) Render(pre func([]byte) []byte, f func(Renderer)) (gen uint64) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	f(Renderer{b: &m.b, pre: pre, pseudonyms: m.pseudonyms})
	return m.gen
}
