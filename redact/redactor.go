package redact

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Redactor redacts the traffic of one cassette. Each distinct identifier it
// meets gets one pseudonym for the whole session, numbered by first
// appearance; the mapping is held in memory only and never exposed.
// A Redactor is safe for concurrent use. Create one with New.
type Redactor struct {
	policy *Policy
	keepH  map[string]bool // canonical header names from Policy.KeepHeaders

	mu                                              sync.RWMutex // guards everything below
	guids                                           map[[16]byte]int
	phones                                          map[string]int
	emails                                          map[string]int
	names                                           map[string]int
	hosts                                           map[string]int
	ips                                             map[netip.Addr]int
	guidN, phoneN, emailN, nameN, hostN, ip4N, ip6N int
	issued                                          []string // every pseudonym issued, in order
	taken                                           int      // issued[:taken] were returned by TakeNew

	layersMu sync.RWMutex           // guards layers
	layers   map[string]*layerEntry // outcomes of encoded texts: see cachedLayer

	// lits is a copy-on-write snapshot of learned names and hosts, read
	// without the lock by every pass.
	lits atomic.Pointer[literals]
}

// New returns a Redactor applying p; a nil p is the default policy
// (everything redacted, nothing kept).
func New(p *Policy) *Redactor {
	if p == nil {
		p = &Policy{}
	}
	r := &Redactor{
		policy: p,
		keepH:  map[string]bool{},
		guids:  map[[16]byte]int{},
		phones: map[string]int{},
		emails: map[string]int{},
		names:  map[string]int{},
		hosts:  map[string]int{},
		ips:    map[netip.Addr]int{},
		layers: map[string]*layerEntry{},
	}
	for _, h := range p.KeepHeaders {
		r.keepH[canonicalHeader(h)] = true
	}
	return r
}

// TakeNew returns the pseudonyms issued since the previous call (in their
// canonical form: lower dashed GUID, "+555...", "user1@example.invalid",
// "Person 1", "bot1.example.invalid", "192.0.2.1"). The recorder passes them
// to cassette.Writer.Append with the event that first used them.
func (r *Redactor) TakeNew() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.taken == len(r.issued) {
		return nil
	}
	out := append([]string(nil), r.issued[r.taken:]...)
	r.taken = len(r.issued)
	return out
}

// Pseudonyms returns every pseudonym issued so far, in order of issue.
func (r *Redactor) Pseudonyms() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.issued...)
}

// Text returns s redacted: identifiers pseudonymised, secrets removed.
func (r *Redactor) Text(s string) string {
	before := r.lits.Load()
	p := r.newPass()
	out, changed := p.redact(nil, []byte(s))
	p.release()
	if !changed {
		out = []byte(s)
	}
	out = r.relearn(before, out, r.textBytes)
	if !changed && len(out) == len(s) && string(out) == s {
		return s
	}
	return string(out)
}

// passes recycles passes and their span slices: every Body, Text and URL
// runs at least one.
var passes = sync.Pool{New: func() any { return new(pass) }}

// newPass returns a pass that redacts with r; release it when done.
func (r *Redactor) newPass() *pass {
	p := passes.Get().(*pass)
	*p = pass{r: r, lits: r.lits.Load(), spans: p.spans[:0], scratch: p.scratch[:0]}
	return p
}

// reserve keeps a counter past a pseudonym number seen in the input, so a
// pseudonym already present (redacting redacted text) never gets issued
// again for a different original.
func (r *Redactor) reserve(counter *int, n int) {
	r.mu.Lock()
	if n > *counter {
		*counter = n
	}
	r.mu.Unlock()
}

// lookup returns the pseudonym number of key in m, issuing the next one
// (and recording its canonical rendering) on first sight.
func (r *Redactor) lookup(n int, ok bool, counter *int, render func(int) string, store func(int)) int {
	if ok {
		return n
	}
	*counter++
	n = *counter
	store(n)
	r.issued = append(r.issued, render(n))
	return n
}

