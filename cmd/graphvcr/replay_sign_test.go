package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

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
