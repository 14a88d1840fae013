package redact

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// JSON text: validating a body in the same walk that redacts it, and
// reading and writing JSON strings (escapes, \u sequences, quoting) without
// encoding/json's allocations.

// Byte classes of the JSON walk.
const (
	jOther  = iota // numbers, literals, anything invalid
	jSpace         // whitespace
	jStruct        // '"', brackets and braces: what the walk acts on
)

var jsonTab = func() (t [256]uint8) {
	for _, c := range " \t\n\r" {
		t[c] = jSpace
	}
	for _, c := range `"{}[]` {
		t[c] = jStruct
	}
	return t
}()

// validGap checks a number or literal at b[i] against the grammar state st
// and returns where to go on; anything else between strings and brackets
// (whitespace, colons and commas are handled by json) is invalid there.
func validGap(b []byte, i, st int) (int, bool, int) {
	switch c := b[i]; c {
	case 't', 'f', 'n':
		lit := "null"
		if c == 't' {
			lit = "true"
		} else if c == 'f' {
			lit = "false"
		}
		if (st != vValue && st != vValueOrClose) || len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
			return i + 1, false, st
		}
		return i + len(lit), true, vAfter
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		if st != vValue && st != vValueOrClose {
			return i + 1, false, st
		}
		e, ok := numberEnd(b, i)
		return e, ok, vAfter
	}
	return i + 1, false, st
}

// numberEnd returns the end of the JSON number at b[i] and whether it is
// well formed: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) (int, bool) {
	n := len(b)
	if b[i] == '-' {
		i++
		if i == n || !isDigit(b[i]) {
			return i, false
		}
	}
	if b[i] == '0' {
		i++
	} else {
		for i < n && isDigit(b[i]) {
			i++
		}
	}
	if i < n && b[i] == '.' {
		i++
		if i == n || !isDigit(b[i]) {
			return i, false
		}
		for i < n && isDigit(b[i]) {
			i++
		}
	}
	if i < n && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < n && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == n || !isDigit(b[i]) {
			return i, false
		}
		for i < n && isDigit(b[i]) {
			i++
		}
	}
	return i, true
}

// validString reports whether the content of a JSON string (between its
// quotes) is valid: no control characters, only the escapes JSON defines.
// UTF-8 is not checked, as gjson.Valid does not.
func validString(raw []byte) bool {
	i := 0
	// Eight bytes at a time: none below 0x20 and no backslash is the common case.
	for ; i+8 <= len(raw); i += 8 {
		x := binary.LittleEndian.Uint64(raw[i:])
		const lo, hi = 0x0101010101010101, 0x8080808080808080
		bs := x ^ (lo * '\\')
		if ((x-lo*0x20)&^x|(bs-lo)&^bs)&hi != 0 {
			break
		}
	}
	for ; i < len(raw); i++ {
		c := raw[i]
		if c < 0x20 {
			return false
		}
		if c != '\\' {
			continue
		}
		i++
		if i == len(raw) {
			return false
		}
		switch raw[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		case 'u':
			if i+5 > len(raw) {
				return false
			}
			for _, h := range raw[i+1 : i+5] {
				if !isHex(h) {
					return false
				}
			}
			i += 4
		default:
			return false
		}
	}
	return true
}

// scanString finds the end of the string starting at b[i] == '"' in one
// look at its bytes, eight at a time. plain reports a string without
// backslashes and control characters, the common case: its content is
// valid and needs no unquoting. Anything else is left to stringEnd,
// validString and unquote.
func scanString(b []byte, i int) (end int, closed, plain bool) {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	j := i + 1
	for ; j+8 <= len(b); j += 8 {
		x := binary.LittleEndian.Uint64(b[j:])
		q, bs := x^(lo*'"'), x^(lo*'\\')
		// The lowest flagged byte is exact: a false flag only ever sits
		// above a true one.
		if m := ((q - lo) &^ q & hi) | ((bs - lo) &^ bs & hi) | ((x - lo*0x20) &^ x & hi); m != 0 {
			j += bits.TrailingZeros64(m) / 8
			break
		}
	}
	for ; j < len(b); j++ {
		if c := b[j]; c == '"' || c == '\\' || c < 0x20 {
			break
		}
	}
	if j < len(b) && b[j] == '"' {
		return j + 1, true, true
	}
	end, closed = stringEnd(b, i)
	return end, closed, false
}

// stringEnd returns the index just past the string starting at b[i] == '"',
// or len(b) and closed false when it is unterminated.
func stringEnd(b []byte, i int) (end int, closed bool) {
	j := i + 1
	for {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			return len(b), false
		}
		j += k
		// Count the backslashes before the quote: an odd number escapes it.
		bs := 0
		for m := j - 1; m > i && b[m] == '\\'; m-- {
			bs++
		}
		if bs%2 == 0 {
			return j + 1, true
		}
		j++
	}
}

// isKey reports whether the string ending before b[e] is an object key.
func isKey(b []byte, e int) bool {
	for ; e < len(b); e++ {
		switch b[e] {
		case ' ', '\t', '\n', '\r':
			continue
		case ':':
			return true
		}
		return false
	}
	return false
}

// unquote decodes the escapes of a JSON string's content; invalid escapes
// are kept as written.
func unquote(raw []byte) []byte {
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' || i+1 >= len(raw) {
			out = append(out, c)
			continue
		}
		i++
		switch raw[i] {
		case '"', '\\', '/':
			out = append(out, raw[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r1, ok := hex4(raw, i+1)
			if !ok {
				out = append(out, '\\', 'u')
				continue
			}
			i += 4
			if utf16.IsSurrogate(r1) {
				if r2, ok := hex4(raw, i+3); ok && i+2 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					if d := utf16.DecodeRune(r1, r2); d != utf8.RuneError {
						out = utf8.AppendRune(out, d)
						i += 6
						continue
					}
				}
				r1 = utf8.RuneError
			}
			out = utf8.AppendRune(out, r1)
		default:
			out = append(out, '\\', raw[i])
		}
	}
	return out
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		if !isHex(c) {
			return 0, false
		}
		r = r<<4 | rune(hexVal(c))
	}
	return r, true
}

// appendQuoted writes s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// the output stays valid JSON.
func appendQuoted(dst, s []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		// Copy what needs no escaping in one go.
		j := i
		for j < len(s) && s[j] >= 0x20 && s[j] != '"' && s[j] != '\\' && s[j] < utf8.RuneSelf {
			j++
		}
		dst = append(dst, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexLower[c>>4], hexLower[c&15])
			}
			i++
			continue
		}
		ru, size := utf8.DecodeRune(s[i:])
		if ru == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}
