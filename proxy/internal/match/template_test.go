package match

import (
	"bytes"
	"encoding/json"
	"net/url"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/redact"
)

// The reference templating below is the straightforward one (url.Parse,
// encoding/json into maps); newTemplate must reduce every request exactly
// as it does, only faster.

// referenceTemplate is newTemplate written plainly: decode, sort, walk.
func referenceTemplate(method, rawURL string, body []byte, recorded pseudonymSet) template {
	b := refBuilder{recorded: recorded}
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

type refBuilder struct {
	recorded pseudonymSet
	key      strings.Builder
	values   []value
}

// literal writes s into the key, escaping the zero byte of markers.
func (b *refBuilder) literal(s string) {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\x00\x00")
	}
	b.key.WriteString(s)
}

// text writes s with each identifier replaced by a marker.
func (b *refBuilder) text(s string) {
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
func (b *refBuilder) json(v any, member string) {
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

func (b *refBuilder) str(s string, bind bool) {
	b.key.WriteString(markString)
	b.values = append(b.values, value{kind: holeString, text: s, bind: bind})
}

// templateCorpus holds requests of the shapes Graph and bots send, and
// some that are not well formed.
func templateCorpus(t testing.TB) [][3]string {
	t.Helper()
	corpus := [][3]string{
		{"GET", "/v1.0/communications/calls/" + live1, ""},
		{"get", "/v1.0/communications/calls/" + p1 + "/operations/" + p3, ""},
		{"POST", "/v1.0/communications/calls/" + live1 + "/participants/invite", `{"participants":[{"@odata.type":"#microsoft.graph.invitationParticipantInfo","replacesCallId":"` + live3 + `","identity":{"user":{"id":"` + live2Dashed + `","displayName":"Alice"}}}],"clientContext":"f2fa86af-3c51-4bc2-8fc0-475452d9764f"}`},
		{"POST", "/beta/app/calls/" + live2Undash + "/participants/invite", `{"participants":[{"identity":{"phone":{"id":"` + livePhone + `"}}}],"clientContext":"ctx"}`},
		{"POST", "/v1.0/x?$select=id,state&$top=5&b=2&b=1&a=" + live1, `  {"b":1.50e3,"a":[true,false,null,-0.5],"a":"dup wins","c":{"z":{},"y":[]},"\u00e9\"k":"v\u00e9\n","k\u0000":"x\u0000y"}  `},
		{"POST", "/v1.0/x", `{"id":"` + p1 + `",}`},
		{"POST", "/v1.0/x", `"` + live1 + `"`},
		{"POST", "/v1.0/x", `[1, "two", {"three": "` + pEmail + `"}]`},
		{"POST", "/v1.0/x", "{\"bad\":\"\xff\xfe\"}"},
		{"PUT", "/v1.0/a%20b/" + live1 + "?q=%2B12065551234", "plain " + liveEmail},
		{"PATCH", "/v1.0/a#frag", ""},
		{"DELETE", "//host/path", ""},
		{"GET", "http://graph.microsoft.com/v1.0/me?x=1", ""},
		{"GET", "/v1.0/bad%zzescape", ""},
		{"GET", "/v1.0/x?bad=%zz", ""},
		{"GET", "*", ""},
		{"GET", "", ""},
		{"POST", "/v1.0/x", "{\"callbackUri\":\"https://bot1.example.invalid/api/calls\",\"name\":\"" + recordedName + "\",\"deep\":{\"deeper\":{\"id\":\"" + keptGUID + "\"}}}"},
	}
	// The sample cassettes' requests: the seed scenarios' real traffic.
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "cassettes", "*.bolt"))
	for _, f := range files {
		rd, err := cassette.Open(f)
		if err != nil {
			t.Fatalf("open sample cassette: %v", err)
		}
		err = rd.Each(func(ev *cassette.Event) error {
			corpus = append(corpus, [3]string{ev.Request.Method, pathAndQuery(ev.Request.URL), string(ev.Request.Body)})
			return nil
		})
		rd.Close()
		if err != nil {
			t.Fatalf("read sample cassette: %v", err)
		}
	}
	return corpus
}

func checkTemplate(t *testing.T, method, rawURL, body string) {
	t.Helper()
	ps := pseudonymSet{p1: true, p3: true, recordedName: true}
	for _, recorded := range []pseudonymSet{nil, ps} {
		got := newTemplate(method, rawURL, []byte(body), recorded)
		want := referenceTemplate(method, rawURL, []byte(body), recorded)
		if got.key != want.key {
			t.Fatalf("%s %q %q: key\n%q, want\n%q", method, rawURL, body, got.key, want.key)
		}
		if len(got.values) == 0 && len(want.values) == 0 {
			continue
		}
		if !reflect.DeepEqual(got.values, want.values) {
			t.Fatalf("%s %q %q: values\n%+v, want\n%+v", method, rawURL, body, got.values, want.values)
		}
	}
}

func TestTemplateAsReference(t *testing.T) {
	for _, c := range templateCorpus(t) {
		t.Run(c[0]+" "+c[1], func(t *testing.T) { checkTemplate(t, c[0], c[1], c[2]) })
	}
}

func FuzzTemplate(f *testing.F) {
	for _, c := range templateCorpus(f) {
		f.Add(c[0], c[1], c[2])
	}
	f.Fuzz(func(t *testing.T, method, rawURL, body string) {
		checkTemplate(t, method, rawURL, body)
	})
}

// pathAndQuery returns the escaped path and query of a recorded absolute
// URL, as replay matches it.
func pathAndQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}
