package cassettes_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/replaytest"
)

// TestReplayExample is the README's example of replaying a cassette in a
// bot's own go test (cmd/graphvcr/readme_test.go checks the README shows this code).
// graphtest's sample bot plays the bot under test; it validates every
// notification's token and answers 401 to one that fails, which the strict
// replay would report.
func TestReplayExample(t *testing.T) {
	const tenantID, appID = "5f3c1d2e-8a4b-4c6d-9e0f-1a2b3c4d5e6f", "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"

	// The bot reaches "Graph", and Microsoft's notification metadata, through
	// the replayer, as its HTTP proxy; srv is set below, before the bot sends
	// anything.
	var srv *replaytest.Server
	graph := &http.Client{Transport: &http.Transport{
		Proxy: func(*http.Request) (*url.URL, error) { return url.Parse(srv.URL) },
	}}
	t.Cleanup(graph.CloseIdleConnections)
	bot := graphtest.NewBot(graphtest.BotOptions{
		GraphURL:     "http://graph.microsoft.com",
		TokenURL:     "http://login.microsoftonline.com/" + tenantID + "/oauth2/v2.0/token",
		ClientID:     appID,
		ClientSecret: "not-needed-offline",
		HTTPClient:   graph,
		// Validate notification tokens against Microsoft's metadata URL:
		// the replayer answers it with the key that signs them.
		OpenIDConfigURL: "http://api.aps.skype.com/v1/.well-known/OpenIdConfiguration",
	})
	t.Cleanup(bot.Close)

	// Replay the recorded answers and notifications (to the bot's webhook
	// listener, each with a freshly signed token) with no delays; any
	// divergence, a rejected notification too, fails the test.
	srv = replaytest.Start(t, "single-invite.bolt", bot.URL,
		replaytest.WithSpeed(0), replaytest.WithStrict(), replaytest.WithSignedNotifications())

	res, err := bot.Run(t.Context(), graphtest.SingleInvite)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-srv.Done(): // every recorded request matched, every notification delivered
	case <-time.After(10 * time.Second):
		t.Fatalf("replay unfinished: %+v", srv.Report())
	}
	if err := res.Err(); err != nil {
		t.Errorf("the bot mishandled the recorded session: %v", err)
	}
}
