package match

import (
	"bytes"
	"cmp"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/graphvcr/graphvcr/redact"
)

// A request is matched in two steps. First it is reduced to a key: method,
// path, query and JSON body with every identifier (a redact.FindIDs span) and
// every plain JSON string value replaced by a marker. Requests that differ
// only in ids and string values share a key, so a map lookup finds the few
// recorded exchanges that could answer. Then the values at the markers are
// compared, the recording's against the live ones, which is where pseudonyms
// bind to live values (match_index.go keeps that second step cheap too).
//
// Templating runs on every request, so it allocates little: the key is built
// in a pooled buffer, JSON is walked in place (no decoding into maps), and a
// live template's values are substrings of the request.

// Markers in a request key. A zero byte never occurs in the literal text of a
// key (literals are escaped), so a marker can not be forged by a request.
const (
	markID     = "\x00i"
	markString = "\x00s"
)

// wildcardKeys are JSON members whose string value is the client's own choice
// and is echoed back by Graph: the recorded value matches any live value and
// binds to it.
var wildcardKeys = map[string]bool{
	"clientContext": true,
	"callbackUri":   true,
}

// holeKind says what a value in a request template stands for.
type holeKind uint8

const (
	// holeID is an identifier found by redact.FindIDs inside a string.
	holeID holeKind = iota + 1
	// holeString is a whole JSON string value without identifiers.
	holeString
)

// value is one hole of a request: its text and, on the recorded side, how a
// live value is compared with it.
type value struct {
	kind holeKind
	text string
	// key is the canonical identity of an id (redact.Span.Key): every form of
	// one GUID has the same key. Empty for strings.
	key  string
	form redact.Form
	// bind is set on the recorded side when the value is a pseudonym (or a
	// wildcard string): it matches a live value of the same form and binds to
	// it. When false the live value must be exactly the recorded text.
	bind bool
}

// template is a request reduced for matching.
type template struct {
	key    string
	values []value
}

// pseudonymSet tells the recorded pseudonyms apart from values kept as they were.
type pseudonymSet map[string]bool

func (p pseudonymSet) has(s string) bool { return p[s] || redact.IsPseudonym(s) }

// builders are reused across requests: a key buffer, the values and the
// scratch of the JSON walk grow to the largest request seen and stay.
var builders = sync.Pool{New: func() any { return new(templateBuilder) }}

// newTemplate reduces a request. recorded is nil for a live request; for a
// recorded one it is the cassette's pseudonym set and decides which values bind.
func newTemplate(method, rawURL string, body []byte, recorded pseudonymSet) template {
	b := builders.Get().(*templateBuilder)
	b.recorded = recorded
	b.upper(method)
	b.key = append(b.key, ' ')
	path, query, ok := splitRequestURI(rawURL)
	if !ok {
		path, query = rawURL, ""
		if u, err := url.Parse(rawURL); err == nil {
			path, query = u.Path, u.RawQuery
		}
	}
	b.text(path)
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			b.key = append(b.key, '?')
			b.text(query)
		} else {
			for _, k := range slices.Sorted(mapKeys(q)) {
				for _, v := range q[k] {
					b.key = append(b.key, '?')
					b.literal(k)
					b.key = append(b.key, '=')
					b.text(v)
				}
			}
		}
	}
	body = bytes.TrimSpace(body)
	if len(body) > 0 {
		b.key = append(b.key, ' ')
		s := string(body)
		if json.Valid(body) {
			b.json(s, 0, "")
		} else {
			b.text(s)
		}
	}
	t := template{key: string(b.key), values: slices.Clone(b.values)}
	if recorded != nil {
		t.values = compactValues(t.values)
	}
	b.reset()
	builders.Put(b)
	return t
}

