package redact

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"slices"
	"sync"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// Body returns body redacted. body is already decoded (no Content-Encoding);
// it is never modified, and is returned as is when nothing in it needed
// redaction. Valid JSON stays valid JSON with the same shape: every string
// is redacted by the rules of its field (secrets removed, names
// pseudonymised) and its content. Invalid JSON (a trailing comma) is walked
// leniently and then scanned as bytes. Form bodies are redacted pair by pair
// on their decoded values. Anything else is scanned as text.
func (r *Redactor) Body(contentType string, body []byte) []byte {
	if len(body) == 0 {
		return body
	}
	before := r.lits.Load()
	out := r.body(contentType, body)
	return r.relearn(before, out, func(b []byte) []byte { return r.body(contentType, b) })
}

func (r *Redactor) body(contentType string, body []byte) []byte {
	if len(r.policy.KeepPaths) == 0 && len(r.policy.RedactPaths) == 0 && looksJSON(body) {
		// One pass walks and validates (as gjson.Valid would): the walk
		// does the same whether the JSON is valid or not, so invalid JSON
		// only needs the byte scan on top.
		out, valid := r.json(body, false, true)
		if valid {
			return out
		}
		return r.textBytes(out)
	}
	switch {
	case gjson.ValidBytes(body):
		out, _ := r.json(body, false, false)
		return out
	case looksJSON(body):
		out, _ := r.json(body, true, false)
		return r.textBytes(out)
	case isFormType(contentType) || looksForm(body):
		return r.form(body) // pair by pair, raw and decoded: a text pass over the encoding would fight it
	}
	out := r.textBytes(body)
	if looksForm(out) { // never when nothing changed: body is no form
		// Redacted, the text reads as a form (what kept it from being one,
		// a brace or a space, was in a removed secret): it is redacted as
		// one, as it would be the next time.
		return r.form(out)
	}
	return out
}

// textBytes is Text on bytes.
func (r *Redactor) textBytes(b []byte) []byte {
	p := r.newPass()
	defer p.release()
	out, changed := p.redact(nil, b)
	if !changed {
		return b
	}
	return out
}

func looksJSON(b []byte) bool {
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		return true // the common case, without TrimLeft's slow path for a cutset with U+FEFF
	}
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

func isFormType(ct string) bool {
	return len(ct) >= 33 && equalFold([]byte(ct[:33]), "application/x-www-form-urlencoded")
}

// looksForm reports whether b is k=v&k=v with no spaces or quotes: what the
// token endpoint receives when a client leaves out the content type.
func looksForm(b []byte) bool {
	if bytes.IndexByte(b, '=') <= 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c == '"' || c == '{' || c == '<' {
			return false
		}
	}
	return true
}

// frame is one open JSON container while walking.
type frame struct {
	obj bool
	key []byte // the key this container is the value of
	cur []byte // in an object: the key of the value being read
}

// Validation states of json: what the JSON grammar allows next.
const (
	vValue        = iota // a value (top level, after ':' or after ',' in an array)
	vValueOrClose        // a value or ']' (just after '[')
	vKeyOrClose          // a key or '}' (just after '{')
	vKey                 // a key (after ',' in an object)
	vColon               // ':' after a key
	vAfter               // ',' or the container's close after a value; at top level, the end
)

// json redacts JSON in one pass over the bytes: only strings change; keys,
// numbers, literals and whitespace are copied as they are. lenient accepts
// invalid JSON (unbalanced, trailing commas, unterminated strings). With
// validate, valid reports whether b is valid JSON by the rules of
// gjson.Valid, checked along the way; the walk itself is the same either way.
// Validation assumes no policy paths: a kept value is skipped unchecked.
func (r *Redactor) json(b []byte, lenient, validate bool) (result []byte, valid bool) {
	keep, force := r.policyRanges(b, lenient)
	p := r.newPass()
	defer p.release()
	var out []byte // nil until the first change
	var outBuf *[]byte
	copied := 0
	var stackBuf [16]frame
	stack := stackBuf[:0]
	scratch := p.scratch[:0]
	defer func() { p.scratch = scratch[:0] }() // keep the grown buffer for the next body
	ki, fi := 0, 0
	n := len(b)
	valid, st := validate, vValue
	for i := 0; i < n; {
		c := b[i]
		if jsonTab[c] != jStruct {
			switch {
			case !valid || jsonTab[c] == jSpace:
			case c == ':':
				valid, st = st == vColon, vValue
			case c == ',' && st == vAfter && len(stack) > 0:
				st = vValue
				if stack[len(stack)-1].obj {
					st = vKey
				}
			default:
				i, valid, st = validGap(b, i, st)
				continue
			}
			i++
			continue
		}
		// A kept value is copied whole.
		for ki < len(keep) && keep[ki][1] <= i {
			ki++
		}
		if ki < len(keep) && keep[ki][0] == i {
			i = keep[ki][1]
			continue
		}
		switch c {
		case '{', '[':
			if valid {
				valid = st == vValue || st == vValueOrClose
				st = vKeyOrClose
				if c == '[' {
					st = vValueOrClose
				}
			}
			var key []byte
			if len(stack) > 0 {
				key = stack[len(stack)-1].valueKey()
			}
			stack = append(stack, frame{obj: c == '{', key: key})
			i++
			continue
		case '}', ']':
			if valid {
				top := len(stack) > 0 && stack[len(stack)-1].obj == (c == '}')
				valid = top && (st == vAfter || (c == '}' && st == vKeyOrClose) || (c == ']' && st == vValueOrClose))
				st = vAfter
			}
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			i++
			continue
		}
		e, closed, plain := scanString(b, i)
		raw := b[i+1 : e]
		if closed {
			raw = b[i+1 : e-1]
		}
		if valid {
			switch st {
			case vKeyOrClose, vKey:
				st = vColon
			case vValue, vValueOrClose:
				st = vAfter
			default:
				valid = false
			}
			valid = valid && closed && (plain || validString(raw))
		}
		text := raw
		if !plain {
			text = unquote(raw)
		}
		var repl []byte
		scratch = scratch[:0]
		if isKey(b, e) {
			if len(stack) > 0 {
				stack[len(stack)-1].cur = raw
			}
			// Keys are data too: a map keyed by ids must not keep them.
			if o, changed := p.redact(scratch, text); changed {
				repl = o
			}
		} else {
			repl = r.jsonValue(p, stack, raw, text, i, force, &fi, scratch)
		}
		if repl != nil {
			if out == nil {
				outBuf = getBuf(len(b) + len(b)/4)
				out = *outBuf
			}
			out = append(out, b[copied:i]...)
			out = appendQuoted(out, repl)
			copied = e
			scratch = repl[:0]
		}
		i = e
	}
	valid = valid && st == vAfter && len(stack) == 0
	if out == nil {
		return b, valid
	}
	out = append(out, b[copied:]...)
	// The caller keeps the result: an exact-size copy, while the scratch
	// buffer (grown to the largest body) serves the next body.
	result = append([]byte(nil), out...)
	putBuf(outBuf, out)
	return result, valid
}

