package proxy_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/proxy"
)

const botFrameworkIssuer = "https://api.botframework.com"

// signedCassette holds a recorded request for Graph's notification metadata
// and three notifications posted at session start: one with a token issued
// by the Bot Framework, one without a token, one with a malformed token.
func signedCassette(t *testing.T) string {
	t.Helper()
	b := recordedBearer()
	b.Claims["iss"] = botFrameworkIssuer
	notification := func(path string, bearer *cassette.Bearer) *cassette.Event {
		return &cassette.Event{Kind: cassette.KindNotification,
			Request:  cassette.Request{Method: "POST", URL: "https://bot1.example.invalid" + path, Header: http.Header{"Authorization": {"Bearer REDACTED"}, "Content-Type": {"application/json"}}, Body: []byte(`{"value":[]}`)},
			Response: cassette.Response{Status: 202}, Bearer: bearer}
	}
	evs := []*cassette.Event{
		{Kind: cassette.KindGraph, Request: cassette.Request{Method: "GET", URL: "https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration"},
			Response: cassette.Response{Status: 200, Body: []byte(`{"issuer":"https://api.botframework.com","jwks_uri":"https://api.aps.skype.com/v1/keys"}`)}},
		notification("/api/calls/signed", b),
		notification("/api/calls/unsigned", nil),
		notification("/api/calls/malformed", &cassette.Bearer{Malformed: true}),
	}
	return cassettetest.WriteTemp(t, cassette.Meta{Upstream: proxy.DefaultUpstream}, evs, recApp, recTenant)
}

// posted is a notification as the bot got it.
type posted struct{ path, authorization string }

