package redact

import (
	"bytes"
	"net/netip"
	"strconv"
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

	// The tables are read without a lock (see idTable); mu serialises
	// issuing: every table's writes, the counters' writes, issued, taken,
	// and learn.
	mu                                  sync.Mutex
	guids                               guidTable
	phones, emails, names, hosts        idTable[string]
	threads, opaques, macs              idTable[string]
	ips                                 idTable[netip.Addr]
	guidN, phoneN, emailN, nameN, hostN atomic.Int64 // the last number issued or reserved
	ip4N, ip6N, threadN, opaqueN, macN  atomic.Int64
	fields                              *fieldTable // the field table, with the policy's Fields
	issued                              []pseudonym // every pseudonym issued, in order
	taken                               int         // issued[:taken] were returned by TakeNew

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
		layers: map[string]*layerEntry{},
		fields: defaultFields,
	}
	if len(p.Fields) > 0 {
		// LoadPolicy reported what is wrong in a file; a Policy built in
		// code keeps the entries that parse.
		extra := map[string]uint8{}
		for k, v := range p.Fields {
			if m, err := parsePolicyFields(map[string]string{k: v}); err == nil {
				for nk, c := range m {
					extra[nk] = c
				}
			}
		}
		r.fields = newFieldTable(extra)
	}
	for _, h := range p.KeepHeaders {
		r.keepH[canonicalHeader(h)] = true
	}
	return r
}

// TakeNew returns the pseudonyms issued since the previous call (in their
// canonical form: lower dashed GUID, "+555...", "user1@example.invalid",
// "Person 1", "bot1.example.invalid", "192.0.2.1"). An id found already
// issued was issued before the lookup that found it, so a TakeNew after
// redacting returns every pseudonym the redaction used that an earlier
// TakeNew did not: the recorder's cassette calls it once per commit (see
// cassette.Writer.StorePseudonymsFrom).
func (r *Redactor) TakeNew() []string {
	r.mu.Lock()
	// issued only grows: the elements of this batch never change, and are
	// rendered after unlocking.
	batch := r.issued[r.taken:]
	r.taken = len(r.issued)
	r.mu.Unlock()
	return render(batch)
}

// Pseudonyms returns every pseudonym issued so far, in order of issue.
func (r *Redactor) Pseudonyms() []string {
	r.mu.Lock()
	all := r.issued[:len(r.issued):len(r.issued)]
	r.mu.Unlock()
	return render(all)
}

// render returns the canonical forms of ps; nil when there are none.
func render(ps []pseudonym) []string {
	if len(ps) == 0 {
		return nil
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// Text returns s redacted: identifiers pseudonymised, secrets removed.
func (r *Redactor) Text(s string) string {
	before := r.lits.Load()
	p := r.newPass()
	defer p.release()
	// Redacting only reads its input: s's bytes are viewed in place. The
	// result is built in the pass's scratch buffer (kept for the next text)
	// and copied once, into the string returned.
	src := viewBytes(s)
	out, changed := p.redact(p.scratch[:0], src)
	if changed {
		defer func() { p.scratch = out[:0] }()
	} else {
		out = src
	}
	out = r.relearn(before, out, r.textBytes)
	if !changed && len(out) == len(s) && string(out) == s {
		return s
	}
	return string(out)
}

// Learned returns a number that grows each time the Redactor learns a name
// or host it then replaces wherever it recurs: what was redacted while it
// was lower may hold that value in clear (see Body's relearn), and is
// swept by redacting it again.
func (r *Redactor) Learned() uint64 {
	return r.lits.Load().generation()
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
// again for a different original. Redacted text is full of pseudonyms,
// nearly all below the counter: those take no lock.
func (r *Redactor) reserve(counter *atomic.Int64, n int) {
	if int64(n) <= counter.Load() {
		return
	}
	r.mu.Lock()
	if int64(n) > counter.Load() {
		counter.Store(int64(n))
	}
	r.mu.Unlock()
}

// replacement appends what replaces span s (whose text is v).
func (r *Redactor) replacement(dst []byte, s span, v []byte) []byte {
	switch s.kind {
	case kGUID:
		return appendGUID(dst, guidPseudonym(r.guidNum(parseGUIDBytes(v))), s.form)
	case kSecret:
		return append(dst, Removed...)
	case kPhone:
		return r.appendPhoneWritten(dst, v)
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
	case kThread:
		return r.appendThread(dst, v)
	case kField:
		q := r.newPass()
		defer q.release()
		if o := r.fieldValue(q, uint8(s.form), v, dst); o != nil {
			return o
		}
		return append(dst, v...)
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
