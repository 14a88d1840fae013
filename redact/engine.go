package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"unicode/utf8"
)

// kind is what a span found in text is, which decides what replaces it.
type kind uint8

const (
	kGUID   kind = iota + 1
	kSecret      // removed: replaced by Removed
	kPhone       // the digits of a phone number (its "+" or "%2B" stays outside the span)
	kEmail
	kIP
	kHost
	kName
	kThread // a Teams thread or chat id, whole
	kField  // the value of an identifier field (form: its fieldClass)
	kRepl   // replacement computed while finding (re-encoded base64, learned literal)
)

// span is one finding in a text: src[start:end] is replaced.
type span struct {
	start, end int
	kind       kind
	form       Form
	repl       string
}

// maxDepth bounds how deep base64 and percent-encoded layers are opened.
const maxDepth = 3

const (
	minPhoneDigits = 7
	maxPhoneDigits = 15
	minB64         = 40 // shortest base64 run worth decoding: a GUID encodes to 44 or 48 chars
)

// pass finds redactable spans in one text. It is the single detection engine
// behind Redactor (which replaces what it finds) and Scanner (which reports
// it), so the two can never disagree about what is a leak.
type pass struct {
	r      *Redactor          // replacement source; nil when scanning or probing
	report func(kind, []byte) // called for each finding when scanning; nil otherwise
	lits   *literals          // learned names and hosts; nil when none
	depth  int
	spans  []span
	// scratch is where the JSON walk builds replacements; kept with the
	// pass in the pool so a body's replacements allocate nothing.
	scratch []byte
	// barrier is where the last kept address ended: an email's local part
	// never reaches back over it, whether the address was redacted (a
	// span) or kept (already a pseudonym), so both passes agree.
	barrier int
}

// sub returns a pass for a layer inside src (base64, percent-encoding);
// release it when done.
func (p *pass) sub() *pass {
	q := passes.Get().(*pass)
	*q = pass{r: p.r, report: p.report, lits: p.lits, depth: p.depth + 1, spans: q.spans[:0], scratch: q.scratch[:0]}
	return q
}

// release returns p to the pool; p must not be used afterwards.
func (p *pass) release() {
	*p = pass{spans: p.spans[:0], scratch: p.scratch[:0]}
	passes.Put(p)
}

func (p *pass) add(s span) { p.spans = append(p.spans, s) }

// find fills p.spans with every redactable span of src, in order, not overlapping.
func (p *pass) find(src []byte) {
	p.spans = p.spans[:0]
	p.barrier = 0
	p.scan(src, 0)
	if p.lits != nil {
		p.literals(src)
	}
	if p.r != nil && len(p.r.policy.RedactPatterns) > 0 {
		p.patterns(src)
	}
	if p.depth < maxDepth && hasEscape(src) {
		p.percent(src)
	}
}

// scan adds the spans of src[from:], in order: what find finds but the
// learned literals, the policy's patterns and percent-encoded text.
func (p *pass) scan(src []byte, from int) {
	n := len(src)
	b64Done := 0 // base64 runs are tried once, from their first byte
	resume := -1 // where a match ended inside a word: the rest is a word of its own
	for i := from; i < n; {
		c := src[i]
		f := cls[c]
		if f&clsAlnum != 0 {
			if i > 0 && cls[src[i-1]]&clsAlnum != 0 && i != resume {
				i++
				continue
			}
			j := p.word(src, i, &b64Done)
			if j < n && isAlnum(src[j]) {
				resume = j
			}
			i = j
			continue
		}
		switch c {
		case '/', '+':
			if i >= b64Done && (i == 0 || cls[src[i-1]]&clsB64 == 0) {
				if j := p.tryB64(src, i, i, &b64Done); j > 0 {
					i = j
					continue
				}
			}
			if c == '+' && boundaryBefore(src, i) {
				if j := p.phone(src, i, i+1, FormPhone); j > 0 {
					i = j
					continue
				}
			}
		case '%':
			if i > 0 && isDigit(src[i-1]) && colonAt(src, i) == 3 {
				if j := p.threadAt(src, i); j > 0 {
					i = j
					continue
				}
			}
			if i+2 < n && src[i+1] == '2' && (src[i+2] == 'B' || src[i+2] == 'b') && boundaryBefore(src, i) {
				if j := p.phone(src, i, i+3, FormPhoneURLEncoded); j > 0 {
					i = j
					continue
				}
			}
			if i+2 < n && src[i+1] == '4' && src[i+2] == '0' {
				if j := p.email(src, i, 3); j > 0 {
					i = j
					continue
				}
			}
		case '@':
			if j := p.email(src, i, 1); j > 0 {
				i = j
				continue
			}
		case ':':
			if i > 0 && isDigit(src[i-1]) {
				if j := p.threadAt(src, i); j > 0 {
					i = j
					continue
				}
				if j := p.mriPhone(src, i); j > 0 {
					i = j
					continue
				}
			}
			if j := p.url(src, i); j > 0 {
				i = j
				continue
			}
			if i+1 < n && src[i+1] == ':' && (i == 0 || (src[i-1] != ':' && src[i-1] != '%' && !isAlnum(src[i-1]))) {
				if j := p.ipv6(src, i); j > 0 {
					i = j
					continue
				}
			}
		case '"':
			if j := p.quotedPair(src, i); j > 0 {
				i = j
				continue
			}
		case '=':
			if j := p.keyValue(src, i); j > 0 {
				i = j
				continue
			}
		}
		i++
	}
}

