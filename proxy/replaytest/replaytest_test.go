package replaytest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/proxy/replaytest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	recordedTenant = "c0ffee00-0000-4000-8000-000000000001"
	recordedCall   = "c0ffee00-0000-4000-8000-000000000002"
	recordedApp    = "c0ffee00-0000-4000-8000-000000000003"
	liveTenant     = "0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a"
)

// recordedLifetime is the lifetime of the recorded notification token.
const recordedLifetime = 90 * time.Minute

// writeCassette records, as the recorder would (redacted), a create-call
// exchange and the notification it triggered, with what the recorder keeps
// of its bearer token.
func writeCassette(t *testing.T) string {
	t.Helper()
	create := &cassette.Event{
		Kind: cassette.KindGraph, Offset: 10 * time.Millisecond, Latency: 30 * time.Millisecond,
		Request: cassette.Request{
			Method: "POST", URL: "https://graph.microsoft.com/v1.0/communications/calls",
			Header: http.Header{"Content-Type": {"application/json"}},
			Body:   []byte(`{"callbackUri":"https://bot1.example.invalid/api/calls","tenantId":"` + recordedTenant + `"}`),
		},
		Response: cassette.Response{
			Status: 201,
			Header: http.Header{"Content-Type": {"application/json"}, "Location": {"https://graph.microsoft.com/v1.0/communications/calls/" + recordedCall}},
			Body:   []byte(`{"id":"` + recordedCall + `","tenantId":"` + recordedTenant + `","callbackUri":"https://bot1.example.invalid/api/calls"}`),
		},
	}
	notif := &cassette.Event{
		Kind: cassette.KindNotification, Offset: 60 * time.Millisecond, Latency: time.Millisecond, Trigger: 1, // create
		Request: cassette.Request{
			Method: "POST", URL: "https://bot1.example.invalid/api/calls",
			Header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer REDACTED"}},
			Body:   []byte(`{"value":[{"resource":"/communications/calls/` + recordedCall + `","tenantId":"` + recordedTenant + `"}]}`),
		},
		Response: cassette.Response{Status: 202},
		Bearer: &cassette.Bearer{
			Header:   map[string]string{"alg": "RS256", "kid": "recorded-kid", "typ": "JWT"},
			Claims:   map[string]string{"iss": "https://api.botframework.com", "aud": recordedApp, "appid": recordedApp, "tid": recordedTenant},
			Lifetime: recordedLifetime,
		},
	}
	path := filepath.Join(t.TempDir(), "call.bolt")
	meta := cassette.Meta{Upstream: "https://graph.microsoft.com", TokenUpstream: "https://login.microsoftonline.com"}
	cassettetest.Write(t, path, meta, []*cassette.Event{create, notif}, recordedTenant, recordedCall, "bot1.example.invalid", recordedApp)
	return path
}

// received is a notification as a test bot got it.
type received struct {
	path, auth, body string
}

func startBot(t *testing.T) (*httptest.Server, <-chan received) {
	t.Helper()
	ch := make(chan received, 10)
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		ch <- received{r.URL.Path, r.Header.Get("Authorization"), string(b)}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(bot.Close)
	return bot, ch
}

// send makes one request with http.DefaultClient and reads the whole answer.
func send(t *testing.T, method, url string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp, b
}

func post(t *testing.T, url, body string) (*http.Response, string) {
	t.Helper()
	resp, b := send(t, http.MethodPost, url, strings.NewReader(body))
	return resp, string(b)
}

func TestStartReplaysCassette(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	path := writeCassette(t)
	bot, got := startBot(t)
	srv := replaytest.Start(t, path, bot.URL, replaytest.WithSpeed(0), replaytest.WithStrict())

	resp, body := post(t, srv.URL+"/v1.0/communications/calls",
		`{"tenantId":"`+liveTenant+`","callbackUri":"`+bot.URL+`/api/calls"}`)
	if resp.StatusCode != 201 {
		t.Fatalf("status %d, want 201: %s", resp.StatusCode, body)
	}
	if !strings.Contains(body, liveTenant) || strings.Contains(body, recordedTenant) {
		t.Errorf("body %s: want the live tenant bound in place of the recorded one", body)
	}
	if !strings.Contains(body, bot.URL+"/api/calls") {
		t.Errorf("body %s: want the bot's own callbackUri back", body)
	}
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, srv.URL+"/v1.0/communications/calls/") {
		t.Errorf("Location %q: want it on the replayer %s", loc, srv.URL)
	}

	select {
	case n := <-got:
		// Unsigned by default: no key, no Authorization.
		if n.path != "/api/calls" || n.auth != "" || !strings.Contains(n.body, liveTenant) {
			t.Errorf("notification %+v: want /api/calls, no Authorization, the live tenant", n)
		}
		if srv.OpenIDConfigURL != "" {
			t.Errorf("OpenIDConfigURL %q without signing, want none", srv.OpenIDConfigURL)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}
	select {
	case <-srv.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("replay not done")
	}
	r := srv.Report()
	if len(r.Matched) != 1 || len(r.Notifications) != 1 || r.Notifications[0].Status != 202 || r.Diverged() {
		t.Errorf("report %+v", r)
	}
}

