package redact

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"unsafe"
)

func canonicalHeader(h string) string { return textproto.CanonicalMIMEHeaderKey(h) }

// Header returns a redacted copy of h; h is not modified and a nil h gives
// nil. Authorization and Proxy-Authorization keep their scheme
// ("Bearer REDACTED"); cookie values are removed (names and attributes stay);
// headers whose names say they carry a secret (…Token…, …Secret…, …Key…) are
// removed whole; every other value is redacted as text (ids in
// client-request-id, Location, X-Microsoft-Skype-Chain-ID, addresses in
// X-Forwarded-For). Policy.KeepHeaders are copied untouched.
func (r *Redactor) Header(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	out := make(http.Header, len(h))
	// Sorted, so pseudonyms are numbered the same way on every run. A
	// request or response has a handful of headers: the names fit on the
	// stack, and all values share one allocation.
	var nameBuf [16]string
	names, total := nameBuf[:0], 0
	for name, vals := range h {
		names = append(names, name)
		total += len(vals)
	}
	slices.Sort(names)
	all := make([]string, total)
	for _, name := range names {
		vals := h[name]
		if vals == nil {
			out[name] = []string{}
			continue
		}
		cname := canonicalHeader(name)
		nv := all[:len(vals):len(vals)] // full slice expression: an append to one value list cannot overwrite the next
		all = all[len(vals):]
		for i, v := range vals {
			nv[i] = r.headerValue(cname, v)
		}
		out[name] = nv
	}
	return out
}

func (r *Redactor) headerValue(name, v string) string {
	if r.keepH[name] {
		return v
	}
	switch name {
	case "Authorization", "Proxy-Authorization":
		return authValue(v)
	case "Cookie":
		return cookieValue(v, "; ")
	case "Set-Cookie":
		nv, attrs, _ := strings.Cut(v, ";")
		out := cookieValue(nv, "")
		if attrs != "" {
			out += ";" + r.Text(attrs)
		}
		return out
	}
	if isSecretHeader(name) {
		if v == "" {
			return v
		}
		return Removed
	}
	if r.quietText(v) {
		return v
	}
	return r.Text(v)
}

// quietText reports whether Text(s) would return s unchanged by the cheap
// test Text itself starts with (nothing that could start an id, a secret or
// a learned name), without copying s: most header values (Content-Type,
// Date, User-Agent) hold nothing to find. False means "look closer", so a
// value is never let through that Text would change: the test reads the
// same literals snapshot and gives up if the Redactor learned meanwhile.
func (r *Redactor) quietText(s string) bool {
	if s == "" {
		return true
	}
	before := r.lits.Load()
	p := pass{r: r, lits: before}
	// Read only: quiet never writes to its input, so s's bytes are viewed in place.
	quiet := p.quiet(unsafe.Slice(unsafe.StringData(s), len(s)))
	return quiet && r.lits.Load() == before
}

// authValue keeps the scheme of an Authorization value and removes the rest.
func authValue(v string) string {
	v = strings.TrimSpace(v)
	scheme, cred, ok := strings.Cut(v, " ")
	if !ok {
		if v == "" {
			return v
		}
		return Removed
	}
	if strings.TrimSpace(cred) == "" {
		return scheme
	}
	if scheme == "Bearer" {
		return "Bearer " + Removed // what nearly every request carries: a constant, no allocation
	}
	return scheme + " " + Removed
}

// cookieValue keeps cookie names and removes their values.
func cookieValue(v, sep string) string {
	parts := strings.Split(v, ";")
	for i, p := range parts {
		name, _, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[i] = name + "=" + Removed
	}
	if sep == "" {
		sep = "; "
	}
	return strings.Join(parts, sep)
}

// URL returns raw redacted: ids in the path and query are pseudonymised,
// secret query parameters removed, and the host pseudonymised when it is not
// a Microsoft host (the bot's callback host, a tunnel). raw may be absolute or
// just a path with a query.
func (r *Redactor) URL(raw string) string {
	base, frag, hasFrag := strings.Cut(raw, "#")
	path, query, hasQuery := strings.Cut(base, "?")
	// A bare host ("bot.contoso.com:9442/api") has no scheme for the host rule: learn nothing.
	out := r.Text(path)
	if hasQuery {
		out += "?" + string(r.form([]byte(query)))
	}
	if hasFrag {
		out += "#" + r.Text(frag)
	}
	return out
}
