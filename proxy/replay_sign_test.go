package proxy_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
)

const signingKeyFile = "notify-signing-key.pem"

func TestLoadSignerCreatesKeyOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "graphvcr")
	s1, err := proxy.LoadSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	if s1.Path() != filepath.Join(dir, signingKeyFile) {
		t.Errorf("key path %s, want %s", s1.Path(), filepath.Join(dir, signingKeyFile))
	}
	fi, err := os.Stat(s1.Path())
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	before, err := os.ReadFile(s1.Path())
	if err != nil {
		t.Fatal(err)
	}
	key := readKey(t, s1.Path())
	if key.N.BitLen() != 2048 {
		t.Errorf("key of %d bits, want 2048", key.N.BitLen())
	}
	s2, err := proxy.LoadSigner(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	after, err := os.ReadFile(s2.Path())
	if err != nil {
		t.Fatal(err)
	}
	if s1.KeyID() != s2.KeyID() || string(before) != string(after) {
		t.Errorf("second load gave kid %s (first %s) or changed the file: the key must be read back, not replaced", s2.KeyID(), s1.KeyID())
	}
	if len(s1.KeyID()) != 43 { // base64url of a SHA-256 thumbprint
		t.Errorf("kid %q is not a SHA-256 thumbprint", s1.KeyID())
	}
}

func TestLoadSignerRefusesBadKeys(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, path string) // makes the key file bad
		wantErr string
	}{
		{"garbage", keyFileWith([]byte("not a key\n")), "no PEM block"},
		{"empty", keyFileWith(nil), "no PEM block"},
		{"truncated", keyFileWith([]byte("-----BEGIN PRIVATE KEY-----\nMIIEvQ==\n-----END PRIVATE KEY-----\n")), "parse key"},
		{"certificate", keyFileWith(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1, 2, 3}})), "not a private key"},
		{"ecdsa key", keyFileWith(pkcs8(ec)), "not an RSA key"},
		{"rsa 1024", keyFileWith(pkcs8(small)), "1024 bits"},
		{"a directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, "remove it to create a new key"},
		{"unreadable", func(t *testing.T, path string) {
			if os.Geteuid() == 0 || runtime.GOOS == "windows" {
				t.Skip("root (or Windows) reads a mode 000 file")
			}
			keyFileWith(pkcs8(small))(t, path)
			if err := os.Chmod(path, 0); err != nil {
				t.Fatal(err)
			}
		}, "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, signingKeyFile)
			tt.setup(t, path)
			before, _ := os.ReadFile(path)
			s, err := proxy.LoadSigner(dir)
			if err == nil {
				s.Close()
				t.Fatal("LoadSigner accepted a bad key file")
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "load signing key") {
				t.Errorf("error %q, want it to start with %q and contain %q", err, "load signing key", tt.wantErr)
			}
			after, _ := os.ReadFile(path)
			if string(before) != string(after) {
				t.Error("the bad key file was replaced: a key must never be silently renewed")
			}
		})
	}
	t.Run("no directory", func(t *testing.T) {
		if _, err := proxy.LoadSigner(""); err == nil {
			t.Error("LoadSigner(\"\") succeeded")
		}
	})
}

func keyFileWith(b []byte) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		t.Helper()
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// readKey reads the signing key file as a bot's attacker or auditor would.
func readKey(t testing.TB, path string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(*rsa.PrivateKey)
}

