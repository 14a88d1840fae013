package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/recordtest"
)

// Load: loadConns bot connections at once for loadFor, through the
// recorder and through the replayer. Bounded so that the whole package
// stays fast on a 2-core CI machine with -race.
const (
	loadConns = 200
	loadFor   = 2 * time.Second
	// heapSlack bounds how much the live heap may grow across a load run once
	// everything is shut down and collected: a leak of anything per exchange
	// (bodies are 2 KiB, thousands of exchanges) shows well above it.
	heapSlack = 8 << 20
)

// loadBody is a 2 KiB answer, large enough that keeping one per exchange
// would show in the heap measurements.
var loadBody = []byte(`{"padding":"` + strings.Repeat("x", 2000) + `","ok":true}`)

// liveHeap returns the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // the first may leave finalizer-reachable objects for the second
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// loadClient is an HTTP client that keeps one connection per worker: the
// load is loadConns concurrent connections, not a few reused ones.
func loadClient() (*http.Client, *http.Transport) {
	tr := &http.Transport{MaxIdleConns: loadConns * 2, MaxIdleConnsPerHost: loadConns * 2, DisableCompression: true, IdleConnTimeout: 30 * time.Second}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}, tr
}

// ack sends req and reports whether it was acknowledged: wantStatus and the
// whole body read; the body is returned.
func ack(c *http.Client, req *http.Request, wantStatus int) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != wantStatus {
		return b, fmt.Errorf("%s %s: status %d, want %d: %.200s", req.Method, req.URL.Path, resp.StatusCode, wantStatus, b)
	}
	return b, nil
}

// runLoad runs workers copies of fn until d has passed, each with its worker
// number and iteration, and returns the first errors (at most 5) and how
// many calls succeeded.
func runLoad(ctx context.Context, workers int, d time.Duration, fn func(w, i int) error) (int64, []error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		ok   atomic.Int64
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for w := range workers {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				if err := fn(w, i); err != nil {
					mu.Lock()
					if len(errs) < 5 {
						errs = append(errs, err)
					}
					mu.Unlock()
					return
				}
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	return ok.Load(), errs
}

// TestLoadRecord drives loadConns connections through a recorder for
// loadFor, one in ten a notification, and checks that every acknowledged
// exchange is in the cassette (and nothing else), none recorded as an
// error, no goroutine outlives Close, and the heap comes back to where it was.
func TestLoadRecord(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) }) // runs last: after every other cleanup

	upstream := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(loadBody)
	}))
	var botGot atomic.Int64
	bot := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		botGot.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	before := liveHeap()

	path := filepath.Join(t.TempDir(), "load.bolt")
	rec := recordtest.Start(t, path, proxy.RecordConfig{Upstream: upstream, TokenUpstream: upstream, Bot: bot})
	client, tr := loadClient()

	// Each exchange carries a key of letters and digits that redaction
	// leaves alone, so the cassette can be checked against what was acknowledged.
	var ackedMu sync.Mutex
	acked := map[string]bool{}
	n, errs := runLoad(t.Context(), loadConns, loadFor, func(w, i int) error {
		key := fmt.Sprintf("w%di%dk", w, i)
		var req *http.Request
		want := http.StatusOK
		if (w+i)%10 == 9 {
			body := `{"value":[{"changeType":"updated","resource":"/communications/calls/` + key + `","resourceData":{"state":"established"}}]}`
			req, _ = http.NewRequest(http.MethodPost, rec.NotifyURL()+"/api/calls/"+key, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			want = http.StatusAccepted
		} else {
			req, _ = http.NewRequest(http.MethodPost, rec.URL()+"/v1.0/load/"+key, strings.NewReader(`{"n":1}`))
			req.Header.Set("Content-Type", "application/json")
		}
		body, err := ack(client, req, want)
		if err != nil {
			return err
		}
		if want == http.StatusOK && !bytes.Equal(body, loadBody) {
			return fmt.Errorf("%s: relayed body differs from upstream's (%d bytes)", key, len(body))
		}
		ackedMu.Lock()
		acked[key] = true
		ackedMu.Unlock()
		return nil
	})
	for _, err := range errs {
		t.Errorf("under load: %v", err)
	}
	mid := liveHeap()
	rec.Close()
	sum := rec.Summary()
	tr.CloseIdleConnections()
	t.Logf("%d exchanges acknowledged in %s through %d connections (%d notifications)", n, loadFor, loadConns, botGot.Load())
	if n < loadConns {
		t.Fatalf("only %d exchanges in %s: the load did not run", n, loadFor)
	}

	evs := readEvents(t, path)
	if len(evs) != len(acked) || sum.Events != len(acked) {
		t.Errorf("cassette holds %d events, summary says %d, %d were acknowledged", len(evs), sum.Events, len(acked))
	}
	if sum.Errors != 0 {
		t.Errorf("summary counts %d errors", sum.Errors)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		key := e.Request.URL[strings.LastIndexByte(e.Request.URL, '/')+1:]
		if seen[key] {
			t.Errorf("exchange %s recorded twice", key)
		}
		seen[key] = true
		if !acked[key] {
			t.Errorf("event %d (%s) was not acknowledged", e.Seq, e.Request.URL)
		}
		if e.Error != "" {
			t.Errorf("event %d recorded an error: %s", e.Seq, e.Error)
		}
	}
	for key := range acked {
		if !seen[key] {
			t.Errorf("acknowledged exchange %s is not in the cassette", key)
		}
	}

	clear(acked)
	evs = nil
	after := liveHeap()
	t.Logf("heap: %d KiB before, %d KiB at the end of the load, %d KiB after shutdown", before>>10, mid>>10, after>>10)
	if after > before+heapSlack {
		t.Errorf("heap grew from %d to %d KiB across the load and shutdown", before>>10, after>>10)
	}
}