// word handles an alphanumeric run starting at i and returns where to go on.
func (p *pass) word(src []byte, i int, b64Done *int) int {
	n := len(src)
	w := i
	// Counting (not and-ing flags) keeps the loop branch-free, and the
	// count of hex digits rules out an undashed GUID in most long words.
	hexes, digits := 0, 0
	for w < n && cls[src[w]]&clsAlnum != 0 {
		f := cls[src[w]]
		hexes += int(f & clsHex)
		digits += int(f&clsDigit) >> 1
		w++
	}
	allHex, allDigit := hexes == w-i, digits == w-i
	// s0 skips the hex digits of an escape glued to the word, which belong
	// to the escape, not the word: the two of a %XX escape ("%20eyJ...",
	// "%22<32 hex>"), or the "u" and four of a JSON \uXXXX escape (the
	// lenient walk writes "\u0006" for a control character, and "0006"
	// must not complete the first group of a GUID that is not there: the
	// next redaction would read the escape and find something else).
	s0 := i
	if i > 0 && src[i-1] == '%' && w-i > 2 && isHex(src[i]) && isHex(src[i+1]) {
		s0 = i + 2
	} else if src[i] == 'u' && w-i > 5 && isJSONEscape(src, i) {
		s0 = i + 5
	}
	// A base64 run that is just this word is too short to try: it only
	// needs marking as tried.
	short := w-i < minB64 && (w == n || cls[src[w]]&clsB64 == 0)
	if i >= *b64Done && (i == 0 || cls[src[i-1]]&clsB64 == 0) {
		if short {
			*b64Done = w
		} else if j := p.tryB64(src, i, w, b64Done); j > 0 {
			return j
		}
	}
	if s0 != i && s0 >= *b64Done {
		if short {
			*b64Done = w
		} else if j := p.tryB64(src, s0, w, b64Done); j > 0 {
			return j
		}
	}
	// A JWT may be glued to what precedes it ("%20eyJ...", "xeyJ..."): look
	// for its "eyJ" anywhere in the word. Each try measures the run to its
	// end, so a word of many "eyJ" gets maxJWTTries of them: time stays
	// linear in the word. The first is the one that matters for a token
	// with dots (every "eyJ" of the word has the same run end and dots
	// after it, and the first the longest head); later ones only open
	// dotless base64url from other offsets.
	for k, tries := i, 0; k+3 <= w && tries < maxJWTTries; k, tries = k+1, tries+1 {
		x := bytes.Index(src[k:w], []byte("eyJ"))
		if x < 0 {
			break
		}
		k += x
		if j := p.jwt(src, k); j > 0 {
			return j
		}
	}
	// Bearer <token> in free text (headers are handled by Header).
	if w-i == 6 && w+1 < n && src[w] == ' ' && equalFold(src[i:w], "bearer") {
		e, eq := w+1, w+1
		for {
			for e < n && isTokenByte(src[e]) {
				e++
			}
			eq = e
			for e < n && src[e] == '=' {
				e++
			}
			// Padding followed by more token ("0=+x") is inside the
			// token: stopping there would leave "REDACTED+x", a longer
			// token, for the next pass.
			if e > eq && e < n && isTokenByte(src[e]) && !isAlnum(src[e]) {
				continue
			}
			break
		}
		// Any token counts, however short (an address replaced by a longer
		// one must not turn into a token on the next pass); an auth-param
		// (realm="...") does not, nor padding alone ("Bearer ==").
		param := e > eq && e < n && (src[e] == '"' || cls[src[e]]&clsAlnum != 0)
		if eq > w+1 && !param && string(src[w+1:e]) != Removed {
			p.add(span{start: w + 1, end: e, kind: kSecret})
			return e
		}
	}
	// Dashed GUID: its first group is the last 8 characters of this word.

	// Undashed GUIDs: 32-hex runs bounded by anything but hex (letters
	// glued to them, "%22" before them) inside the word.
	// The dashed GUID's first group is the last 8 characters of this word;
	// undashed ones are looked for in what precedes it.
	limit, dashed := w, w < n && src[w] == '-' && w-s0 >= 8 && isDashedGUID(src, w-8)
	if dashed {
		limit = w - 8
	}
	if limit-s0 >= 32 && hexes >= 32 {
		for k := s0; k+32 <= limit; {
			if !isHex(src[k]) {
				k++
				continue
			}
			j := k
			for j < limit && isHex(src[j]) {
				j++
			}
			if j-k == 32 && hasHexLetter(src[k:j]) {
				p.guid(src, k, j)
			}
			k = j
		}
	}
	if dashed {
		p.guid(src, w-8, w+28)
		return w + 28
	}
	if allHex && w-s0 >= 32 {
		return w
	}
	if w-i == 1 && src[i] == '1' && w < n && (src[w] == '-' || src[w] == '.') && boundaryBefore(src, i) {
		if j := nanpWritten(src, i); j > 0 {
			if !isPseudonymPhoneText(src[i:j]) {
				p.add(span{start: i, end: j, kind: kPhone, form: FormPhone})
			}
			return j
		}
	}
	// An address glued to a bare '%' could turn into an escape once
	// replaced ("%1::" -> "%2001:db8::1"); such text is left alone.
	if allDigit && w-i <= 3 && w < n && src[w] == '.' && (i == 0 || (src[i-1] != '.' && src[i-1] != '%')) {
		if j := p.ipv4(src, i); j > 0 {
			return j
		}
	}
	if allHex && w-i <= 4 && w < n && src[w] == ':' && (i == 0 || (src[i-1] != ':' && src[i-1] != '%')) {
		if j := p.ipv6(src, i); j > 0 {
			return j
		}
	}
	return w
}

