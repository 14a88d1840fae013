package proxy

import (
	"bytes"
	"net/http"
	"strings"
)

// urlRewriter replaces absolute URL bases (scheme://host[:port][/path]) with
// others in what is relayed to a client: Location headers and bodies
// (@odata.context, resourceUrl, the OpenID discovery document's endpoints),
// so that a bot which follows a URL it was given stays behind graphvcr.
// Stored bodies are never rewritten; the recorder and the replayer both use
// it on the way out. The zero value rewrites nothing.
type urlRewriter struct {
	pairs []urlPair
}

type urlPair struct {
	from, to               string
	fromEscaped, toEscaped string // JSON with escaped solidus: https:\/\/host
}

// newURLRewriter returns a rewriter replacing each base from with its to,
// given as alternating from, to arguments. Trailing slashes are ignored;
// pairs with an empty or identical side are dropped. Earlier pairs win when
// two froms could match at the same place.
func newURLRewriter(fromTo ...string) urlRewriter {
	var rw urlRewriter
	for i := 0; i+1 < len(fromTo); i += 2 {
		from := strings.TrimRight(fromTo[i], "/")
		to := strings.TrimRight(fromTo[i+1], "/")
		if from == "" || to == "" || from == to {
			continue
		}
		rw.pairs = append(rw.pairs, urlPair{
			from: from, to: to,
			fromEscaped: strings.ReplaceAll(from, "/", `\/`),
			toEscaped:   strings.ReplaceAll(to, "/", `\/`),
		})
	}
	return rw
}

// String rewrites the URL bases in s.
func (rw urlRewriter) String(s string) string {
	if len(rw.pairs) == 0 {
		return s
	}
	b, changed := rw.Bytes([]byte(s))
	if !changed {
		return s
	}
	return string(b)
}

// Bytes rewrites the URL bases in b (plain or JSON-escaped) and reports
// whether anything changed; b itself is never modified.
func (rw urlRewriter) Bytes(b []byte) ([]byte, bool) {
	changed := false
	for _, p := range rw.pairs {
		if out, ok := replaceBase(b, p.from, p.to); ok {
			b, changed = out, true
		}
		if p.fromEscaped != p.from {
			if out, ok := replaceBase(b, p.fromEscaped, p.toEscaped); ok {
				b, changed = out, true
			}
		}
	}
	return b, changed
}

// Header rewrites the URL-valued response headers (Location,
// Content-Location) of h in place.
func (rw urlRewriter) Header(h http.Header) {
	for _, k := range []string{"Location", "Content-Location"} {
		vs := h.Values(k)
		for i, v := range vs {
			vs[i] = rw.String(v)
		}
	}
}

// replaceBase replaces every occurrence of base in b that ends at a URL
// boundary, so "http://127.0.0.1:80" does not match inside
// "http://127.0.0.1:8080" nor "https://graph.microsoft.com" inside
// "https://graph.microsoft.com.evil".
func replaceBase(b []byte, base, to string) ([]byte, bool) {
	if !bytes.Contains(b, []byte(base)) {
		return b, false
	}
	var out []byte
	last := 0
	changed := false
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(base))
		if j < 0 {
			break
		}
		start := i + j
		end := start + len(base)
		i = end
		if end < len(b) && continuesHost(b[end:]) {
			continue
		}
		out = append(out, b[last:start]...)
		out = append(out, to...)
		last = end
		changed = true
	}
	if !changed {
		return b, false
	}
	out = append(out, b[last:]...)
	return out, true
}

// continuesHost reports whether rest continues the host (or port) of a URL
// base that ended just before it.
func continuesHost(rest []byte) bool {
	c := rest[0]
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		return true
	case c == ':':
		return len(rest) > 1 && rest[1] >= '0' && rest[1] <= '9'
	}
	return false
}
