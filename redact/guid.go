package redact

import (
	"slices"
)

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

// guidFrom returns where a GUID may start in the alphanumeric word
// src[i:w], whose first s0-i characters belong to an escape glued before
// it. After a malformed %XX escape (one that decodes to a lone byte of
// 0x80 or more, which no UTF-8 text holds before an ASCII digit: "%aa67bd4c-..."
// where "%22aa67bd4c" was meant), the word itself counts when its leading
// run of hex is exactly a GUID's first group or a whole undashed GUID: the
// GUID is there as written. A well-formed escape ("%20", "%C3%A9") keeps
// its digits: they are text, and this redactor writes such escapes itself.
func guidFrom(src []byte, i, s0, w int) int {
	if s0 != i+2 || src[i-1] != '%' || hexVal(src[i]) < 8 {
		return s0
	}
	if i >= 4 && src[i-4] == '%' && isHex(src[i-3]) && hexVal(src[i-3]) >= 8 && isHex(src[i-2]) {
		return s0 // part of a multi-byte character
	}
	j := i
	for j < w && isHex(src[j]) {
		j++
	}
	if j-i == 32 || (j == w && j-i == 8) {
		return i
	}
	return s0
}

// guid records the GUID src[s:e] unless it is a pseudonym or the nil GUID.
func (p *pass) guid(src []byte, s, e int) {
	t := src[s:e]
	if p.ids {
		p.add(span{start: s, end: e, kind: kGUID, form: guidForm(t)})
		return
	}
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

// isPseudonymGUIDText reports whether t (36 dashed or 32 undashed hex chars,
// any case) carries the pseudonym prefix followed by 12 decimal digits.
func isPseudonymGUIDText(t []byte) bool {
	var prefix string
	switch len(t) {
	case 36:
		prefix = guidPrefix
	case 32:
		prefix = guidPrefixUndashed
	default:
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := t[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	for _, c := range t[len(prefix):] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isPseudonymGUID reports whether g is a GUID pseudonym, and its number:
// the prefix bytes, then 12 decimal digits as the last 6 bytes' nibbles.
func isPseudonymGUID(g [16]byte) (int, bool) {
	if [10]byte(g[:10]) != [10]byte{0xc0, 0xff, 0xee, 0x00, 0x00, 0x00, 0x40, 0x00, 0x80, 0x00} {
		return 0, false
	}
	n := 0
	for _, b := range g[10:] {
		hi, lo := b>>4, b&15
		if hi > 9 || lo > 9 {
			return 0, false
		}
		n = n*100 + int(hi)*10 + int(lo)
	}
	return n, true
}

// guidPseudonym returns pseudonym number n as a GUID: the prefix bytes, then
// the 12 decimal digits of n as the last 6 bytes' nibbles.
func guidPseudonym(n int) [16]byte {
	g := [16]byte{0xc0, 0xff, 0xee, 0x00, 0x00, 0x00, 0x40, 0x00, 0x80, 0x00}
	n %= 1_000_000_000_000
	for i := 15; i >= 10; i-- {
		g[i] = bcd100[n%100]
		n /= 100
	}
	return g
}

// bcd100 holds the two decimal digits of 0-99 as nibbles: a GUID
// pseudonym is rendered for every GUID redacted, one division per byte.
var bcd100 = func() (t [100]byte) {
	for v := range t {
		t[v] = byte(v/10)<<4 | byte(v%10)
	}
	return t
}()

// guidNum returns the pseudonym number of a GUID, issuing it on first sight.
func (r *Redactor) guidNum(g [16]byte) int {
	hi, lo, h := guidWords(g)
	if n, ok := r.guids.get(hi, lo, h); ok {
		return n
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := r.guids.get(hi, lo, h); ok {
		return n // another goroutine issued it meanwhile
	}
	n := int(r.guidN.Add(1))
	r.issued = append(r.issued, pseudonym{n: n, kind: kGUID})
	r.guids.put(hi, lo, h, n) // last: once found, the number is in issued
	return n
}

// guidsInWord finds the GUIDs of the alphanumeric word src[i:w] (hexes of
// its characters are hex digits; the first s0-i belong to an escape glued
// before it): undashed ones, 32-hex runs bounded by anything but hex
// (letters glued to them, "%22" before them) inside the word, and a dashed
// one whose first group is the word's last 8 characters. It returns the end
// of a dashed GUID, where the scan goes on, or 0.
func (p *pass) guidsInWord(src []byte, i, s0, w, hexes int) int {
	n := len(src)
	// A GUID glued to a %XX escape is found whatever the escape is: a
	// malformed one ("%3a%aa67bd4c-...", a joinWebUrl's tenant id after a
	// lost quote) eats two of its digits only when decoded, so the GUID
	// written after the '%' counts too (gs). A JSON \uXXXX escape's
	// digits never start one.
	gs := guidFrom(src, i, s0, w)
	limit, dashed := w, w < n && src[w] == '-' && w-gs >= 8 && isDashedGUID(src, w-8)
	if dashed {
		limit = w - 8 // undashed ones are looked for in what precedes it
	}
	if limit-gs >= 32 && hexes >= 32 {
		for k := gs; k+32 <= limit; {
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
	return 0
}
