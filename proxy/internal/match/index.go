package match

import (
	"encoding/binary"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// Candidate is a recorded exchange that can answer requests. Everything but
// the response body, which is read on demand, is kept in memory. The
// exported fields are set before the Matcher sees it and never change.
type Candidate struct {
	Seq     uint64
	Kind    cassette.Kind
	Offset  time.Duration
	Latency time.Duration
	Method  string
	URL     string // path and query as recorded (redacted)
	Status  int
	Header  http.Header
	ErrText string
	// Abandoned is when the bot gave up on this exchange when recording,
	// from its arrival (cassette.Event.Abandoned); zero when it did not.
	// Replay answers it with nothing, and never serves it again.
	Abandoned time.Duration

	tmpl template
	used bool // guarded by Matcher.mu: the one record of "this exchange was used"
	// rank is the Candidate's place in the Matcher's recorded order, from
	// 1: the order the requests arrived in, which differs from seq (the
	// order of commits) when a slow answer was overtaken.
	rank uint64
}

// The index. Candidates are grouped by shape, then by template key, then by
// class: the values that must be equal (ids kept as recorded, strings that
// are not pseudonyms) are part of a class's identity, so within a class
// every hole binds. Which holes those are (a mask) is the same for most
// exchanges of one key; a live request is looked up in each mask of its key.
//
// Within a class, bindings decide what can fit, and they only ever grow:
//   - when one of the live request's bound values is bound to pseudonym p at
//     hole h, only candidates with p at h can fit: one queue per (h, p);
//   - when none is bound, only candidates whose pseudonyms are all still
//     unbound can fit, and once one is bound it never fits such a request
//     again: the class's queue drops it for good.
//
// Each queue keeps the candidates not yet known to be dead in recorded order
// and drops dead ones as it passes them, so serving a cassette in order costs
// the same per request whatever its length, and a Candidate is skipped at
// most once per queue it is in.

// queue is a list of candidates in recorded order.
type queue struct {
	cands []*Candidate // every Candidate, for serving a used one again
	open  []*Candidate // those not yet found dead, in order
}

func (q *queue) push(c *Candidate) {
	q.cands = append(q.cands, c)
	q.open = append(q.open, c)
}

// class holds the candidates of one key that agree on every value that does
// not bind.
type class struct {
	holes  []int               // positions of the values that bind
	fresh  queue               // dead: used, or any pseudonym bound
	byHole []map[string]*queue // per hole, by recorded value (id key or string); dead: used
}

// mask is a set of positions of values that do not bind, with the classes
// of the candidates having exactly those.
type mask struct {
	fixed   []int
	classes map[string]*class // by signature of the values at fixed
}

// group holds the candidates sharing one template key.
type group struct {
	key   string
	masks []*mask
}

// shapeGroup holds the candidates of one cassette.Shape.
type shapeGroup struct {
	groups map[string]*group // by template key
	all    []*Candidate
}

// Matcher finds the recorded exchange answering a live request and keeps the
// session's bindings. It is safe for concurrent use.
type Matcher struct {
	pseudonyms pseudonymSet

	all []*Candidate // every recorded exchange, in load order; fixed once loaded

	mu     sync.RWMutex // guards everything below and Candidate.used
	shapes map[string]*shapeGroup
	b      bindings
	gen    uint64 // counts changes of b, to key cached renderings
	t      tentative
	n      uint64 // candidates indexed so far

	// Scratch of match, reused so that matching allocates nothing itself.
	sig     []byte
	classes []*class
}

func newMatcher(pseudonyms pseudonymSet) *Matcher {
	return &Matcher{pseudonyms: pseudonyms, shapes: map[string]*shapeGroup{}}
}

// add indexes a recorded exchange. Exchanges must be added in recorded order.
func (m *Matcher) add(c *Candidate, body []byte) {
	m.Prepare(c, body)
	m.Index(c)
}

// Prepare registers a recorded exchange that requests may match and builds
// its template from its recorded request body, so that the body need not be
// kept until Index. It is for loading, before any request is matched.
func (m *Matcher) Prepare(c *Candidate, body []byte) {
	m.all = append(m.all, c)
	c.tmpl = newTemplate(c.Method, c.URL, body, m.pseudonyms)
}

// Index indexes a prepared exchange. Exchanges must be indexed in the
// order their requests arrived when recording: repeated identical requests
// are served in that order.
func (m *Matcher) Index(c *Candidate) {
	m.n++
	c.rank = m.n
	shape := cassette.Shape(c.Method, c.URL)
	sg := m.shapes[shape]
	if sg == nil {
		sg = &shapeGroup{groups: map[string]*group{}}
		m.shapes[shape] = sg
	}
	sg.all = append(sg.all, c)
	g := sg.groups[c.tmpl.key]
	if g == nil {
		g = &group{key: c.tmpl.key}
		sg.groups[c.tmpl.key] = g
	}
	c.tmpl.key = g.key // one copy of a key for all its exchanges
	var fixed, holes []int
	for i, v := range c.tmpl.values {
		if v.bind {
			holes = append(holes, i)
		} else {
			fixed = append(fixed, i)
		}
	}
	var mk *mask
	for _, x := range g.masks {
		if slices.Equal(x.fixed, fixed) {
			mk = x
			break
		}
	}
	if mk == nil {
		mk = &mask{fixed: fixed, classes: map[string]*class{}}
		g.masks = append(g.masks, mk)
	}
	sig := string(appendSignature(nil, fixed, c.tmpl.values))
	cl := mk.classes[sig]
	if cl == nil {
		cl = &class{holes: holes, byHole: make([]map[string]*queue, len(holes))}
		for h := range cl.byHole {
			cl.byHole[h] = map[string]*queue{}
		}
		mk.classes[sig] = cl
	}
	cl.fresh.push(c)
	for h, pos := range cl.holes {
		k := recordedValue(&c.tmpl.values[pos])
		q := cl.byHole[h][k]
		if q == nil {
			q = &queue{}
			cl.byHole[h][k] = q
		}
		q.push(c)
	}
}

// appendSignature appends the values at the fixed positions, each with its
// length, so that no two lists of values share a signature.
func appendSignature(dst []byte, fixed []int, values []value) []byte {
	for _, i := range fixed {
		v := &values[i]
		dst = append(dst, byte(v.kind))
		dst = binary.AppendUvarint(dst, uint64(len(v.text)))
		dst = append(dst, v.text...)
	}
	return dst
}

// recordedValue is what a recorded binding value is known by: an id's key,
// a string's text.
func recordedValue(v *value) string {
	if v.kind == holeID {
		return v.key
	}
	return v.text
}

// match returns the recorded exchange answering a live request, binding its
// pseudonyms: the first unused one in recorded order that fits, else the last
// used one that fits and was not abandoned (first is then false: it is
// served again). It returns nil when nothing fits.
func (m *Matcher) match(shape string, live *template, keep func(*Candidate, bool) bool) (c *Candidate, first bool) {
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
	m.classes = m.classes[:0]
	for _, mk := range g.masks {
		m.sig = appendSignature(m.sig[:0], mk.fixed, live.values)
		if cl := mk.classes[string(m.sig)]; cl != nil {
			m.classes = append(m.classes, cl)
		}
	}
	var best *Candidate
	for _, cl := range m.classes {
		if c := m.firstUnused(cl, live, best); c != nil {
			best = c
		}
	}
	if best == nil {
		for _, cl := range m.classes {
			if c := m.lastUsed(cl, live, best); c != nil {
				best = c
			}
		}
	}
	clear(m.classes)
	if best == nil {
		return nil, false
	}
	// Recompute the tentative bindings of the winner (another Candidate may
	// have been tried last) and make them session-wide.
	m.t.reset()
	m.b.fits(best.tmpl.values, live.values, &m.t)
	if m.b.commit(&m.t) {
		m.gen++
	}
	first = !best.used
	if keep != nil && keep(best, first) {
		// Left unused: best stays in the queue firstUnused found it in
		// (the scan stopped at it), so a retry finds it there.
		return best, first
	}
	best.used = true
	return best, first
}

// pick returns the queue of cl holding every Candidate that can fit live,
// and whether it is the class's fresh queue; nil when none can.
func (m *Matcher) pick(cl *class, live *template) (q *queue, fresh bool) {
	for h, pos := range cl.holes {
		l := &live.values[pos]
		var p string
		var ok bool
		if l.kind == holeID {
			p, ok = m.b.idsRev[l.key]
		} else {
			p, ok = m.b.strRev[l.text]
		}
		if !ok {
			continue
		}
		hq := cl.byHole[h][p]
		if hq == nil {
			return nil, false // nothing of this class has p there
		}
		if q == nil || len(hq.open) < len(q.open) {
			q = hq
		}
	}
	if q == nil {
		return &cl.fresh, true
	}
	return q, false
}

// firstUnused returns the first unused Candidate of cl that fits live and
// comes before limit (when set), dropping the dead candidates it passes.
func (m *Matcher) firstUnused(cl *class, live *template, limit *Candidate) *Candidate {
	q, fresh := m.pick(cl, live)
	if q == nil {
		return nil
	}
	open := q.open
	var found *Candidate
	kept, r := 0, 0
	for ; r < len(open); r++ {
		c := open[r]
		if limit != nil && c.rank > limit.rank {
			break
		}
		if c.used || (fresh && m.anyBound(cl, c)) {
			continue // dead for this queue: dropped
		}
		m.t.reset()
		if m.b.fits(c.tmpl.values, live.values, &m.t) {
			found = c
			break
		}
		open[kept] = c
		kept++
	}
	// Keep the live candidates passed, just before where the scan stopped.
	copy(open[r-kept:r], open[:kept])
	clear(open[:r-kept])
	q.open = open[r-kept:]
	return found
}

// anyBound reports whether any pseudonym of c (in class cl) is bound.
func (m *Matcher) anyBound(cl *class, c *Candidate) bool {
	for _, pos := range cl.holes {
		v := &c.tmpl.values[pos]
		var ok bool
		if v.kind == holeID {
			_, ok = m.b.ids[v.key]
		} else {
			_, ok = m.b.strs[v.text]
		}
		if ok {
			return true
		}
	}
	return false
}

// lastUsed returns the last used Candidate of cl that fits live and comes
// after limit (when set).
func (m *Matcher) lastUsed(cl *class, live *template, limit *Candidate) *Candidate {
	q, fresh := m.pick(cl, live)
	if q == nil || (fresh && len(cl.holes) > 0) {
		// A used Candidate has all its pseudonyms bound, and none of the
		// live values is: it can not fit.
		return nil
	}
	for i := len(q.cands) - 1; i >= 0; i-- {
		c := q.cands[i]
		if limit != nil && c.rank < limit.rank {
			break
		}
		if !c.used || c.Abandoned > 0 {
			continue // an abandoned exchange has no answer to repeat
		}
		m.t.reset()
		if m.b.fits(c.tmpl.values, live.values, &m.t) {
			return c
		}
	}
	return nil
}
