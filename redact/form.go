package redact

import (
	"bytes"
	"net/url"
)

// form redacts a URL-encoded form body or query string pair by pair: a secret
// key's value is removed; other values are redacted as they are written and,
// when their decoded form still holds something, decoded, redacted and
// re-encoded. Keys are redacted as text. Separators and pair order are kept.
func (r *Redactor) form(b []byte) []byte {
	var out []byte
	for i := 0; i <= len(b); {
		j := bytes.IndexByte(b[i:], '&')
		if j < 0 {
			j = len(b)
		} else {
			j += i
		}
		pair := b[i:j]
		out = r.formPair(out, pair)
		if j < len(b) {
			out = append(out, '&')
		}
		i = j + 1
	}
	return out
}

func (r *Redactor) formPair(dst, pair []byte) []byte {
	k, v, hasEq := bytes.Cut(pair, []byte("="))
	key, err := url.QueryUnescape(string(k))
	if err != nil {
		key = string(k)
	}
	p := r.newPass()
	kout, kchanged := p.redact(nil, k)
	if !kchanged {
		kout = k
	}
	dst = append(dst, kout...)
	if !hasEq {
		return dst
	}
	dst = append(dst, '=')
	if isSecretKey([]byte(key)) {
		// A body's final newline is not part of the secret.
		trimmed := bytes.TrimRight(v, "\r\n")
		if len(trimmed) == 0 {
			return append(dst, v...)
		}
		return append(append(dst, Removed...), v[len(trimmed):]...)
	}
	vout, changed := p.redact(nil, v)
	if !changed {
		vout = v
	}
	// '+' is a space in forms: look at the decoded value too.
	if dec, err := url.QueryUnescape(string(vout)); err == nil && dec != string(vout) {
		q := r.newPass()
		if red, ch := q.redact(nil, []byte(dec)); ch {
			return append(dst, url.QueryEscape(string(red))...)
		}
	}
	return append(dst, vout...)
}
