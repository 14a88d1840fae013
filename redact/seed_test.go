package redact

import (
	"bytes"
	"encoding/base64"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden")

// fixturePaths lists every seed and realistic fixture, in a fixed order so
// pseudonym numbers (and the golden files) are stable.
func fixturePaths(t testing.TB) []string {
	t.Helper()
	var paths []string
	for _, dir := range []string{"testdata/seeds", "testdata/realistic"} {
		m, err := filepath.Glob(filepath.Join(dir, "*"))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	slices.Sort(paths)
	if len(paths) < 30 {
		t.Fatalf("only %d fixtures found", len(paths))
	}
	return paths
}

var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+`)

var b64Run = regexp.MustCompile(`[A-Za-z0-9+/_-]{40,}={0,2}`)

// collectOriginals returns the identifiers in text that redaction must
// remove: GUIDs (not pseudonyms, not nil), phone numbers and emails, also
// those hidden in percent-encoding and base64.
func collectOriginals(text []byte) []Span {
	var spans []Span
	add := func(s string) {
		for _, sp := range FindIDs(s) {
			if IsPseudonym(s[sp.Start:sp.End]) || sp.Key == "00000000-0000-0000-0000-000000000000" {
				continue
			}
			spans = append(spans, sp)
		}
	}
	add(string(text))
	if dec, err := url.PathUnescape(string(text)); err == nil {
		add(dec)
	}
	if dec, ok := percentDecode(text); ok {
		add(string(dec))
	}
	for _, run := range b64Run.FindAll(text, -1) {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if dec, err := enc.DecodeString(string(run)); err == nil {
				add(string(dec))
			}
		}
		// thread ids: "meeting_<base64>"
		if i := bytes.IndexByte(run, '_'); i >= 0 {
			if dec, err := base64.StdEncoding.DecodeString(string(run[i+1:])); err == nil {
				add(string(dec))
			}
		}
	}
	return spans
}

// variants returns every way an identifier could be written in a cassette.
func variants(sp Span) []string {
	var vs []string
	switch {
	case sp.Form.IsGUID():
		for _, f := range []Form{FormGUIDLower, FormGUIDUpper, FormGUIDUndashedLower, FormGUIDUndashedUpper} {
			v := f.Render(sp.Key)
			vs = append(vs, v, base64.StdEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)))
			vs = append(vs, strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(v)), "="))
		}
	case sp.Form == FormPhone || sp.Form == FormPhoneURLEncoded:
		vs = append(vs, sp.Key)
	default:
		vs = append(vs, sp.Key, strings.Replace(sp.Key, "@", "%40", 1), url.QueryEscape(sp.Key))
	}
	return vs
}

// jsonPaths lists every path of a JSON document with its value type.
func jsonPaths(b []byte) []string {
	var out []string
	var walk func(prefix string, v gjson.Result)
	walk = func(prefix string, v gjson.Result) {
		out = append(out, prefix+":"+v.Type.String()+map[bool]string{true: "{}", false: ""}[v.IsObject()]+map[bool]string{true: "[]", false: ""}[v.IsArray()])
		if v.IsObject() || v.IsArray() {
			v.ForEach(func(k, el gjson.Result) bool {
				walk(prefix+"."+k.String(), el)
				return true
			})
		}
	}
	walk("", gjson.ParseBytes(b))
	return out
}

// TestFixturesRedacted redacts every JSON example of the seeds and the
// realistic fixtures with one Redactor (one session), and checks that no
// original identifier or secret survives in any form, that correlated ids
// stay equal, that JSON keeps its shape, and compares with golden files.
func TestFixturesRedacted(t *testing.T) {
	r := New(nil)
	mapping := map[string]string{} // original GUID key -> pseudonym key, across all fixtures
	reverse := map[string]string{}
	for _, path := range fixturePaths(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			f := readFixture(t, path)
			red := redactFixture(r, f)
			orig, got := f.render(), red.render()

			origIDs := collectOriginals(orig)
			for _, sp := range origIDs {
				for _, v := range variants(sp) {
					if bytes.Contains(got, []byte(v)) {
						t.Errorf("original %s %q survives as %q", sp.Form, sp.Key, v)
					}
				}
			}
			for _, s := range fixtureSecrets {
				if bytes.Contains(orig, []byte(s)) && bytes.Contains(got, []byte(s)) {
					t.Errorf("secret or personal value %q survives", s)
				}
			}
			for k, tok := range fixtureJWTs {
				if bytes.Contains(got, []byte(tok[:40])) || bytes.Contains(got, []byte(tok[len(tok)-40:])) {
					t.Errorf("%s survives", k)
				}
			}
			if m := jwtShape.Find(got); m != nil {
				t.Errorf("something JWT-shaped survives: %.40s", m)
			}

			// Correlation: GUIDs map to GUIDs one to one, in the same form and order.
			og, rg := guidSpans(string(orig)), guidSpans(string(got))
			if len(og) != len(rg) {
				t.Fatalf("%d GUIDs before redaction, %d after", len(og), len(rg))
			}
			for i := range og {
				if og[i].Form != rg[i].Form {
					t.Errorf("GUID %d: form %s became %s", i, og[i].Form, rg[i].Form)
				}
				if !IsPseudonym(rg[i].Form.Render(rg[i].Key)) && !IsPseudonym(og[i].Form.Render(og[i].Key)) {
					t.Errorf("GUID %d: %s is not a pseudonym", i, rg[i].Key)
				}
				if m, ok := mapping[og[i].Key]; ok && m != rg[i].Key {
					t.Errorf("GUID %s mapped to %s and to %s", og[i].Key, m, rg[i].Key)
				}
				if o, ok := reverse[rg[i].Key]; ok && o != og[i].Key {
					t.Errorf("pseudonym %s stands for %s and %s", rg[i].Key, o, og[i].Key)
				}
				mapping[og[i].Key], reverse[rg[i].Key] = rg[i].Key, og[i].Key
			}

			// Valid JSON stays valid JSON with the same shape.
			if gjson.ValidBytes(f.body) {
				if !gjson.ValidBytes(red.body) {
					t.Fatalf("valid JSON became invalid:\n%s", red.body)
				}
				if a, b := jsonPaths(f.body), jsonPaths(red.body); !slices.Equal(a, b) {
					t.Errorf("JSON shape changed:\n%v\n%v", a, b)
				}
			}

			// Idempotent: redacting the redacted fixture changes nothing.
			if again := redactFixture(r, red).render(); !bytes.Equal(again, got) {
				t.Errorf("second redaction changed the output:\n%s\n---\n%s", got, again)
			}

			golden := filepath.Join("testdata", "golden", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("redacted %s differs from %s:\n%s", name, golden, got)
			}
		})
	}
}

// guidSpans returns the GUID spans FindIDs sees in s (nil GUID excluded).
func guidSpans(s string) []Span {
	var out []Span
	for _, sp := range FindIDs(s) {
		if sp.Form.IsGUID() && sp.Key != "00000000-0000-0000-0000-000000000000" {
			out = append(out, sp)
		}
	}
	return out
}