// startSignedReplay replays signedCassette to a bot that records what it
// gets, and returns the replayer, an HTTP client trusting it and the bot's
// notifications.
func startSignedReplay(t *testing.T, useTLS bool, signer *proxy.Signer) (*proxy.Replayer, *http.Client, <-chan posted) {
	t.Helper()
	got := make(chan posted, 10)
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- posted{r.URL.Path, r.Header.Get("Authorization")}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(bot.Close)
	rd, err := cassette.Open(signedCassette(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	cfg := proxy.ReplayConfig{Bot: bot.URL, Cassette: rd, Signer: signer, AppID: signApp, TLS: useTLS}
	tr := replayTransport(t, &cfg)
	t.Cleanup(tr.CloseIdleConnections)
	rep, stop := startReplayer(t, cfg)
	t.Cleanup(stop)
	return rep, &http.Client{Transport: tr, Timeout: 5 * time.Second}, got
}

// getJSON fetches a JSON document, with host as the Host header when set.
func getJSON(t *testing.T, c *http.Client, method, url, host string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, b := roundTrip(t, c, req)
	var doc map[string]any
	if resp.StatusCode == http.StatusOK && method != http.MethodHead {
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v: %s", url, err, b)
		}
	}
	return resp.StatusCode, doc
}

// keyfuncFromJWKS fetches a JWKS over HTTP and builds the RSA keys from
// their n and e, as a validating bot does; the keyfunc picks one by kid.
func keyfuncFromJWKS(t *testing.T, c *http.Client, url string) jwt.Keyfunc {
	t.Helper()
	status, doc := getJSON(t, c, http.MethodGet, url, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d", url, status)
	}
	keys := map[string]*rsa.PublicKey{}
	list, _ := doc["keys"].([]any)
	for _, k := range list {
		m, _ := k.(map[string]any)
		n, err1 := base64.RawURLEncoding.DecodeString(fmt.Sprint(m["n"]))
		e, err2 := base64.RawURLEncoding.DecodeString(fmt.Sprint(m["e"]))
		if m["kty"] != "RSA" || m["use"] != "sig" || m["alg"] != "RS256" || err1 != nil || err2 != nil {
			t.Fatalf("JWKS key %v: want an RSA signing key with base64url n and e", m)
		}
		keys[fmt.Sprint(m["kid"])] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(keys) != 1 {
		t.Fatalf("JWKS %v: want one key", doc)
	}
	return func(tok *jwt.Token) (any, error) {
		if k, ok := keys[fmt.Sprint(tok.Header["kid"])]; ok {
			return k, nil
		}
		return nil, errors.New("unknown kid")
	}
}

// TestSignedTokensVerifyAgainstServedJWKS is the JWT library check: a token
// graphvcr signs verifies with golang-jwt against the JWKS the replay
// listener serves; alg none, expired and wrong-key tokens fail that check.
func TestSignedTokensVerifyAgainstServedJWKS(t *testing.T) {
	signer := newSigner(t)
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			rep, c, got := startSignedReplay(t, useTLS, signer)
			wantScheme := "http://"
			if useTLS {
				wantScheme = "https://"
			}
			if u := rep.OpenIDConfigURL(); u != rep.URL()+"/__graphvcr/openid/.well-known/OpenIdConfiguration" || !strings.HasPrefix(u, wantScheme) {
				t.Errorf("OpenIDConfigURL %s", u)
			}
			status, cfg := getJSON(t, c, http.MethodGet, rep.OpenIDConfigURL(), "")
			if status != http.StatusOK {
				t.Fatalf("openid configuration: %d", status)
			}
			if cfg["issuer"] != botFrameworkIssuer || rep.Issuer() != botFrameworkIssuer {
				t.Errorf("issuer %v (Issuer() %s), want the recorded %s", cfg["issuer"], rep.Issuer(), botFrameworkIssuer)
			}
			jwksURI := fmt.Sprint(cfg["jwks_uri"])
			if jwksURI != rep.URL()+"/__graphvcr/openid/keys" {
				t.Errorf("jwks_uri %s, want %s", jwksURI, rep.URL()+"/__graphvcr/openid/keys")
			}
			keyfunc := keyfuncFromJWKS(t, c, jwksURI)
			verify := func(raw string) error {
				_, err := jwt.Parse(raw, keyfunc, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(botFrameworkIssuer),
					jwt.WithAudience(signApp), jwt.WithExpirationRequired())
				return err
			}

			byPath := map[string]string{}
			for range 3 {
				select {
				case p := <-got:
					byPath[p.path] = p.authorization
				case <-time.After(5 * time.Second):
					t.Fatalf("notifications the bot got: %v, want 3", byPath)
				}
			}
			if a := byPath["/api/calls/unsigned"]; a != "" {
				t.Errorf("notification recorded without a token got Authorization %q", a)
			}
			if a := byPath["/api/calls/malformed"]; a != "" {
				t.Errorf("notification recorded with a malformed token got Authorization %q", a)
			}
			signed, ok := strings.CutPrefix(byPath["/api/calls/signed"], "Bearer ")
			if !ok {
				t.Fatalf("signed notification: Authorization %q", byPath["/api/calls/signed"])
			}
			if err := verify(signed); err != nil {
				t.Errorf("graphvcr's token does not verify against the served JWKS: %v", err)
			}

			key := readKey(t, signer.Path())
			other, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			claims := func(exp time.Time) jwt.MapClaims {
				return jwt.MapClaims{"iss": botFrameworkIssuer, "aud": signApp, "iat": now.Add(-2 * time.Hour).Unix(), "exp": exp.Unix()}
			}
			sign := func(m jwt.SigningMethod, k any, c jwt.MapClaims) string {
				tok := jwt.NewWithClaims(m, c)
				tok.Header["kid"] = signer.KeyID()
				s, err := tok.SignedString(k)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			bad := []struct{ name, token string }{
				{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(now.Add(time.Hour)))},
				{"expired", sign(jwt.SigningMethodRS256, key, claims(now.Add(-time.Minute)))},
				{"wrong key", sign(jwt.SigningMethodRS256, other, claims(now.Add(time.Hour)))},
				{"signature of another token", strings.Join(append(strings.Split(sign(jwt.SigningMethodRS256, key, claims(now.Add(2*time.Hour))), ".")[:2], strings.Split(signed, ".")[2]), ".")},
			}
			// The check itself accepts a good token made the same way.
			if err := verify(sign(jwt.SigningMethodRS256, key, claims(now.Add(time.Hour)))); err != nil {
				t.Fatalf("the check rejects a good token: %v", err)
			}
			for _, b := range bad {
				if err := verify(b.token); err == nil {
					t.Errorf("%s: token accepted", b.name)
				}
			}
		})
	}
}