func (r *Redactor) guidNum(g [16]byte) int {
	// Most GUIDs recur (the call id in every notification): read-locked fast path.
	r.mu.RLock()
	n, ok := r.guids[g]
	r.mu.RUnlock()
	if ok {
		return n
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok = r.guids[g]
	return r.lookup(n, ok, &r.guidN,
		func(n int) string { return string(appendGUID(nil, guidPseudonym(n), FormGUIDLower)) },
		func(n int) { r.guids[g] = n })
}

// phoneNum returns the pseudonym number of a phone number's digits.
func (r *Redactor) phoneNum(digits []byte) int {
	r.mu.RLock()
	n, ok := r.phones[string(digits)] // no allocation: the key is only looked up
	r.mu.RUnlock()
	if ok {
		return n
	}
	d := string(digits)
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok = r.phones[d]
	return r.lookup(n, ok, &r.phoneN,
		func(n int) string { return "+" + phonePseudonym(n, len(d)) },
		func(n int) { r.phones[d] = n })
}

// emailNum returns the pseudonym number of an address (lower case, "@").
func (r *Redactor) emailNum(addr []byte) int {
	r.mu.RLock()
	n, ok := r.emails[string(addr)]
	r.mu.RUnlock()
	if ok {
		return n
	}
	a := string(addr)
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok = r.emails[a]
	return r.lookup(n, ok, &r.emailN,
		func(n int) string { return emailLocal + strconv.Itoa(n) + emailDomain },
		func(n int) { r.emails[a] = n })
}

// name returns the pseudonym of a person's name, learning the name so that it
// is replaced wherever else it appears.
func (r *Redactor) name(v string) string {
	return string(r.appendName(nil, []byte(v)))
}

// appendName appends the pseudonym of the name v ("Person N"), learning the
// name on first sight. Names recur in every roster update: a read-locked
// lookup that allocates nothing serves them.
func (r *Redactor) appendName(dst, v []byte) []byte {
	r.mu.RLock()
	n, ok := r.names[string(v)]
	r.mu.RUnlock()
	if !ok {
		s := string(v)
		r.mu.Lock()
		n, ok = r.names[s]
		n = r.lookup(n, ok, &r.nameN,
			func(n int) string { return namePrefix + strconv.Itoa(n) },
			func(n int) { r.names[s] = n })
		r.mu.Unlock()
		if !ok && learnable(s) {
			r.learn(literal{text: s, repl: namePrefix + strconv.Itoa(n)})
		}
	}
	return strconv.AppendInt(append(dst, namePrefix...), int64(n), 10)
}

// appendHost appends the pseudonym of a host (already lower case), learning it.
func (r *Redactor) appendHost(dst, h []byte) []byte {
	r.mu.RLock()
	n, ok := r.hosts[string(h)]
	r.mu.RUnlock()
	if !ok {
		s := string(h)
		r.mu.Lock()
		n, ok = r.hosts[s]
		n = r.lookup(n, ok, &r.hostN,
			func(n int) string { return hostPrefix + strconv.Itoa(n) + hostSuffix },
			func(n int) { r.hosts[s] = n })
		r.mu.Unlock()
		if !ok && learnable(s) {
			r.learn(literal{text: s, repl: hostPrefix + strconv.Itoa(n) + hostSuffix})
		}
	}
	dst = strconv.AppendInt(append(dst, hostPrefix...), int64(n), 10)
	return append(dst, hostSuffix...)
}

func (r *Redactor) ip(a netip.Addr) netip.Addr {
	a = a.Unmap()
	r.mu.RLock()
	n, ok := r.ips[a]
	r.mu.RUnlock()
	if ok {
		return ipPseudonym(n, a.Is6())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok = r.ips[a]
	counter := &r.ip4N
	if a.Is6() {
		counter = &r.ip6N
	}
	n = r.lookup(n, ok, counter,
		func(n int) string { return ipPseudonym(n, a.Is6()).String() },
		func(n int) { r.ips[a] = n })
	return ipPseudonym(n, a.Is6())
}

// learnable reports whether a name or host is distinctive enough to be
// replaced wherever it recurs in free text: four characters or more, with a
// letter, and not one of the words pseudonyms are made of.
func learnable(v string) bool {
	if len(v) < 4 {
		return false
	}
	switch strings.ToLower(v) {
	case "person", "user", "example", "invalid", "example.invalid", "redacted", "c0ffee00":
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i] | 0x20; c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}

// learn adds a literal to the snapshot every later pass replaces.
func (r *Redactor) learn(l literal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	next := &literals{}
	if cur := r.lits.Load(); cur != nil {
		next.list = append(next.list, cur.list...)
		next.gen = cur.gen
	}
	next.gen++
	next.list = append(next.list, l)
	// Longest first, so "bot.contoso.com" wins over a shorter learned name inside it.
	for i := len(next.list) - 1; i > 0 && len(next.list[i].text) > len(next.list[i-1].text); i-- {
		next.list[i], next.list[i-1] = next.list[i-1], next.list[i]
	}
	next.cls = cls
	next.byFirst = make(map[uint16][]int32, len(next.list))
	for i, l := range next.list {
		next.add(l.text)
		k := uint16(l.text[0])<<8 | uint16(l.text[1])
		next.byFirst[k] = append(next.byFirst[k], int32(i))
	}
	r.lits.Store(next)
}

// replacement appends what replaces span s (whose text is v).
func (r *Redactor) replacement(dst []byte, s span, v []byte) []byte {
	switch s.kind {
	case kGUID:
		return appendGUID(dst, guidPseudonym(r.guidNum(parseGUIDBytes(v))), s.form)
	case kSecret:
		return append(dst, Removed...)
	case kPhone:
		return appendPhonePseudonym(dst, r.phoneNum(v), len(v))
	case kEmail:
		var buf [128]byte
		addr := appendLower(buf[:0], v)
		if s.form == FormEmailURLEncoded {
			if k := bytes.Index(addr, []byte("%40")); k >= 0 {
				addr = append(addr[:k+1], addr[k+3:]...)
				addr[k] = '@'
			}
		}
		dst = append(dst, emailLocal...)
		dst = strconv.AppendInt(dst, int64(r.emailNum(addr)), 10)
		if s.form == FormEmailURLEncoded {
			return append(dst, "%40example.invalid"...)
		}
		return append(dst, emailDomain...)
	case kIP:
		a, err := netip.ParseAddr(string(v))
		if err != nil {
			return append(dst, Removed...)
		}
		return r.ip(a).AppendTo(dst)
	case kHost:
		var buf [128]byte
		return r.appendHost(dst, appendLower(buf[:0], v))
	case kName:
		return r.appendName(dst, v)
	default:
		return append(dst, s.repl...)
	}
}

// appendLower appends b in ASCII lower case (what bytes.ToLower does to
// the ASCII letters of an address or host; other bytes are copied).
func appendLower(dst, b []byte) []byte {
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}
