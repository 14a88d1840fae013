package redact

import (
	"bytes"
	"slices"
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
	switch {
	case gjson.ValidBytes(body):
		return r.json(body, false)
	case looksJSON(body):
		return r.textBytes(r.json(body, true))
	case isFormType(contentType) || looksForm(body):
		return r.form(body) // pair by pair, raw and decoded: a text pass over the encoding would fight it
	}
	return r.textBytes(body)
}

// textBytes is Text on bytes.
func (r *Redactor) textBytes(b []byte) []byte {
	p := r.newPass()
	out, changed := p.redact(nil, b)
	if !changed {
		return b
	}
	return out
}

func looksJSON(b []byte) bool {
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

// json redacts JSON in one pass over the bytes: only strings change; keys,
// numbers, literals and whitespace are copied as they are. lenient accepts
// invalid JSON (unbalanced, trailing commas, unterminated strings).
func (r *Redactor) json(b []byte, lenient bool) []byte {
	keep, force := r.policyRanges(b, lenient)
	p := r.newPass()
	var out []byte // nil until the first change
	copied := 0
	stack := make([]frame, 0, 16)
	var scratch []byte
	ki, fi := 0, 0
	n := len(b)
	for i := 0; i < n; {
		c := b[i]
		if c != '"' && c != '{' && c != '[' && c != '}' && c != ']' {
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
			var key []byte
			if len(stack) > 0 {
				key = stack[len(stack)-1].valueKey()
			}
			stack = append(stack, frame{obj: c == '{', key: key})
			i++
			continue
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			i++
			continue
		}
		e, closed := stringEnd(b, i)
		raw := b[i+1 : e]
		if closed {
			raw = b[i+1 : e-1]
		}
		var repl []byte
		scratch = scratch[:0]
		if isKey(b, e) {
			if len(stack) > 0 {
				stack[len(stack)-1].cur = raw
			}
			// Keys are data too: a map keyed by ids must not keep them.
			if o, changed := p.redact(scratch, unquote(raw)); changed {
				repl = o
			}
		} else {
			repl = r.jsonValue(p, stack, raw, i, force, &fi, scratch)
		}
		if repl != nil {
			if out == nil {
				out = make([]byte, 0, len(b)+len(b)/4)
			}
			out = append(out, b[copied:i]...)
			out = appendQuoted(out, repl)
			copied = e
			scratch = repl[:0]
		}
		i = e
	}
	if out == nil {
		return b
	}
	return append(out, b[copied:]...)
}

// jsonValue returns the replacement of the string value raw (content
// between the quotes) at offset i, or nil to keep it.
func (r *Redactor) jsonValue(p *pass, stack []frame, raw []byte, i int, force [][2]int, fi *int, scratch []byte) []byte {
	var key []byte
	if len(stack) > 0 {
		key = stack[len(stack)-1].valueKey()
	}
	for *fi < len(force) && force[*fi][1] <= i {
		*fi++
	}
	forced := *fi < len(force) && force[*fi][0] <= i
	kc := keyClass(key)
	switch {
	case kc == keySecret:
		if len(raw) > 0 && string(raw) != Removed {
			return append(scratch, Removed...)
		}
	case forced || kc == keyName:
		v := unquote(raw)
		if len(v) > 0 && !IsPseudonym(string(v)) {
			return append(scratch, r.name(string(v))...)
		}
	default:
		if o, changed := p.redact(scratch, unquote(raw)); changed {
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