// compactValues copies the strings of a recorded template's values into one
// block. A recorded template lives as long as the replay: it then holds its
// values only, not the whole request they were cut from, as one object the
// garbage collector skips over (no pointers) and that matching reads in a
// cache line or two.
func compactValues(vs []value) []value {
	n := 0
	for _, v := range vs {
		n += len(v.text)
		if v.key != v.text {
			n += len(v.key)
		}
	}
	var sb strings.Builder
	sb.Grow(n)
	for _, v := range vs {
		sb.WriteString(v.text)
		if v.key != v.text {
			sb.WriteString(v.key)
		}
	}
	block, at := sb.String(), 0
	for i := range vs {
		v := &vs[i]
		same := v.key == v.text
		v.text, at = block[at:at+len(v.text)], at+len(v.text)
		if same {
			v.key = v.text
		} else if v.key != "" {
			v.key, at = block[at:at+len(v.key)], at+len(v.key)
		}
	}
	return vs
}

// splitRequestURI splits "/path?query" the way url.Parse does, without its
// allocations, for the common case: an absolute path with no escapes,
// fragment or control bytes. ok is false for anything else.
func splitRequestURI(raw string) (path, query string, ok bool) {
	if raw == "" || raw[0] != '/' || strings.HasPrefix(raw, "//") {
		return "", "", false
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f || c == '%' || c == '#' {
			return "", "", false
		}
	}
	path, query, _ = strings.Cut(raw, "?")
	return path, query, true
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

type templateBuilder struct {
	recorded pseudonymSet
	key      []byte
	values   []value
	members  []member // JSON object members being walked, a stack of objects
}

// member is an object member found by the JSON walk: its unescaped name and
// where its value starts in the document.
type member struct {
	name string
	at   int
}

func (b *templateBuilder) reset() {
	clear(b.values) // drop references to the request's strings
	clear(b.members)
	b.recorded, b.key, b.values, b.members = nil, b.key[:0], b.values[:0], b.members[:0]
}

// upper writes a method in upper case, as strings.ToUpper does.
func (b *templateBuilder) upper(s string) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			b.key = append(b.key, strings.ToUpper(s)...)
			return
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		b.key = append(b.key, c)
	}
}

// literal writes s into the key, escaping the zero byte of markers.
func (b *templateBuilder) literal(s string) {
	for {
		i := strings.IndexByte(s, 0)
		if i < 0 {
			b.key = append(b.key, s...)
			return
		}
		b.key = append(b.key, s[:i+1]...)
		b.key = append(b.key, 0)
		s = s[i+1:]
	}
}

// text writes s with each identifier replaced by a marker.
func (b *templateBuilder) text(s string) { b.spans(s, redact.FindIDs(s)) }

// spans writes s with the identifiers found in it replaced by markers.
func (b *templateBuilder) spans(s string, spans []redact.Span) {
	prev := 0
	for _, sp := range spans {
		if sp.Start < prev || sp.End > len(s) || sp.Start >= sp.End {
			continue // overlapping or out of range: treat as literal text
		}
		b.literal(s[prev:sp.Start])
		b.key = append(b.key, markID...)
		t := s[sp.Start:sp.End]
		b.values = append(b.values, value{
			kind: holeID, text: t, key: sp.Key, form: sp.Form,
			bind: b.recorded != nil && (b.recorded.has(t) || b.recorded.has(sp.Key)),
		})
		prev = sp.End
	}
	b.literal(s[prev:])
}

// json writes the JSON value starting at s[i] (s is valid JSON), object
// members in sorted order, and returns where the value ends. member is the
// name of the member holding the value ("" at the top; arrays pass theirs on).
func (b *templateBuilder) json(s string, i int, member string) int {
	i = skipSpace(s, i)
	switch c := s[i]; c {
	case '{':
		return b.object(s, i)
	case '[':
		b.key = append(b.key, '[')
		i = skipSpace(s, i+1)
		for n := 0; s[i] != ']'; n++ {
			if n > 0 {
				b.key = append(b.key, ',')
			}
			i = skipSpace(s, b.json(s, i, member))
			if s[i] == ',' {
				i++
			}
			i = skipSpace(s, i)
		}
		b.key = append(b.key, ']')
		return i + 1
	case '"':
		str, end := jsonString(s, i)
		b.string(str, member)
		return end
	case 't':
		b.key = append(b.key, "true"...)
		return i + 4
	case 'f':
		b.key = append(b.key, "false"...)
		return i + 5
	case 'n':
		b.key = append(b.key, "null"...)
		return i + 4
	default: // a number, written as it is (json.Number)
		j := i
		for j < len(s) && strings.IndexByte("+-.0123456789eE", s[j]) >= 0 {
			j++
		}
		b.literal(s[i:j])
		return j
	}
}

