package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// upstreamBody is what the test upstream answers to every request.
const upstreamBody = `{"ok":true}`

// testUpstream is a Graph stand-in answering upstreamBody, and a bot
// answering 202 to every notification.
func testUpstream(t *testing.T) (graph, bot string) {
	t.Helper()
	g := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, upstreamBody)
	}))
	t.Cleanup(g.Close)
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(b.Close)
	return g.URL, b.URL
}

// startRecord runs startRecordTo against the test upstream and bot.
func startRecord(t *testing.T, path string, env []string, extra ...string) (p *proc, graph, notify string) {
	t.Helper()
	up, bot := testUpstream(t)
	return startRecordTo(t, up, bot, path, env, extra...)
}

// startRecordTo runs "graphvcr record --quiet" on cassette path (its CA
// beside it) forwarding to upstream up and bot, with extra args, and
// returns it with its listeners' base URLs once it is healthy. Quiet,
// because a recorder under load writes more progress lines than a test
// reads: it is found on ports chosen beforehand.
func startRecordTo(t *testing.T, up, bot, path string, env []string, extra ...string) (p *proc, graph, notify string) {
	t.Helper()
	gl, nl := freeAddr(t), freeAddr(t)
	args := append([]string{"record", "--quiet", "--ca-dir", filepath.Join(filepath.Dir(path), "ca"), "--cassette", path,
		"--listen", gl, "--notify-listen", nl, "--upstream", up, "--token-upstream", up, "--bot", bot}, extra...)
	p = start(t, env, args...)
	graph, notify = "http://"+gl, "http://"+nl
	waitHealthy(t, p, graph)
	return p, graph, notify
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy polls base's health endpoint until it answers 200, failing
// if p exits first or after a deadline.
func waitHealthy(t *testing.T, p *proc, base string) {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{}, Timeout: time.Second}
	defer client.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(base + "/__graphvcr/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("graphvcr exited (%d) before it was healthy: %s", p.code, p.stderr)
		case <-time.After(20 * time.Millisecond): // polling with a deadline
		}
		if time.Now().After(deadline) {
			t.Fatal("graphvcr not healthy after 30 s")
		}
	}
}

// load sends exchanges through a recorder from several workers, each with a
// key redaction leaves alone, and keeps the keys of those acknowledged (the
// whole answer received).
type load struct {
	mu      sync.Mutex
	acked   map[string]bool
	errs    []error // before stop was asked
	stopped bool
	enough  chan struct{} // closed once threshold exchanges were acknowledged
	thresh  int
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	tr      *http.Transport
}

