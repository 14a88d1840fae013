package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/redact"
)

// warningLine matches graphvcr's warning about a listener open to the network.
var warningLine = regexp.MustCompile(`(?m)^graphvcr: warning: --(listen|notify-listen) (\S+) is not a loopback address: .*$`)

// TestListenerWarning starts record with listeners on every interface and
// checks for exactly one stderr line per such listener, naming the flag,
// and none for loopback addresses. Nothing connects to the listeners: they
// are only bound, to see the warning, and stopped at once.
func TestListenerWarning(t *testing.T) {
	tests := []struct {
		name  string
		env   []string
		args  []string
		wants []string // flag of each expected warning, in order
	}{
		{"loopback by default", nil, nil, nil},
		{"localhost", nil, []string{"--listen", "localhost:0", "--notify-listen", "[::1]:0"}, nil},
		{"graph listener on every interface", nil, []string{"--listen", "0.0.0.0:0"}, []string{"listen"}},
		{"notification listener on every interface", nil, []string{"--notify-listen", ":0"}, []string{"notify-listen"}},
		{"from the environment", []string{"GRAPHVCR_LISTEN=0.0.0.0:0", "GRAPHVCR_NOTIFY_LISTEN=0.0.0.0:0"}, nil, []string{"listen", "notify-listen"}},
		{"at log level warn the recorder's own warning only", []string{"GRAPHVCR_LOG_LEVEL=warn"}, []string{"--listen", "0.0.0.0:0"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			args := []string{"record", "--ca-dir", filepath.Join(dir, "ca"), "--cassette", filepath.Join(dir, "c.bolt"), "--bot", "http://127.0.0.1:9"}
			if !hasEnv(tt.env, "GRAPHVCR_LISTEN") && !hasArg(tt.args, "--listen") {
				args = append(args, "--listen", "127.0.0.1:0")
			}
			if !hasEnv(tt.env, "GRAPHVCR_NOTIFY_LISTEN") && !hasArg(tt.args, "--notify-listen") {
				args = append(args, "--notify-listen", "127.0.0.1:0")
			}
			p := start(t, tt.env, append(args, tt.args...)...)
			p.waitMatch(notifyListener)
			r := p.interrupt()
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			got := warningLine.FindAllStringSubmatch(r.stderr, -1)
			var flags []string
			for _, m := range got {
				flags = append(flags, m[1])
			}
			if strings.Join(flags, ",") != strings.Join(tt.wants, ",") {
				t.Errorf("warnings for %v, want %v; stderr:\n%s", flags, tt.wants, r.stderr)
			}
			if tt.wants != nil && strings.Count(r.stderr, "\n") != len(tt.wants) {
				t.Errorf("stderr has more than the warnings:\n%s", r.stderr)
			}
			if strings.Contains(tt.name, "log level warn") && strings.Count(r.stderr, "non-loopback") != 1 {
				t.Errorf("want exactly one warning line from the recorder at level warn:\n%s", r.stderr)
			}
		})
	}
	t.Run("replay", func(t *testing.T) {
		p := start(t, nil, "replay", "--cassette", fixture(t), "--listen", "0.0.0.0:0", "--bot", "http://127.0.0.1:9")
		p.waitMatch(replayListener)
		r := p.interrupt()
		if m := warningLine.FindAllString(r.stderr, -1); len(m) != 1 {
			t.Errorf("want one warning line, stderr:\n%s", r.stderr)
		}
	})
}

func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

func hasArg(args []string, flag string) bool {
	for _, a := range args {
		if a == flag || strings.HasPrefix(a, flag+"=") {
			return true
		}
	}
	return false
}

