package replaytest_test

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/replaytest"
)

// The replaying bot's application: the audience of the signed tokens.
const liveApp = "7b6a5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d"

// TestSignedNotificationToken checks the token of a replayed notification
// against the key published at srv.OpenIDConfigURL: signed by it, with the
// bot's app id as audience, the recorded issuer and lifetime, fresh.
func TestSignedNotificationToken(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	path := writeCassette(t)
	shared, err := proxy.LoadSigner(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	tests := []struct {
		name    string
		opt     replaytest.Option
		wantKid string // "" = any key the metadata publishes
	}{
		{"a key made for the test", replaytest.WithSignedNotifications(), ""},
		{"the caller's signer", replaytest.WithSigner(shared), shared.KeyID()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bot, got := startBot(t)
			srv := replaytest.Start(t, path, bot.URL, tt.opt, replaytest.WithAppID(liveApp), replaytest.WithSpeed(0), replaytest.WithStrict())
			if want := srv.URL + "/__graphvcr/openid/.well-known/OpenIdConfiguration"; srv.OpenIDConfigURL != want {
				t.Errorf("OpenIDConfigURL %q, want %q", srv.OpenIDConfigURL, want)
			}
			resp, body := post(t, srv.URL+"/v1.0/communications/calls",
				`{"tenantId":"`+liveTenant+`","callbackUri":"`+bot.URL+`/api/calls"}`)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status %d, want 201: %s", resp.StatusCode, body)
			}
			var n received
			select {
			case n = <-got:
			case <-time.After(10 * time.Second):
				t.Fatal("no notification")
			}
			select {
			case <-srv.Done(): // the bot answered: nothing left in flight
			case <-time.After(10 * time.Second):
				t.Fatalf("replay not done: %+v", srv.Report())
			}
			keys := publishedKeys(t, srv.OpenIDConfigURL)
			raw, ok := strings.CutPrefix(n.auth, "Bearer ")
			if !ok {
				t.Fatalf("Authorization %q, want a bearer token", n.auth)
			}
			claims := jwt.MapClaims{}
			tok, err := jwt.ParseWithClaims(raw, claims, func(tok *jwt.Token) (any, error) {
				kid, _ := tok.Header["kid"].(string)
				if k := keys[kid]; k != nil {
					return k, nil
				}
				return nil, jwt.ErrTokenUnverifiable
			}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(liveApp),
				jwt.WithIssuer("https://api.botframework.com"), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
			if err != nil {
				t.Fatalf("the token does not validate against the published key: %v", err)
			}
			if tt.wantKid != "" && tok.Header["kid"] != tt.wantKid {
				t.Errorf("kid %v, want the signer's %s", tok.Header["kid"], tt.wantKid)
			}
			iat, _ := claims.GetIssuedAt()
			exp, _ := claims.GetExpirationTime()
			if iat == nil || exp == nil || exp.Sub(iat.Time) != recordedLifetime || time.Since(iat.Time) > time.Minute {
				t.Errorf("iat %v, exp %v: want a fresh token with the recorded lifetime %v", iat, exp, recordedLifetime)
			}
			if claims["appid"] != liveApp {
				t.Errorf("appid %v, want the live app %s (recorded equal to aud)", claims["appid"], liveApp)
			}
		})
	}
}

// publishedKeys reads the OpenID configuration at configURL and the RSA
// keys of its jwks_uri, by kid.
func publishedKeys(t *testing.T, configURL string) map[string]*rsa.PublicKey {
	t.Helper()
	var cfg struct {
		JWKSURI string `json:"jwks_uri"`
	}
	getJSON(t, configURL, &cfg)
	var set struct {
		Keys []struct{ Kty, Kid, N, E string } `json:"keys"`
	}
	getJSON(t, cfg.JWKSURI, &set)
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if k.Kty != "RSA" || err1 != nil || err2 != nil {
			t.Fatalf("jwks %s: key %+v is not an RSA key", cfg.JWKSURI, k)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(keys) == 0 {
		t.Fatalf("jwks %s: no key", cfg.JWKSURI)
	}
	return keys
}

func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	resp, b := send(t, http.MethodGet, u, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", u, err, b)
	}
}

