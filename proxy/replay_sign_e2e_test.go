package proxy_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
)

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

	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	bearers := 0
	err = rd.Each(func(ev *cassette.Event) error {
		if ev.Kind == cassette.KindNotification && ev.Bearer != nil && !ev.Bearer.Malformed && ev.Bearer.Claims["iss"] == "https://graph.microsoft.com" {
			bearers++
		}
		return nil
	})
	if err != nil || bearers != len(sent) {
		t.Fatalf("cassette holds %d notification bearers (%v), want %d", bearers, err, len(sent))
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
