package redact

import (
	"bytes"
	"strconv"
)

// Phone numbers are written for people as often as for machines: Graph's
// own onlineMeeting answers carry "+1 206-485-3005", and bots format numbers
// as they please. Every written form of one number is one identifier (its
// digits), and its pseudonym keeps the form: the pseudonym's digits are put
// where the original's were, separators and parentheses stay.

// maxPhoneGroup is the longest group of digits a written number is cut
// into after its country code ("+49 30 12345678").
const maxPhoneGroup = 8

// phoneWritten measures the phone number whose first digit is at d (its
// plus sign, or "%2B", precedes d): one run of digits (E.164), or a country
// code of one to three digits followed by groups joined by one space, dash
// or dot, the area code possibly in parentheses ("+1 (425) 555-0100",
// "+44 20 7946 0958", "+1.425.555.0100"). It returns the end of the number
// and its digit count, or 0 when there is no number there.
func phoneWritten(src []byte, d int) (end, digits int) {
	n := len(src)
	e := d
	for e < n && isDigit(src[e]) {
		e++
	}
	digits = e - d
	if digits == 0 {
		return 0, 0
	}
	if digits <= 3 {
		// A country code: groups may follow.
		for e < n {
			j := e
			if src[j] == ' ' || src[j] == '-' || src[j] == '.' {
				j++
			}
			paren := j < n && src[j] == '('
			if paren {
				j++
			}
			k := j
			for k < n && isDigit(src[k]) && k-j <= maxPhoneGroup {
				k++
			}
			if k == j || k-j > maxPhoneGroup || (j == e && !paren) {
				break // no group, or a group without a separator (already counted)
			}
			g := k - j
			if paren {
				if k >= n || src[k] != ')' {
					break
				}
				k++
			}
			if digits+g > maxPhoneDigits || (src[e] == ' ' && k < n && (isAlnum(src[k]) || src[k] == ':' || src[k] == '@' || src[k] == '/')) {
				// Too long, or a word after a space that is the start
				// of something else ("19:..." a thread id after the number).
				break
			}
			digits += g
			e = k
		}
	}
	if digits < minPhoneDigits || digits > maxPhoneDigits || (e < n && isAlnum(src[e])) {
		return 0, 0
	}
	return e, digits
}

// nanpWritten measures a North American number written without its plus
// sign, "1-425-555-0100" or "1.425.555.0100", whose "1" is at i: it returns
// the end, or 0. Only this exact shape counts: a bare run of digits or a
// date ("2024-01-15") is not a phone without a field saying so.
func nanpWritten(src []byte, i int) int {
	n := len(src)
	if i+14 > n || src[i] != '1' {
		return 0
	}
	sep := src[i+1]
	if sep != '-' && sep != '.' {
		return 0
	}
	for k, c := range src[i+2 : i+14] {
		want := k == 3 || k == 7
		if want != (c == sep) || (!want && !isDigit(c)) {
			return 0
		}
	}
	if i+14 < n && (isAlnum(src[i+14]) || (src[i+14] == sep && i+15 < n && isDigit(src[i+15]))) {
		return 0
	}
	return i + 14
}

func countDigits(b []byte) int {
	k := 0
	for _, c := range b {
		if isDigit(c) {
			k++
		}
	}
	return k
}

// phoneDigits appends the digits of a written number to dst.
func phoneDigits(dst, v []byte) []byte {
	for _, c := range v {
		if isDigit(c) {
			dst = append(dst, c)
		}
	}
	return dst
}

// isPseudonymPhoneText reports whether the digits of a written number are a
// pseudonym's.
func isPseudonymPhoneText(v []byte) bool {
	var buf [2 * maxPhoneDigits]byte
	if len(v) > len(buf) {
		return false
	}
	return isPseudonymPhoneDigits(phoneDigits(buf[:0], v))
}

// appendPhoneWritten appends the pseudonym of the number written v: its
// digits replaced, in order, by those of the pseudonym of the whole number.
func (r *Redactor) appendPhoneWritten(dst, v []byte) []byte {
	var dbuf, pbuf [2 * maxPhoneDigits]byte
	if len(v) > len(dbuf) {
		return append(dst, Removed...)
	}
	digits := phoneDigits(dbuf[:0], v)
	if len(digits) == len(v) {
		return appendPhonePseudonym(dst, r.phoneNum(digits), len(digits))
	}
	ps := appendPhonePseudonym(pbuf[:0], r.phoneNum(digits), len(digits))
	k := 0
	for _, c := range v {
		if isDigit(c) && k < len(ps) {
			c = ps[k]
			k++
		}
		dst = append(dst, c)
	}
	return dst
}

// mriPhone records the number of a PSTN MRI written without its plus sign,
// "4:14255550100", whose colon is at i; it returns the end, or 0.
func (p *pass) mriPhone(src []byte, i int) int {
	if i < 1 || src[i-1] != '4' || !boundaryBefore(src, i-1) || (i >= 2 && src[i-2] == ':') {
		return 0
	}
	d := i + 1
	e := d
	for e < len(src) && isDigit(src[e]) {
		e++
	}
	if k := e - d; k < minPhoneDigits || k > maxPhoneDigits || (e < len(src) && isAlnum(src[e])) {
		return 0
	}
	if len(p.spans) > 0 && p.spans[len(p.spans)-1].end > i-1 {
		return 0
	}
	if p.ids || !isPseudonymPhoneDigits(src[d:e]) {
		p.add(span{start: d, end: e, kind: kPhone, form: FormPhone})
	}
	return e
}

