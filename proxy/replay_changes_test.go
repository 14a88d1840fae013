package proxy_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/replaytest"
)

// changesCassette is the sample cassette of the change-notification flows
// (cassettes/gen): a callRecords subscription and a rich presence one, each
// validated at two URLs, a callRecord created (the app GETs it), a
// presence update and reauthorizationRequired (the app reauthorizes).
var changesCassette = filepath.Join("..", "cassettes", "change-notifications.bolt")

// The replaying app's ids: another tenant and application than recorded.
const (
	changeTenant = "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"
	changeAppID  = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
	presenceUser = "2e4f6a8b-0c1d-4e3f-8a5b-7c9d1e3f5a7b"
)

// appGraphHost is the Graph and login host the test apps are given; their
// transport sends it to the replayer, which starts after them (it needs
// their URL as its bot).
const appGraphHost = "graph.replay.invalid"

// toReplayer sends requests for appGraphHost to the replayer.
type toReplayer struct {
	base *http.Transport
	host string // the replayer's host:port, set before the app's first request
}

func (tr *toReplayer) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == appGraphHost {
		req = req.Clone(req.Context())
		req.URL.Host, req.Host = tr.host, ""
	}
	return tr.base.RoundTrip(req)
}

// changeApp is a fresh sample subscriber and what points it at a replayer.
type changeApp struct {
	*graphtest.Subscriber
	tr *toReplayer
}

// startChangeApp starts a fresh sample subscriber (its own key,
// certificate, clientState) whose Graph and login authority is the
// replayer (see use), its notification URLs naming a public host (a
// tunnel) as recorded apps do. keysConfig is where it reads validation
// token keys ("" means the replayer's identity platform paths).
func startChangeApp(t *testing.T, keysConfig string, seed int64, echo func(http.ResponseWriter, *http.Request, string)) *changeApp {
	t.Helper()
	graphURL := "http://" + appGraphHost
	if keysConfig == "" {
		keysConfig = graphURL + "/" + changeTenant + "/v2.0/.well-known/openid-configuration"
	}
	tr := &toReplayer{base: &http.Transport{Proxy: nil}}
	app, err := graphtest.StartSubscriber(graphtest.SubscriberOptions{
		GraphURL: graphURL, TokenURL: graphURL + "/" + changeTenant + "/oauth2/v2.0/token",
		ClientID: changeAppID, ClientSecret: "any", TenantID: changeTenant,
		KeysConfigURL: keysConfig, NotificationBase: "https://fresh-app.example.net",
		Seed: seed, Echo: echo, HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		app.Close()
		tr.base.CloseIdleConnections()
	})
	return &changeApp{Subscriber: app, tr: tr}
}

// use points the app at the replayer srv.
func (a *changeApp) use(srv *replaytest.Server) { a.tr.host = strings.TrimPrefix(srv.URL, "http://") }

// subscribeBoth makes the two recorded subscriptions.
func subscribeBoth(ctx context.Context, app *changeApp) (records, presence string, err error) {
	if records, err = app.Subscribe(ctx, "/communications/callRecords", "created", false); err != nil {
		return "", "", err
	}
	presence, err = app.Subscribe(ctx, "/communications/presences/"+presenceUser, "updated", true)
	return records, presence, err
}

