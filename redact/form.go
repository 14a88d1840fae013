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
	defer p.release()
	kout, kchanged := p.redact(nil, k)
	if !kchanged {
		kout = k
	}
	dst = append(dst, kout...)
	if !hasEq {
		return dst
	}
	dst = append(dst, '=')
	if isSecretKey(lastKeyWord([]byte(key))) {
		// A body's final newline is not part of the secret.
		trimmed := bytes.TrimRight(v, "\r\n")
		if len(trimmed) == 0 {
			return append(dst, v...)
		}
		return append(append(dst, Removed...), v[len(trimmed):]...)
	}
	// The value means what it decodes to ('+' is a space): redact that, and
	// re-encode only when something changed. Undecodable values are redacted
	// as written.
	dec, err := url.QueryUnescape(string(v))
	if err != nil {
		if vout, changed := p.redact(nil, v); changed {
			return append(dst, vout...)
		}
		return append(dst, v...)
	}
	q := r.newPass()
	defer q.release()
	if red, changed := q.redact(nil, []byte(dec)); changed {
		return append(dst, url.QueryEscape(string(red))...)
	}
	return append(dst, v...)
}

// lastKeyWord is the trailing name of a key ("client_secret" in
// "/token?client_secret"), so a query glued to a path is judged by its name.
func lastKeyWord(k []byte) []byte {
	i := len(k)
	for i > 0 && cls[k[i-1]]&clsKey != 0 {
		i--
	}
	return k[i:]
}

// keyValue handles key=value (query strings and form bodies inside text):
// the value of a secret key is removed up to the next delimiter.
func (p *pass) keyValue(src []byte, i int) int {
	ks := i
	for ks > 0 && cls[src[ks-1]]&clsKey != 0 {
		ks--
	}
	if ks == i {
		return 0
	}
	if p.ids || !isSecretKey(src[ks:i]) {
		return p.dialinID(src, ks, i)
	}
	n := len(src)
	e := i + 1
	for e < n && !isValueEnd(src[e]) {
		e++
	}
	if e == i+1 || string(src[i+1:e]) == Removed {
		return e
	}
	p.add(span{start: i + 1, end: e, kind: kSecret})
	return e
}

func isValueEnd(c byte) bool {
	switch c {
	case '&', ';', ',', ' ', '\t', '\n', '\r', '"', '\'', '#', '<', '>', '\\':
		return true
	}
	return false
}
