package replaytest_test

import (
	"net/http"
	"testing"

	"github.com/graphvcr/graphvcr/proxy/replaytest"
)

// A bot's test replays a recorded session: the bot's Graph base URL and
// token authority point at srv.URL, and the replayer posts the recorded
// notifications to the bot's webhook listener.
func Example() {
	var t *testing.T // the test's own t

	var botURL string // e.g. the bot's httptest.Server URL
	srv := replaytest.Start(t, "testdata/invite.bolt", botURL, replaytest.WithSpeed(0), replaytest.WithStrict())

	// Configure the bot under test with srv.URL as its Graph base URL
	// (it appends /v1.0) and srv.URL + "/{tenant}/oauth2/v2.0/token" as its
	// token endpoint, run it, then wait until every recorded exchange and
	// notification was replayed.
	_, _ = http.Get(srv.URL + "/__graphvcr/health")
	<-srv.Done()
	if r := srv.Report(); r.Diverged() {
		t.Errorf("bot diverged from the recording: %+v", r.Unmatched)
	}
}
