package redact

import (
	"encoding/binary"
	"hash/maphash"
	"net/netip"
	"strconv"
	"sync/atomic"
	"unsafe"
)

// The recorder redacts many exchanges at once, and every one looks up a
// dozen known ids (the call id, participants, the tenant) for every new one
// it brings (its clientContext, operation id, request ids). Looking up takes
// no lock, so lookups never queue behind each other nor behind an issue;
// issuing a number is serialised by Redactor.mu, which keeps numbers unique,
// dense and in the order of issued, and one number per original.

// idSeed seeds the hashes of every idTable.
var idSeed = maphash.MakeSeed()

// idTable maps the originals of one kind of identifier to their pseudonym
// numbers. get takes no lock and may run at any time; put runs under
// Redactor.mu only, after the number was recorded in issued, so whoever
// finds an entry finds it issued (a TakeNew after the lookup returns it, or
// an earlier one did).
//
// It is an open-addressing table with linear probing whose slots are atomic
// pointers to immutable entries: a slot goes from nil to an entry once and
// never changes again, and a table half full is replaced by one twice its
// size, never resized in place, so a reader still on an older table sees a
// subset of the entries. A miss is always confirmed under the lock before a
// number is issued. It serves the kinds that are few per session (phones,
// addresses, names, hosts, IPs); GUIDs have guidTable.
type idTable[K comparable] struct {
	cur atomic.Pointer[idSlots[K]]
	n   int // entries; guarded by Redactor.mu
}

// idSlots is one generation of a table's slots; len(slots) is a power of two.
type idSlots[K comparable] struct {
	mask  uint64
	slots []atomic.Pointer[idEntry[K]]
}

// idEntry is one original and its number, immutable once in a table.
type idEntry[K comparable] struct {
	key  K
	hash uint64 // kept so that growing does not hash again
	num  int
}

// minIDSlots is the size of a table's first slots.
const minIDSlots = 64

// get returns the number of k, whose hash is h.
func (t *idTable[K]) get(h uint64, k K) (int, bool) {
	s := t.cur.Load()
	if s == nil {
		return 0, false
	}
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		e := s.slots[i].Load()
		if e == nil {
			return 0, false
		}
		if e.hash == h && e.key == k {
			return e.num, true
		}
	}
}

// put adds e, whose key is not in t; the caller holds Redactor.mu. The
// table is kept at most half full, so a miss (every new id meets one
// without the lock and one with it) ends after a couple of slots.
func (t *idTable[K]) put(e *idEntry[K]) {
	s := t.cur.Load()
	if s == nil || 2*(t.n+1) > len(s.slots) {
		size := minIDSlots
		if s != nil {
			size = 2 * len(s.slots)
		}
		next := &idSlots[K]{mask: uint64(size - 1), slots: make([]atomic.Pointer[idEntry[K]], size)}
		if s != nil {
			for i := range s.slots {
				if old := s.slots[i].Load(); old != nil {
					next.insert(old)
				}
			}
		}
		t.cur.Store(next)
		s = next
	}
	s.insert(e)
	t.n++
}

// insert stores e in the first free slot of its probe sequence.
func (s *idSlots[K]) insert(e *idEntry[K]) {
	i := e.hash & s.mask
	for s.slots[i].Load() != nil {
		i = (i + 1) & s.mask
	}
	s.slots[i].Store(e)
}

// issueNum returns the number of e.key in t, issuing the next number of
// counter when it has none (fresh is then true) and recording it in
// issued as p. e is allocated by the caller, outside the lock.
func issueNum[K comparable](r *Redactor, t *idTable[K], e *idEntry[K], counter *atomic.Int64, p pseudonym) (n int, fresh bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := t.get(e.hash, e.key); ok {
		return n, false // another goroutine issued it meanwhile
	}
	e.num = int(counter.Add(1))
	p.n = e.num
	r.issued = append(r.issued, p)
	t.put(e) // last: once found, the number is in issued
	return e.num, true
}

// learnedNum returns the number of v, a name or a host, in t, issuing the
// next of counter on first sight (as a pseudonym of kind k) and then
// learning v, when learnable, as a literal replaced by prefix+N+suffix
// wherever else it appears. Names and hosts recur in every roster update:
// a lookup that takes no lock and allocates nothing serves them.
func (r *Redactor) learnedNum(t *idTable[string], counter *atomic.Int64, k kind, v []byte, prefix, suffix string) int {
	h := hashBytes(v)
	if n, ok := t.get(h, viewString(v)); ok {
		return n
	}
	s := string(v)
	n, fresh := issueNum(r, t, &idEntry[string]{key: s, hash: h}, counter, pseudonym{kind: k})
	if fresh && learnable(s) {
		r.learn(literal{text: s, repl: prefix + strconv.Itoa(n) + suffix})
	}
	return n
}

