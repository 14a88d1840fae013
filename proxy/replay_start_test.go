package proxy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
)

// NewReplayer builds without listening, as httptest.NewUnstartedServer
// does; Start listens once; an unstarted Replayer closes at once.
func TestReplayerConstructThenStart(t *testing.T) {
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	defer bot.Close()
	rd, err := cassette.Open("../cassettes/single-invite.bolt")
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	cfg := proxy.ReplayConfig{Cassette: rd, Bot: bot.URL}

	unstarted, err := proxy.NewReplayer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if u := unstarted.URL(); u != "" {
		t.Errorf("URL before Start = %q, want none", u)
	}
	rep := unstarted.Report()
	if len(rep.Unused) == 0 || len(rep.Pending) == 0 || len(rep.Notifications) != 0 {
		t.Errorf("unstarted report: %d unused, %d pending, %d delivered; want every exchange unused and every notification pending",
			len(rep.Unused), len(rep.Pending), len(rep.Notifications))
	}
	for _, p := range rep.Pending {
		if p.Armed {
			t.Errorf("notification %d armed before Start", p.Seq)
		}
	}
	if err := unstarted.Close(t.Context()); err != nil {
		t.Errorf("Close of an unstarted Replayer: %v", err)
	}

	r, err := proxy.NewReplayer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.WithoutCancel(t.Context()))
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err == nil {
		t.Error("a second Start succeeded")
	}
	resp, err := http.Get(r.URL() + "/__graphvcr/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("health after Start: %d, want 200", resp.StatusCode)
	}
}