// isJSONEscape reports whether src[i:i+5] ("u" and four hex digits) ends a
// \uXXXX escape: an odd run of backslashes precedes it.
func isJSONEscape(src []byte, i int) bool {
	if i+5 > len(src) || !isHex(src[i+1]) || !isHex(src[i+2]) || !isHex(src[i+3]) || !isHex(src[i+4]) {
		return false
	}
	bs := 0
	for k := i - 1; k >= 0 && src[k] == '\\'; k-- {
		bs++
	}
	return bs%2 == 1
}

// isTokenByte reports whether c may be part of a bearer token (RFC 6750
// b64token, without the trailing '=' padding).
func isTokenByte(c byte) bool {
	return cls[c]&(clsB64|clsB64URL) != 0 || c == '.' || c == '~'
}

// boundaryBefore reports whether a token may start at i: nothing
// alphanumeric before it, or a %XX escape ("4%3a%2B1...").
func boundaryBefore(src []byte, i int) bool {
	return i == 0 || !isAlnum(src[i-1]) || (i >= 3 && src[i-3] == '%' && isHex(src[i-2]) && isHex(src[i-1]))
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// guid records the GUID src[s:e] unless it is a pseudonym or the nil GUID.
func (p *pass) guid(src []byte, s, e int) {
	t := src[s:e]
	if isPseudonymGUIDText(t) {
		if p.r != nil {
			n, _ := isPseudonymGUID(parseGUIDBytes(t))
			p.r.reserve(&p.r.guidN, n)
		}
		return
	}
	if parseGUIDBytes(t) == nilGUID {
		return
	}
	p.add(span{start: s, end: e, kind: kGUID, form: guidForm(t)})
}

// maxJWTTries bounds the "eyJ" of one word tried as a token start.
const maxJWTTries = 8

// jwt removes a JWT (or JWE) starting at s: "eyJ" base64url segments joined
// by dots. A dotless "eyJ..." run is base64url JSON (MSAL's client_info):
// opened and redacted like any base64.
func (p *pass) jwt(src []byte, s int) int {
	n := len(src)
	e := s
	for e < n && cls[src[e]]&clsB64URL != 0 {
		e++
	}
	first := e - s
	dots := 0
	// A JWS has two dots, a JWE four: a longer chain is cut there (what
	// follows is tried as tokens of its own), which keeps a long chain of
	// "eyJ" segments linear.
	for e < n && src[e] == '.' && dots < 4 {
		j := e + 1
		for j < n && cls[src[j]]&clsB64URL != 0 {
			j++
		}
		if dots == 0 && j == e+1 {
			break // "eyJ...." followed by nothing: not a token
		}
		dots++
		e = j
	}
	if dots > 0 && first >= 10 {
		p.add(span{start: s, end: e, kind: kSecret})
		return e
	}
	if dots == 0 && first >= 16 && p.depth < maxDepth {
		return p.b64(src, s, s+first, s+first, base64.RawURLEncoding, base64.RawURLEncoding)
	}
	return 0
}

// tryB64 decodes the standard-alphabet base64 run starting at s (once per run)
// and, when it hides text with something to redact, redacts it and
// re-encodes it so the shape stays. It returns the end of a replaced run, or 0.
// src[s:from] is known to be in the alphabet already (a word just measured),
// so the run is measured from there.
func (p *pass) tryB64(src []byte, s, from int, done *int) int {
	n := len(src)
	e := from
	for e < n && cls[src[e]]&clsB64 != 0 {
		e++
	}
	*done = e
	if e-s < minB64 || p.depth >= maxDepth {
		return 0
	}
	end := e
	for end < n && end-e < 2 && src[end] == '=' {
		end++
	}
	if end > e {
		return p.b64(src, s, e, end, base64.RawStdEncoding, base64.StdEncoding)
	}
	return p.b64(src, s, e, end, base64.RawStdEncoding, base64.RawStdEncoding)
}

// b64 decodes src[s:e] (no padding) with dec; when the decoded bytes are text
// holding something to redact, src[s:end] (the run and its padding) is
// replaced by the redacted text encoded with enc. Scanning reports what the
// text hides instead.
func (p *pass) b64(src []byte, s, e, end int, dec, enc *base64.Encoding) int {
	if (e-s)%4 == 1 || !textPrefix(src[s:e], dec) {
		return 0
	}
	// Redacting (not scanning, not probing): the outcome may be known.
	cache := p.r != nil && p.report == nil
	v := b64Layer(dec, enc)
	if cache {
		if o, ok := p.r.cachedLayer(src[s:end], v, p.depth, p.lits); ok {
			if !o.replaced {
				return 0
			}
			p.add(span{start: s, end: end, kind: kRepl, repl: tokenSafe(o.repl, src[end:])})
			return end
		}
	}
	buf := make([]byte, dec.DecodedLen(e-s))
	m, err := dec.Decode(buf, src[s:e])
	if err != nil || !isText(buf[:m]) {
		if cache {
			p.r.cacheLayer(src[s:end], v, p.depth, layerOutcome{gen: p.lits.generation()})
		}
		return 0
	}
	decoded := buf[:m]
	q := p.sub()
	defer q.release()
	q.find(decoded)
	switch {
	case len(q.spans) == 0:
		if cache {
			p.r.cacheLayer(src[s:end], v, p.depth, layerOutcome{gen: p.lits.generation()})
		}
		return 0
	case p.report != nil:
		q.reportAll(decoded)
	case p.r == nil: // probing
		p.add(span{start: s, end: end, kind: kRepl})
	default:
		out := q.apply(nil, decoded)
		repl := enc.EncodeToString(out)
		p.r.cacheLayer(src[s:end], v, p.depth, layerOutcome{gen: p.lits.generation(), replaced: true, repl: repl})
		p.add(span{start: s, end: end, kind: kRepl, repl: tokenSafe(repl, src[end:])})
	}
	return end
}

// tokenSafe returns repl, the re-encoding of a redacted base64 run, or
// Removed when repl followed by rest would read as a JWT: base64 of `{"c0ffee00...`
// starts with "eyJ", and with ".sig" after it the next redaction would
// remove it as a token (so this one does). What follows the run is not
// part of the cached outcome, hence a check of its own.
func tokenSafe(repl string, rest []byte) string {
	for off := 0; ; {
		k := strings.Index(repl[off:], "eyJ")
		if k < 0 {
			return repl
		}
		k += off
		off = k + 1
		e := k
		for e < len(repl) && cls[repl[e]]&clsB64URL != 0 {
			e++
		}
		if e < len(repl) {
			continue // the segment ends inside repl, where no dot is
		}
		j := 0
		for j < len(rest) && cls[rest[j]]&clsB64URL != 0 {
			j++
		}
		// As jwt: a first segment of 10 or more, a dot, and more after it.
		if len(repl)-k+j >= 10 && j+1 < len(rest) && rest[j] == '.' && cls[rest[j+1]]&clsB64URL != 0 {
			return Removed
		}
	}
}

// textPrefix decodes the first 8 characters of a base64 run and reports
// whether they could start text: most long runs are URL paths ("/app/calls/...")
// whose bytes are binary, rejected here without decoding the whole run.
func textPrefix(run []byte, dec *base64.Encoding) bool {
	if len(run) < 8 {
		return true
	}
	var buf [6]byte
	if _, err := dec.Decode(buf[:], run[:8]); err != nil {
		return false
	}
	for _, c := range buf {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f || c == 0xc0 || c == 0xc1 || c >= 0xf5 {
			return false
		}
	}
	return true
}

// isText reports whether b is UTF-8 text without control characters other
// than tab and newlines: what a base64 wrapper around an id or JSON holds.
func isText(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return true
}

// phone records the digits of a number whose plus sign (src[at:d]) precedes
// d, in any written form (see phoneWritten).
func (p *pass) phone(src []byte, at, d int, form Form) int {
	e, _ := phoneWritten(src, d)
	if e == 0 {
		return 0
	}
	if isPseudonymPhoneText(src[d:e]) {
		return e
	}
	p.add(span{start: d, end: e, kind: kPhone, form: form})
	return e
}

// email finds an address around the at sign at src[at:at+atLen] ("@" or "%40").
func (p *pass) email(src []byte, at, atLen int) int {
	n := len(src)
	ls := at
	for ls > 0 && cls[src[ls-1]]&clsLocal != 0 {
		ls--
	}
	if ls > 0 && src[ls-1] == '%' && at-ls >= 2 && isHex(src[ls]) && isHex(src[ls+1]) {
		ls += 2 // the hex digits of an escape before the address ("%3auser@...")
	}
	// Dots are skipped after the barrier is applied: a local part cut by
	// a match before it ("2001:db8::1.@x.com") starts after its dots, as
	// the same text would without the match.
	ls = max(ls, p.barrier)
	for ls < at && src[ls] == '.' {
		ls++
	}
	ds := at + atLen
	e, labels, lastAlpha, lastLen := ds, 0, true, 0
	for {
		j := e
		alpha := true
		for j < n && (isAlnum(src[j]) || src[j] == '-') {
			alpha = alpha && !isDigit(src[j]) && src[j] != '-'
			j++
		}
		if j == e {
			break
		}
		labels++
		lastAlpha, lastLen = alpha, j-e
		e = j
		if e+1 < n && src[e] == '.' && isAlnum(src[e+1]) {
			e++
			continue
		}
		break
	}
	if ls >= at || labels < 2 || !lastAlpha || lastLen < 2 {
		return 0
	}
	if string(src[ls:at]) == Removed {
		// A removed secret before an at sign ("Bearer .@x.com": the token
		// was "."), not a local part it could have been part of.
		return 0
	}
	if bytes.HasSuffix(src[e-lastLen:e], []byte(Removed)) {
		// A removed secret, not a top-level domain: "x@y.eyJ...<JWT>" (or
		// "x@y.AeyJ...", the token glued to a word) has no address until
		// the token becomes the marker, and must not gain one when
		// redacted again. A token always ends the label it is in.
		return 0
	}
	dom := src[ds:e]
	if hasPrefixFold(dom, "thread.") || equalFold(dom, "unq.gbl.spaces") {
		return 0 // Teams thread ids ("19:...@thread.v2") are not addresses
	}
	if equalFold(dom, "example.invalid") || (len(dom) > 16 && equalFold(dom[len(dom)-16:], ".example.invalid")) {
		// Already redacted: no real address lives under example.invalid.
		// A pseudonym stays whole, like an address replaced: what was
		// found inside its local part ("Bearer user1@...") is not replaced.
		if ls < at && IsPseudonym(string(src[ls:e])) {
			for len(p.spans) > 0 && p.spans[len(p.spans)-1].start >= ls {
				p.spans = p.spans[:len(p.spans)-1]
			}
		}
		p.barrier = e
		return e
	}
	// The address covers anything found in its local part already.
	for len(p.spans) > 0 && p.spans[len(p.spans)-1].end > ls {
		last := p.spans[len(p.spans)-1]
		if last.start < ls {
			ls = last.end
			break
		}
		p.spans = p.spans[:len(p.spans)-1]
	}
	if ls >= at {
		return 0
	}
	form := FormEmail
	if atLen == 3 {
		form = FormEmailURLEncoded
	}
	p.add(span{start: ls, end: e, kind: kEmail, form: form})
	p.barrier = e
	return e
}

func hasPrefixFold(b []byte, lower string) bool {
	return len(b) >= len(lower) && equalFold(b[:len(lower)], lower)
}

// url handles "scheme://" at the colon i: a password in the userinfo is
// removed and a host that is not Microsoft's (nor loopback, nor a pseudonym)
// is pseudonymised. JSON-escaped ":\/\/" counts too.
func (p *pass) url(src []byte, i int) int {
	n := len(src)
	hs := 0
	switch {
	case i+2 < n && src[i+1] == '/' && src[i+2] == '/':
		hs = i + 3
	case i+4 < n && src[i+1] == '\\' && src[i+2] == '/' && src[i+3] == '\\' && src[i+4] == '/':
		hs = i + 5
	default:
		return 0
	}
	if i == 0 || !isAlnum(src[i-1]) {
		return 0
	}
	// Authority: up to the path, query, fragment or the end of the token.
	ae := hs
	for ae < n && !isAuthorityEnd(src[ae]) {
		ae++
	}
	if at := bytes.LastIndexByte(src[hs:ae], '@'); at >= 0 {
		at += hs
		// The user name is text like any other (an id, an address): it
		// is scanned, where it ends. The password is removed.
		ue := at
		c := bytes.IndexByte(src[hs:at], ':')
		if c >= 0 {
			ue = hs + c
		}
		p.scan(src[:ue], hs)
		if c >= 0 && string(src[ue+1:at]) != Removed && at > ue+1 {
			p.add(span{start: ue + 1, end: at, kind: kSecret})
		}
		hs = at + 1
	}
	he := hs
	for he < ae && cls[src[he]]&clsHost != 0 {
		he++
	}
	host := src[hs:he]
	if len(host) == 0 || !isAlnum(host[0]) || !isAlnum(host[len(host)-1]) {
		return 0
	}
	if !mayBeAddr(host) {
		// Not an address: no need to ask netip (and allocate its error).
	} else if _, err := netip.ParseAddr(string(host)); err == nil {
		return hs // an address: the IP rules handle it
	}
	var buf [64]byte
	lower := appendLower(buf[:0], host) // host bytes are ASCII (clsHost)
	// A learned name replaced after "://" ("Person 3") is a pseudonym, not a host.
	if isKeptHost(string(lower)) || IsPseudonym(string(lower)) || inPseudonym(src, hs, he) {
		return he
	}
	p.add(span{start: hs, end: he, kind: kHost, form: FormHost})
	return he
}

func isAuthorityEnd(c byte) bool {
	switch c {
	case '/', '?', '#', '\\', '"', '\'', '<', '>', ' ', '\t', '\n', '\r', ',', ';', '%', '&', ')', ']':
		return true
	}
	return false
}

// ipv4 records a dotted-quad address starting at i.
func (p *pass) ipv4(src []byte, i int) int {
	n := len(src)
	e := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if e >= n || src[e] != '.' {
				return 0
			}
			e++
		}
		s := e
		for e < n && e-s < 4 && isDigit(src[e]) {
			e++
		}
		if e == s || e-s > 3 {
			return 0
		}
	}
	if e < n && (isAlnum(src[e]) || (src[e] == '.' && e+1 < n && isDigit(src[e+1]))) {
		return 0
	}
	a, err := netip.ParseAddr(string(src[i:e]))
	if err != nil {
		return 0
	}
	if !keepAddr(a) {
		p.add(span{start: i, end: e, kind: kIP, form: FormIP})
	}
	p.barrier = e
	return e
}

