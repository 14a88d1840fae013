package redact

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// learnedRedactor returns a Redactor that has learned a few names and a
// host, so quiet's literal prefilter is exercised too.
func learnedRedactor(t testing.TB) *Redactor {
	t.Helper()
	r := New(nil)
	r.Body("application/json", []byte(`{"displayName":"Adele Vance","x":{"displayName":"Reception"},"y":{"displayName":"Lee Gu"},"callbackUri":"https://bot.contoso.com/api/calls"}`))
	if r.lits.Load() == nil || len(r.lits.Load().list) != 4 {
		t.Fatalf("learned %v, want 4 literals", r.lits.Load())
	}
	return r
}

// TestQuietMeansNothingFound checks the prefilter against the detailed
// scan: whatever quiet passes over, find must find nothing in.
func TestQuietMeansNothingFound(t *testing.T) {
	r := learnedRedactor(t)
	check := func(t *testing.T, s string) bool {
		t.Helper()
		p := r.newPass()
		defer p.release()
		if !p.quiet([]byte(s)) {
			return false
		}
		p.find([]byte(s))
		if len(p.spans) > 0 {
			t.Errorf("quiet(%q) but find found %+v", s, p.spans)
		}
		return true
	}
	t.Run("common strings are quiet", func(t *testing.T) {
		for _, s := range []string{"#microsoft.graph.participant", "@odata.type", "sendReceive", "notRecording", "en-US",
			"identityProvider", "countryCode", "main-audio", "established", "displayName", "Running", "2024-05-02T10:11:12Z"[:10]} {
			if !check(t, s) {
				t.Errorf("quiet(%q) = false: the common case takes the slow path", s)
			}
		}
	})
	t.Run("findings are not quiet", func(t *testing.T) {
		for _, s := range []string{"57dab8b1-894c-409a-b240-bd8beae78896", "57DAB8B1894C409AB240BD8BEAE78896", "+12345678901",
			"a%2B12345678901", "adele@contoso.com", "https://bot.contoso.com/x", "https:\\/\\/bot.contoso.com", "10.0.12.7",
			"fe80::1", "2603:1063:2:3::a", "xeyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln", "Bearer abc", "token=abc",
			`"client_secret":"x"`, "call Adele Vance", "via bot.contoso.com", "Reception", "a%40b.org",
			"NjkxYWY2ZDYtZmRhNC00YzZhLWJjMTQtZDE0NDQyMGE2MjZi", "c0ffee00-0000-4000-8000-000000000001"} {
			p := r.newPass()
			if p.quiet([]byte(s)) {
				t.Errorf("quiet(%q) = true", s)
			}
			p.release()
		}
	})
	t.Run("random", func(t *testing.T) {
		// Strings made of the bytes findings start with, near their thresholds.
		parts := []string{"a", "b", "f", "0", "9", "e", "y", "J", "A", "F", "-", ".", ":", "/", "\\", "@", "%", "2B", "40",
			"+", "=", "\"", " ", "_", "bearer", "Bearer ", "eyJ", "1234567", "abcdef0", "QUJD", "Adele", "Adele Vance",
			"Rec", "bot.contoso", ".com", "Lee G", "Lee Gu", "::", "://", "28:", "é", "1.", "52.", "255", "10.0.1.", "fe80", `:\/\/`, "1:2:3:4:5:6:7:"}
		rng := rand.New(rand.NewPCG(7, 11))
		for range 30000 {
			var b strings.Builder
			for k := rng.IntN(14); k >= 0; k-- {
				b.WriteString(parts[rng.IntN(len(parts))])
			}
			check(t, b.String())
		}
	})
}

