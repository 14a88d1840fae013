package redact

import "slices"

// Character classes, looked up once per byte by the scanners.
const (
	clsHex    = 1 << iota // 0-9 a-f A-F
	clsDigit              // 0-9
	clsAlnum              // 0-9 a-z A-Z
	clsB64                // standard base64 alphabet: alnum + / (no '=': padding is handled apart)
	clsB64URL             // base64url alphabet: alnum - _
	clsLocal              // email local part: alnum . _ + -
	clsHost               // host name: alnum . -
	clsKey                // key of a key=value pair: alnum _ . -
	clsLook               // may start a finding, depending on its neighbours: see quiet
	clsLead               // starts a learned literal (only in literals.cls, never in cls)
)

var cls = func() (t [256]uint16) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		var f uint16
		isDigit := b >= '0' && b <= '9'
		isAlpha := (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
		if isDigit || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F') {
			f |= clsHex
		}
		if isDigit {
			f |= clsDigit
		}
		if isDigit || isAlpha {
			f |= clsAlnum | clsB64 | clsB64URL | clsLocal | clsHost | clsKey
		}
		switch b {
		case '+':
			f |= clsB64 | clsLocal
		case '/':
			f |= clsB64
		case '-':
			f |= clsB64URL | clsLocal | clsHost | clsKey
		case '_':
			f |= clsB64URL | clsLocal | clsKey
		case '.':
			f |= clsLocal | clsHost | clsKey
		}
		switch b {
		case '%', '"', '=', '+', '@', ':', '.', 'J', ' ', '-':
			f |= clsLook
		}
		t[c] = f
	}
	return t
}()

func isHex(c byte) bool   { return cls[c]&clsHex != 0 }
func isDigit(c byte) bool { return cls[c]&clsDigit != 0 }
func isAlnum(c byte) bool { return cls[c]&clsAlnum != 0 }

var hexVals = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		switch {
		case c >= '0' && c <= '9':
			t[c] = byte(c - '0')
		case c >= 'a' && c <= 'f':
			t[c] = byte(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			t[c] = byte(c - 'A' + 10)
		}
	}
	return t
}()

func hexVal(c byte) byte { return hexVals[c] }

// guidForm says how a GUID found in text is written: dashed or not, and its
// case. Digits-only or mixed-case GUIDs count as lower case.
func guidForm(t []byte) Form {
	upper, lower := false, false
	for _, c := range t {
		switch {
		case c >= 'a' && c <= 'f':
			lower = true
		case c >= 'A' && c <= 'F':
			upper = true
		}
	}
	up := upper && !lower
	switch {
	case len(t) == 32 && up:
		return FormGUIDUndashedUpper
	case len(t) == 32:
		return FormGUIDUndashedLower
	case up:
		return FormGUIDUpper
	default:
		return FormGUIDLower
	}
}

// parseGUIDBytes reads a 36-char dashed or 32-char undashed GUID whose
// characters were already checked.
func parseGUIDBytes(t []byte) (g [16]byte) {
	if len(t) == 36 {
		// 8-4-4-4-12: skip the dashes at fixed offsets.
		j := 0
		for _, k := range guidHexAt {
			g[j] = hexVals[t[k]]<<4 | hexVals[t[k+1]]
			j++
		}
		return g
	}
	for i := 0; i < 16 && 2*i+1 < len(t); i++ {
		g[i] = hexVals[t[2*i]]<<4 | hexVals[t[2*i+1]]
	}
	return g
}

// guidHexAt are the offsets of the hex digit pairs of a dashed GUID.
var guidHexAt = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// parseDashedGUID reads t as a dashed GUID in one pass: what
// isDashedGUID, parseGUIDBytes and guidForm say of it together.
func parseDashedGUID(t []byte) (g [16]byte, form Form, ok bool) {
	if len(t) != 36 || t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return g, 0, false
	}
	var all uint16 = clsHex
	var upper, lower bool
	for j, k := range guidHexAt {
		c0, c1 := t[k], t[k+1]
		all &= cls[c0] & cls[c1]
		upper = upper || (c0 >= 'A' && c0 <= 'F') || (c1 >= 'A' && c1 <= 'F')
		lower = lower || (c0 >= 'a' && c0 <= 'f') || (c1 >= 'a' && c1 <= 'f')
		g[j] = hexVals[c0]<<4 | hexVals[c1]
	}
	if all&clsHex == 0 {
		return g, 0, false
	}
	if upper && !lower {
		return g, FormGUIDUpper, true
	}
	return g, FormGUIDLower, true
}

// parseGUIDText parses a GUID in any form (dashed, undashed, braced, any case).
func parseGUIDText(s string) ([16]byte, bool) {
	if len(s) == 38 && s[0] == '{' && s[37] == '}' {
		s = s[1:37]
	}
	switch len(s) {
	case 36:
		if !isDashedGUID([]byte(s), 0) {
			return [16]byte{}, false
		}
	case 32:
		for i := 0; i < 32; i++ {
			if !isHex(s[i]) {
				return [16]byte{}, false
			}
		}
	default:
		return [16]byte{}, false
	}
	return parseGUIDBytes([]byte(s)), true
}

// isDashedGUID reports whether b[i:i+36] is 8-4-4-4-12 hex digits.
func isDashedGUID(b []byte, i int) bool {
	if i+36 > len(b) {
		return false
	}
	t := b[i : i+36]
	if t[8] != '-' || t[13] != '-' || t[18] != '-' || t[23] != '-' {
		return false
	}
	for k, c := range t {
		if k == 8 || k == 13 || k == 18 || k == 23 {
			continue
		}
		if cls[c]&clsHex == 0 {
			return false
		}
	}
	return true
}

const hexLower = "0123456789abcdef"
const hexUpper = "0123456789ABCDEF"

// appendGUID writes g in form f.
func appendGUID(dst []byte, g [16]byte, f Form) []byte {
	digits := hexLower
	dashed, braced := true, false
	switch f {
	case FormGUIDUpper:
		digits = hexUpper
	case FormGUIDUndashedLower:
		dashed = false
	case FormGUIDUndashedUpper:
		digits, dashed = hexUpper, false
	case FormGUIDBracedLower:
		braced = true
	case FormGUIDBracedUpper:
		digits, braced = hexUpper, true
	}
	// One growth for the whole GUID, not one per pair of digits.
	size := 32
	if dashed {
		size += 4
	}
	if braced {
		size += 2
	}
	dst = slices.Grow(dst, size)
	if braced {
		dst = append(dst, '{')
	}
	for i, b := range g {
		if dashed && (i == 4 || i == 6 || i == 8 || i == 10) {
			dst = append(dst, '-')
		}
		dst = append(dst, digits[b>>4], digits[b&15])
	}
	if braced {
		dst = append(dst, '}')
	}
	return dst
}

// nilGUID is the all-zero GUID: it identifies nothing, so it is kept as is.
var nilGUID [16]byte

// hasHexLetter reports whether t has a hex letter: an undashed GUID needs
// one, since 32 decimal digits are far likelier a number than a GUID.
func hasHexLetter(t []byte) bool {
	for _, c := range t {
		if c > '9' {
			return true
		}
	}
	return false
}