// maxIPv6Run is the longest run ipv6 measures: the longest address text
// ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 45 bytes) and trailing
// punctuation it trims.
const maxIPv6Run = 47

// ipv6 records an IPv6 address starting at i: it needs "::" or all eight
// groups, so times ("15:58:41") and MRIs ("28:...") never match.
func (p *pass) ipv6(src []byte, i int) int {
	n := len(src)
	e, colons := i, 0
	for e < n && (isHex(src[e]) || src[e] == ':' || src[e] == '.') {
		if src[e] == ':' {
			colons++
		}
		e++
		if e-i > maxIPv6Run {
			// Longer than any address with trailing punctuation: not one.
			// Stopping here keeps a long run of such bytes linear, where
			// every position of it may start a try.
			return 0
		}
	}
	for e > i && (src[e-1] == '.' || (src[e-1] == ':' && (e-2 < i || src[e-2] != ':'))) {
		if src[e-1] == ':' {
			colons--
		}
		e--
	}
	if colons < 2 || (colons < 7 && !bytes.Contains(src[i:e], []byte("::"))) || (e < n && isAlnum(src[e])) {
		return 0
	}
	a, err := netip.ParseAddr(string(src[i:e]))
	if err != nil || !a.Is6() {
		return 0
	}
	if !keepAddr(a) {
		p.add(span{start: i, end: e, kind: kIP, form: FormIP})
	}
	p.barrier = e
	return e
}

