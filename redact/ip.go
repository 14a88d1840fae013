package redact

import (
	"bytes"
	"net/netip"
)

// IP addresses: dotted quads and IPv6 addresses (with "::" or all eight
// groups, so times and MRIs never match) are replaced by addresses of the
// documentation ranges (RFC 5737, RFC 3849); loopback, unspecified and
// broadcast addresses identify nobody and are kept.

// ipv4 records a dotted-quad address starting at i.
func (p *pass) ipv4(src []byte, i int) int {
	n := len(src)
	e := i
	for part := 0; part < 4; part++ {
		if part > 0 {
			if e >= n || src[e] != '.' {
				return 0
			}
			e++
		}
		s := e
		for e < n && e-s < 4 && isDigit(src[e]) {
			e++
		}
		if e == s || e-s > 3 {
			return 0
		}
	}
	if e < n && (isAlnum(src[e]) || (src[e] == '.' && e+1 < n && isDigit(src[e+1]))) {
		return 0
	}
	a, err := netip.ParseAddr(string(src[i:e]))
	if err != nil {
		return 0
	}
	if !keepAddr(a) {
		p.add(span{start: i, end: e, kind: kIP, form: FormIP})
	}
	p.barrier = e
	return e
}

// maxIPv6Run is the longest run ipv6 measures: the longest address text
// ("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", 45 bytes) and trailing
// punctuation it trims.
const maxIPv6Run = 47

// ipv6 records an IPv6 address starting at i: it needs "::" or all eight
// groups, so times ("15:58:41") and MRIs ("28:...") never match.
func (p *pass) ipv6(src []byte, i int) int {
	n := len(src)
	e, colons := i, 0
	for e < n && (isHex(src[e]) || src[e] == ':' || src[e] == '.') {
		if src[e] == ':' {
			colons++
		}
		e++
		if e-i > maxIPv6Run {
			// Longer than any address with trailing punctuation: not one.
			// Stopping here keeps a long run of such bytes linear, where
			// every position of it may start a try.
			return 0
		}
	}
	for e > i && (src[e-1] == '.' || (src[e-1] == ':' && (e-2 < i || src[e-2] != ':'))) {
		if src[e-1] == ':' {
			colons--
		}
		e--
	}
	if colons < 2 || (colons < 7 && !bytes.Contains(src[i:e], []byte("::"))) || (e < n && isAlnum(src[e])) {
		return 0
	}
	a, err := netip.ParseAddr(string(src[i:e]))
	if err != nil || !a.Is6() {
		return 0
	}
	if !keepAddr(a) {
		p.add(span{start: i, end: e, kind: kIP, form: FormIP})
	}
	p.barrier = e
	return e
}

// keepAddr reports whether an address identifies nobody: loopback,
// unspecified, broadcast, or already a pseudonym.
func keepAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || isPseudonymAddr(a)
}

// isPseudonymAddr reports whether a is in a documentation range (RFC 5737, RFC 3849).
func isPseudonymAddr(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return (b[0] == 192 && b[1] == 0 && b[2] == 2) ||
			(b[0] == 198 && b[1] == 51 && b[2] == 100) ||
			(b[0] == 203 && b[1] == 0 && b[2] == 113)
	}
	b := a.As16()
	return b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8
}

// ipPseudonym returns pseudonym n for an address of a's family.
// IPv4 pseudonyms walk the three documentation /24s (762 addresses), then wrap.
func ipPseudonym(n int, v6 bool) netip.Addr {
	if v6 {
		var b [16]byte
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
		b[12], b[13], b[14], b[15] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		return netip.AddrFrom16(b)
	}
	nets := [3][3]byte{{192, 0, 2}, {198, 51, 100}, {203, 0, 113}}
	k := (n - 1) % (3 * 254)
	p := nets[k/254]
	return netip.AddrFrom4([4]byte{p[0], p[1], p[2], byte(k%254 + 1)})
}

func (r *Redactor) ip(a netip.Addr) netip.Addr {
	a = a.Unmap()
	h := ipKey(a)
	if n, ok := r.ips.get(h, a); ok {
		return ipPseudonym(n, a.Is6())
	}
	counter, p := &r.ip4N, pseudonym{kind: kIP, width: 4}
	if a.Is6() {
		counter, p.width = &r.ip6N, 6
	}
	n, _ := issueNum(r, &r.ips, &idEntry[netip.Addr]{key: a, hash: h}, counter, p)
	return ipPseudonym(n, a.Is6())
}
