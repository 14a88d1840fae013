package proxy_test

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/redact"
)

// replayDelayScale makes the simulator's notification gaps tens of
// milliseconds: long enough that timing is visible, short enough for CI.
const replayDelayScale = 0.1

// laterAddr is a listener address known only after the client that dials
// it was configured (the bot is built before the proxy it talks to, which
// needs the bot's URL).
type laterAddr struct {
	mu   sync.Mutex
	addr string
}

func (l *laterAddr) set(a string) { l.mu.Lock(); l.addr = a; l.mu.Unlock() }

func (l *laterAddr) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	l.mu.Lock()
	addr := l.addr
	l.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// hostOf returns host:port of a base URL.
func hostOf(base string) string {
	return strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")
}

// recording is a scenario recorded through the Recorder.
type recording struct {
	path   string
	result *graphtest.Result
}

// recordScenario runs scenario with a simulator and a sample bot through a
// Recorder and returns the closed cassette's path.
func recordScenario(t *testing.T, s graphtest.Scenario, seed int64) recording {
	t.Helper()
	var notifyAddr, recAddr laterAddr
	notifyTr := &http.Transport{DialContext: notifyAddr.dial}
	defer notifyTr.CloseIdleConnections()
	g := graphtest.NewGraph(graphtest.GraphOptions{
		Seed:         seed,
		ClientSecret: "rec-secret~1",
		CallbackBase: "http://notify.graphvcr.test",
		DelayScale:   replayDelayScale,
		NotifyClient: &http.Client{Transport: notifyTr, Timeout: 10 * time.Second},
	})
	defer g.Close()
	botTr := &http.Transport{DisableCompression: true, DialContext: recAddr.dial}
	defer botTr.CloseIdleConnections()
	base := "http://graphvcr.test:8080"
	bot := graphtest.NewBot(graphtest.BotOptions{
		GraphURL:     base,
		TokenURL:     base + "/" + g.TenantID() + "/oauth2/v2.0/token",
		ClientID:     g.ClientID(),
		ClientSecret: "rec-secret~1",
		CallbackURL:  "https://calls.contoso-bot.example/api/calls",
		Seed:         seed + 1,
		HTTPClient:   &http.Client{Transport: botTr, Timeout: 20 * time.Second},
		WaitTimeout:  10 * time.Second,
	})
	defer bot.Close()

	path := filepath.Join(t.TempDir(), string(s)+".bolt")
	red := redact.New(nil)
	w, err := cassette.Create(path, cassette.CreateOptions{Meta: proxy.RecordMeta(g.URL, g.URL, red)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := w.Close(); err != nil {
			t.Errorf("close cassette: %v", err)
		}
	}()
	rec, err := proxy.StartRecorder(t.Context(), proxy.RecordConfig{
		Upstream: g.URL, TokenUpstream: g.URL, Bot: bot.URL, Cassette: w, Redactor: red,
	})
	if err != nil {
		t.Fatal(err)
	}
	recAddr.set(hostOf(rec.URL()))
	notifyAddr.set(hostOf(rec.NotifyURL()))
	res, err := bot.Run(t.Context(), s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if cerr := rec.Close(ctx); cerr != nil {
		t.Errorf("close recorder: %v", cerr)
	}
	if err != nil {
		t.Fatalf("record %s: %v", s, err)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("record %s: the bot's checks failed through the recorder: %v", s, err)
	}
	return recording{path: path, result: res}
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
	var repAddr laterAddr
	botTr := &http.Transport{DisableCompression: true, DialContext: repAddr.dial}
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

	rep, err := proxy.StartReplayer(t.Context(), proxy.ReplayConfig{
		Bot: bot.URL, Speed: o.speed, Strict: o.strict, Cassette: rd,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rep.Close(ctx); err != nil {
			t.Errorf("close replayer: %v", err)
		}
	}()
	repAddr.set(hostOf(rep.URL()))

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