// keepAddr reports whether an address identifies nobody: loopback,
// unspecified, broadcast, or already a pseudonym.
func keepAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || isPseudonymAddr(a)
}

// quotedPair handles `"key": "value"` in text that is not parsed as JSON
// (invalid JSON, JSON inside a string): secret values are removed and names
// pseudonymised, as the JSON walker does for parsed JSON.
func (p *pass) quotedPair(src []byte, i int) int {
	n := len(src)
	ks := i + 1
	ke := ks
	for ke < n && ke-ks <= 40 && cls[src[ke]]&(clsKey) != 0 {
		ke++
	}
	if ke >= n || src[ke] != '"' || ke == ks {
		return 0
	}
	key := src[ks:ke]
	tab := defaultFields
	if p.r != nil {
		tab = p.r.fields
	}
	fc := tab.class(key)
	secret, name := fc == keySecret, fc == keyName
	field := fc > keyName && fc != fieldShape && fc != fieldKeep
	if !secret && !name && !field {
		return 0
	}
	j := ke + 1
	for j < n && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' || src[j] == '\r') {
		j++
	}
	if j >= n || src[j] != ':' {
		return 0
	}
	j++
	for j < n && (src[j] == ' ' || src[j] == '\t' || src[j] == '\n' || src[j] == '\r') {
		j++
	}
	if j >= n || src[j] != '"' {
		return 0
	}
	vs := j + 1
	ve := vs
	for ve < n && src[ve] != '"' {
		if src[ve] == '\\' {
			ve++
		}
		ve++
	}
	if ve > n {
		ve = n
	}
	v := src[vs:ve]
	switch {
	case len(v) == 0, secret && string(v) == Removed, !secret && IsPseudonym(string(v)):
	case field && isFieldPseudonym(v):
	case field && (bytes.IndexByte(v, '\\') >= 0 || p.hasShape(v)):
		// An escaped value (the walker of the JSON it is in, or the next
		// layer, sees it unescaped), or one with an id of known shape
		// inside: the scan goes on into it.
		return 0
	case field:
		p.add(span{start: vs, end: ve, kind: kField, form: Form(fc)})
	case !secret && !hasWordByte(v):
		// Punctuation is no name ("}" between quotes of broken JSON):
		// replaced, it would change how the JSON reads the next time.
	case secret:
		p.add(span{start: vs, end: ve, kind: kSecret})
	default:
		p.add(span{start: vs, end: ve, kind: kName, form: FormName})
	}
	return ve
}

