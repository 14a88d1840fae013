package proxy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
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
	"github.com/graphvcr/graphvcr/proxy/graphtest"
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

// Ids of the replaying bot: another tenant and application than recorded.
const (
	signTenant = "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	signApp    = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d"
	otherApp   = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"
)

// TestSignedNotificationsEndToEnd records every scenario with a bot that
// validates notification tokens, then replays it to such a bot whose
// metadata URL points at graphvcr: every notification must be accepted.
// Replayed with another app id, the same bot must reject them, which proves
// it validates.
func TestSignedNotificationsEndToEnd(t *testing.T) {
	signer, err := proxy.LoadSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(signer.Close)
	// The bot's metadata URL: graphvcr's own document, or Microsoft's
	// publisher reaching graphvcr by its host name (the bot's dialer sends
	// every host to the replayer).
	metadataURLs := []string{
		"http://replay.graphvcr.test:8080/__graphvcr/openid/.well-known/OpenIdConfiguration",
		"http://api.aps.skype.com/v1/.well-known/OpenIdConfiguration",
		"http://login.botframework.com/v1/.well-known/openidconfiguration",
	}
	for i, s := range graphtest.Scenarios() {
		t.Run(string(s), func(t *testing.T) {
			t.Parallel()
			path := recordValidated(t, s, int64(300+i))
			metadata := metadataURLs[i%len(metadataURLs)]

			t.Run("replay accepted", func(t *testing.T) {
				res, rep := replayValidated(t, path, s, signer, "", metadata, int64(700+i))
				if err := res.Err(); err != nil {
					t.Errorf("the bot's checks failed in replay: %v", err)
				}
				if len(rep.Notifications) == 0 {
					t.Fatal("no notification delivered")
				}
				for _, d := range rep.Notifications {
					if d.Status/100 != 2 {
						t.Errorf("notification #%d %s: bot answered %d (%s), want 2xx", d.Seq, d.Path, d.Status, d.Error)
					}
				}
				if rep.Diverged() || len(rep.Unused) > 0 || len(rep.Unmatched) > 0 {
					t.Errorf("replay diverged: unused %v, unmatched %s", rep.Unused, mustJSON(t, rep.Unmatched))
				}
				for _, in := range res.Received {
					checkReplayedToken(t, signer, in.Header.Get("Authorization"))
				}
			})
			t.Run("replay with another app id rejected", func(t *testing.T) {
				rejectedWithAppID(t, path, s, signer, metadata)
			})
		})
	}
}

// checkReplayedToken checks the claims of a token the bot accepted: bound
// to the replaying bot's tenant and app, graphvcr's kid.
func checkReplayedToken(t *testing.T, signer *proxy.Signer, authz string) {
	t.Helper()
	raw, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		t.Errorf("notification without a bearer token: %q", authz)
		return
	}
	claims := jwt.MapClaims{}
	tok, _, err := jwt.NewParser().ParseUnverified(raw, claims)
	if err != nil {
		t.Errorf("replayed token: %v", err)
		return
	}
	if tok.Header["kid"] != signer.KeyID() || tok.Header["alg"] != "RS256" {
		t.Errorf("token header %v, want alg RS256 and kid %s", tok.Header, signer.KeyID())
	}
	for k, want := range map[string]string{"aud": signApp, "tid": signTenant, "appid": signApp, "iss": "https://graph.microsoft.com"} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %s", k, claims[k], want)
		}
	}
	iat, err1 := claims.GetIssuedAt()
	exp, err2 := claims.GetExpirationTime()
	if err1 != nil || err2 != nil || iat == nil || exp == nil || exp.Sub(iat.Time) != time.Hour || time.Since(iat.Time) > time.Minute {
		t.Errorf("iat %v, exp %v: want a fresh token with the recorded hour of lifetime", iat, exp)
	}
}

