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
	// FormThreadURLEncoded is a thread id whose colon (and at sign) are
	// percent-encoded, as in a joinWebUrl: 19%3ameeting_...%40thread.v2.
	FormThreadURLEncoded
	// FormDigits is a number written as digits alone: a conference id in a
	// dial string, a phone number without its plus sign ("4:14255550100").
	FormDigits
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
	FormThreadURLEncoded:  "thread-urlencoded",
	FormDigits:            "digits",
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
// sign (or %2B); an email gets %40 for FormEmailURLEncoded, a thread id
// %3a and %40 for FormThreadURLEncoded. Names, hosts, IPs, digits, thread
// ids and the zero Form return key unchanged. A GUID form given a key that is not a
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
	case FormThreadURLEncoded:
		key = strings.Replace(key, ":", "%3a", 1)
		if at := strings.LastIndexByte(key, '@'); at >= 0 {
			key = key[:at] + "%40" + key[at+1:]
		}
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
// "+555" followed by a zero-padded counter (in any written form: "+5
// 550-000-0001"), "user<N>@example.invalid", "Person <N>",
// "bot<N>.example.invalid", a thread id "19:meeting_c0ffee<N>@thread.v2" (any
// prefix, domain and encoding), an identifier field's value (digits "5550..."
// of five or more, "id<digits>", a MAC address of the RFC 7042 documentation
// blocks), or an address from the documentation ranges (192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32).
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
		// Any written form: "+5550000001", "+5 550-000-0001".
		e, _ := phoneWritten(viewBytes(s), 1)
		return e == len(s) && isPseudonymPhoneText(viewBytes(s[1:]))
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
	if b := viewBytes(s); isWholeThreadPseudonym(b) || isIDFieldPseudonym(b) {
		return true
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