// keyValue handles key=value (query strings and form bodies inside text):
// the value of a secret key is removed up to the next delimiter.
func (p *pass) keyValue(src []byte, i int) int {
	ks := i
	for ks > 0 && cls[src[ks-1]]&clsKey != 0 {
		ks--
	}
	if ks == i || !isSecretKey(src[ks:i]) {
		return 0
	}
	n := len(src)
	e := i + 1
	for e < n && !isValueEnd(src[e]) {
		e++
	}
	if e == i+1 || string(src[i+1:e]) == Removed {
		return e
	}
	p.add(span{start: i + 1, end: e, kind: kSecret})
	return e
}

// hasWordByte reports whether v has a letter or digit (ASCII or not).
func hasWordByte(v []byte) bool {
	for _, c := range v {
		if isAlnum(c) || c >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func isValueEnd(c byte) bool {
	switch c {
	case '&', ';', ',', ' ', '\t', '\n', '\r', '"', '\'', '#', '<', '>', '\\':
		return true
	}
	return false
}

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

// patterns applies the policy's extra regular expressions: each match is
// pseudonymised whole, like a name.
func (p *pass) patterns(src []byte) {
	added := false
	for _, re := range p.r.policy.RedactPatterns {
		for _, m := range re.FindAllIndex(src, -1) {
			if m[0] == m[1] || p.overlaps(m[0], m[1]) || IsPseudonym(string(src[m[0]:m[1]])) {
				continue
			}
			p.spans = append(p.spans, span{start: m[0], end: m[1], kind: kName, form: FormName})
			added = true
		}
	}
	if added {
		p.sortSpans()
	}
}

func (p *pass) sortSpans() {
	slices.SortFunc(p.spans, func(a, b span) int { return a.start - b.start })
}

func (p *pass) overlaps(s, e int) bool {
	for _, x := range p.spans {
		if x.start < e && s < x.end {
			return true
		}
	}
	return false
}

// hasEscape reports whether src holds a percent escape (%XX).
func hasEscape(src []byte) bool {
	for k := 0; ; {
		j := bytes.IndexByte(src[k:], '%')
		if j < 0 {
			return false
		}
		k += j
		if k+2 < len(src) && isHex(src[k+1]) && isHex(src[k+2]) {
			return true
		}
		k++
	}
}

// percent is the safety net for percent-encoded text: what the raw pass
// could not see ("%2D"-encoded dashes, a "%3D"-encoded secret, a host in an
// encoded URL) shows once decoded. When the decoded text still holds
// something, the whole text is decoded, redacted and re-encoded.
func (p *pass) percent(src []byte) {
	// Redacting (not scanning, not probing): the outcome may be known.
	if p.r != nil && p.report == nil {
		if o, ok := p.r.cachedLayer(src, layerPercent, p.depth, p.lits); ok {
			if o.replaced {
				p.spans = append(p.spans[:0], span{start: 0, end: len(src), kind: kRepl, repl: o.repl})
			}
			return
		}
		if repl, replaced := p.percentLayer(src); replaced {
			p.r.cacheLayer(src, layerPercent, p.depth, layerOutcome{gen: p.lits.generation(), replaced: true, repl: repl})
		} else {
			p.r.cacheLayer(src, layerPercent, p.depth, layerOutcome{gen: p.lits.generation()})
		}
		return
	}
	p.percentLayer(src)
}

// percentLayer is percent without the cache; replaced reports whether the
// spans became one replacing all of src by repl.
func (p *pass) percentLayer(src []byte) (repl string, replaced bool) {
	var cur []byte
	if p.r == nil || len(p.spans) == 0 {
		cur = src
	} else {
		cur = p.apply(nil, src)
	}
	dec, ok := percentDecode(cur)
	if !ok {
		return "", false
	}
	q := p.sub()
	defer q.release()
	q.report = nil
	r := q.r
	q.r = nil // probe only: nothing is issued for what the probe sees
	q.find(dec)
	q.r = r
	if len(q.spans) == 0 {
		return "", false
	}
	if p.r == nil && p.report == nil { // probing: that something is there is enough
		p.spans = append(p.spans[:0], span{start: 0, end: len(src), kind: kRepl})
		return "", false
	}
	if p.report != nil {
		q.report = p.report
		q.reportAll(dec)
		return "", false
	}
	q.find(dec)
	repl = string(percentEncode(nil, q.apply(nil, dec)))
	p.spans = append(p.spans[:0], span{start: 0, end: len(src), kind: kRepl, repl: repl})
	return repl, true
}

// percentDecode decodes %XX escapes ('+' stays: it is a space only in forms,
// and a phone's plus sign elsewhere). ok is false when nothing was escaped.
func percentDecode(src []byte) ([]byte, bool) {
	out := make([]byte, 0, len(src))
	changed := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '%' && i+2 < len(src) && isHex(src[i+1]) && isHex(src[i+2]) {
			out = append(out, hexVal(src[i+1])<<4|hexVal(src[i+2]))
			i += 2
			changed = true
			continue
		}
		out = append(out, c)
	}
	return out, changed
}

// percentEncode escapes everything but unreserved characters (RFC 3986):
// strict, so nothing decoded can turn into syntax.
func percentEncode(dst, src []byte) []byte {
	for _, c := range src {
		if isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}

// reportAll hands every span to the scanner's report function.
func (p *pass) reportAll(src []byte) {
	for _, s := range p.spans {
		if s.kind == kRepl && s.repl == "" {
			continue
		}
		k := s.kind
		if k == kField {
			// An identifier field's value is reported as what its class says.
			switch uint8(s.form) {
			case fieldIP:
				k = kIP
			case fieldPhone:
				k = kPhone
			case keyName:
				k = kName
			}
		}
		p.report(k, src[s.start:s.end])
	}
}

// apply appends src to dst with every span replaced.
func (p *pass) apply(dst, src []byte) []byte {
	last := 0
	for _, s := range p.spans {
		if s.start < last {
			continue // defensive: spans never overlap
		}
		dst = append(dst, src[last:s.start]...)
		dst = p.r.replacement(dst, s, src[s.start:s.end])
		last = s.end
	}
	return append(dst, src[last:]...)
}

// redact appends src, redacted, to dst; changed is false (and dst untouched)
// when src holds nothing to redact.
func (p *pass) redact(dst, src []byte) (out []byte, changed bool) {
	if p.quiet(src) {
		return dst, false
	}
	if len(src) == 36 && p.r != nil && len(p.r.policy.RedactPatterns) == 0 {
		// A string that is one GUID (the commonest string to redact) is
		// that GUID's span alone: nothing else fits in it, and a learned
		// literal inside it is either covered by the span or part of a
		// pseudonym. This is guid and apply without the span, reading
		// the GUID once.
		if g, form, ok := parseDashedGUID(src); ok {
			if n, pseudo := isPseudonymGUID(g); pseudo {
				p.r.reserve(&p.r.guidN, n)
				return dst, false
			}
			if g == nilGUID {
				return dst, false
			}
			return appendGUID(dst, guidPseudonym(p.r.guidNum(g)), form), true
		}
	}
	p.find(src)
	if len(p.spans) == 0 {
		return dst, false
	}
	return p.apply(dst, src), true
}

// quiet reports whether find would find nothing in src, with one cheap
// look at each byte: most JSON strings ("#microsoft.graph.participant",
// "sendReceive", "en-US", field names) hold nothing, and are passed over
// without the detailed scan. It answers false whenever src holds anything a
// finding starts with: a hex run of 8 (a GUID's first group), a base64 run
// of 40, "eyJ", "bearer ", a percent sign, a quote, '=', '+', an at sign
// after an address character, a colon after a hex digit or before '/', '\\'
// or ':' (URLs, IPv6), a dot after a digit (IPv4), or the prefix of a
// learned literal. Policies with patterns always get the detailed scan.
func (p *pass) quiet(src []byte) bool {
	if p.r != nil && len(p.r.policy.RedactPatterns) > 0 {
		return false
	}
	tab := &cls
	if p.lits != nil {
		tab = &p.lits.cls
	}
	// Runs are measured from the last byte outside their class (conditional
	// moves, no dependency chain through arithmetic).
	nonHex, nonB64 := -1, -1
	for i, c := range src {
		f := tab[c]
		if f&clsHex == 0 {
			nonHex = i
		}
		if f&clsB64 == 0 {
			nonB64 = i
		}
		if i-nonHex < 8 && i-nonB64 < minB64 && f&(clsLook|clsLead) == 0 {
			continue
		}
		if i-nonHex >= 8 || i-nonB64 >= minB64 {
			return false
		}
		if f&clsLead != 0 && p.lits.leadAt(src, i) {
			return false
		}
		switch c {
		case '@':
			if i > 0 && cls[src[i-1]]&clsLocal != 0 {
				return false
			}
		case ':':
			if (i > 0 && isHex(src[i-1])) || (i+1 < len(src) && (src[i+1] == '/' || src[i+1] == '\\' || src[i+1] == ':')) {
				return false
			}
		case '.':
			if i > 0 && isDigit(src[i-1]) {
				return false
			}
		case '-':
			if i > 0 && src[i-1] == '1' && (i == 1 || !isAlnum(src[i-2])) {
				return false // "1-425-555-0100"
			}
		case 'J':
			if i >= 2 && src[i-2] == 'e' && src[i-1] == 'y' {
				return false
			}
		case ' ':
			if i >= 6 && equalFold(src[i-6:i], "bearer") {
				return false
			}
		case '%', '"', '=', '+':
			return false
		}
	}
	return true
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