// TestCAKeyNeverLogged runs record and replay with --tls at --log-level
// debug, serving requests, and checks the CA key file is 0600 and no line
// of its PEM body reaches stdout or stderr.
func TestCAKeyNeverLogged(t *testing.T) {
	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	rec := start(t, nil, "--log-level", "debug", "record", "--tls", "--ca-dir", caDir,
		"--cassette", filepath.Join(dir, "c.bolt"), "--listen", "127.0.0.1:0", "--notify-listen", "127.0.0.1:0",
		"--upstream", "http://127.0.0.1:9", "--bot", "http://127.0.0.1:9")
	base := rec.waitMatch(graphListener)
	client := caClient(t, caDir)
	for _, path := range []string{"/__graphvcr/health", "/v1.0/communications/calls"} {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s over TLS: %v", path, err)
		}
		resp.Body.Close()
	}
	client.CloseIdleConnections()
	r1 := rec.interrupt()

	rep := start(t, nil, "--log-level", "debug", "replay", "--tls", "--ca-dir", caDir, "--cassette", fixture(t),
		"--listen", "127.0.0.1:0", "--bot", "http://127.0.0.1:9", "--speed", "0")
	base = rep.waitMatch(replayListener)
	resp, err := client.Get(base + "/__graphvcr/report")
	if err != nil {
		t.Fatalf("GET report over TLS: %v", err)
	}
	resp.Body.Close()
	client.CloseIdleConnections()
	r2 := rep.interrupt()

	keyPath := filepath.Join(caDir, "ca-key.pem")
	fi, err := os.Stat(keyPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v; want 0600", keyPath, err, fi.Mode().Perm())
	}
	raw, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(raw)
	if blk == nil {
		t.Fatal("ca-key.pem holds no PEM block")
	}
	logs := r1.stdout + r1.stderr + r2.stdout + r2.stderr
	if !strings.Contains(r1.stderr, "level=") {
		t.Errorf("--log-level debug logged nothing: the check would prove nothing\n%s", r1.stderr)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if len(line) >= 16 && !strings.HasPrefix(line, "-----") && strings.Contains(logs, line) {
			t.Fatalf("a line of the CA key's PEM body appears in the output: %.16s…", line)
		}
	}
	if strings.Contains(logs, "PRIVATE KEY") {
		t.Error("the output mentions a PRIVATE KEY block")
	}
}

var (
	metadataLine = regexp.MustCompile(`^notification metadata \(the bot's OpenID configuration URL\): (\S+)$`)
	tokensLine   = regexp.MustCompile(`^notification tokens: (RS256, kid \S+, iss https://graph\.microsoft\.com, aud .+)$`)
)

