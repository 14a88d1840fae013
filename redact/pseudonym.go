package redact

import (
	"net/netip"
	"strconv"
	"strings"
)

// Removed is the marker left where a secret was removed. It is not
// token-shaped, so a reader (and Scanner) can tell a removed token from a
// leaked one.
const Removed = "REDACTED"

// Form is the textual form of an identifier: how a canonical key is written.
// The zero Form is not a form; its Render returns the key unchanged.
type Form int

const (
	// FormGUIDLower is a dashed lower-case GUID: 57dab8b1-894c-409a-b240-bd8beae78896.
	FormGUIDLower Form = iota + 1
	// FormGUIDUpper is a dashed upper-case GUID: 57DAB8B1-894C-409A-B240-BD8BEAE78896.
	FormGUIDUpper
	// FormGUIDUndashedLower is 32 lower-case hex digits: 57dab8b1894c409ab240bd8beae78896.
	FormGUIDUndashedLower
	// FormGUIDUndashedUpper is 32 upper-case hex digits: 57DAB8B1894C409AB240BD8BEAE78896.
	FormGUIDUndashedUpper
	// FormGUIDBracedLower is a dashed lower-case GUID in braces: {57dab8b1-...}.
	FormGUIDBracedLower
	// FormGUIDBracedUpper is a dashed upper-case GUID in braces: {57DAB8B1-...}.
	FormGUIDBracedUpper
	// FormPhone is an E.164 number with its plus sign: +12345678901.
	FormPhone
	// FormPhoneURLEncoded is an E.164 number whose plus sign is percent-encoded: %2B12345678901.
	FormPhoneURLEncoded
	// FormEmail is an email address or UPN: user@contoso.com.
	FormEmail
	// FormEmailURLEncoded is an email address whose at sign is percent-encoded: user%40contoso.com.
	FormEmailURLEncoded
	// FormName is a person's name, or any value a Policy asks to pseudonymise whole.
	FormName
	// FormHost is a host name that is not a Microsoft host (the bot's callback host).
	FormHost
	// FormIP is an IPv4 or IPv6 address.
	FormIP
	// FormThread is a Teams thread or chat id: 19:meeting_...@thread.v2, 48:notes.
	FormThread
)

var formNames = [...]string{
	FormGUIDLower:         "guid",
	FormGUIDUpper:         "GUID",
	FormGUIDUndashedLower: "guid-undashed",
	FormGUIDUndashedUpper: "GUID-UNDASHED",
	FormGUIDBracedLower:   "{guid}",
	FormGUIDBracedUpper:   "{GUID}",
	FormPhone:             "phone",
	FormPhoneURLEncoded:   "phone-urlencoded",
	FormEmail:             "email",
	FormEmailURLEncoded:   "email-urlencoded",
	FormName:              "name",
	FormHost:              "host",
	FormIP:                "ip",
	FormThread:            "thread",
}

// String names the form, for reports and test failures.
func (f Form) String() string {
	if f > 0 && int(f) < len(formNames) {
		return formNames[f]
	}
	return "Form(" + strconv.Itoa(int(f)) + ")"
}

// IsGUID reports whether f is one of the GUID forms.
func (f Form) IsGUID() bool { return f >= FormGUIDLower && f <= FormGUIDBracedUpper }

// Render writes a canonical key (as found in Span.Key) in this form: a lower
// dashed GUID becomes upper, undashed or braced; phone digits get their plus
// sign (or %2B); an email gets %40 for FormEmailURLEncoded. Names, hosts, IPs
// and the zero Form return key unchanged. A GUID form given a key that is not a
// GUID returns key unchanged.
func (f Form) Render(key string) string {
	if f.IsGUID() {
		g, ok := parseGUIDText(key)
		if !ok {
			return key
		}
		return string(appendGUID(nil, g, f))
	}
	switch f {
	case FormPhone:
		return "+" + key
	case FormPhoneURLEncoded:
		return "%2B" + key
	case FormEmailURLEncoded:
		return strings.Replace(key, "@", "%40", 1)
	}
	return key
}

// Span is an identifier found in a string by FindIDs: s[Start:End] holds it
// in Form, and Key is its canonical identity, shared by every form of one
// value (a lower dashed GUID, the digits of a phone number, a lower-case email).
type Span struct {
	Start, End int
	Form       Form
	Key        string
}

// Pseudonym shapes. The GUID prefix is a valid version-4, variant-1 GUID
// prefix with hex letters, so a pseudonym's case shows in every form.
const (
	guidPrefix         = "c0ffee00-0000-4000-8000-"
	guidPrefixUndashed = "c0ffee00000040008000"
	phonePrefix        = "555"
	emailDomain        = "@example.invalid"
	emailLocal         = "user"
	namePrefix         = "Person "
	hostPrefix         = "bot"
	hostSuffix         = ".example.invalid"
)