// fakeTB records failures instead of ending the test, and runs cleanups on demand.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	failures []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failures = append(f.failures, fmt.Sprintf(format, args...))
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	runtime.Goexit()
}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) cleanup() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

// run calls fn with f in a goroutine, as the testing package does, so that
// Fatalf can end it.
func (f *fakeTB) run(fn func(testing.TB)) { runAs(f, fn) }

// runAs calls fn with tb in a goroutine and waits for it, as the testing
// package runs a test: tb's Fatalf (runtime.Goexit) ends fn alone.
func runAs(tb testing.TB, fn func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(tb)
	}()
	<-done
}

// loggingTB is a fakeTB that keeps what is logged and says it failed once
// it recorded a failure.
type loggingTB struct {
	*fakeTB
	logs []string
}

func (l *loggingTB) Logf(format string, args ...any) {
	l.fakeTB.mu.Lock()
	defer l.fakeTB.mu.Unlock()
	l.logs = append(l.logs, fmt.Sprintf(format, args...))
}

func (l *loggingTB) Failed() bool {
	l.fakeTB.mu.Lock()
	defer l.fakeTB.mu.Unlock()
	return len(l.failures) > 0
}

// replayUnrecorded starts a replay of path for tb at speed 0 with opts
// (strict when asked) and sends it an invite the cassette does not hold,
// which must be answered 501 graphvcrNoMatch; t gets the failures of the
// test itself.
func replayUnrecorded(t *testing.T, tb testing.TB, path, botURL string, strict bool, opts ...replaytest.Option) *replaytest.Server {
	opts = append([]replaytest.Option{replaytest.WithSpeed(0)}, opts...)
	if strict {
		opts = append(opts, replaytest.WithStrict())
	}
	srv := replaytest.Start(tb, path, botURL, opts...)
	resp, body := post(t, srv.URL+"/v1.0/communications/calls/"+liveTenant+"/participants/invite", `{}`)
	if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(body, "graphvcrNoMatch") {
		t.Errorf("unrecorded request: %d %s", resp.StatusCode, body)
	}
	return srv
}

func TestStartFailsTheTest(t *testing.T) {
	tests := []struct {
		name, path, want string
	}{
		{"missing cassette", filepath.Join(t.TempDir(), "none.bolt"), "replaytest:"},
		{"not a cassette", writeFile(t, "garbage"), "replaytest:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeTB{TB: t}
			f.run(func(tb testing.TB) { replaytest.Start(tb, tt.path, "http://127.0.0.1:1") })
			f.cleanup()
			if len(f.failures) != 1 || !strings.Contains(f.failures[0], tt.want) {
				t.Errorf("failures %q, want one naming %q", f.failures, tt.want)
			}
		})
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.bolt")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStrictFailsOnDivergence replays a request the cassette does not
// hold, strict and not: the test fails only when strict, the report shows
// the divergence either way, and with WithRecordActual the actual
// cassette's path is logged only when the test fails.
func TestStrictFailsOnDivergence(t *testing.T) {
	defer http.DefaultClient.CloseIdleConnections()
	path := writeCassette(t)
	bot, _ := startBot(t)
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprint("strict=", strict), func(t *testing.T) {
			f := &fakeTB{TB: t}
			f.run(func(tb testing.TB) {
				srv := replayUnrecorded(t, tb, path, bot.URL, strict)
				if !srv.Report().Diverged() {
					t.Error("report does not show the divergence")
				}
			})
			f.cleanup()
			if failed := len(f.failures) > 0; failed != strict {
				t.Errorf("test failed = %v (%q), want %v", failed, f.failures, strict)
			}
		})
		t.Run(fmt.Sprint("record actual, strict=", strict), func(t *testing.T) {
			l := &loggingTB{fakeTB: &fakeTB{TB: t}}
			var actual string
			runAs(l, func(tb testing.TB) {
				actual = replayUnrecorded(t, tb, path, bot.URL, strict, replaytest.WithRecordActual()).ActualPath
			})
			l.cleanup()
			logged := strings.Join(l.logs, "\n")
			if strict != strings.Contains(logged, "what the bot actually did is in "+actual+"; compare: graphvcr diff "+path+" "+actual) {
				t.Errorf("test failed = %v; logged %q; want the actual cassette's path logged only on failure", strict, logged)
			}
			r, err := cassette.Open(actual)
			if err != nil {
				t.Fatalf("the actual cassette: %v", err)
			}
			defer r.Close()
			var got []string
			err = r.Each(func(ev *cassette.Event) error {
				got = append(got, fmt.Sprintf("%s %s %s %d", ev.Kind, ev.Request.Method, ev.Request.URL, ev.Response.Status))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || !strings.HasSuffix(got[0], "/participants/invite 501") || !strings.HasPrefix(got[0], "graph POST https://graph.microsoft.com/v1.0/communications/calls/") {
				t.Errorf("actual events %q, want the unmatched invite answered 501", got)
			}
			if strings.Contains(strings.Join(got, " "), liveTenant) {
				t.Errorf("a live id was stored: %q", got)
			}
		})
	}
}