// TestReplayPrintsSigningMetadata checks that replay creates the signing key
// beside the CA (mode 0600), says at start what it signs with and where the
// metadata is, and serves that metadata.
func TestReplayPrintsSigningMetadata(t *testing.T) {
	path := fixture(t)
	caDir := filepath.Join(t.TempDir(), "ca")
	for _, tt := range []struct {
		name, appID, wantAud string
	}{
		{"audience from the token request", "", "aud the client_id of the bot's token request"},
		{"audience from --app-id", "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "aud 7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"replay", "--cassette", path, "--listen", "127.0.0.1:0", "--bot", "http://127.0.0.1:1", "--ca-dir", caDir}
			if tt.appID != "" {
				args = append(args, "--app-id", tt.appID)
			}
			rep := start(t, nil, args...)
			base := rep.waitMatch(replayListener)
			signing := rep.waitMatch(tokensLine)
			metadata := rep.waitMatch(metadataLine)
			if !strings.HasSuffix(signing, tt.wantAud) {
				t.Errorf("signing line %q, want it to end with %q", signing, tt.wantAud)
			}
			if metadata != base+"/__graphvcr/openid/.well-known/OpenIdConfiguration" {
				t.Errorf("metadata URL %s, want it on the listener %s", metadata, base)
			}
			resp, err := http.Get(metadata)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Issuer  string `json:"issuer"`
				JWKSURI string `json:"jwks_uri"`
			}
			err = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			http.DefaultClient.CloseIdleConnections()
			if err != nil || resp.StatusCode != http.StatusOK || doc.Issuer != "https://graph.microsoft.com" || doc.JWKSURI != base+"/__graphvcr/openid/keys" {
				t.Errorf("metadata: status %d, %+v, %v", resp.StatusCode, doc, err)
			}
			r := rep.interrupt()
			if r.code != 0 {
				t.Errorf("exit %d after Ctrl-C, stderr %q", r.code, r.stderr)
			}
			fi, err := os.Stat(filepath.Join(caDir, "notify-signing-key.pem"))
			if err != nil {
				t.Fatal(err)
			}
			if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
				t.Errorf("signing key mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

// TestReplayBadSigningKey checks that a signing key file that can not be
// used stops replay with one line and exit 2, and is left as it was.
func TestReplayBadSigningKey(t *testing.T) {
	path := fixture(t)
	tests := []struct {
		name  string
		setup func(t *testing.T, keyPath string)
		want  string
	}{
		{"corrupt", func(t *testing.T, keyPath string) {
			if err := os.WriteFile(keyPath, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "remove it to create a new key"},
		{"unreadable (a directory)", func(t *testing.T, keyPath string) {
			if err := os.Mkdir(keyPath, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "fix its permissions, or remove it"},
		{"unreadable (mode 000)", func(t *testing.T, keyPath string) {
			if os.Geteuid() == 0 || runtime.GOOS == "windows" {
				t.Skip("root (or Windows) reads a mode 000 file")
			}
			if err := os.WriteFile(keyPath, []byte("x"), 0); err != nil {
				t.Fatal(err)
			}
		}, "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			caDir := t.TempDir()
			keyPath := filepath.Join(caDir, "notify-signing-key.pem")
			tt.setup(t, keyPath)
			before, _ := os.ReadFile(keyPath)
			r := graphvcr(t, nil, "replay", "--cassette", path, "--listen", "127.0.0.1:0", "--bot", "http://127.0.0.1:1", "--ca-dir", caDir)
			wantFailure(t, r, 2, "load signing key", keyPath, tt.want)
			if r.stdout != "" {
				t.Errorf("replay started anyway: %s", r.stdout)
			}
			if after, _ := os.ReadFile(keyPath); string(after) != string(before) {
				t.Error("the key file was replaced")
			}
		})
	}
}

// TestNoOriginalsInLogs records scenarios of the sample bot through the
// real binary at the default log level (and at warn) and checks that no
// original value of the session (ids, phone numbers, names, secret, tokens,
// callback host) appears in what graphvcr printed.
func TestNoOriginalsInLogs(t *testing.T) {
	for _, level := range []string{"", "warn"} {
		t.Run("level "+level, func(t *testing.T) {
			dir := t.TempDir()
			var env []string
			if level != "" {
				env = []string{"GRAPHVCR_LOG_LEVEL=" + level}
			}
			g, bot, rec := recordSampleBot(t, graphtest.GraphOptions{Seed: 11, DelayScale: 0}, 12, env,
				"--ca-dir", filepath.Join(dir, "ca"), "--cassette", filepath.Join(dir, "s.bolt"))

			orig := map[string]string{
				g.TenantID(): "tenant id", g.ClientID(): "client id", demoSecret: "client secret",
				"bot.contoso.com": "callback host",
			}
			for _, s := range []graphtest.Scenario{graphtest.SingleInvite, graphtest.PSTNInvite, graphtest.ReplaceCall, graphtest.FailedInvite} {
				res := runBot(t, bot, s)
				ids := bot.IDs(s)
				for _, v := range append([]string{ids.ClientContext, ids.Target, ids.Phone, ids.ReplacedCallID, res.CallID, res.OperationID}, ids.Users...) {
					orig[v] = string(s) + " id"
				}
				for _, x := range res.Requests {
					collectOriginals(orig, string(s)+" "+x.URL, x.URL, x.RequestBody, x.Body)
					for _, vs := range x.Header {
						collectOriginals(orig, string(s)+" answer header", strings.Join(vs, " "))
					}
				}
				for _, n := range res.Received {
					collectOriginals(orig, string(s)+" notification", n.Body, n.Header.Get("Authorization"))
				}
			}
			r := rec.interrupt()
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			out := strings.ToLower(r.stdout + "\n" + r.stderr)
			undashed := strings.ReplaceAll(out, "-", "")
			if !strings.Contains(r.stdout, "/participants/invite") {
				t.Fatalf("no progress lines: the check would prove nothing\n%s", r.stdout)
			}
			for v, what := range orig {
				if len(v) < 6 || redact.IsPseudonym(v) {
					continue
				}
				lv := strings.ToLower(v)
				if strings.Contains(out, lv) || (guidLike.MatchString(v) && strings.Contains(undashed, strings.ReplaceAll(lv, "-", ""))) {
					t.Errorf("graphvcr printed an original %s: %q", what, v)
				}
			}
			t.Logf("%d original values checked against %d bytes of output", len(orig), len(out))
		})
	}
}

var (
	guidLike    = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b`)
	phoneLike   = regexp.MustCompile(`\+\d{8,15}`)
	displayName = regexp.MustCompile(`"displayName"\s*:\s*"([^"]+)"`)
	jwtLike     = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)
)

// collectOriginals adds every id, phone number, display name and token in
// texts (strings or byte slices) to orig.
func collectOriginals(orig map[string]string, what string, texts ...any) {
	for _, x := range texts {
		var s string
		switch x := x.(type) {
		case string:
			s = x
		case []byte:
			s = string(x)
		}
		for _, m := range guidLike.FindAllString(s, -1) {
			orig[m] = what + " guid"
		}
		for _, m := range phoneLike.FindAllString(s, -1) {
			orig[m] = what + " phone"
		}
		for _, m := range displayName.FindAllStringSubmatch(s, -1) {
			orig[m[1]] = what + " display name"
		}
		for _, m := range jwtLike.FindAllString(s, -1) {
			orig[m] = what + " token"
		}
	}
}

// caPool returns a TLS config trusting the CA certificate in caDir.
func caPool(t *testing.T, caDir string) *tls.Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(caDir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("ca.pem holds no certificate")
	}
	return &tls.Config{RootCAs: pool}
}

// caClient returns a client trusting the CA in caDir.
func caClient(t *testing.T, caDir string) *http.Client {
	t.Helper()
	ca := caPool(t, caDir)
	tr := &http.Transport{TLSClientConfig: ca, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
