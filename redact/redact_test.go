package redact

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

func TestTextForms(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"dashed lower", "57dab8b1-894c-409a-b240-bd8beae78896", "c0ffee00-0000-4000-8000-000000000001"},
		{"dashed upper", "57DAB8B1-894C-409A-B240-BD8BEAE78896", "C0FFEE00-0000-4000-8000-000000000001"},
		{"undashed upper", "57DAB8B1894C409AB240BD8BEAE78896", "C0FFEE00000040008000000000000001"},
		{"undashed lower", "57dab8b1894c409ab240bd8beae78896", "c0ffee00000040008000000000000001"},
		{"braced", "{57dab8b1-894c-409a-b240-bd8beae78896}", "{c0ffee00-0000-4000-8000-000000000001}"},
		{"mri", "28:57DAB8B1-894C-409A-B240-BD8BEAE78896", "28:C0FFEE00-0000-4000-8000-000000000001"},
		{"orgid mri", "8:orgid:57dab8b1-894c-409a-b240-bd8beae78896", "8:orgid:c0ffee00-0000-4000-8000-000000000001"},
		{"acs mri", "8:acs:57dab8b1-894c-409a-b240-bd8beae78896_0000001a-2b3c-4d5e-8f70-8192a3b4c5d6", "8:acs:c0ffee00-0000-4000-8000-000000000001_c0ffee00-0000-4000-8000-000000000002"},
		{"second id", "/app/calls/57DAB8B1894C409AB240BD8BEAE78896/operations/0FE0623FD62842EDB4BD8AC290072CC5", "/app/calls/C0FFEE00000040008000000000000001/operations/C0FFEE00000040008000000000000002"},
		{"phone", "4:+12345678901", "4:+55500000001"},
		{"phone encoded", "id=4%3a%2B12345678901", "id=4%3a%2B55500000001"},
		{"email", "mail adele.vance@contoso.com now", "mail user1@example.invalid now"},
		{"email encoded", "u=adele%40contoso.com", "u=user1%40example.invalid"},
		{"thread id is no email", "19:abc@thread.skype", "19:c0ffee1@thread.skype"},
		{"ipv4", "from 52.114.32.18:443", "from 192.0.2.1:443"},
		{"ipv6", "from 2603:1063:2:3::a", "from 2001:db8::1"},
		{"loopback kept", "127.0.0.1 ::1", "127.0.0.1 ::1"},
		{"timestamp kept", "2018-09-06T15:58:41Z", "2018-09-06T15:58:41Z"},
		{"version kept", "2.1.19222.5", "2.1.19222.5"},
		{"nil guid kept", "00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000"},
		{"jwt", "x eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2lnbmF0dXJl y", "x REDACTED y"},
		{"jwt in url", "https://graph.microsoft.com/x?access_token=abc.def&b=1", "https://graph.microsoft.com/x?access_token=REDACTED&b=1"},
		{"jwt after escape", "h=Bearer%20eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln", "h=Bearer%20REDACTED"},
		{"bearer opaque", "Authorization: Bearer EwBwA8l6BAAU7p9QDpi", "Authorization: Bearer REDACTED"},
		{"callback host", "https://bot.contoso.com:9442/api/calls", "https://bot1.example.invalid:9442/api/calls"},
		{"microsoft host kept", "https://graph.microsoft.com/v1.0/me", "https://graph.microsoft.com/v1.0/me"},
		{"userinfo password", "https://u:hunter2@graph.microsoft.com/", "https://u:REDACTED@graph.microsoft.com/"},
		{"thread base64", "19:meeting_NjkxYWY2ZDYtZmRhNC00YzZhLWJjMTQtZDE0NDQyMGE2MjZi@thread.v2", "19:meeting_c0ffee1@thread.v2"},
		{"url-encoded join context", "context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%7d", "context=%7b%22Tid%22%3a%22c0ffee00-0000-4000-8000-000000000001%22%7d"},
		{"secret in nested json", `{"client_secret":"abc","displayName":"Heidi Steen"}`, `{"client_secret":"REDACTED","displayName":"Person 1"}`},
		{"pseudonym kept", "c0ffee00-0000-4000-8000-000000000007 user3@example.invalid +55500000009", "c0ffee00-0000-4000-8000-000000000007 user3@example.invalid +55500000009"},
		{"removed kept", "Bearer REDACTED", "Bearer REDACTED"},
		{"bearer padding alone", "Bearer ==", "Bearer =="},
		{"bearer padding inside", "BeArer 0=+", "BeArer REDACTED"},
		{"bearer padding first", "BeArer =+", "BeArer REDACTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(nil)
			if got := r.Text(tt.in); got != tt.want {
				t.Errorf("Text(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if got := r.Text(tt.want); got != tt.want {
				t.Errorf("Text is not idempotent on %q: %q", tt.want, got)
			}
		})
	}
}

