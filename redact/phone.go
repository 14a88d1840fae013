package redact

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
	if !isPseudonymPhoneDigits(src[d:e]) {
		p.add(span{start: d, end: e, kind: kPhone, form: FormPhone})
	}
	return e
}