// TestMetadataEndpoints checks what the replay listener answers for the
// notification metadata: Microsoft's publishers by host name and by path,
// graphvcr's own, and that none of it is a divergence.
func TestMetadataEndpoints(t *testing.T) {
	signer := newSigner(t)
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			rep, c, _ := startSignedReplay(t, useTLS, signer)
			base := rep.URL()
			scheme := strings.SplitAfter(base, "://")[0]
			own := strings.TrimPrefix(base, scheme)
			tests := []struct {
				name, method, path, host string
				status                   int
				jwksURI                  string // for a configuration
			}{
				{"aps by host", "GET", "/v1/.well-known/OpenIdConfiguration", "api.aps.skype.com", 200, scheme + "api.aps.skype.com/v1/keys"},
				{"aps by host with port", "GET", "/v1/.well-known/OpenIdConfiguration", "api.aps.skype.com:443", 200, scheme + "api.aps.skype.com:443/v1/keys"},
				{"aps keys by host", "GET", "/v1/keys", "api.aps.skype.com", 200, ""},
				{"bot framework by host", "GET", "/v1/.well-known/openidconfiguration", "login.botframework.com", 200, scheme + "login.botframework.com/v1/.well-known/keys"},
				{"bot framework keys by host", "GET", "/v1/.well-known/keys", "login.botframework.com", 200, ""},
				{"aps by path on the listener", "GET", "/v1/.well-known/OpenIdConfiguration", "", 200, scheme + own + "/v1/keys"},
				{"keys by path on the listener", "GET", "/v1/keys", "", 200, ""},
				{"head", "HEAD", "/v1/keys", "", 200, ""},
				{"own configuration", "GET", "/__graphvcr/openid/.well-known/OpenIdConfiguration", "", 200, scheme + own + "/__graphvcr/openid/keys"},
				{"unknown document of a publisher", "GET", "/v1/other", "api.aps.skype.com", 404, ""},
				{"post", "POST", "/v1/keys", "", 405, ""},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					status, doc := getJSON(t, c, tt.method, base+tt.path, tt.host)
					if status != tt.status {
						t.Fatalf("status %d, want %d", status, tt.status)
					}
					switch {
					case tt.jwksURI != "":
						if doc["jwks_uri"] != tt.jwksURI || doc["issuer"] != botFrameworkIssuer {
							t.Errorf("configuration %v, want jwks_uri %s and issuer %s", doc, tt.jwksURI, botFrameworkIssuer)
						}
					case status == 200 && tt.method == "GET":
						keys, _ := doc["keys"].([]any)
						if len(keys) != 1 || keys[0].(map[string]any)["kid"] != signer.KeyID() {
							t.Errorf("key set %v, want the signer's key %s", doc, signer.KeyID())
						}
					}
				})
			}
			select {
			case <-rep.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("replay not done: the recorded metadata request was not counted as answered")
			}
			r := rep.Report()
			if r.Diverged() || len(r.Unmatched) > 0 || len(r.Unused) > 0 {
				t.Errorf("metadata requests made the replay diverge: unmatched %v, unused %v", r.Unmatched, r.Unused)
			}
		})
	}
}

func TestMetadataWithoutSigner(t *testing.T) {
	rep, c, got := startSignedReplay(t, false, nil)
	if rep.OpenIDConfigURL() != "" {
		t.Errorf("OpenIDConfigURL %q without a signer, want \"\"", rep.OpenIDConfigURL())
	}
	for _, p := range []string{"/__graphvcr/openid/.well-known/OpenIdConfiguration", "/__graphvcr/openid/keys", "/v1/keys"} {
		if status, _ := getJSON(t, c, http.MethodGet, rep.URL()+p, ""); status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, status)
		}
	}
	for range 3 {
		select {
		case p := <-got:
			if p.authorization != "" {
				t.Errorf("%s: Authorization %q without a signer", p.path, p.authorization)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("notifications not delivered")
		}
	}
	if r := rep.Report(); len(r.Unmatched) > 0 {
		t.Errorf("metadata requests unmatched: %v", r.Unmatched)
	}
}
