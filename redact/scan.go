package redact

import (
	"strconv"
	"unicode/utf8"
)

// Finding is something Scanner found that still looks like a secret or a
// real identifier.
type Finding struct {
	// Where is the location the caller passed to Scan.
	Where string
	// Kind is "jwt", "secret", "guid", "phone", "email", "ip", "host",
	// "name", "thread" (a Teams thread or chat id) or "id" (the value of
	// an identifier field: a meeting id, passcode, MAC address, ...).
	Kind string
	// Masked shows just enough of the value to find it: "eyJh…Aw (1619 chars)".
	Masked string
}

// Scanner reports secrets and real-looking identifiers in redacted data. It
// runs the same detection as Redactor, so whatever a Redactor would still
// change is a finding: a JWT anywhere; a bearer token or a secret-named
// field (JSON, form, query) with a value other than Removed; a
// GUID, phone number (in any written form), email address, IP address,
// non-Microsoft host, Teams thread id, name field or identifier field (see
// the field table) that is not a pseudonym. base64 and percent-encoded
// text is opened.
//
// Not reported: pseudonyms (by shape, and those given to NewScanner),
// Removed, the nil GUID, loopback and documentation addresses, Microsoft and
// example.invalid hosts, and timestamps (which never match an id shape).
// No other constant is exempt: even Microsoft's public application ids are
// reported when they appear unredacted, since a Redactor would have replaced them.
// A Scanner is safe for concurrent use.
type Scanner struct {
	known map[string]bool
}

// NewScanner returns a Scanner that also accepts the given pseudonyms (a
// cassette's pseudonym set); nil is fine, since pseudonyms are recognised by shape.
func NewScanner(pseudonyms []string) *Scanner {
	s := &Scanner{known: make(map[string]bool, len(pseudonyms))}
	for _, p := range pseudonyms {
		s.known[p] = true
	}
	return s
}

var kindNames = [...]string{
	kGUID: "guid", kSecret: "secret", kPhone: "phone", kEmail: "email",
	kIP: "ip", kHost: "host", kName: "name", kRepl: "secret", kThread: "thread", kField: "id",
}

// Scan returns the findings in data, each labelled with where; the same
// value is reported once per call.
func (s *Scanner) Scan(where string, data []byte) []Finding {
	var out []Finding
	seen := map[string]bool{}
	p := &pass{}
	p.report = func(k kind, v []byte) {
		if s.known[string(v)] {
			return
		}
		name := kindNames[k]
		if k == kSecret && len(v) >= 3 && string(v[:3]) == "eyJ" {
			name = "jwt"
		}
		key := name + "\x00" + string(v)
		if seen[key] {
			return
		}
		seen[key] = true
		out = append(out, Finding{Where: where, Kind: name, Masked: mask(string(v))})
	}
	p.find(data)
	p.reportAll(data)
	return out
}

// mask shows the first four and last two characters of v and its length, so
// a finding can be located without being repeated: "eyJh…Aw (1619 chars)".
// Values of 8 characters or fewer show only their length.
func mask(v string) string {
	n := utf8.RuneCountInString(v)
	if n <= 8 {
		return "… (" + strconv.Itoa(n) + " chars)"
	}
	r := []rune(v)
	return string(r[:4]) + "…" + string(r[n-2:]) + " (" + strconv.Itoa(n) + " chars)"
}