// TestLoadReplay drives loadConns connections at a replayer for loadFor
// and checks every answer is the recorded one, every request is accounted
// for in the report (matched once, then served again), every notification
// reaches the bot exactly once, no goroutine outlives Close, and the heap
// comes back to where it was.
func TestLoadReplay(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, leaks) })

	const exchanges, notifications = 20, 10
	path := filepath.Join(t.TempDir(), "replay-load.bolt")
	var events []*cassette.Event
	for k := range exchanges {
		body := []byte(fmt.Sprintf(`{"k":%d,"padding":"%s"}`, k, strings.Repeat("y", 2000)))
		events = append(events, &cassette.Event{
			Kind: cassette.KindGraph, Offset: time.Duration(k) * time.Millisecond, Latency: time.Millisecond,
			Request:  cassette.Request{Method: "GET", URL: fmt.Sprintf("https://graph.microsoft.com/v1.0/load/item%d", k), Header: http.Header{}},
			Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: body},
		})
	}
	for k := range notifications {
		events = append(events, &cassette.Event{
			Kind: cassette.KindNotification, Offset: time.Duration(exchanges+k) * time.Millisecond, Trigger: uint64(k + 1),
			Request: cassette.Request{Method: "POST", URL: fmt.Sprintf("https://bot1.example.invalid/api/calls/note%d", k),
				Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(fmt.Sprintf(`{"value":[{"changeType":"updated","resource":"/communications/calls/note%d"}]}`, k))},
			Response: cassette.Response{Status: 202},
		})
	}
	cassettetest.Write(t, path, cassette.Meta{Upstream: proxy.DefaultUpstream, TokenUpstream: proxy.DefaultTokenUpstream}, events)

	var deliveredMu sync.Mutex
	delivered := map[string]int{}
	bot := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		deliveredMu.Lock()
		delivered[r.URL.Path]++
		deliveredMu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	before := liveHeap()

	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rep, err := proxy.StartReplayer(t.Context(), proxy.ReplayConfig{Bot: bot, Speed: 0, Cassette: rd})
	if err != nil {
		t.Fatal(err)
	}
	client, tr := loadClient()
	n, errs := runLoad(t.Context(), loadConns, loadFor, func(w, i int) error {
		k := (w + i) % exchanges
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v1.0/load/item%d", rep.URL(), k), nil)
		body, err := ack(client, req, http.StatusOK)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(body, fmt.Appendf(nil, `{"k":%d,`, k)) || len(body) < 2000 {
			return fmt.Errorf("item%d: answered %.40s… (%d bytes), not its recording", k, body, len(body))
		}
		return nil
	})
	for _, err := range errs {
		t.Errorf("under load: %v", err)
	}
	select {
	case <-rep.Done():
	case <-time.After(10 * time.Second):
		t.Errorf("replay not done after the load: %+v", rep.Report().Pending)
	}
	mid := liveHeap()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rep.Close(ctx); err != nil {
		t.Errorf("close replayer: %v", err)
	}
	tr.CloseIdleConnections()
	t.Logf("%d requests answered in %s through %d connections", n, loadFor, loadConns)
	if n < loadConns {
		t.Fatalf("only %d requests in %s: the load did not run", n, loadFor)
	}

	report := rep.Report()
	served := int64(len(report.Matched))
	for _, s := range report.ServedAgain {
		served += int64(s.Count)
	}
	if served != n || len(report.Matched) != exchanges || len(report.Unmatched) != 0 {
		t.Errorf("report: %d matched + served again = %d answers, %d unmatched; want %d matched and %d answers",
			len(report.Matched), served, len(report.Unmatched), exchanges, n)
	}
	deliveredMu.Lock()
	for k := range notifications {
		if got := delivered[fmt.Sprintf("/api/calls/note%d", k)]; got != 1 {
			t.Errorf("notification %d delivered %d times, want once", k, got)
		}
	}
	deliveredMu.Unlock()
	if len(report.Notifications) != notifications || len(report.Pending) != 0 {
		t.Errorf("report: %d notifications delivered, %d pending; want %d and 0", len(report.Notifications), len(report.Pending), notifications)
	}

	after := liveHeap()
	t.Logf("heap: %d KiB before, %d KiB at the end of the load, %d KiB after shutdown", before>>10, mid>>10, after>>10)
	if after > before+heapSlack {
		t.Errorf("heap grew from %d to %d KiB across the load and shutdown", before>>10, after>>10)
	}
}