// IsPseudonym reports whether s is, as a whole, a value of the shape graphvcr
// issues: a GUID "c0ffee00-0000-4000-8000-<12 digits>" in any form, a phone
// "+555" followed by a zero-padded counter, "user<N>@example.invalid",
// "Person <N>", "bot<N>.example.invalid", or an address from the documentation
// ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).
func IsPseudonym(s string) bool {
	if len(s) >= 32 {
		t := s
		if len(t) == 38 && t[0] == '{' && t[37] == '}' {
			t = t[1:37]
		}
		if len(t) == 36 || len(t) == 32 {
			if isPseudonymGUIDText([]byte(t)) {
				_, ok := parseGUIDText(t)
				return ok
			}
		}
	}
	switch {
	case strings.HasPrefix(s, "+"):
		return isPseudonymPhoneDigits([]byte(s[1:]))
	case strings.HasPrefix(s, "%2B"), strings.HasPrefix(s, "%2b"):
		return isPseudonymPhoneDigits([]byte(s[3:]))
	case strings.HasPrefix(s, namePrefix):
		return isDecimal(s[len(namePrefix):])
	case strings.HasSuffix(s, emailDomain) && strings.HasPrefix(s, emailLocal):
		return isDecimal(s[len(emailLocal) : len(s)-len(emailDomain)])
	case strings.HasSuffix(s, "%40example.invalid") && strings.HasPrefix(s, emailLocal):
		return isDecimal(s[len(emailLocal) : len(s)-len("%40example.invalid")])
	case strings.HasSuffix(s, hostSuffix) && strings.HasPrefix(s, hostPrefix):
		return isDecimal(s[len(hostPrefix) : len(s)-len(hostSuffix)])
	}
	if !mayBeAddr(s) {
		return false
	}
	// A copy: netip may keep (a zone of) its argument, which would make
	// every caller's string(bytes) conversion allocate.
	if a, err := netip.ParseAddr(strings.Clone(s)); err == nil {
		return isPseudonymAddr(a)
	}
	return false
}

// mayBeAddr reports whether netip.ParseAddr could accept s: before a zone
// ("%eth0"), an address holds only hex digits, dots and colons, and at
// least one dot or colon. It saves the parse (and its error) for the names,
// hosts and words IsPseudonym and the URL rule look at.
func mayBeAddr[T string | []byte](s T) bool {
	sep := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%':
			return sep
		case c == '.' || c == ':':
			sep = true
		case !isHex(c):
			return false
		}
	}
	return sep
}

// isPseudonymGUIDText reports whether t (36 dashed or 32 undashed hex chars,
// any case) carries the pseudonym prefix followed by 12 decimal digits.
func isPseudonymGUIDText(t []byte) bool {
	var prefix string
	switch len(t) {
	case 36:
		prefix = guidPrefix
	case 32:
		prefix = guidPrefixUndashed
	default:
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := t[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	for _, c := range t[len(prefix):] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isPseudonymGUID reports whether g is a GUID pseudonym, and its number:
// the prefix bytes, then 12 decimal digits as the last 6 bytes' nibbles.
func isPseudonymGUID(g [16]byte) (int, bool) {
	if [10]byte(g[:10]) != [10]byte{0xc0, 0xff, 0xee, 0x00, 0x00, 0x00, 0x40, 0x00, 0x80, 0x00} {
		return 0, false
	}
	n := 0
	for _, b := range g[10:] {
		hi, lo := b>>4, b&15
		if hi > 9 || lo > 9 {
			return 0, false
		}
		n = n*100 + int(hi)*10 + int(lo)
	}
	return n, true
}

// isPseudonymPhoneDigits reports whether d is the digits of a phone pseudonym:
// "555", then a zero-padded counter whose first digit is still a pad zero
// (real numbers with country code 55 never have a 0 there).
func isPseudonymPhoneDigits(d []byte) bool {
	if len(d) < minPhoneDigits || len(d) > maxPhoneDigits || string(d[:3]) != phonePrefix || d[3] != '0' {
		return false
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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

func isDecimal(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// guidPseudonym returns pseudonym number n as a GUID: the prefix bytes, then
// the 12 decimal digits of n as the last 6 bytes' nibbles.
func guidPseudonym(n int) [16]byte {
	g := [16]byte{0xc0, 0xff, 0xee, 0x00, 0x00, 0x00, 0x40, 0x00, 0x80, 0x00}
	n %= 1_000_000_000_000
	for i := 15; i >= 10; i-- {
		g[i] = bcd100[n%100]
		n /= 100
	}
	return g
}

// bcd100 holds the two decimal digits of 0-99 as nibbles: a GUID
// pseudonym is rendered for every GUID redacted, one division per byte.
var bcd100 = func() (t [100]byte) {
	for v := range t {
		t[v] = byte(v/10)<<4 | byte(v%10)
	}
	return t
}()

// phonePseudonym returns the digits of phone pseudonym n with the given digit count.
func phonePseudonym(n, digits int) string {
	return string(appendPhonePseudonym(nil, n, digits))
}

// appendPhonePseudonym appends the digits of phone pseudonym n with the given digit count.
func appendPhonePseudonym(dst []byte, n, digits int) []byte {
	var buf [20]byte
	d := strconv.AppendInt(buf[:0], int64(n), 10)
	pad := digits - len(phonePrefix) - len(d)
	if pad < 1 {
		// The counter outgrew the number's length: keep the shape, lose uniqueness.
		d = d[len(d)-(digits-len(phonePrefix)-1):]
		pad = 1
	}
	dst = append(dst, phonePrefix...)
	for range pad {
		dst = append(dst, '0')
	}
	return append(dst, d...)
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