// object writes the object at s[i] with its members sorted by name; a name
// given twice keeps its last value, as decoding into a map does.
func (b *templateBuilder) object(s string, i int) int {
	base := len(b.members)
	i = skipSpace(s, i+1)
	for s[i] != '}' {
		name, end := jsonString(s, i)
		i = skipSpace(s, end)
		i = skipSpace(s, i+1) // ':'
		b.members = append(b.members, member{name: name, at: i})
		i = skipSpace(s, skipValue(s, i))
		if s[i] == ',' {
			i = skipSpace(s, i+1)
		}
	}
	end := i + 1
	ms := b.members[base:]
	slices.SortStableFunc(ms, func(x, y member) int { return cmp.Compare(x.name, y.name) })
	b.key = append(b.key, '{')
	n := 0
	for k := range ms {
		m := b.members[base+k] // b.members may grow (and move) while walking values
		if k+1 < len(ms) && b.members[base+k+1].name == m.name {
			continue // a later duplicate wins
		}
		if n > 0 {
			b.key = append(b.key, ',')
		}
		n++
		b.quoted(m.name)
		b.key = append(b.key, ':')
		b.json(s, m.at, m.name)
	}
	b.key = append(b.key, '}')
	clear(b.members[base:])
	b.members = b.members[:base]
	return end
}

// quoted writes a member name as strconv.Quote does.
func (b *templateBuilder) quoted(name string) {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b.literal(strconv.Quote(name))
			return
		}
	}
	b.key = append(b.key, '"')
	b.key = append(b.key, name...)
	b.key = append(b.key, '"')
}

// string writes a JSON string value held by member.
func (b *templateBuilder) string(v, member string) {
	if wildcardKeys[member] {
		b.str(v, b.recorded != nil)
		return
	}
	if spans := redact.FindIDs(v); len(spans) > 0 {
		b.key = append(b.key, '"')
		b.spans(v, spans)
		b.key = append(b.key, '"')
		return
	}
	// A whole-value pseudonym without an id in it is a name (or a host): it
	// matches any live string.
	b.str(v, b.recorded != nil && b.recorded.has(v))
}

func (b *templateBuilder) str(s string, bind bool) {
	b.key = append(b.key, markString...)
	b.values = append(b.values, value{kind: holeString, text: s, bind: bind})
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// jsonString returns the string starting at s[i] (a quote), unescaped, and
// where it ends. Without escapes it is a substring of s.
func jsonString(s string, i int) (string, int) {
	end := skipString(s, i)
	raw := s[i+1 : end-1]
	if strings.IndexByte(raw, '\\') < 0 && utf8.ValidString(raw) {
		return raw, end
	}
	// Escapes or invalid UTF-8 (which decoding turns into U+FFFD): let
	// encoding/json say what the string is.
	var out string
	if err := json.Unmarshal([]byte(s[i:end]), &out); err != nil {
		return raw, end
	}
	return out, end
}

// skipString returns where the JSON string starting at s[i] ends.
func skipString(s string, i int) int {
	j := i + 1
	for s[j] != '"' {
		if s[j] == '\\' {
			j++
		}
		j++
	}
	return j + 1
}

// skipValue returns where the JSON value starting at s[i] ends.
func skipValue(s string, i int) int {
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for ; i < len(s); i++ {
			switch s[i] {
			case '"':
				i = skipString(s, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
		}
		return i
	default: // a number, true, false or null
		for i < len(s) && strings.IndexByte(",}] \t\n\r", s[i]) < 0 {
			i++
		}
		return i
	}
}

// formFits reports whether live, an id found in a live request, has the form
// of the recorded pseudonym rec: dashed or not, same case, phone, email. A
// GUID without letters fits either case.
func formFits(rec, live value) bool {
	return rec.form == live.form || rec.form.Render(live.key) == live.text
}