// TestValidatingBotAcceptsReplay replays each sample cassette of
// cassettes/ with signed notifications to graphtest's bot, which validates
// every notification token (signature by a key of its metadata's JWKS,
// issuer, audience = its app id, expiry) and answers 401 to one that fails.
// Half the bots use srv.OpenIDConfigURL; the other half reach the replayer
// as their HTTP proxy and keep Microsoft's metadata URL.
func TestValidatingBotAcceptsReplay(t *testing.T) {
	for i, s := range graphtest.Scenarios() {
		viaProxy := i%2 == 1
		name := string(s) + "/srv.OpenIDConfigURL"
		if viaProxy {
			name = string(s) + "/api.aps.skype.com via proxy"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := "../../cassettes/" + string(s) + ".bolt"
			var bot *graphtest.Bot
			var srv *replaytest.Server
			if viaProxy {
				bot, srv = startProxiedBot(t, path)
			} else {
				bot, srv = startDirectBot(t, path)
			}
			res, err := bot.Run(t.Context(), s)
			if err != nil {
				t.Fatalf("run: %v (report %+v)", err, srv.Report())
			}
			if err := res.Err(); err != nil {
				t.Errorf("the bot's checks failed: %v", err)
			}
			select {
			case <-srv.Done():
			case <-time.After(20 * time.Second):
				t.Fatalf("replay not done: %+v", srv.Report())
			}
			rep := srv.Report()
			if len(rep.Notifications) != countNotifications(t, path) || len(rep.Notifications) == 0 {
				t.Errorf("delivered %d notifications, want every one of the cassette's %d", len(rep.Notifications), countNotifications(t, path))
			}
			for _, d := range rep.Notifications {
				if d.Error != "" || d.Status/100 != 2 {
					t.Errorf("notification #%d %s: the bot answered %d (%s), want 2xx", d.Seq, d.Path, d.Status, d.Error)
				}
			}
			for _, in := range res.Received {
				if !strings.HasPrefix(in.Header.Get("Authorization"), "Bearer ey") {
					t.Errorf("notification at %s reached the bot without a signed token", in.Path)
				}
			}
		})
	}
}

// liveBotOptions are the validating bot's: another tenant, app and seed
// than recorded.
func liveBotOptions(graphURL, tokenBase, metadata string, client *http.Client) graphtest.BotOptions {
	return graphtest.BotOptions{
		GraphURL:        graphURL,
		TokenURL:        tokenBase + "/" + liveTenant + "/oauth2/v2.0/token",
		ClientID:        liveApp,
		ClientSecret:    "not needed offline",
		Seed:            2,
		HTTPClient:      client,
		WaitTimeout:     10 * time.Second,
		OpenIDConfigURL: metadata,
	}
}

// startDirectBot starts the replayer first, then a bot whose Graph base and
// metadata URL are the replayer's own. The replayer posts notifications to
// a front end that forwards them to the bot once it exists.
func startDirectBot(t *testing.T, path string) (*graphtest.Bot, *replaytest.Server) {
	t.Helper()
	front := newLateProxy(t)
	srv := replaytest.Start(t, path, front.URL, replaytest.WithSignedNotifications(), replaytest.WithSpeed(0), replaytest.WithStrict())
	tr := &http.Transport{DisableCompression: true} // the bot asks for gzip and decodes it
	t.Cleanup(tr.CloseIdleConnections)
	bot := graphtest.NewBot(liveBotOptions(srv.URL, srv.URL, srv.OpenIDConfigURL, &http.Client{Transport: tr, Timeout: 20 * time.Second}))
	t.Cleanup(bot.Close)
	// Before the bot stops: a connection dialled but never used would hold
	// its shutdown.
	t.Cleanup(front.closeIdle)
	front.set(t, bot.URL)
	return bot, srv
}

// startProxiedBot starts a bot that reaches Graph, the token endpoint and
// Microsoft's notification metadata by their real names (over http),
// through the replayer as its HTTP proxy, then the replayer.
func startProxiedBot(t *testing.T, path string) (*graphtest.Bot, *replaytest.Server) {
	t.Helper()
	var srv atomic.Pointer[replaytest.Server]
	tr := &http.Transport{
		Proxy:              func(*http.Request) (*url.URL, error) { return url.Parse(srv.Load().URL) },
		DisableCompression: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	bot := graphtest.NewBot(liveBotOptions("http://graph.microsoft.com", "http://login.microsoftonline.com",
		"http://api.aps.skype.com/v1/.well-known/OpenIdConfiguration", &http.Client{Transport: tr, Timeout: 20 * time.Second}))
	t.Cleanup(bot.Close)
	s := replaytest.Start(t, path, bot.URL, replaytest.WithSignedNotifications(), replaytest.WithSpeed(0), replaytest.WithStrict())
	srv.Store(s)
	// Before the replayer stops: a connection dialled but never used would
	// hold its shutdown for seconds.
	t.Cleanup(tr.CloseIdleConnections)
	return bot, s
}

// lateProxy is a reverse proxy to a target set once it exists: 503 before.
type lateProxy struct {
	URL    string
	target atomic.Pointer[url.URL]
	tr     *http.Transport
}

// closeIdle closes the proxy's idle connections to the target.
func (p *lateProxy) closeIdle() { p.tr.CloseIdleConnections() }

func newLateProxy(t *testing.T) *lateProxy {
	t.Helper()
	tr := &http.Transport{}
	p := &lateProxy{tr: tr}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(p.target.Load())
			r.Out.Host = r.In.Host
		},
		Transport: tr,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.target.Load() == nil {
			http.Error(w, "no target yet", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	p.URL = srv.URL
	return p
}

func (p *lateProxy) set(t *testing.T, target string) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p.target.Store(u)
}

// countNotifications returns how many notifications the cassette at path holds.
func countNotifications(t *testing.T, path string) int {
	t.Helper()
	r, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	err = r.EachHead(func(e *cassette.Event) error {
		if e.Kind == cassette.KindNotification {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