// recordValidated records scenario s through a Recorder, the bot validating
// every notification against the simulator's metadata (fetched through the
// recorder, so the cassette holds those requests too). It checks every
// notification was accepted and that the cassette holds no token, signature
// or original tenant or app id, and returns its path.
func recordValidated(t *testing.T, s graphtest.Scenario, seed int64) string {
	t.Helper()
	rs := recordScenarioWith(t, s, seed, scenarioOptions{delayScale: 0.02, validating: true})
	path := rs.path

	sent := rs.sent
	if len(sent) == 0 {
		t.Fatal("the simulator sent no notification")
	}
	o := originals{}
	for _, v := range []string{rs.tenant, rs.clientID} {
		o[strings.ToLower(strings.ReplaceAll(v, "-", ""))] = "tenant or app guid"
		o[v] = "tenant or app guid"
	}
	for _, n := range sent {
		if n.Status != http.StatusAccepted {
			t.Errorf("the validating bot answered %d to the simulator's notification %s, want 202", n.Status, n.Path)
		}
		authz := n.Header.Get("Authorization")
		parts := strings.Split(strings.TrimPrefix(authz, "Bearer "), ".")
		if len(parts) != 3 {
			t.Fatalf("the simulator sent no JWT: %q", authz)
		}
		o[authz] = "bearer token"
		o[parts[0]+"."+parts[1]] = "jwt"
		o[parts[2]] = "jwt signature"
	}
	assertNoOriginals(t, path, o)

	bearers := 0
	for _, ev := range readEvents(t, path) {
		if ev.Kind == cassette.KindNotification && ev.Bearer != nil && !ev.Bearer.Malformed && ev.Bearer.Claims["iss"] == "https://graph.microsoft.com" {
			bearers++
		}
	}
	if bearers != len(sent) {
		t.Fatalf("cassette holds %d notification bearers, want %d", bearers, len(sent))
	}
	return path
}

// startValidatingReplay starts a Replayer signing with signer (appID
// overriding the audience when set) and a validating bot of another tenant
// and app whose metadata URL is metadata, every host dialled to the replayer.
func startValidatingReplay(t *testing.T, path string, signer *proxy.Signer, appID, metadata string, seed int64) (*proxy.Replayer, *graphtest.Bot) {
	t.Helper()
	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	var repAddr graphtest.LateDialer
	botTr := &http.Transport{DisableCompression: true, DialContext: repAddr.DialContext}
	t.Cleanup(botTr.CloseIdleConnections)
	base := "http://replay.graphvcr.test:8080"
	bot := graphtest.NewBot(graphtest.BotOptions{
		GraphURL:        base,
		TokenURL:        base + "/" + signTenant + "/oauth2/v2.0/token",
		ClientID:        signApp,
		ClientSecret:    "no secret is needed offline",
		Seed:            seed,
		HTTPClient:      &http.Client{Transport: botTr, Timeout: 20 * time.Second},
		WaitTimeout:     10 * time.Second,
		OpenIDConfigURL: metadata,
	})
	t.Cleanup(bot.Close)
	rep, stop := startReplayer(t, proxy.ReplayConfig{
		Bot: bot.URL, Cassette: rd, Signer: signer, AppID: appID,
	})
	t.Cleanup(stop)
	repAddr.Set(rep.URL())
	return rep, bot
}

// replayValidated replays a cassette at speed 0 to a validating bot and
// waits until the replay is done.
func replayValidated(t *testing.T, path string, s graphtest.Scenario, signer *proxy.Signer, appID, metadata string, seed int64) (*graphtest.Result, proxy.Report) {
	t.Helper()
	rep, bot := startValidatingReplay(t, path, signer, appID, metadata, seed)
	res, err := bot.Run(t.Context(), s)
	if err != nil {
		t.Fatalf("replay %s: %v (report %s)", s, err, mustJSON(t, rep.Report()))
	}
	select {
	case <-rep.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("replay %s: not done after 10 s: %s", s, mustJSON(t, rep.Report()))
	}
	return res, rep.Report()
}

// rejectedWithAppID replays with an audience that is not the bot's app id
// and checks the bot answers 401 to the first notification.
func rejectedWithAppID(t *testing.T, path string, s graphtest.Scenario, signer *proxy.Signer, metadata string) {
	t.Helper()
	rep, bot := startValidatingReplay(t, path, signer, otherApp, metadata, 5)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := bot.Run(ctx, s)
		done <- err
	}()
	// Poll the report until a notification was answered.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	var delivered []proxy.Delivery
	for len(delivered) == 0 {
		select {
		case <-deadline:
			t.Fatalf("no notification delivered after 10 s: %s", mustJSON(t, rep.Report()))
		case <-tick.C:
			delivered = rep.Report().Notifications
		}
	}
	for _, d := range delivered {
		if d.Status != http.StatusUnauthorized {
			t.Errorf("notification #%d signed for app %s: the bot answered %d (%s), want 401", d.Seq, otherApp, d.Status, d.Error)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("bot run: %v, want it cancelled while waiting for a notification it rejected", err)
	}
}
