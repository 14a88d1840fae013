package proxy_test

import (
	"context"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/recordtest"
)

// replayDelayScale makes the simulator's notification gaps tens of
// milliseconds: long enough that timing is visible, short enough for CI.
const replayDelayScale = 0.1

// recording is a scenario recorded through the Recorder.
type recording struct {
	path   string
	result *graphtest.Result
}

// recordScenario runs scenario with a simulator and a sample bot through a
// Recorder and returns the closed cassette's path.
func recordScenario(t *testing.T, s graphtest.Scenario, seed int64) recording {
	t.Helper()
	return recordScenarioWith(t, s, seed, scenarioOptions{delayScale: replayDelayScale}).recording
}

// scenarioOptions vary a recorded session.
type scenarioOptions struct {
	delayScale float64 // the simulator's GraphOptions.DelayScale
	// validating makes the bot check every notification's JWT against the
	// simulator's metadata, fetched through the recorder.
	validating bool
}

// scenarioRun is a scenario recorded through the Recorder, with what the
// simulator knew of it.
type scenarioRun struct {
	recording
	sent             []graphtest.Sent // the notifications the simulator sent
	tenant, clientID string           // the simulator's original ids
}

// recordScenarioWith runs scenario s with a simulator and a sample bot through a
// Recorder, both reaching it by name as they would through a tunnel, and
// returns the closed cassette's path with what the bot and the simulator saw.
func recordScenarioWith(t *testing.T, s graphtest.Scenario, seed int64, o scenarioOptions) scenarioRun {
	t.Helper()
	var notifyAddr, recAddr graphtest.LateDialer
	notifyTr := &http.Transport{DialContext: notifyAddr.DialContext}
	defer notifyTr.CloseIdleConnections()
	g := graphtest.NewGraph(graphtest.GraphOptions{
		Seed:         seed,
		ClientSecret: "rec-secret~1",
		CallbackBase: "http://notify.graphvcr.test",
		DelayScale:   o.delayScale,
		NotifyClient: &http.Client{Transport: notifyTr, Timeout: 10 * time.Second},
	})
	defer g.Close()
	botTr := &http.Transport{DisableCompression: true, DialContext: recAddr.DialContext}
	defer botTr.CloseIdleConnections()
	base := "http://graphvcr.test:8080"
	opts := graphtest.BotOptions{
		GraphURL:     base,
		TokenURL:     base + "/" + g.TenantID() + "/oauth2/v2.0/token",
		ClientID:     g.ClientID(),
		ClientSecret: "rec-secret~1",
		CallbackURL:  "https://calls.contoso-bot.example/api/calls",
		Seed:         seed + 1,
		HTTPClient:   &http.Client{Transport: botTr, Timeout: 20 * time.Second},
		WaitTimeout:  10 * time.Second,
	}
	if o.validating {
		opts.OpenIDConfigURL = base + "/v1/.well-known/OpenIdConfiguration"
	}
	bot := graphtest.NewBot(opts)
	defer bot.Close()

	path := filepath.Join(t.TempDir(), string(s)+".bolt")
	rec := recordtest.Start(t, path, proxy.RecordConfig{Upstream: g.URL, TokenUpstream: g.URL, Bot: bot.URL})
	recAddr.Set(rec.URL())
	notifyAddr.Set(rec.NotifyURL())
	res, err := bot.Run(t.Context(), s)
	if err == nil {
		// The run may end before the last notification was answered; the
		// recorder relays it only once it is in the cassette.
		err = g.Flush(t.Context())
	}
	rec.Close()
	if err != nil {
		t.Fatalf("record %s: %v", s, err)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("record %s: the bot's checks failed through the recorder: %v", s, err)
	}
	return scenarioRun{recording: recording{path: path, result: res}, sent: g.Sent(), tenant: g.TenantID(), clientID: g.ClientID()}
}

// startReplayer starts a Replayer with cfg. stop closes it, letting what is
// in flight finish for at most 10 seconds; an error fails the test.
func startReplayer(t *testing.T, cfg proxy.ReplayConfig) (rep *proxy.Replayer, stop func()) {
	t.Helper()
	rep, err := proxy.StartReplayer(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rep, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rep.Close(ctx); err != nil {
			t.Errorf("close replayer: %v", err)
		}
	}
}

// replayRun is one replay of a cassette to a fresh sample bot.
type replayRun struct {
	result  *graphtest.Result
	report  proxy.Report
	elapsed time.Duration // the bot's run, end to end
}

// replayOptions vary a replay.
type replayOptions struct {
	speed  float64
	strict bool
	seed   int64
	// after runs with the replayer still up, once the bot's run is done.
	after func(t *testing.T, rep *proxy.Replayer, botURL string)
}

// replayScenario replays a cassette to a fresh bot with its own seed, tenant
// and client id (new ids, clientContext and phone numbers), waits for Done
// and returns what the bot saw and the replayer's report.
func replayScenario(t *testing.T, path string, s graphtest.Scenario, o replayOptions) replayRun {
	t.Helper()
	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()

	const tenant = "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	var repAddr graphtest.LateDialer
	botTr := &http.Transport{DisableCompression: true, DialContext: repAddr.DialContext}
	defer botTr.CloseIdleConnections()
	base := "http://replay.graphvcr.test:8080"
	bot := graphtest.NewBot(graphtest.BotOptions{
		GraphURL:     base,
		TokenURL:     base + "/" + tenant + "/oauth2/v2.0/token",
		ClientID:     "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d",
		ClientSecret: "no secret is needed offline",
		Seed:         o.seed,
		HTTPClient:   &http.Client{Transport: botTr, Timeout: 20 * time.Second},
		WaitTimeout:  10 * time.Second,
	})
	defer bot.Close()

	rep, stop := startReplayer(t, proxy.ReplayConfig{
		Bot: bot.URL, Speed: o.speed, Strict: o.strict, Cassette: rd,
	})
	defer stop()
	repAddr.Set(rep.URL())

	start := time.Now()
	res, err := bot.Run(t.Context(), s)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatalf("replay %s: %v", s, err)
	}
	if o.after != nil {
		o.after(t, rep, bot.URL)
	} else {
		select {
		case <-rep.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("replay %s: not done after 10 s: %+v", s, rep.Report())
		}
	}
	return replayRun{result: res, report: rep.Report(), elapsed: elapsed}
}