// newSigner loads a signer from a fresh directory, closed at cleanup.
func newSigner(t testing.TB) *proxy.Signer {
	t.Helper()
	s, err := proxy.LoadSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Pseudonyms of a recorded notification token.
const (
	recApp    = "c0ffee00-0000-4000-8000-000000000007"
	recTenant = "c0ffee00-0000-4000-8000-000000000002"
)

func recordedBearer() *cassette.Bearer {
	return &cassette.Bearer{
		Header:   map[string]string{"alg": "RS256", "kid": "recorded-kid", "typ": "JWT", "x5t": "recorded-x5t"},
		Claims:   map[string]string{"iss": "https://graph.microsoft.com", "aud": recApp, "appid": recApp, "tid": recTenant, "ver": "2.0", "roles": "a b"},
		Lifetime: 30 * time.Minute,
	}
}

func TestSignerClaims(t *testing.T) {
	s := newSigner(t)
	live := proxy.TokenRequest{Tenant: "3F2B1C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D", ClientID: "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", AppID: "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"}
	with := func(f func(b *cassette.Bearer)) *cassette.Bearer {
		b := recordedBearer()
		f(b)
		return b
	}
	tests := []struct {
		name     string
		bearer   *cassette.Bearer
		tok      proxy.TokenRequest
		want     map[string]any // claims besides iat, nbf, exp; nil = no token
		lifetime time.Duration
	}{
		{"recorded without a token", nil, live, nil, 0},
		{"recorded with a malformed token", &cassette.Bearer{Malformed: true}, live, nil, 0},
		{"bound to the bot's token request", recordedBearer(), live, map[string]any{
			"iss": "https://graph.microsoft.com", "aud": live.AppID, "appid": live.AppID,
			"tid": "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "ver": "2.0", "roles": []any{"a", "b"},
		}, 30 * time.Minute},
		{"no token request yet: as recorded", recordedBearer(), proxy.TokenRequest{}, map[string]any{
			"iss": "https://graph.microsoft.com", "aud": recApp, "appid": recApp, "tid": recTenant, "ver": "2.0", "roles": []any{"a", "b"},
		}, 30 * time.Minute},
		{"tenant named by domain keeps the recorded tid", recordedBearer(), proxy.TokenRequest{Tenant: "contoso.onmicrosoft.com", AppID: "x"}, map[string]any{
			"iss": "https://graph.microsoft.com", "aud": "x", "appid": "x", "tid": recTenant, "ver": "2.0", "roles": []any{"a", "b"},
		}, 30 * time.Minute},
		{"bot framework issuer, unknown lifetime", with(func(b *cassette.Bearer) {
			b.Claims = map[string]string{"iss": "https://api.botframework.com", "aud": recApp, "serviceurl": "https://smba.trafficmanager.net/"}
			b.Lifetime = 0
		}), live, map[string]any{
			"iss": "https://api.botframework.com", "aud": live.AppID, "serviceurl": "https://smba.trafficmanager.net/",
		}, time.Hour},
		{"no claims recorded", with(func(b *cassette.Bearer) { b.Claims = nil }), live, map[string]any{
			"iss": "https://graph.microsoft.com", "aud": live.AppID,
		}, 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			authz, err := s.Sign(&cassette.Event{Kind: cassette.KindNotification, Bearer: tt.bearer}, tt.tok)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if authz != "" {
					t.Errorf("Sign = %q, want no Authorization", authz)
				}
				return
			}
			raw, ok := strings.CutPrefix(authz, "Bearer ")
			if !ok {
				t.Fatalf("Sign = %q, want a Bearer token", authz)
			}
			claims := jwt.MapClaims{}
			tok, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return &readKey(t, s.Path()).PublicKey, nil },
				jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired())
			if err != nil {
				t.Fatalf("token does not verify with the key file's key: %v", err)
			}
			if want := map[string]any{"alg": "RS256", "typ": "JWT", "kid": s.KeyID()}; !reflect.DeepEqual(tok.Header, want) {
				t.Errorf("header %v, want %v", tok.Header, want)
			}
			iat, _ := claims.GetIssuedAt()
			nbf, _ := claims.GetNotBefore()
			exp, _ := claims.GetExpirationTime()
			if iat == nil || nbf == nil || exp == nil || iat.Before(before) || iat.After(time.Now()) || !nbf.Equal(iat.Time) || exp.Sub(iat.Time) != tt.lifetime {
				t.Errorf("iat %v nbf %v exp %v: want iat = nbf = now, exp = iat + %v", iat, nbf, exp, tt.lifetime)
			}
			for _, k := range []string{"iat", "nbf", "exp"} {
				delete(claims, k)
			}
			if !reflect.DeepEqual(map[string]any(claims), tt.want) {
				t.Errorf("claims %v\nwant   %v", claims, tt.want)
			}
		})
	}
}

func TestSignerReusesTokenForEqualClaims(t *testing.T) {
	s := newSigner(t)
	ev := &cassette.Event{Kind: cassette.KindNotification, Bearer: recordedBearer()}
	tok := proxy.TokenRequest{AppID: "app-1"}
	a, err := s.Sign(ev, tok)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Sign(ev, tok)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Sign(ev, proxy.TokenRequest{AppID: "app-2"})
	if err != nil {
		t.Fatal(err)
	}
	// a and b are equal unless a second boundary passed between them and a
	// background refresh already finished: then b is the newer token.
	if a != b {
		ca, cb := jwt.MapClaims{}, jwt.MapClaims{}
		_, _, _ = jwt.NewParser().ParseUnverified(strings.TrimPrefix(a, "Bearer "), ca)
		_, _, _ = jwt.NewParser().ParseUnverified(strings.TrimPrefix(b, "Bearer "), cb)
		if ca["aud"] != cb["aud"] || cb["iat"].(float64) <= ca["iat"].(float64) {
			t.Errorf("equal claims gave two unrelated tokens:\n%s\n%s", a, b)
		}
	}
	if a == c {
		t.Error("another audience got the same token")
	}
}
