package redact

import (
	"bytes"
	"sync"

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