// Dial strings. A meeting's dial-in link is a PSTN dial string,
// "tel:+16477490000,,11160000#": the number, pauses (commas), then the
// conference id the caller's phone keys in. The digits after the pauses are
// a conference id, pseudonymised as the conferenceId field's value is (and
// learned, so its other appearances follow). The dial-in page's link carries
// the same id in its query: "https://dialin.teams.microsoft.com/...?id=11160000".

// minConfDigits is the shortest conference id a dial string carries.
const minConfDigits = 4

// dialConference handles the pauses and conference id of a dial string
// after a phone number that ends at e; it returns where the dial string
// ends (e when no conference id follows).
func (p *pass) dialConference(src []byte, e int) int {
	n := len(src)
	k, pauses := e, 0
	for k < n {
		if src[k] == ',' {
			k++
		} else if hasPrefixFold(src[k:], "%2c") {
			k += 3
		} else {
			break
		}
		pauses++
	}
	if pauses == 0 {
		return e
	}
	ce := k
	for ce < n && isDigit(src[ce]) {
		ce++
	}
	if ce-k < minConfDigits || ce-k > maxPhoneDigits || (ce < n && isAlnum(src[ce])) {
		return e
	}
	if p.ids || !isDigitsPseudonym(src[k:ce]) {
		p.add(span{start: k, end: ce, kind: kField, form: Form(fieldID)})
	}
	return ce
}

// dialinID handles the key before the '=' at i, src[ks:i]: the "id" of a
// dial-in page's query ("dialin.teams.microsoft.com/<guid>?id=11160000")
// is a conference id. It returns where the value ends, or 0.
func (p *pass) dialinID(src []byte, ks, i int) int {
	if i-ks != 2 || !equalFold(src[ks:i], "id") || ks == 0 || (src[ks-1] != '?' && src[ks-1] != '&') {
		return 0
	}
	// The URL the query belongs to: back to what cannot be in one.
	us := ks - 1
	for us > 0 && ks-us < maxURLBack && !isURLStop(src[us-1]) {
		us--
	}
	if bytes.Index(bytes.ToLower(src[us:ks]), []byte("dialin")) < 0 {
		return 0
	}
	n := len(src)
	e := i + 1
	for e < n && isDigit(src[e]) {
		e++
	}
	if e-i-1 < minConfDigits || e-i-1 > maxPhoneDigits || (e < n && isAlnum(src[e])) {
		return 0
	}
	if p.ids || !isDigitsPseudonym(src[i+1:e]) {
		p.add(span{start: i + 1, end: e, kind: kField, form: Form(fieldID)})
	}
	return e
}

// maxURLBack bounds how far back dialinID looks for the URL's host.
const maxURLBack = 256

func isURLStop(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '\\':
		return true
	}
	return false
}

// phone records the digits of a number whose plus sign (src[at:d]) precedes
// d, in any written form (see phoneWritten).
func (p *pass) phone(src []byte, at, d int, form Form) int {
	e, _ := phoneWritten(src, d)
	if e == 0 {
		return 0
	}
	if p.ids || !isPseudonymPhoneText(src[d:e]) {
		p.add(span{start: d, end: e, kind: kPhone, form: form})
	}
	return p.dialConference(src, e)
}

// isPseudonymPhoneDigits reports whether d is the digits of a phone pseudonym:
// "555", then a zero-padded counter whose first digit is still a pad zero
// (real numbers with country code 55 never have a 0 there).
func isPseudonymPhoneDigits(d []byte) bool {
	if len(d) < minPhoneDigits || len(d) > maxPhoneDigits || string(d[:3]) != phonePrefix || d[3] != '0' {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// phonePseudonym returns the digits of phone pseudonym n with the given digit count.
func phonePseudonym(n, digits int) string {
	return string(appendPhonePseudonym(nil, n, digits))
}

// appendPhonePseudonym appends the digits of phone pseudonym n with the given digit count.
func appendPhonePseudonym(dst []byte, n, digits int) []byte {
	var buf [20]byte
	d := strconv.AppendInt(buf[:0], int64(n), 10)
	pad := digits - len(phonePrefix) - len(d)
	if pad < 1 {
		// The counter outgrew the number's length: keep the shape, lose uniqueness.
		d = d[len(d)-(digits-len(phonePrefix)-1):]
		pad = 1
	}
	dst = append(dst, phonePrefix...)
	for range pad {
		dst = append(dst, '0')
	}
	return append(dst, d...)
}

// phoneNum returns the pseudonym number of a phone number's digits.
func (r *Redactor) phoneNum(digits []byte) int {
	h := hashBytes(digits)
	if n, ok := r.phones.get(h, viewString(digits)); ok {
		return n
	}
	n, _ := issueNum(r, &r.phones, &idEntry[string]{key: string(digits), hash: h}, &r.phoneN,
		pseudonym{kind: kPhone, width: uint8(len(digits))})
	return n
}

// nanp records a North American number written without its plus sign
// ("1-425-555-0100") whose "1" is at i; it returns the end, or 0.
func (p *pass) nanp(src []byte, i int) int {
	j := nanpWritten(src, i)
	if j > 0 && (p.ids || !isPseudonymPhoneText(src[i:j])) {
		p.add(span{start: i, end: j, kind: kPhone, form: FormPhone})
	}
	return j
}