// startLoad starts workers sending to graph (and, one in five, to notify)
// until stop; enough is closed after threshold acknowledgements.
func startLoad(t *testing.T, graph, notify string, workers, threshold int) *load {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	l := &load{acked: map[string]bool{}, enough: make(chan struct{}), thresh: threshold, cancel: cancel,
		tr: &http.Transport{MaxIdleConnsPerHost: workers}}
	client := &http.Client{Transport: l.tr, Timeout: 20 * time.Second}
	for w := range workers {
		l.wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("w%di%dk", w, i)
				url, want := graph+"/v1.0/load/"+key, http.StatusOK
				if (w+i)%5 == 4 {
					url, want = notify+"/api/calls/"+key, http.StatusAccepted
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"value":[]}`))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err == nil {
					var b []byte
					b, err = io.ReadAll(resp.Body)
					resp.Body.Close()
					if err == nil && (resp.StatusCode != want || (want == http.StatusOK && string(b) != upstreamBody)) {
						err = fmt.Errorf("%s: status %d %q", key, resp.StatusCode, b)
					}
				}
				l.mu.Lock()
				if err != nil {
					if !l.stopped {
						l.errs = append(l.errs, err)
					}
					l.mu.Unlock()
					return // a recorder shutting down refuses connections
				}
				l.acked[key] = true
				if len(l.acked) == l.thresh {
					close(l.enough)
				}
				l.mu.Unlock()
			}
		})
	}
	return l
}

// waitEnough waits for the threshold of acknowledgements.
func (l *load) waitEnough(t *testing.T) {
	t.Helper()
	select {
	case <-l.enough:
	case <-time.After(30 * time.Second):
		t.Fatalf("only %d exchanges acknowledged in 30 s; errors %v", len(l.keys()), l.errs)
	}
}

// stopping marks errors from now on as expected (the recorder is going away).
func (l *load) stopping() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

// stop ends the workers and returns the acknowledged keys.
func (l *load) stop(t *testing.T) map[string]bool {
	t.Helper()
	l.stopping()
	l.cancel()
	l.wg.Wait()
	l.tr.CloseIdleConnections()
	for _, err := range l.errs {
		t.Errorf("under load, before shutdown: %v", err)
	}
	return l.keys()
}

func (l *load) keys() map[string]bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]bool, len(l.acked))
	for k := range l.acked {
		out[k] = true
	}
	return out
}

// cassetteKeys opens the cassette (it must open: closed cleanly or left by
// a killed process) and returns the load key of each event.
func cassetteKeys(t *testing.T, path string) map[string]bool {
	t.Helper()
	r, err := cassette.Open(path)
	if err != nil {
		t.Fatalf("cassette unreadable: %v", err)
	}
	defer r.Close()
	keys := map[string]bool{}
	err = r.EachHead(func(e *cassette.Event) error {
		keys[e.Request.URL[strings.LastIndexByte(e.Request.URL, '/')+1:]] = true
		return nil
	})
	if err != nil {
		t.Fatalf("read cassette: %v", err)
	}
	return keys
}

// wantAllAcked fails for every acknowledged key missing from the cassette.
func wantAllAcked(t *testing.T, acked, stored map[string]bool) {
	t.Helper()
	missing := 0
	for k := range acked {
		if !stored[k] {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged exchange %s is not in the cassette", k)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged exchanges lost", missing, len(acked))
	}
}

var summaryLine = regexp.MustCompile(`(?m)^recorded (\d+) events \(`)

// TestSignalsUnderLoad stops a loaded recorder with SIGTERM (summary,
// exit 0, cassette closed and complete) and with SIGKILL (every
// acknowledged exchange survives; at most those in flight are extra).
func TestSignalsUnderLoad(t *testing.T) {
	const workers = 8
	tests := []struct {
		name string
		sig  syscall.Signal
	}{
		{"SIGTERM", syscall.SIGTERM},
		{"SIGKILL", syscall.SIGKILL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "load.bolt")
			p, graph, notify := startRecord(t, path, nil)
			l := startLoad(t, graph, notify, workers, 100)
			l.waitEnough(t)
			l.stopping()
			if err := p.cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			r := p.wait()
			acked := l.stop(t)
			stored := cassetteKeys(t, path)
			wantAllAcked(t, acked, stored)
			if len(stored) > len(acked)+workers {
				t.Errorf("%d events for %d acknowledged exchanges and %d workers", len(stored), len(acked), workers)
			}
			t.Logf("%d acknowledged, %d stored", len(acked), len(stored))
			if tt.sig == syscall.SIGKILL {
				return
			}
			if r.code != 0 || r.stderr != "" {
				t.Errorf("exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
			}
			m := summaryLine.FindStringSubmatch(r.stdout)
			if m == nil {
				t.Fatalf("no summary after SIGTERM:\n%s", r.stdout)
			}
			if n, _ := strconv.Atoi(m[1]); n != len(stored) {
				t.Errorf("summary says %d events, the cassette holds %d", n, len(stored))
			}
		})
	}
}

// TestCassetteLocked: a second record (--append or --force) or a replay on
// a cassette a record holds exits 2 with one "locked" line, and the first
// record goes on and keeps everything.
func TestCassetteLocked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "held.bolt")
	p, graph, notify := startRecord(t, path, nil)
	l := startLoad(t, graph, notify, 2, 10)
	l.waitEnough(t)

	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"record --append", []string{"record", "--ca-dir", filepath.Join(dir, "ca"), "--cassette", path, "--append", "--bot", "http://127.0.0.1:9", "--listen", "127.0.0.1:0", "--notify-listen", "127.0.0.1:0"},
			[]string{"create " + path + ": ", "locked"}},
		{"record --force", []string{"record", "--ca-dir", filepath.Join(dir, "ca"), "--cassette", path, "--force", "--bot", "http://127.0.0.1:9", "--listen", "127.0.0.1:0", "--notify-listen", "127.0.0.1:0"},
			[]string{"create " + path + ": ", "locked"}},
		{"record without --append", []string{"record", "--ca-dir", filepath.Join(dir, "ca"), "--cassette", path, "--bot", "http://127.0.0.1:9", "--listen", "127.0.0.1:0", "--notify-listen", "127.0.0.1:0"},
			[]string{"create " + path + ": ", "file exists"}},
		{"replay", []string{"replay", "--cassette", path, "--bot", "http://127.0.0.1:9", "--listen", "127.0.0.1:0"},
			[]string{"open " + path + ": ", "locked"}},
		{"show", []string{"show", path}, []string{"open " + path + ": ", "locked"}},
	}
	t.Run("contenders", func(t *testing.T) { // returns once its parallel subtests are done
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				r := graphvcrProcess(t, nil, tt.args...)
				wantFailure(t, r, 2, tt.want...)
			})
		}
	})
	l.stopping()
	r := p.interrupt()
	acked := l.stop(t)
	wantSuccess(t, r)
	wantAllAcked(t, acked, cassetteKeys(t, path))
}

// TestCassetteRemovedWhileRecording removes the cassette's directory in
// the middle of a recording: graphvcr keeps recording into the open file
// and, when stopped, saves it again at its path with one warning line, so
// no acknowledged exchange is lost.
func TestCassetteRemovedWhileRecording(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("a removed cassette can be saved again only where /proc/self/fd exists")
	}
	tests := []struct {
		name   string
		remove func(t *testing.T, path string)
	}{
		{"directory removed", func(t *testing.T, path string) {
			if err := os.RemoveAll(filepath.Dir(path)); err != nil {
				t.Fatal(err)
			}
		}},
		{"file removed", func(t *testing.T, path string) {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "sub", "rec.bolt")
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			p, graph, notify := startRecord(t, path, nil, "--ca-dir", filepath.Join(t.TempDir(), "ca"))
			l := startLoad(t, graph, notify, 2, 20)
			l.waitEnough(t)
			tt.remove(t, path)
			before := len(l.keys())
			waitAcked(t, l, before+20) // still recording into the open file
			l.stopping()
			r := p.interrupt()
			acked := l.stop(t)
			if r.code != 0 {
				t.Errorf("exit %d: %s", r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stderr, "graphvcr: warning: "+path+" was removed while recording") || strings.Count(r.stderr, "\n") != 1 {
				t.Errorf("stderr %q; want one warning line saying the cassette was saved again", r.stderr)
			}
			wantAllAcked(t, acked, cassetteKeys(t, path))
		})
	}
}

// waitAcked waits until l acknowledged n exchanges.
func waitAcked(t *testing.T, l *load, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(l.keys()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d exchanges acknowledged", len(l.keys()), n)
		}
		select {
		case <-t.Context().Done():
			return
		case <-time.After(10 * time.Millisecond): // polling with a deadline
		}
	}
}