// TestCorrelation checks that the ids of one call line up across a URL, a
// Location header, a notification resource, an MRI and a braced id, whatever
// their form, and that pseudonyms are numbered by first appearance.
func TestCorrelation(t *testing.T) {
	r := New(nil)
	url := r.URL("https://graph.microsoft.com/beta/app/calls/57DAB8B1894C409AB240BD8BEAE78896/participants/invite")
	loc := r.Header(http.Header{"Location": {"https://graph.microsoft.com/beta/app/calls/57dab8b1-894c-409a-b240-bd8beae78896/operations/17e3b46c-f61d-4f4d-9635-c626ef18e6ad"}}).Get("Location")
	body := r.Body("application/json", []byte(`{"resource":"/app/calls/57DAB8B1894C409AB240BD8BEAE78896/operations/17E3B46CF61D4F4D9635C626EF18E6AD","message":"failed for 28:57DAB8B1-894C-409A-B240-BD8BEAE78896 and {17e3b46c-f61d-4f4d-9635-c626ef18e6ad}"}`))
	checks := []struct{ got, want string }{
		{url, "https://graph.microsoft.com/beta/app/calls/C0FFEE00000040008000000000000001/participants/invite"},
		{loc, "https://graph.microsoft.com/beta/app/calls/c0ffee00-0000-4000-8000-000000000001/operations/c0ffee00-0000-4000-8000-000000000002"},
		{string(body), `{"resource":"/app/calls/C0FFEE00000040008000000000000001/operations/C0FFEE00000040008000000000000002","message":"failed for 28:C0FFEE00-0000-4000-8000-000000000001 and {c0ffee00-0000-4000-8000-000000000002}"}`},
	}
	for i, c := range checks {
		if c.got != c.want {
			t.Errorf("check %d:\n got %s\nwant %s", i, c.got, c.want)
		}
	}
	want := []string{"c0ffee00-0000-4000-8000-000000000001", "c0ffee00-0000-4000-8000-000000000002"}
	if got := r.TakeNew(); !slices.Equal(got, want) {
		t.Errorf("TakeNew = %v, want %v", got, want)
	}
	if got := r.TakeNew(); got != nil {
		t.Errorf("second TakeNew = %v, want nil", got)
	}
	r.Text("adele@contoso.com +12345678901")
	if got := r.TakeNew(); !slices.Equal(got, []string{"user1@example.invalid", "+55500000001"}) {
		t.Errorf("TakeNew after email and phone = %v", got)
	}
	if got := r.Pseudonyms(); len(got) != 4 {
		t.Errorf("Pseudonyms = %v, want 4", got)
	}
}

func TestPseudonymReservation(t *testing.T) {
	r := New(nil)
	// A pseudonym already in the input keeps its number from being reused.
	r.Text("c0ffee00-0000-4000-8000-000000000005")
	if got := r.Text("57dab8b1-894c-409a-b240-bd8beae78896"); got != "c0ffee00-0000-4000-8000-000000000006" {
		t.Errorf("got %s", got)
	}
}