// bufs recycles the buffers json writes into (as *[]byte, so putting one
// back allocates nothing).
var bufs sync.Pool

// maxPooledBuf is the largest buffer kept for reuse: bigger ones (a rare
// huge body) are left to the garbage collector.
const maxPooledBuf = 1 << 20

func getBuf(size int) *[]byte {
	b, ok := bufs.Get().(*[]byte)
	if !ok {
		b = new([]byte)
	}
	if cap(*b) < size {
		*b = make([]byte, 0, size)
	}
	*b = (*b)[:0]
	return b
}

func putBuf(b *[]byte, grown []byte) {
	if cap(grown) <= maxPooledBuf {
		*b = grown[:0]
		bufs.Put(b)
	}
}

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

// jsonValue returns the replacement of the string value raw (content
// between the quotes) at offset i, or nil to keep it.
func (r *Redactor) jsonValue(p *pass, stack []frame, raw, text []byte, i int, force [][2]int, fi *int, scratch []byte) []byte {
	var key []byte
	if len(stack) > 0 {
		key = stack[len(stack)-1].valueKey()
	}
	for *fi < len(force) && force[*fi][1] <= i {
		*fi++
	}
	forced := *fi < len(force) && force[*fi][0] <= i
	kc := r.fields.class(key)
	if kc == keyPlain && len(stack) > 0 && (len(key) == 2 || len(key) == 6) && (string(key) == "id" || string(key) == "number") {
		// The id or number of a phone identity ({"phone": {"id": "14255550100"}}).
		if p := stack[len(stack)-1].key; len(p) == 5 && equalFold(p, "phone") {
			kc = fieldPhone
		}
	}
	switch {
	case kc == keySecret:
		if len(raw) > 0 && string(raw) != Removed {
			return append(scratch, Removed...)
		}
	case forced || kc == keyName:
		if len(text) > 0 && !IsPseudonym(string(text)) {
			return r.appendName(scratch, text)
		}
	case kc > keyName:
		return r.fieldValue(p, kc, text, scratch)
	default:
		if o, changed := p.redact(scratch, text); changed {
			return o
		}
	}
	return nil
}

// valueKey is the key that governs the next value: in an object the key just
// read, in an array the key of the array itself.
func (f *frame) valueKey() []byte {
	if f.obj {
		return f.cur
	}
	return f.key
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

// policyRanges resolves the policy's gjson paths to byte ranges of b: values
// to keep whole and values to pseudonymise whole. Invalid JSON gets none:
// gjson's offsets are only trustworthy on valid input.
func (r *Redactor) policyRanges(b []byte, lenient bool) (keep, force [][2]int) {
	if lenient {
		return nil, nil
	}
	collect := func(paths []string) [][2]int {
		var rs [][2]int
		for _, path := range paths {
			res := gjson.GetBytes(b, path)
			if !res.Exists() {
				continue
			}
			if res.Indexes != nil {
				for k, el := range res.Array() {
					if k < len(res.Indexes) && res.Indexes[k] > 0 {
						rs = append(rs, [2]int{res.Indexes[k], res.Indexes[k] + len(el.Raw)})
					}
				}
				continue
			}
			if res.Index > 0 || (res.Index == 0 && bytes.HasPrefix(b, []byte(res.Raw))) {
				rs = append(rs, [2]int{res.Index, res.Index + len(res.Raw)})
			}
		}
		slices.SortFunc(rs, func(a, b [2]int) int { return a[0] - b[0] })
		return rs
	}
	if len(r.policy.KeepPaths) > 0 {
		keep = collect(r.policy.KeepPaths)
	}
	if len(r.policy.RedactPaths) > 0 {
		force = collect(r.policy.RedactPaths)
	}
	return keep, force
}
