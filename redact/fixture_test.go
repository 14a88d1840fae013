package redact

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"testing"
)

// fixture is one HTTP message from testdata: a start line ("POST url" or
// "HTTP/1.1 200 OK"), headers and a body; .json fixtures are a body alone.
type fixture struct {
	start  string
	header http.Header
	body   []byte
}

// jwtFor builds a real-looking signed JWT (RS256-sized signature) whose
// claims carry the tenant, app and user ids of the fixtures.
func jwtFor(name string, claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "nOo3ZDrODXEK1jKWhXslHR_KXEg", "typ": "JWT", "x5t": "nOo3ZDrODXEK1jKWhXslHR_KXEg"})
	c, _ := json.Marshal(claims)
	sig := make([]byte, 0, 256)
	for seed := []byte(name); len(sig) < 256; {
		s := sha256.Sum256(seed)
		sig = append(sig, s[:]...)
		seed = s[:]
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(c) + "." + enc.EncodeToString(sig)
}

const (
	fixTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	fixApp    = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"
	fixUser   = "550fae72-d251-43ec-868c-373732c2704f"
)

// fixtureJWTs are the tokens substituted for {{JWT_*}} in testdata.
var fixtureJWTs = map[string]string{
	"JWT_NOTIFY": jwtFor("notify", map[string]any{
		"aud": fixApp, "iss": "https://api.botframework.com", "iat": 1714644000, "nbf": 1714644000, "exp": 1714647600,
		"tid": fixTenant, "appid": "00000003-0000-0000-c000-000000000000", "serviceurl": "https://smba.trafficmanager.net/amer/",
	}),
	"JWT_ACCESS": jwtFor("access", map[string]any{
		"aud": "https://graph.microsoft.com", "iss": "https://sts.windows.net/" + fixTenant + "/", "iat": 1714644000, "nbf": 1714644000,
		"exp": 1714647900, "tid": fixTenant, "appid": fixApp, "oid": fixUser, "roles": []string{"Calls.Initiate.All", "Calls.JoinGroupCall.All"},
		"uti": "k2l6Qm9sZ0WZ3b7Sh1sAAA", "ver": "1.0", "idtyp": "app",
	}),
	"JWT_ASSERT": jwtFor("assert", map[string]any{
		"aud": "https://login.microsoftonline.com/" + fixTenant + "/oauth2/v2.0/token", "iss": fixApp, "sub": fixApp,
		"jti": "8e7d6c5b-4a39-4281-9706-f5e4d3c2b1a0", "exp": 1714644600, "nbf": 1714644000,
	}),
	"JWT_ID": jwtFor("id", map[string]any{
		"aud": fixApp, "iss": "https://login.microsoftonline.com/" + fixTenant + "/v2.0", "iat": 1714644000, "exp": 1714647600,
		"name": "Adele Vance", "preferred_username": "AdeleV@contoso.onmicrosoft.com", "oid": fixUser, "tid": fixTenant,
	}),
}

// fixtureSecrets are values from testdata that are secrets or personal data
// and must not survive redaction, beyond the ids collectOriginals finds.
var fixtureSecrets = []string{
	"AAEAAQBVY2MzZmY1YS1lMTQ0LTQ5YjctODk0ZS1kNmM3OWM1ZGY0OTEAAAA8xZ9kq2Lw3Q", // meeting token
	"ab%7Ecd.Q8Q~x7Y-secretValue1234567", "secretValue1234567",               // client secret, raw and decoded
	"0.AXwAv4j5cvGGr0GRqy180BHbR3Jl8B6pFwxKs2QW", "AgABAAEAAAD--DLA3VO7QrddgJg7WevrAgDs", // refresh token
	"AkPx7Lq0vS9Hn2yGzQ1mYw8", "estsfd", // cookies
	"Zm9vYmFyYmF6cXV4cXV1eA", // SAS-style sig in a URL
	"Heidi Steen", "Test User", "Test Bot", "Adele Vance", "Contoso Calling Bot", "Reception", "Calling Bot",
	"AdeleV", "adele.vance", "contoso", "Contoso",
	"52.114.32.18", "2603:1063:2:3::a", "10.0.12.7",
	"4255551234", "2345678901",
}

// readFixture parses a testdata file, substituting the fixture JWTs.
func readFixture(t testing.TB, path string) fixture {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range fixtureJWTs {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if strings.HasSuffix(path, ".json") {
		return fixture{body: []byte(s)}
	}
	br := bufio.NewReader(strings.NewReader(s))
	start, _ := br.ReadString('\n')
	tp := textproto.NewReader(br)
	mh, err := tp.ReadMIMEHeader()
	if err != nil && len(mh) == 0 && !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("%s: headers: %v", path, err)
	}
	rest := new(bytes.Buffer)
	_, _ = rest.ReadFrom(br)
	return fixture{start: strings.TrimRight(start, "\r\n"), header: http.Header(mh), body: rest.Bytes()}
}

// redactFixture redacts a fixture the way the recorder does: URL, headers, body.
func redactFixture(r *Redactor, f fixture) fixture {
	out := fixture{header: r.Header(f.header)}
	if method, u, ok := strings.Cut(f.start, " "); ok && !strings.HasPrefix(f.start, "HTTP/") {
		out.start = method + " " + r.URL(u)
	} else {
		out.start = f.start
	}
	out.body = r.Body(f.header.Get("Content-Type"), f.body)
	return out
}

// render writes a fixture back as text, headers sorted.
func (f fixture) render() []byte {
	var b bytes.Buffer
	if f.start != "" {
		b.WriteString(f.start + "\n")
		keys := make([]string, 0, len(f.header))
		for k := range f.header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			for _, v := range f.header[k] {
				b.WriteString(k + ": " + v + "\n")
			}
		}
		b.WriteString("\n")
	}
	b.Write(f.body)
	return b.Bytes()
}
