package proxy

import (
	"net/http"
	"sync"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// candidate is a recorded exchange that can answer requests. Everything but
// the response body, which is read on demand, is kept in memory.
type candidate struct {
	seq     uint64
	kind    cassette.Kind
	offset  time.Duration
	latency time.Duration
	method  string
	url     string // as recorded (redacted)
	tmpl    template
	status  int
	header  http.Header
	errText string
	used    bool // guarded by matcher.mu
}

// bucket is a list of candidates in recorded order with a cursor past the
// leading ones already used, so serving in order stays cheap however many
// identical requests were recorded.
type bucket struct {
	cands       []*candidate
	firstUnused int
}

func (b *bucket) unused() []*candidate {
	for b.firstUnused < len(b.cands) && b.cands[b.firstUnused].used {
		b.firstUnused++
	}
	return b.cands[b.firstUnused:]
}

// group holds the candidates sharing one template key, also by primary id.
type group struct {
	all       bucket
	byPrimary map[string]*bucket
}

// shapeGroup holds the candidates of one cassette.Shape.
type shapeGroup struct {
	groups map[string]*group // by template key
	all    []*candidate
}

// matcher finds the recorded exchange answering a live request and keeps the
// session's bindings. It is safe for concurrent use.
type matcher struct {
	pseudonyms pseudonymSet

	mu     sync.RWMutex // guards everything below and candidate.used
	shapes map[string]*shapeGroup
	b      bindings
	gen    uint64 // counts changes of b, to key cached renderings
	t      tentative
}

func newMatcher(pseudonyms pseudonymSet) *matcher {
	return &matcher{pseudonyms: pseudonyms, shapes: map[string]*shapeGroup{}}
}

// add indexes a recorded exchange. Exchanges must be added in recorded order.
func (m *matcher) add(c *candidate, body []byte) {
	c.tmpl = newTemplate(c.method, c.url, body, m.pseudonyms)
	shape := cassette.Shape(c.method, c.url)
	sg := m.shapes[shape]
	if sg == nil {
		sg = &shapeGroup{groups: map[string]*group{}}
		m.shapes[shape] = sg
	}
	sg.all = append(sg.all, c)
	g := sg.groups[c.tmpl.key]
	if g == nil {
		g = &group{byPrimary: map[string]*bucket{}}
		sg.groups[c.tmpl.key] = g
	}
	g.all.cands = append(g.all.cands, c)
	p := c.tmpl.primary()
	b := g.byPrimary[p]
	if b == nil {
		b = &bucket{}
		g.byPrimary[p] = b
	}
	b.cands = append(b.cands, c)
}

// match returns the recorded exchange answering a live request, binding its
// pseudonyms: the first unused one in recorded order that fits, else the last
// used one that fits (first is then false: it is served again). It returns
// nil when nothing fits.
func (m *matcher) match(shape string, live *template) (c *candidate, first bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	sg := m.shapes[shape]
	if sg == nil {
		return nil, false
	}
	g := sg.groups[live.key]
	if g == nil {
		return nil, false
	}
	// Where to look: when the live request's first id is already bound, the
	// bucket of its pseudonym and that of the value kept as recorded; else
	// every candidate of the group (the unused ones first, from a cursor).
	var buckets []*bucket
	if id := firstID(live); id != nil {
		if p, ok := m.b.idsRev[id.key]; ok {
			for _, k := range []string{"p:" + p, "f:" + id.text} {
				if b := g.byPrimary[k]; b != nil {
					buckets = append(buckets, b)
				}
			}
		}
	}
	if buckets == nil {
		buckets = []*bucket{&g.all}
	}
	var best *candidate
	for _, b := range buckets {
		for _, cand := range b.unused() {
			if best != nil && cand.seq > best.seq {
				break
			}
			if cand.used {
				continue
			}
			m.t.reset()
			if m.b.fits(cand.tmpl.values, live.values, &m.t) {
				best = cand
				break
			}
		}
	}
	if best == nil {
		for _, b := range buckets {
			for i := len(b.cands) - 1; i >= 0; i-- {
				cand := b.cands[i]
				if best != nil && cand.seq < best.seq {
					break
				}
				m.t.reset()
				if cand.used && m.b.fits(cand.tmpl.values, live.values, &m.t) {
					best = cand
					break
				}
			}
		}
		if best == nil {
			return nil, false
		}
	}
	// Recompute the tentative bindings of the winner (another candidate may
	// have been tried last) and make them session-wide.
	m.t.reset()
	m.b.fits(best.tmpl.values, live.values, &m.t)
	if m.b.commit(&m.t) {
		m.gen++
	}
	first = !best.used
	best.used = true
	return best, first
}

func firstID(t *template) *value {
	for i := range t.values {
		if t.values[i].kind == holeID {
			return &t.values[i]
		}
	}
	return nil
}
