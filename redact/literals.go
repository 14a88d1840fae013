package redact

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
)

// Learned literals. A name or a host has no shape: it is learned where a
// field gives it away (a displayName, a callbackUri) and then replaced
// wherever else it recurs, in any text. The index finds the learned
// literals in one pass over a text, by a hash of their first bytes.

// literal is a learned name or host and what replaces it wherever it recurs.
type literal struct {
	text, repl string
}

// literals is an immutable snapshot of the learned literals. To rule out
// most positions of a text at once, it keeps the first bytes of the
// literals (in cls) and hashes of their prefixes: the first 8 bytes of
// literals that long, the first 4 of shorter ones. Names start like
// camelCase words ("Reception" and "notRecording" share "Re"), so two bytes
// would let most field names through.
type literals struct {
	gen     uint64 // one more than the snapshot it replaced
	list    []literal
	cls     [256]uint16 // cls, plus clsLead on the first bytes of the literals
	short   [1024]uint64
	long    [1024]uint64
	byFirst map[uint16][]int32 // list indexes (in order) of the literals starting with a byte pair
}

// prefixHash4 and prefixHash8 hash the first 4 or 8 bytes of b (which
// must be that long) to a bit of the short or long bitmap.
func prefixHash4(b []byte) uint { return uint(binary.LittleEndian.Uint32(b)*0x9E3779B1) >> 16 }

func prefixHash8(b []byte) uint {
	return uint(binary.LittleEndian.Uint64(b) * 0x9E3779B97F4A7C15 >> 48)
}

// add records the prefix of literal text t (4 bytes or more: learnable).
func (l *literals) add(t string) {
	if len(t) >= 8 {
		h := prefixHash8([]byte(t))
		l.long[h>>6] |= 1 << (h & 63)
	} else {
		h := prefixHash4([]byte(t))
		l.short[h>>6] |= 1 << (h & 63)
	}
	l.cls[t[0]] |= clsLead
}

// leadAt reports whether a literal replacement may start at src[k]: false
// is certain. A literal starting with a letter or digit is only replaced
// where a word starts (see literals), so the inside of a word ("sendReceive",
// an upper-case GUID) is passed over before any hashing.
func (l *literals) leadAt(src []byte, k int) bool {
	f := l.cls[src[k]]
	return f&clsLead != 0 && (f&clsAlnum == 0 || boundaryBefore(src, k)) && l.maybeAt(src, k)
}

// maybeAt reports whether a literal may start at src[k]: false is certain.
func (l *literals) maybeAt(src []byte, k int) bool {
	if l.cls[src[k]]&clsLead == 0 {
		return false
	}
	if len(src)-k >= 8 {
		if h := prefixHash8(src[k:]); l.long[h>>6]&(1<<(h&63)) != 0 {
			return true
		}
	}
	if len(src)-k >= 4 {
		h := prefixHash4(src[k:])
		return l.short[h>>6]&(1<<(h&63)) != 0
	}
	return false
}

// literals replaces learned names and hosts that recur outside the fields
// they were learned from (a name in an error message, a host without scheme).
func (p *pass) literals(src []byte) {
	added := false
	if len(src) < 4 {
		return
	}
	// Most strings hold no learned literal: one pass over the places a
	// literal could start (leadAt) rules them out before any search, and
	// only the literals starting with a byte pair found there are searched
	// for, in list order (longest first) as if every literal were: a
	// literal that starts nowhere in src has no match to add.
	var candBuf [16]int32
	cands := candBuf[:0]
	tab := &p.lits.cls
	for k := 0; k+1 < len(src); k++ {
		// Most bytes start no literal: the table rules them out without a call.
		if tab[src[k]]&clsLead != 0 && p.lits.leadAt(src, k) {
			cands = append(cands, p.lits.byFirst[uint16(src[k])<<8|uint16(src[k+1])]...)
		}
	}
	if len(cands) == 0 {
		return
	}
	if len(cands) > 1 {
		slices.Sort(cands)
		cands = slices.Compact(cands)
	}
	for _, li := range cands {
		l := &p.lits.list[li]
		for off := 0; off < len(src); {
			k := bytes.Index(src[off:], []byte(l.text))
			if k < 0 {
				break
			}
			s, e := off+k, off+k+len(l.text)
			off = e
			if (isAlnum(src[s]) && !boundaryBefore(src, s)) || (e < len(src) && isAlnum(src[e]) && isAlnum(src[e-1])) {
				continue // part of a longer word
			}
			if (e+1 < len(src) && src[e] == '.' && isAlnum(src[e+1])) || (s > 1 && src[s-1] == '.' && isAlnum(src[s-2])) {
				continue // part of a longer host name
			}
			if inPseudonym(src, s, e) {
				continue // "Person" in "Person 3", "invalid" in "bot1.example.invalid"
			}
			if !p.overlaps(s, e) {
				p.spans = append(p.spans, span{start: s, end: e, kind: kRepl, repl: l.repl})
				added = true
			}
		}
	}
	if added {
		p.sortSpans()
	}
}

// inPseudonym reports whether src[s:e] lies inside a pseudonym: the token
// around it is one, or it is part of a "Person <N>".
func inPseudonym(src []byte, s, e int) bool {
	ts, te := s, e
	for ts > 0 && !isTokenEnd(src[ts-1]) {
		ts--
	}
	for te < len(src) && !isTokenEnd(src[te]) {
		te++
	}
	if IsPseudonym(string(src[ts:te])) || string(src[ts:te]) == Removed {
		return true
	}
	// "Person <N>" spans a space.
	from := max(0, s-len(namePrefix))
	for k := from; k <= s && k < e; k++ {
		if bytes.HasPrefix(src[k:], []byte(namePrefix)) {
			d := k + len(namePrefix)
			j := d
			for j < len(src) && isDigit(src[j]) {
				j++
			}
			if j > d && e <= j {
				return true
			}
		}
	}
	return false
}

func isTokenEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', ',', ';', '&', '?', '=', '/', '<', '>', '(', ')', '[', ']', '{', '}', '\\':
		return true
	}
	return false
}

// relearn redacts out again when the Redactor learned new names or hosts
// while redacting it, so a host that appears before the
// callbackUri it is learned from (a header, an earlier field) is replaced too.
// again redoes the whole redaction (a learned name may also hide in base64
// or percent-encoding met before it was learned); everything already
// redacted maps to itself. Learning stops when nothing new is learned, which
// happens after a few rounds at most: each round only learns from what the
// previous one left.
func (r *Redactor) relearn(before *literals, out []byte, again func([]byte) []byte) []byte {
	for range maxDepth {
		after := r.lits.Load()
		if after == before || after == nil {
			return out
		}
		before = after
		out = again(out)
	}
	return out
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

// learnOnce is learn unless a literal of the same text is known already.
func (r *Redactor) learnOnce(l literal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur := r.lits.Load(); cur != nil {
		for _, x := range cur.list {
			if x.text == l.text {
				return
			}
		}
	}
	r.learnLocked(l)
}

// learn adds a literal to the snapshot every later pass replaces.
func (r *Redactor) learn(l literal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.learnLocked(l)
}

// learnLocked is learn with r.mu held.
func (r *Redactor) learnLocked(l literal) {
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