// TestJSONValidity checks the validation done while walking against
// gjson.Valid, which Body used to call first.
func TestJSONValidity(t *testing.T) {
	docs := []string{
		`{}`, `[]`, ` {"a" : [1, -2.5e+3, true, false, null, "x"]} `, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":01}`,
		`{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":-0.5E-3}`, `{"a":tru}`, `{"a":nulll}`, "{\"a\":\"\x01\"}",
		`{"a":"\q"}`, `{"a":"\u12"}`, `{"a":"\u12G4"}`, `{"a":"\u12aF"}`, `[1 2]`, `[1,,2]`, `{"a":1}}`,
		`{"a":1} x`, `{"a":[}`, "\ufeff{}", `{"a":"b"`, `{,}`, `[,1]`, `{"a":1 "b":2}`, `{1:2}`, `["\\"]`,
		`["\\\""]`, `["\"]`, "[\"\xff\xfe\"]", `{"a":{"b":[{"c":"d"}]}}`, `{"a":]`, `[}`, `{"a":1]`, `[{]}`,
		`{"a":"b":"c"}`, `{"a",1}`, `[1:2]`, `[[[[[]]]]]`, `{"a":[1,2,]}`, "{\"a\":\t\n\r1}", `{"a":1}[`,
		`{"a":"long string with \/ escapes \n and more than eight bytes"}`, `["12345678\u0000"]`,
	}
	r := New(nil)
	for _, d := range docs {
		if !looksJSON([]byte(d)) {
			t.Fatalf("test doc %q does not look like JSON", d)
		}
		_, valid := r.json([]byte(d), false, true)
		if want := gjson.Valid(d); valid != want {
			t.Errorf("json(%q) valid = %v, gjson.Valid = %v", d, valid, want)
		}
	}
}

// TestLayerCache checks that a remembered outcome of an encoded text
// (base64, percent-encoding) gives the same output, is recomputed once a
// name is learned that hides in it, and that the cache stays bounded.
func TestLayerCache(t *testing.T) {
	hidden := `{"by":"Zed Zebulon","call":"57dab8b1-894c-409a-b240-bd8beae78896"}`
	tests := []struct {
		name   string
		value  string
		decode func(string) (string, error)
	}{
		{"base64", base64.StdEncoding.EncodeToString([]byte(hidden)), func(s string) (string, error) {
			b, err := base64.StdEncoding.DecodeString(s)
			return string(b), err
		}},
		{"percent", "https://teams.microsoft.com/l?context=" + url.PathEscape(hidden), func(s string) (string, error) {
			return url.QueryUnescape(s)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(nil)
			body := []byte(`{"v":"` + tt.value + `"}`)
			decoded := func(out []byte) string {
				t.Helper()
				d, err := tt.decode(gjson.GetBytes(out, "v").Str)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			first := r.Body("application/json", body)
			if len(r.layers) == 0 {
				t.Fatal("nothing cached")
			}
			if again := r.Body("application/json", body); !bytes.Equal(again, first) {
				t.Fatalf("cached outcome differs:\n%s\n%s", first, again)
			}
			if d := decoded(first); !strings.Contains(d, "Zed Zebulon") || !strings.Contains(d, "c0ffee00-0000-4000-8000-000000000001") {
				t.Fatalf("before learning the name: %s", d)
			}
			r.Body("application/json", []byte(`{"displayName":"Zed Zebulon"}`))
			if d := decoded(r.Body("application/json", body)); strings.Contains(d, "Zed") || !strings.Contains(d, "Person 1") {
				t.Errorf("a stale outcome was used after learning the name: %s", d)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		r := New(nil)
		for k := range maxLayersCached + 10 {
			r.Text(fmt.Sprintf("id%%3A57dab8b1-894c-409a-b240-%012d", k))
		}
		if n := len(r.layers); n == 0 || n > maxLayersCached {
			t.Errorf("cache holds %d texts, bound is %d", n, maxLayersCached)
		}
	})
}

// TestLearnWithinBody pins the order independence inside one body: a
// name or host mentioned before the field it is learned from is replaced too.
func TestLearnWithinBody(t *testing.T) {
	r := New(nil)
	in := `{"message":"call from Adele Vance via bot.contoso.com failed","note":"QWRlbGUgVmFuY2UgY2FsbGVkIGFnYWluIGxhdGVy","a":{"displayName":"Adele Vance","callbackUri":"https://bot.contoso.com/api"}}`
	out := string(r.Body("application/json", []byte(in)))
	want := `{"message":"call from Person 1 via bot1.example.invalid failed","note":"UGVyc29uIDEgY2FsbGVkIGFnYWluIGxhdGVy","a":{"displayName":"Person 1","callbackUri":"https://bot1.example.invalid/api"}}`
	if out != want {
		t.Errorf("Body\n got %s\nwant %s", out, want)
	}
}
