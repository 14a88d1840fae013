package redact

import (
	"bytes"
	"slices"
)

// The scanning driver. A pass walks a text once (scan, word) and hands each
// place an identifier may start to the recogniser of its kind; each kind
// has its file, holding how it is found, how its pseudonym is made and how
// a pseudonym of it is recognised: guid.go, bearer.go (JWTs and bearer
// tokens), phone.go (numbers, dial strings), email.go, url.go (hosts),
// ip.go, mac.go, thread.go, fields.go (identifier fields, "key": "value"
// pairs) and form.go (key=value secrets). layers.go opens base64 and
// percent-encoding, literals.go finds learned names and hosts, and
// findids.go runs the same recognisers for the replayer.

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
	// ids is FindIDs's mode: pseudonyms are spans too (the replayer binds
	// them), and only what names an identifier is looked at: no secret,
	// name or host rule skips over text an id may be in.
	ids bool
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
			if p.ids {
				break
			}
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
	// FindIDs (p.ids) binds ids, not secrets: a token is words to it.
	for k, tries := i, 0; !p.ids && k+3 <= w && tries < maxJWTTries; k, tries = k+1, tries+1 {
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
	if !p.ids && w-i == 6 && w+1 < n && src[w] == ' ' && equalFold(src[i:w], "bearer") {
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
	if j := p.guidsInWord(src, i, s0, w, hexes); j > 0 {
		return j
	}
	if allHex && w-s0 >= 32 {
		return w
	}
	if w-i == 1 && src[i] == '1' && w < n && (src[w] == '-' || src[w] == '.') && boundaryBefore(src, i) {
		if j := p.nanp(src, i); j > 0 {
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

func hasPrefixFold(b []byte, lower string) bool {
	return len(b) >= len(lower) && equalFold(b[:len(lower)], lower)
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
