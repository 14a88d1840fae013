package redact

// MAC addresses (callRecords networkInfo's macAddress, a Wi-Fi bssid) have
// no shape that sets them apart from other hex: they are found by field
// name (fields.go) and replaced by an address of the RFC 7042
// documentation blocks, EUI-48 or EUI-64 as written, separators and case kept.

// isNoMACText reports whether v is a MAC address that says "no address".
func isNoMACText(v []byte) bool {
	m, _, _, ok := parseMAC(v)
	return ok && isNoMAC(m)
}

// macPrefix is the documentation block of RFC 7042 for EUI-48 addresses,
// 00-00-5E-00-53-00 to -FF; eui64Prefix is its EUI-64 block,
// 00-00-5E-EF-10-00-00-00 to 00-00-5E-EF-10-FF-FF-FF.
var (
	macPrefix   = [5]byte{0x00, 0x00, 0x5e, 0x00, 0x53}
	eui64Prefix = [5]byte{0x00, 0x00, 0x5e, 0xef, 0x10}
)

// parseMAC reads a MAC address: six (EUI-48) or eight (EUI-64, as call
// records write some) hex pairs joined by one separator (':' or '-') or
// none. groups is 6 or 8; the address is in mac[:groups].
func parseMAC(v []byte) (mac [8]byte, groups int, sep byte, ok bool) {
	switch len(v) {
	case 12, 16:
		groups = len(v) / 2
	case 17, 23:
		groups = (len(v) + 1) / 3
		sep = v[2]
		if sep != ':' && sep != '-' {
			return mac, 0, 0, false
		}
	default:
		return mac, 0, 0, false
	}
	for i := range groups {
		k := i * 2
		if sep != 0 {
			k = i * 3
			if i > 0 && v[k-1] != sep {
				return mac, 0, 0, false
			}
		}
		if !isHex(v[k]) || !isHex(v[k+1]) {
			return mac, 0, 0, false
		}
		mac[i] = hexVal(v[k])<<4 | hexVal(v[k+1])
	}
	return mac, groups, sep, true
}

// isMACPseudonym reports whether v is a MAC address of the documentation blocks.
func isMACPseudonym(v []byte) bool {
	m, groups, _, ok := parseMAC(v)
	if !ok {
		return false
	}
	if groups == 8 {
		return [5]byte(m[:5]) == eui64Prefix
	}
	return [5]byte(m[:5]) == macPrefix
}

// isNoMAC reports whether a MAC address says "no address": all zeros, or
// 02-00-00-00-00-00 (what privacy settings report). Such a value identifies
// no device and is kept, as the nil GUID is.
func isNoMAC(m [8]byte) bool {
	return m == [8]byte{} || m == [8]byte{0x02}
}

// macBytes returns MAC pseudonym n with groups groups (6 or 8).
func macBytes(n, groups int) [8]byte {
	if groups == 8 {
		return [8]byte{eui64Prefix[0], eui64Prefix[1], eui64Prefix[2], eui64Prefix[3], eui64Prefix[4], byte(n >> 16), byte(n >> 8), byte(n)}
	}
	return [8]byte{macPrefix[0], macPrefix[1], macPrefix[2], macPrefix[3], macPrefix[4], byte(n)}
}

// appendMAC appends the pseudonym of a MAC address written v, of groups
// groups, keeping its separator and case.
func (r *Redactor) appendMAC(dst, v []byte, groups int, sep byte) []byte {
	var key [23]byte
	k := key[:0]
	for _, c := range v {
		if c != sep || sep == 0 {
			k = append(k, lowerASCII(c))
		}
	}
	h := hashBytes(k)
	n, ok := r.macs.get(h, viewString(k))
	if !ok {
		n, _ = issueNum(r, &r.macs, &idEntry[string]{key: string(k), hash: h}, &r.macN, pseudonym{kind: kField, width: uint8(groups)})
	}
	hex := hexLower
	if hasUpperHex(v) {
		hex = hexUpper
	}
	return appendMACGroups(dst, macBytes(n, groups), groups, sep, hex)
}

// appendMACGroups appends the first groups bytes of mac in hex, joined by sep.
func appendMACGroups(dst []byte, mac [8]byte, groups int, sep byte, hex string) []byte {
	for i, b := range mac[:groups] {
		if i > 0 && sep != 0 {
			dst = append(dst, sep)
		}
		dst = append(dst, hex[b>>4], hex[b&15])
	}
	return dst
}

// appendMACText appends MAC pseudonym n, of groups groups, in its canonical form.
func appendMACText(dst []byte, n, groups int) []byte {
	return appendMACGroups(dst, macBytes(n, groups), groups, ':', hexLower)
}

func hasUpperHex(v []byte) bool {
	for _, c := range v {
		if c >= 'A' && c <= 'F' {
			return true
		}
	}
	return false
}
