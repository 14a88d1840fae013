package redact

import (
	"bytes"
	"net/netip"
	"strconv"
)

// URLs and hosts: in "scheme://user:password@host/...", a password is
// removed and a host that is not Microsoft's (nor loopback, nor a
// pseudonym) is replaced by "bot<N>.example.invalid" (the bot's callback
// host). Kept hosts are listed in names.go.

// url handles "scheme://" at the colon i: a password in the userinfo is
// removed and a host that is not Microsoft's (nor loopback, nor a pseudonym)
// is pseudonymised. JSON-escaped ":\/\/" counts too.
func (p *pass) url(src []byte, i int) int {
	n := len(src)
	hs := 0
	switch {
	case i+2 < n && src[i+1] == '/' && src[i+2] == '/':
		hs = i + 3
	case i+4 < n && src[i+1] == '\\' && src[i+2] == '/' && src[i+3] == '\\' && src[i+4] == '/':
		hs = i + 5
	default:
		return 0
	}
	if i == 0 || !isAlnum(src[i-1]) {
		return 0
	}
	// Authority: up to the path, query, fragment or the end of the token.
	ae := hs
	for ae < n && !isAuthorityEnd(src[ae]) {
		ae++
	}
	if at := bytes.LastIndexByte(src[hs:ae], '@'); at >= 0 {
		at += hs
		// The user name is text like any other (an id, an address): it
		// is scanned, where it ends. The password is removed.
		ue := at
		c := bytes.IndexByte(src[hs:at], ':')
		if c >= 0 {
			ue = hs + c
		}
		p.scan(src[:ue], hs)
		if c >= 0 && string(src[ue+1:at]) != Removed && at > ue+1 {
			p.add(span{start: ue + 1, end: at, kind: kSecret})
		}
		hs = at + 1
	}
	he := hs
	for he < ae && cls[src[he]]&clsHost != 0 {
		he++
	}
	host := src[hs:he]
	if len(host) == 0 || !isAlnum(host[0]) || !isAlnum(host[len(host)-1]) {
		return 0
	}
	if !mayBeAddr(host) {
		// Not an address: no need to ask netip (and allocate its error).
	} else if _, err := netip.ParseAddr(string(host)); err == nil {
		return hs // an address: the IP rules handle it
	}
	var buf [64]byte
	lower := appendLower(buf[:0], host) // host bytes are ASCII (clsHost)
	// A learned name replaced after "://" ("Person 3") is a pseudonym, not a host.
	if isKeptHost(string(lower)) || IsPseudonym(string(lower)) || inPseudonym(src, hs, he) {
		return he
	}
	p.add(span{start: hs, end: he, kind: kHost, form: FormHost})
	return he
}

func isAuthorityEnd(c byte) bool {
	switch c {
	case '/', '?', '#', '\\', '"', '\'', '<', '>', ' ', '\t', '\n', '\r', ',', ';', '%', '&', ')', ']':
		return true
	}
	return false
}

// appendHost appends the pseudonym of a host (already lower case), learning it.
func (r *Redactor) appendHost(dst, host []byte) []byte {
	n := r.learnedNum(&r.hosts, &r.hostN, kHost, host, hostPrefix, hostSuffix)
	dst = strconv.AppendInt(append(dst, hostPrefix...), int64(n), 10)
	return append(dst, hostSuffix...)
}