func TestHeader(t *testing.T) {
	r := New(&Policy{KeepHeaders: []string{"x-keep-me"}})
	h := http.Header{
		"Authorization":             {"Bearer eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln"},
		"Proxy-Authorization":       {"Basic dXNlcjpwYXNz"},
		"Cookie":                    {"a=1; b=2"},
		"Set-Cookie":                {"fpc=Ak123; path=/; domain=bot.contoso.com"},
		"X-Api-Key":                 {"k-123"},
		"Ocp-Apim-Subscription-Key": {"abc"},
		"Client-Request-Id":         {"6c4e1b90-3d5f-4071-acbd-2e3f4a5b6c7d"},
		"X-Keep-Me":                 {"6c4e1b90-3d5f-4071-acbd-2e3f4a5b6c7d"},
		"Content-Type":              {"application/json"},
	}
	got := r.Header(h)
	want := http.Header{
		"Authorization":             {"Bearer REDACTED"},
		"Proxy-Authorization":       {"Basic REDACTED"},
		"Cookie":                    {"a=REDACTED; b=REDACTED"},
		"Set-Cookie":                {"fpc=REDACTED; path=/; domain=bot.contoso.com"},
		"X-Api-Key":                 {"REDACTED"},
		"Ocp-Apim-Subscription-Key": {"REDACTED"},
		"Client-Request-Id":         {"c0ffee00-0000-4000-8000-000000000001"},
		"X-Keep-Me":                 {"6c4e1b90-3d5f-4071-acbd-2e3f4a5b6c7d"},
		"Content-Type":              {"application/json"},
	}
	for k, v := range want {
		if !slices.Equal(got[k], v) {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if h.Get("Authorization") == got.Get("Authorization") {
		t.Error("Header modified its input")
	}
	if r.Header(nil) != nil {
		t.Error("Header(nil) != nil")
	}
}

func TestForm(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"secret encoded", "client_secret=ab%7Ecd&grant_type=client_credentials", "client_secret=REDACTED&grant_type=client_credentials"},
		{"assertion", "client_assertion=eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln&client_id=57dab8b1-894c-409a-b240-bd8beae78896", "client_assertion=REDACTED&client_id=c0ffee00-0000-4000-8000-000000000001"},
		{"encoded key", "client%5Fsecret=abc", "client%5Fsecret=REDACTED"},
		{"refresh", "refresh_token=0.AXwAv4j5&scope=x", "refresh_token=REDACTED&scope=x"},
		{"empty secret", "client_secret=&a=b", "client_secret=&a=b"},
		{"encoded dashes", "id=57dab8b1%2D894c%2D409a%2Db240%2Dbd8beae78896", "id=c0ffee00-0000-4000-8000-000000000001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(nil)
			if got := string(r.Body("application/x-www-form-urlencoded", []byte(tt.in))); got != tt.want {
				t.Errorf("form body\n got %s\nwant %s", got, tt.want)
			}
			if got := r.URL("/token?" + tt.in); got != "/token?"+tt.want {
				t.Errorf("query\n got %s\nwant /token?%s", got, tt.want)
			}
		})
	}
}