// TestReplayChangeNotifications replays the sample cassette to a fresh app
// (other key, certificate, clientState, tenant and app id) that checks
// everything a real app checks: each subscription is validated live
// before its answer, the callRecord notification carries its clientState
// and it GETs the record, the presence notification is decrypted with its
// own key after its validation token verified against the keys graphvcr
// publishes, and reauthorizationRequired is followed by its reauthorize,
// matched. The replay is strict and ends done.
func TestReplayChangeNotifications(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	app := startChangeApp(t, "", 11, nil)
	srv := replaytest.Start(t, changesCassette, app.URL, replaytest.WithStrict(), replaytest.WithSignedNotifications())
	app.use(srv)

	records, presence, err := subscribeBoth(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.Done():
	case <-ctx.Done():
		t.Fatalf("replay not done: %+v", srv.Report())
	}
	got, err := app.Wait(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	classes := map[string]graphtest.Handled{}
	validations := 0
	for _, h := range got {
		if h.Err != nil {
			t.Errorf("the app rejected or failed %s: %v", h.Class, h.Err)
		}
		if h.Class == "validation" {
			validations++
		}
		classes[h.Class] = h
	}
	if validations != 4 {
		t.Errorf("%d validation requests reached the app, want 4 (two URLs per subscription)", validations)
	}
	if h := classes["callRecord created"]; h.SubscriptionID != records || gjson.GetBytes(h.Data, "id").String() == "" {
		t.Errorf("callRecord notification: subscription %q (want %q), fetched %s", h.SubscriptionID, records, h.Data)
	}
	if h := classes["presence updated"]; h.SubscriptionID != presence || gjson.GetBytes(h.Data, "activity").String() != "InACall" {
		t.Errorf("presence notification: subscription %q (want %q), decrypted %s", h.SubscriptionID, presence, h.Data)
	}
	if h, ok := classes[graphtest.ReauthorizationRequired]; !ok || h.SubscriptionID != records {
		t.Errorf("reauthorizationRequired: %+v", h)
	}
	rep := srv.Report()
	if rep.Diverged() || len(rep.Validations) != 4 || len(rep.Unused) != 0 {
		t.Errorf("report: diverged %v, validations %+v, unused %+v, notifications %+v", rep.Diverged(), rep.Validations, rep.Unused, rep.Notifications)
	}
	for _, d := range rep.Notifications {
		if strings.Contains(d.Path, "validationToken") {
			t.Errorf("a recorded validation request was delivered by the scheduler: %+v", d)
		}
	}
}

// TestReplayChangeNotificationsCaught: a wrong echo refuses the
// subscription as Graph does (400, its message) and is a divergence; a
// notification carrying another app's clientState, and one whose
// validation token is signed by a key the app does not trust, are
// rejected by the app, which the report shows.
func TestReplayChangeNotificationsCaught(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	t.Run("wrong echo", func(t *testing.T) {
		app := startChangeApp(t, "", 12, func(w http.ResponseWriter, _ *http.Request, tok string) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(tok + "x"))
		})
		srv := replaytest.Start(t, changesCassette, app.URL, replaytest.WithSignedNotifications())
		app.use(srv)
		_, err := app.Subscribe(ctx, "/communications/callRecords", "created", false)
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "must exactly match validationToken") {
			t.Fatalf("subscribe with a wrong echo: %v", err)
		}
		rep := srv.Report()
		if !rep.Diverged() || len(rep.Validations) != 1 || rep.Validations[0].Error == "" {
			t.Fatalf("wrong echo not reported: %+v", rep.Validations)
		}
	})

	t.Run("wrong clientState", func(t *testing.T) {
		app := startChangeApp(t, "", 13, nil)
		other := startChangeApp(t, "", 14, nil) // gets the notifications: not its clientState
		srv := replaytest.Start(t, changesCassette, other.URL, replaytest.WithSignedNotifications())
		app.use(srv)
		other.use(srv)
		if _, _, err := subscribeBoth(ctx, app); err != nil {
			t.Fatal(err)
		}
		got, err := other.Wait(ctx, 5) // 4 validations, then the callRecord
		if err != nil {
			t.Fatal(err)
		}
		if h := got[4]; h.Class != "callRecord created" || h.Err == nil || !strings.Contains(h.Err.Error(), "clientState") {
			t.Fatalf("another app's clientState handled as %+v", h)
		}
		waitDelivered(ctx, t, srv, 1)
		if rep := srv.Report(); !rep.Diverged() || rep.Notifications[0].Status != http.StatusForbidden {
			t.Fatalf("rejected notification not a divergence: %+v", rep.Notifications)
		}
	})

	t.Run("forged validation token", func(t *testing.T) {
		// The app trusts another publisher's keys: graphvcr's tokens are
		// then forgeries to it.
		g, err := graphtest.StartGraph(graphtest.GraphOptions{Seed: 5, ClientSecret: "s"})
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		app := startChangeApp(t, g.AuthorityURL(changeTenant)+"/v2.0/.well-known/openid-configuration", 15, nil)
		srv := replaytest.Start(t, changesCassette, app.URL, replaytest.WithSignedNotifications())
		app.use(srv)
		if _, _, err := subscribeBoth(ctx, app); err != nil {
			t.Fatal(err)
		}
		got, err := app.Wait(ctx, 6) // 4 validations, callRecord, presence
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, h := range got {
			if h.Class == "presence updated" {
				found = true
				if h.Err == nil || !strings.Contains(h.Err.Error(), "validation token") {
					t.Fatalf("forged token handled as %+v", h)
				}
			}
		}
		if !found {
			t.Fatalf("no presence notification handled: %+v", got)
		}
	})
}

// waitDelivered polls the report until n notifications were delivered.
func waitDelivered(ctx context.Context, t *testing.T, srv *replaytest.Server, n int) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for len(srv.Report().Notifications) < n {
		select {
		case <-ctx.Done():
			t.Fatalf("fewer than %d notifications delivered: %+v", n, srv.Report())
		case <-tick.C:
		}
	}
}
