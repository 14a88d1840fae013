package cassette

import (
	"net/url"
	"regexp"
	"strings"
)

// idSegment holds the patterns of a URL path segment that is an identifier
// rather than part of the API's shape. An immutable table.
var idSegment = []*regexp.Regexp{
	// A GUID in any form (dashed or not, braced or not, any case), alone or
	// inside another id: "28:GUID", "8:orgid:GUID", "users('GUID')".
	regexp.MustCompile(`(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}`),
	// Digits only.
	regexp.MustCompile(`^[0-9]+$`),
	// A phone number, maybe as an MRI ("4:+12345678901"), maybe with separators.
	regexp.MustCompile(`^(?:[0-9]+:)?(?:tel:)?\+?[0-9][0-9 ().\-]{4,}[0-9]$`),
	// A Teams thread id ("19:meeting_...@thread.v2").
	regexp.MustCompile(`^[0-9]+:.+@thread\.[a-z0-9]+$`),
}

// Shape returns the method and URL path with identifier segments replaced by
// "{id}" and the query dropped:
// Shape("post", "https://graph.microsoft.com/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896/participants/invite?x=1")
// is "POST /v1.0/communications/calls/{id}/participants/invite". A segment is
// an identifier when it holds a GUID in any form (also inside it, as in
// "28:GUID"), only digits, or a phone number. The replayer groups the
// exchanges that could answer a request by their Shape.
func Shape(method, rawURL string) string {
	path := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		path = u.EscapedPath()
	} else if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.Grow(len(method) + 1 + len(path))
	b.WriteString(strings.ToUpper(method))
	b.WriteByte(' ')
	for i := 0; ; i++ {
		seg, rest, more := strings.Cut(path, "/")
		if i > 0 {
			b.WriteByte('/')
		}
		if isIDSegment(seg) {
			b.WriteString("{id}")
		} else {
			// A zero byte separates shape and seq in index keys.
			b.WriteString(strings.ReplaceAll(seg, "\x00", "%00"))
		}
		if !more {
			break
		}
		path = rest
	}
	return b.String()
}

func isIDSegment(seg string) bool {
	if seg == "" {
		return false
	}
	if s, err := url.PathUnescape(seg); err == nil {
		seg = s
	}
	// Every pattern needs 32 hex digits (a GUID) or starts with a digit,
	// "tel:" or "+": most segments ("v1.0", "calls", "invite") are none of
	// these and need no regexp.
	if c := seg[0]; len(seg) < 32 && (c < '0' || c > '9') && c != '+' && c != 't' {
		return false
	}
	for _, re := range idSegment {
		if re.MatchString(seg) {
			return true
		}
	}
	return false
}
