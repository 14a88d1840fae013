package proxy

import (
	"bytes"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/graphvcr/graphvcr/redact"
)

// A request is matched in two steps. First it is reduced to a key: method,
// path, query and JSON body with every identifier (a redact.FindIDs span) and
// every plain JSON string value replaced by a marker. Requests that differ
// only in ids and string values share a key, so a map lookup finds the few
// recorded exchanges that could answer. Then the values at the markers are
// compared one by one, the recording's against the live ones, which is where
// pseudonyms bind to live values.

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

// newTemplate reduces a request. recorded is nil for a live request; for a
// recorded one it is the cassette's pseudonym set and decides which values bind.
func newTemplate(method, rawURL string, body []byte, recorded pseudonymSet) template {
	b := templateBuilder{recorded: recorded}
	b.key.WriteString(strings.ToUpper(method))
	b.key.WriteByte(' ')
	path, query := rawURL, ""
	if u, err := url.Parse(rawURL); err == nil {
		path, query = u.Path, u.RawQuery
	}
	b.text(path)
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil {
			b.key.WriteString("?")
			b.text(query)
		} else {
			for _, k := range slices.Sorted(mapKeys(q)) {
				for _, v := range q[k] {
					b.key.WriteString("?")
					b.literal(k)
					b.key.WriteString("=")
					b.text(v)
				}
			}
		}
	}
	body = bytes.TrimSpace(body)
	if len(body) > 0 {
		b.key.WriteString(" ")
		var v any
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		if json.Valid(body) && d.Decode(&v) == nil {
			b.json(v, "")
		} else {
			b.text(string(body))
		}
	}
	return template{key: b.key.String(), values: b.values}
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
	key      strings.Builder
	values   []value
}

// literal writes s into the key, escaping the zero byte of markers.
func (b *templateBuilder) literal(s string) {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\x00\x00")
	}
	b.key.WriteString(s)
}

// text writes s with each identifier replaced by a marker.
func (b *templateBuilder) text(s string) {
	prev := 0
	for _, sp := range redact.FindIDs(s) {
		if sp.Start < prev || sp.End > len(s) || sp.Start >= sp.End {
			continue // overlapping or out of range: treat as literal text
		}
		b.literal(s[prev:sp.Start])
		b.key.WriteString(markID)
		t := s[sp.Start:sp.End]
		b.values = append(b.values, value{
			kind: holeID, text: t, key: sp.Key, form: sp.Form,
			bind: b.recorded != nil && (b.recorded.has(t) || b.recorded.has(sp.Key)),
		})
		prev = sp.End
	}
	b.literal(s[prev:])
}

// json writes a decoded JSON value, members in sorted order. member is the
// name of the member holding v ("" at the top and in arrays).
func (b *templateBuilder) json(v any, member string) {
	switch v := v.(type) {
	case map[string]any:
		b.key.WriteString("{")
		for i, k := range slices.Sorted(mapKeys(v)) {
			if i > 0 {
				b.key.WriteString(",")
			}
			b.literal(strconv.Quote(k))
			b.key.WriteString(":")
			b.json(v[k], k)
		}
		b.key.WriteString("}")
	case []any:
		b.key.WriteString("[")
		for i, e := range v {
			if i > 0 {
				b.key.WriteString(",")
			}
			b.json(e, member)
		}
		b.key.WriteString("]")
	case string:
		switch {
		case wildcardKeys[member]:
			b.str(v, b.recorded != nil)
		case len(redact.FindIDs(v)) > 0:
			b.key.WriteString(`"`)
			b.text(v)
			b.key.WriteString(`"`)
		default:
			// A whole-value pseudonym without an id in it is a name (or a
			// host): it matches any live string.
			b.str(v, b.recorded != nil && b.recorded.has(v))
		}
	case json.Number:
		b.literal(v.String())
	case bool:
		b.key.WriteString(strconv.FormatBool(v))
	case nil:
		b.key.WriteString("null")
	}
}

func (b *templateBuilder) str(s string, bind bool) {
	b.key.WriteString(markString)
	b.values = append(b.values, value{kind: holeString, text: s, bind: bind})
}

// primary is the index key of a template: its first id, which for most Graph
// requests is the call id. A recorded pseudonym indexes as "p:"+key, a value
// kept as recorded as "f:"+text; "" when the request holds no id.
func (t *template) primary() string {
	for _, v := range t.values {
		if v.kind == holeID {
			if v.bind {
				return "p:" + v.key
			}
			return "f:" + v.text
		}
	}
	return ""
}

// formFits reports whether live, an id found in a live request, has the form
// of the recorded pseudonym rec: dashed or not, same case, phone, email. A
// GUID without letters fits either case.
func formFits(rec, live value) bool {
	return rec.form == live.form || rec.form.Render(live.key) == live.text
}
