package recordtest_test

import (
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/recordtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRecordScenario records a scenario of the sample bot against the
// simulator through a Session and checks the cassette holds every exchange
// and notification, with the meta graphvcr record writes.
func TestRecordScenario(t *testing.T) {
	var toNotify, toRecorder graphtest.LateDialer
	g := graphtest.NewGraph(graphtest.GraphOptions{
		Seed: 3, ClientSecret: "secret~1", CallbackBase: "http://notify.graphvcr.test",
		NotifyClient: toNotify.Client(10 * time.Second),
	})
	defer g.Close()
	base := "http://graphvcr.test:8080"
	bot := graphtest.NewBot(graphtest.BotOptions{
		GraphURL: base, TokenURL: base + "/" + g.TenantID() + "/oauth2/v2.0/token",
		ClientID: g.ClientID(), ClientSecret: "secret~1", Seed: 4,
		CallbackURL: "https://calls.contoso-bot.example/api/calls",
		HTTPClient:  toRecorder.Client(10 * time.Second), WaitTimeout: 10 * time.Second,
	})
	defer bot.Close()

	path := filepath.Join(t.TempDir(), "session.bolt")
	s := recordtest.Start(t, path, proxy.RecordConfig{Upstream: g.URL, TokenUpstream: g.URL, Bot: bot.URL})
	toRecorder.Set(s.URL())
	toNotify.Set(s.NotifyURL())
	res, err := bot.Run(t.Context(), graphtest.SingleInvite)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("the bot's checks failed through the recorder: %v", err)
	}
	// The recorder relays a notification only once it is stored: once the
	// simulator's are answered, the cassette holds them.
	if err := g.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	toRecorder.CloseIdleConnections()
	toNotify.CloseIdleConnections()
	s.Close()
	s.Close() // a second Close does nothing

	r, err := cassette.Open(path)
	if err != nil {
		t.Fatalf("the cassette is not closed after Close: %v", err)
	}
	defer r.Close()
	sum := s.Summary()
	if r.Len() != sum.Events || sum.Notifications != len(g.Sent()) || sum.Notifications == 0 {
		t.Errorf("cassette has %d events, summary %+v, simulator sent %d notifications", r.Len(), sum, len(g.Sent()))
	}
	if m := r.Meta(); m.Upstream != g.URL || m.TokenUpstream != g.URL {
		t.Errorf("meta upstreams %q, %q; want the simulator's %q", m.Upstream, m.TokenUpstream, g.URL)
	}
}