// guidTable is idTable for GUIDs, the ids every exchange brings new ones
// of, stored inline: its slots hold no pointers, so a session's worth of
// GUIDs costs the garbage collector nothing to scan and issuing one
// allocates nothing. The protocol is idTable's: a slot is written once,
// under Redactor.mu, its number last; a reader that sees the number sees
// the GUID written before it.
type guidTable struct {
	cur atomic.Pointer[guidSlots]
	n   int // entries; guarded by Redactor.mu
}

// guidSlots is one generation of a guidTable's slots; len(slots) is a power of two.
type guidSlots struct {
	mask  uint64
	slots []guidSlot
}

// guidSlot is a GUID (as two words) and its number; num 0 is a free slot,
// since numbers start at 1.
type guidSlot struct {
	hi, lo atomic.Uint64
	num    atomic.Int64
}

// guidWords splits g into the words a slot holds, and hashes it.
func guidWords(g [16]byte) (hi, lo, h uint64) {
	hi, lo = binary.LittleEndian.Uint64(g[:8]), binary.LittleEndian.Uint64(g[8:])
	return hi, lo, maphash.Comparable(idSeed, [2]uint64{hi, lo})
}

// get returns the number of the GUID whose words and hash are hi, lo, h.
func (t *guidTable) get(hi, lo, h uint64) (int, bool) {
	s := t.cur.Load()
	if s == nil {
		return 0, false
	}
	for i := h & s.mask; ; i = (i + 1) & s.mask {
		e := &s.slots[i]
		n := e.num.Load()
		if n == 0 {
			return 0, false
		}
		if e.hi.Load() == hi && e.lo.Load() == lo {
			return int(n), true
		}
	}
}

// put adds a GUID absent from t with number n (not 0); the caller holds
// Redactor.mu. Like idTable, t is kept at most half full.
func (t *guidTable) put(hi, lo, h uint64, n int) {
	s := t.cur.Load()
	if s == nil || 2*(t.n+1) > len(s.slots) {
		size := minIDSlots
		if s != nil {
			size = 2 * len(s.slots)
		}
		next := &guidSlots{mask: uint64(size - 1), slots: make([]guidSlot, size)}
		if s != nil {
			for i := range s.slots {
				e := &s.slots[i]
				if num := e.num.Load(); num != 0 {
					ohi, olo := e.hi.Load(), e.lo.Load()
					next.insert(ohi, olo, maphash.Comparable(idSeed, [2]uint64{ohi, olo}), num)
				}
			}
		}
		t.cur.Store(next)
		s = next
	}
	s.insert(hi, lo, h, int64(n))
	t.n++
}

// insert writes a GUID in the first free slot of its probe sequence, its
// number last.
func (s *guidSlots) insert(hi, lo, h uint64, n int64) {
	i := h & s.mask
	for s.slots[i].num.Load() != 0 {
		i = (i + 1) & s.mask
	}
	e := &s.slots[i]
	e.hi.Store(hi)
	e.lo.Store(lo)
	e.num.Store(n)
}

// hashBytes hashes the bytes of a string key: entries are stored with it
// and looked up by the bytes found in the text.
func hashBytes(b []byte) uint64 { return maphash.Bytes(idSeed, b) }

// viewString is b as a string without a copy, for looking up only: the
// result must not be kept, since b's bytes may change later.
func viewString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// viewBytes is s as bytes without a copy, for reading only: the bytes of
// a string must never be written.
func viewBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// pseudonym is an issued pseudonym in brief: rendered only when TakeNew or
// Pseudonyms hands it out, so issuing allocates nothing under the lock.
type pseudonym struct {
	n     int
	kind  kind  // kGUID, kPhone, kEmail, kName, kHost or kIP
	width uint8 // a phone's digit count; 6 for an IPv6 address; a MAC's groups (6 or 8)
}

// String renders p in its canonical form ("c0ffee00-...", "+555...",
// "user1@example.invalid", "Person 1", "bot1.example.invalid", "192.0.2.1").
func (p pseudonym) String() string {
	switch p.kind {
	case kGUID:
		var buf [36]byte
		return string(appendGUID(buf[:0], guidPseudonym(p.n), FormGUIDLower))
	case kPhone:
		var buf [1 + maxPhoneDigits]byte
		return string(appendPhonePseudonym(append(buf[:0], '+'), p.n, int(p.width)))
	case kEmail:
		return emailLocal + strconv.Itoa(p.n) + emailDomain
	case kName:
		return namePrefix + strconv.Itoa(p.n)
	case kHost:
		return hostPrefix + strconv.Itoa(p.n) + hostSuffix
	case kIP:
		return ipPseudonym(p.n, p.width == 6).String()
	case kField:
		if p.width == 6 || p.width == 8 {
			return string(appendMACText(nil, p.n, int(p.width)))
		}
		return opaquePrefix + strconv.Itoa(p.n)
	case kThread:
		return "19:meeting_" + threadPseudo + strconv.Itoa(p.n) + "@thread.v2"
	}
	return ""
}

// ipKey hashes an address key.
func ipKey(a netip.Addr) uint64 { return maphash.Comparable(idSeed, a) }
