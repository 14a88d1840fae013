package redact

import (
	"bytes"
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// Encoded layers. Identifiers hide inside base64 (a replacesContext, a
// meeting token's claims, MSAL's client_info) and percent-encoding (a
// joinWebUrl's context, a form body): a layer is decoded, found in with the
// same pass one level deeper (maxDepth bounds the nesting), and, when it
// holds something, redacted and encoded back the way it was written. The
// outcome of a layer is cached per Redactor (layercache.go).

// tryB64 decodes the standard-alphabet base64 run starting at s (once per run)
// and, when it hides text with something to redact, redacts it and
// re-encodes it so the shape stays. It returns the end of a replaced run, or 0.
// src[s:from] is known to be in the alphabet already (a word just measured),
// so the run is measured from there.
func (p *pass) tryB64(src []byte, s, from int, done *int) int {
	n := len(src)
	e := from
	for e < n && cls[src[e]]&clsB64 != 0 {
		e++
	}
	*done = e
	if e-s < minB64 || p.depth >= maxDepth {
		return 0
	}
	end := e
	for end < n && end-e < 2 && src[end] == '=' {
		end++
	}
	if end > e {
		return p.b64(src, s, e, end, base64.RawStdEncoding, base64.StdEncoding)
	}
	return p.b64(src, s, e, end, base64.RawStdEncoding, base64.RawStdEncoding)
}

// b64 decodes src[s:e] (no padding) with dec; when the decoded bytes are text
// holding something to redact, src[s:end] (the run and its padding) is
// replaced by the redacted text encoded with enc. Scanning reports what the
// text hides instead.
func (p *pass) b64(src []byte, s, e, end int, dec, enc *base64.Encoding) int {
	if (e-s)%4 == 1 || !textPrefix(src[s:e], dec) {
		return 0
	}
	// Redacting (not scanning, not probing): the outcome may be known.
	cache := p.r != nil && p.report == nil
	v := b64Layer(dec, enc)
	if cache {
		if o, ok := p.r.cachedLayer(src[s:end], v, p.depth, p.lits); ok {
			if !o.replaced {
				return 0
			}
			p.add(span{start: s, end: end, kind: kRepl, repl: tokenSafe(o.repl, src[end:])})
			return end
		}
	}
	buf := make([]byte, dec.DecodedLen(e-s))
	m, err := dec.Decode(buf, src[s:e])
	if err != nil || !isText(buf[:m]) {
		if cache {
			p.r.cacheLayer(src[s:end], v, p.depth, layerOutcome{gen: p.lits.generation()})
		}
		return 0
	}
	decoded := buf[:m]
	q := p.sub()
	defer q.release()
	q.find(decoded)
	switch {
	case len(q.spans) == 0:
		if cache {
			p.r.cacheLayer(src[s:end], v, p.depth, layerOutcome{gen: p.lits.generation()})
		}
		return 0
	case p.report != nil:
		q.reportAll(decoded)
	case p.r == nil: // probing
		p.add(span{start: s, end: end, kind: kRepl})
	default:
		out := q.apply(nil, decoded)
		repl := enc.EncodeToString(out)
		p.r.cacheLayer(src[s:end], v, p.depth, layerOutcome{gen: p.lits.generation(), replaced: true, repl: repl})
		p.add(span{start: s, end: end, kind: kRepl, repl: tokenSafe(repl, src[end:])})
	}
	return end
}

// tokenSafe returns repl, the re-encoding of a redacted base64 run, or
// Removed when repl followed by rest would read as a JWT: base64 of `{"c0ffee00...`
// starts with "eyJ", and with ".sig" after it the next redaction would
// remove it as a token (so this one does). What follows the run is not
// part of the cached outcome, hence a check of its own.
func tokenSafe(repl string, rest []byte) string {
	for off := 0; ; {
		k := strings.Index(repl[off:], "eyJ")
		if k < 0 {
			return repl
		}
		k += off
		off = k + 1
		e := k
		for e < len(repl) && cls[repl[e]]&clsB64URL != 0 {
			e++
		}
		if e < len(repl) {
			continue // the segment ends inside repl, where no dot is
		}
		j := 0
		for j < len(rest) && cls[rest[j]]&clsB64URL != 0 {
			j++
		}
		// As jwt: a first segment of 10 or more, a dot, and more after it.
		if len(repl)-k+j >= 10 && j+1 < len(rest) && rest[j] == '.' && cls[rest[j+1]]&clsB64URL != 0 {
			return Removed
		}
	}
}

// textPrefix decodes the first 8 characters of a base64 run and reports
// whether they could start text: most long runs are URL paths ("/app/calls/...")
// whose bytes are binary, rejected here without decoding the whole run.
func textPrefix(run []byte, dec *base64.Encoding) bool {
	if len(run) < 8 {
		return true
	}
	var buf [6]byte
	if _, err := dec.Decode(buf[:], run[:8]); err != nil {
		return false
	}
	for _, c := range buf {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f || c == 0xc0 || c == 0xc1 || c >= 0xf5 {
			return false
		}
	}
	return true
}

// isText reports whether b is UTF-8 text without control characters other
// than tab and newlines: what a base64 wrapper around an id or JSON holds.
func isText(b []byte) bool {
	if len(b) == 0 || !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return true
}

// hasEscape reports whether src holds a percent escape (%XX).
func hasEscape(src []byte) bool {
	for k := 0; ; {
		j := bytes.IndexByte(src[k:], '%')
		if j < 0 {
			return false
		}
		k += j
		if k+2 < len(src) && isHex(src[k+1]) && isHex(src[k+2]) {
			return true
		}
		k++
	}
}

// percent is the safety net for percent-encoded text: what the raw pass
// could not see ("%2D"-encoded dashes, a "%3D"-encoded secret, a host in an
// encoded URL) shows once decoded. When the decoded text still holds
// something, the whole text is decoded, redacted and re-encoded.
func (p *pass) percent(src []byte) {
	// Redacting (not scanning, not probing): the outcome may be known.
	if p.r != nil && p.report == nil {
		if o, ok := p.r.cachedLayer(src, layerPercent, p.depth, p.lits); ok {
			if o.replaced {
				p.spans = append(p.spans[:0], span{start: 0, end: len(src), kind: kRepl, repl: o.repl})
			}
			return
		}
		if repl, replaced := p.percentLayer(src); replaced {
			p.r.cacheLayer(src, layerPercent, p.depth, layerOutcome{gen: p.lits.generation(), replaced: true, repl: repl})
		} else {
			p.r.cacheLayer(src, layerPercent, p.depth, layerOutcome{gen: p.lits.generation()})
		}
		return
	}
	p.percentLayer(src)
}

// percentLayer is percent without the cache; replaced reports whether the
// spans became one replacing all of src by repl.
func (p *pass) percentLayer(src []byte) (repl string, replaced bool) {
	var cur []byte
	if p.r == nil || len(p.spans) == 0 {
		cur = src
	} else {
		cur = p.apply(nil, src)
	}
	dec, ok := percentDecode(cur)
	if !ok {
		return "", false
	}
	q := p.sub()
	defer q.release()
	q.report = nil
	r := q.r
	q.r = nil // probe only: nothing is issued for what the probe sees
	q.find(dec)
	q.r = r
	if len(q.spans) == 0 {
		return "", false
	}
	if p.r == nil && p.report == nil { // probing: that something is there is enough
		p.spans = append(p.spans[:0], span{start: 0, end: len(src), kind: kRepl})
		return "", false
	}
	if p.report != nil {
		q.report = p.report
		q.reportAll(dec)
		return "", false
	}
	q.find(dec)
	repl = string(percentEncode(nil, q.apply(nil, dec)))
	p.spans = append(p.spans[:0], span{start: 0, end: len(src), kind: kRepl, repl: repl})
	return repl, true
}

// percentDecode decodes %XX escapes ('+' stays: it is a space only in forms,
// and a phone's plus sign elsewhere). ok is false when nothing was escaped.
func percentDecode(src []byte) ([]byte, bool) {
	out := make([]byte, 0, len(src))
	changed := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '%' && i+2 < len(src) && isHex(src[i+1]) && isHex(src[i+2]) {
			out = append(out, hexVal(src[i+1])<<4|hexVal(src[i+2]))
			i += 2
			changed = true
			continue
		}
		out = append(out, c)
	}
	return out, changed
}

// percentEncode escapes everything but unreserved characters (RFC 3986):
// strict, so nothing decoded can turn into syntax.
func percentEncode(dst, src []byte) []byte {
	for _, c := range src {
		if isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return dst
}