func TestBodyKinds(t *testing.T) {
	tests := []struct{ name, ct, in, want string }{
		{"invalid json", "application/json", `{"id":"57dab8b1-894c-409a-b240-bd8beae78896","displayName":"Heidi Steen",}`, `{"id":"c0ffee00-0000-4000-8000-000000000001","displayName":"Person 1",}`},
		{"truncated json", "application/json", `{"access_token":"abc`, `{"access_token":"REDACTED"`},
		{"text", "text/plain", "tenant 72f988bf-86f1-41af-91ab-2d7cd011db47", "tenant c0ffee00-0000-4000-8000-000000000001"},
		{"escapes", "application/json", `{"m":"a\/b \u0035\u0037dab8b1-894c-409a-b240-bd8beae78896"}`, `{"m":"a/b c0ffee00-0000-4000-8000-000000000001"}`},
		{"guid key", "application/json", `{"57dab8b1-894c-409a-b240-bd8beae78896":1}`, `{"c0ffee00-0000-4000-8000-000000000001":1}`},
		{"secret array", "application/json", `{"token":["a","b"],"roles":["x"]}`, `{"token":["REDACTED","REDACTED"],"roles":["x"]}`},
		{"unchanged", "application/json", `{"status":"running","n":1}`, `{"status":"running","n":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(nil)
			got := string(r.Body(tt.ct, []byte(tt.in)))
			if got != tt.want {
				t.Errorf("Body\n got %s\nwant %s", got, tt.want)
			}
			if gjson.Valid(tt.in) && !gjson.Valid(got) {
				t.Errorf("valid JSON became invalid: %s", got)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	const src = `{"keepPaths":["keep","list.#.id"],"keepHeaders":["X-Trace"],"redactPaths":["clientContext"],"redactPatterns":["EMP-[0-9]{4}"]}`
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPolicy(path)
	if err != nil {
		t.Fatal(err)
	}
	r := New(p)
	in := `{"keep":"57dab8b1-894c-409a-b240-bd8beae78896","list":[{"id":"17e3b46c-f61d-4f4d-9635-c626ef18e6ad","x":"17e3b46c-f61d-4f4d-9635-c626ef18e6ad"}],"clientContext":"my-context","note":"by EMP-1234"}`
	want := `{"keep":"57dab8b1-894c-409a-b240-bd8beae78896","list":[{"id":"17e3b46c-f61d-4f4d-9635-c626ef18e6ad","x":"c0ffee00-0000-4000-8000-000000000001"}],"clientContext":"Person 1","note":"by Person 2"}`
	if got := string(r.Body("application/json", []byte(in))); got != want {
		t.Errorf("Body\n got %s\nwant %s", got, want)
	}
	if got := r.Header(http.Header{"X-Trace": {"57dab8b1-894c-409a-b240-bd8beae78896"}}).Get("X-Trace"); got != "57dab8b1-894c-409a-b240-bd8beae78896" {
		t.Errorf("kept header = %s", got)
	}

	for name, bad := range map[string]string{
		"unknown field": `{"keepPath":["x"]}`,
		"bad pattern":   `{"redactPatterns":["("]}`,
		"not json":      `keep everything`,
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "p.json")
			if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadPolicy(p); err == nil || !strings.HasPrefix(err.Error(), "load policy") {
				t.Errorf("LoadPolicy(%s) error = %v", bad, err)
			}
		})
	}
	if _, err := LoadPolicy(filepath.Join(t.TempDir(), "missing.json")); !os.IsNotExist(errorsUnwrapAll(err)) {
		t.Errorf("missing file error = %v", err)
	}
}

func errorsUnwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestBearer(t *testing.T) {
	r := New(nil)
	tok := fixtureJWTs["JWT_NOTIFY"]
	tenant := r.Text(fixTenant) // issued first: 1
	h, c, life, ok := r.Bearer("Bearer " + tok)
	if !ok {
		t.Fatal("Bearer: not ok")
	}
	if h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] != "nOo3ZDrODXEK1jKWhXslHR_KXEg" {
		t.Errorf("header = %v", h)
	}
	if c["tid"] != tenant || c["tid"] != "c0ffee00-0000-4000-8000-000000000001" {
		t.Errorf("tid = %s, want the session's tenant pseudonym %s", c["tid"], tenant)
	}
	if c["iss"] != "https://api.botframework.com" || !IsPseudonym(c["aud"]) || !IsPseudonym(c["appid"]) {
		t.Errorf("claims = %v", c)
	}
	if life != time.Hour {
		t.Errorf("lifetime = %v", life)
	}
	for _, v := range c {
		if strings.Contains(v, "eyJ") || strings.Contains(tok, v) && len(v) > 20 {
			t.Errorf("claim value %q comes from the token itself", v)
		}
	}
	_, c2, _, ok := r.Bearer(fixtureJWTs["JWT_ID"])
	if !ok || c2["name"] != "Person 1" || c2["preferred_username"] != "user1@example.invalid" {
		t.Errorf("id token claims = %v", c2)
	}
	for _, bad := range []string{"", "Bearer", "abc.def", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0", "W10.W10.c2ln"} {
		if _, _, _, ok := r.Bearer(bad); ok {
			t.Errorf("Bearer(%q) ok", bad)
		}
	}
}

func TestFindIDsAndRender(t *testing.T) {
	s := "/calls/57DAB8B1894C409AB240BD8BEAE78896 28:8a34a46b-3d17-4adc-8dce-dc4e7d572698 {0FE0623F-D628-42ED-B4BD-8AC290072CC5} 4:+12345678901 Adele.V@Contoso.com u%40x.org %2B4915112345678"
	got := FindIDs(s)
	want := []Span{
		{Form: FormGUIDUndashedUpper, Key: "57dab8b1-894c-409a-b240-bd8beae78896"},
		{Form: FormGUIDLower, Key: "8a34a46b-3d17-4adc-8dce-dc4e7d572698"},
		{Form: FormGUIDBracedUpper, Key: "0fe0623f-d628-42ed-b4bd-8ac290072cc5"},
		{Form: FormPhone, Key: "12345678901"},
		{Form: FormEmail, Key: "adele.v@contoso.com"},
		{Form: FormEmailURLEncoded, Key: "u@x.org"},
		{Form: FormPhoneURLEncoded, Key: "4915112345678"},
	}
	if len(got) != len(want) {
		t.Fatalf("FindIDs = %+v", got)
	}
	for i, sp := range got {
		if sp.Form != want[i].Form || sp.Key != want[i].Key {
			t.Errorf("span %d = %+v, want %+v", i, sp, want[i])
		}
		if r := sp.Form.Render(sp.Key); r != s[sp.Start:sp.End] && sp.Form != FormEmail {
			t.Errorf("Render(%s, %s) = %q, want %q", sp.Form, sp.Key, r, s[sp.Start:sp.End])
		}
	}
	for _, p := range []string{"c0ffee00-0000-4000-8000-000000000001", "C0FFEE00000040008000000000000012", "{C0FFEE00-0000-4000-8000-000000000001}", "+55500000001", "user7@example.invalid", "Person 3", "bot1.example.invalid", "192.0.2.9", "2001:db8::3"} {
		if !IsPseudonym(p) {
			t.Errorf("IsPseudonym(%q) = false", p)
		}
	}
	for _, p := range []string{"57dab8b1-894c-409a-b240-bd8beae78896", "+5551234567", "+12345678901", "adele@contoso.com", "Person", "Person x", "bot.contoso.com", "52.114.32.18", "REDACTED", ""} {
		if IsPseudonym(p) {
			t.Errorf("IsPseudonym(%q) = true", p)
		}
	}
}

// TestConcurrent redacts from many goroutines: one id gets one pseudonym.
func TestConcurrent(t *testing.T) {
	r := New(nil)
	var wg sync.WaitGroup
	results := make([]string, 16)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b strings.Builder
			for k := range 50 {
				b.WriteString(r.Text(fmt.Sprintf("%08x-894c-409a-b240-bd8beae78896 Heidi Steen bot.contoso.com ", k)))
			}
			results[i] = b.String()
		}()
	}
	wg.Wait()
	for i := range results {
		if results[i] != results[0] {
			t.Fatalf("goroutine %d saw different pseudonyms", i)
		}
	}
	if n := len(r.Pseudonyms()); n != 50 {
		t.Errorf("%d pseudonyms issued, want 50", n)
	}
	if !regexp.MustCompile(`^(c0ffee00-0000-4000-8000-\d{12} Heidi Steen bot\.contoso\.com )+$`).MatchString(results[0]) {
		t.Errorf("unexpected output %.200s", results[0])
	}
}
