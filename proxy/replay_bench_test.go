package proxy

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/redact/benchtest"
)

// writeEvents appends events to a new cassette at path with workers
// concurrent appenders, so the writer's group commit batches them.
func writeEvents(tb testing.TB, path string, workers int, events []*cassette.Event, pseudonyms []string) {
	tb.Helper()
	w, err := cassette.Create(path, cassette.CreateOptions{Meta: cassette.Meta{Upstream: "https://graph.microsoft.com"}})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if len(pseudonyms) > 0 {
		// Register the pseudonym set with the first event.
		if err := w.Append(ctx, events[0], pseudonyms...); err != nil {
			tb.Fatal(err)
		}
		events = events[1:]
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range max(workers, 1) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(events) {
					return
				}
				if err := w.Append(ctx, events[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
}

// benchBody is a Graph-like JSON answer of about 1 KB.
var benchBody = []byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#communications/calls/$entity","@odata.type":"#microsoft.graph.call","state":"established","direction":"outgoing","callbackUri":"https://bot1.example.invalid/api/calls","id":"` + benchtest.PseudoGUID(2) + `","tenantId":"` + benchtest.PseudoGUID(1) + `","myParticipantId":"` + benchtest.PseudoGUID(3) + `","requestedModalities":["audio"],"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"},"source":{"@odata.type":"#microsoft.graph.participantInfo","identity":{"@odata.type":"#microsoft.graph.identitySet","application":{"@odata.type":"#microsoft.graph.identity","displayName":"Person 1","id":"` + benchtest.PseudoGUID(4) + `"}},"endpointType":"default","languageId":"languageId-value","region":"region-value"},"targets":[{"@odata.type":"#microsoft.graph.invitationParticipantInfo","identity":{"@odata.type":"#microsoft.graph.identitySet","user":{"@odata.type":"#microsoft.graph.identity","displayName":"Person 2","id":"` + benchtest.PseudoGUID(5) + `"}}}],"chatInfo":null,"meetingInfo":null,"transcription":null,"toneInfo":null,"resultInfo":null,"answeredBy":null,"incomingContext":null,"routingPolicies":[],"activeModalities":[],"subject":null}`)

// getCassette writes a cassette of one recorded GET of a call (benchBody)
// at path and opens it until the benchmark ends.
func getCassette(b *testing.B, path string) *cassette.Reader {
	b.Helper()
	ev := &cassette.Event{
		Kind: cassette.KindGraph, Offset: time.Millisecond, Latency: 20 * time.Millisecond,
		Request: cassette.Request{Method: "GET", URL: "https://graph.microsoft.com/v1.0/communications/calls/" + benchtest.PseudoGUID(2)},
		Response: cassette.Response{Status: 200, Header: http.Header{
			"Content-Type": {"application/json"}, "Request-Id": {benchtest.PseudoGUID(9)},
		}, Body: benchBody},
	}
	writeEvents(b, path, 1, []*cassette.Event{ev}, []string{benchtest.PseudoGUID(1), benchtest.PseudoGUID(2), benchtest.PseudoGUID(3), benchtest.PseudoGUID(4), benchtest.PseudoGUID(5), benchtest.PseudoGUID(9), "Person 1", "Person 2"})
	rd, err := cassette.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rd.Close() })
	return rd
}

// benchClients is how many clients getLoop runs at once.
const benchClients = 32

// getLoop sends n GETs of url from benchClients goroutines sharing client
// and returns the time they took; an error or a status other than 200
// fails b.
func getLoop(b *testing.B, client *http.Client, url string, n int) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range benchClients {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				resp, err := client.Get(url)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// alternate runs b.N operations of with and of without in alternating
// chunks, so that the machine's load (shared, bursty) weighs on both alike,
// and returns the time each took; only with runs on b's timer, which is
// stopped on return.
func alternate(b *testing.B, chunk int, with, without func(n int) time.Duration) (tWith, tWithout time.Duration) {
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		k := min(chunk, b.N-done)
		tWith += with(k)
		b.StopTimer()
		tWithout += without(k)
		b.StartTimer()
	}
	b.StopTimer()
	return tWith, tWithout
}

// notificationCassette writes count notifications on one call, recorded
// 2 ms apart, to name in a temporary directory, and opens it until the
// benchmark ends. It returns the events written too.
func notificationCassette(b *testing.B, name string, count int) (*cassette.Reader, []*cassette.Event) {
	b.Helper()
	path := filepath.Join(b.TempDir(), name)
	var evs []*cassette.Event
	for i := range count {
		evs = append(evs, &cassette.Event{
			Kind: cassette.KindNotification, Offset: time.Duration(i+1) * 2 * time.Millisecond,
			Request: cassette.Request{Method: "POST", URL: "https://bot1.example.invalid/api/calls",
				Header: http.Header{"Content-Type": {"application/json"}},
				Body:   []byte(`{"value":[{"changeType":"updated","resource":"/communications/calls/` + benchtest.PseudoGUID(2) + `"}]}`)},
			Response: cassette.Response{Status: 202},
		})
	}
	writeEvents(b, path, 1, evs, []string{benchtest.PseudoGUID(2)})
	rd, err := cassette.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rd.Close() })
	return rd, evs
}

// sinkBot serves a bot that reads each notification and answers 202, on
// 127.0.0.1 until the benchmark ends, and returns its base URL.
func sinkBot(b *testing.B) string {
	b.Helper()
	bot := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go bot.Serve(ln)
	b.Cleanup(func() { bot.Close() })
	return "http://" + ln.Addr().String()
}

// replayToEnd starts a Replayer with cfg and returns it once it has
// delivered every notification; the caller closes it.
func replayToEnd(b *testing.B, cfg ReplayConfig) *Replayer {
	b.Helper()
	rep, err := StartReplayer(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	select {
	case <-rep.Done():
	case <-time.After(30 * time.Second):
		b.Fatal("not done")
	}
	return rep
}

// startBenchReplayer starts a Replayer with cfg, closed when the benchmark
// ends (before anything the caller registered with b.Cleanup earlier, such
// as its cassettes).
func startBenchReplayer(b *testing.B, cfg ReplayConfig) *Replayer {
	b.Helper()
	rep, err := StartReplayer(b.Context(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rep.Close(context.Background()) })
	return rep
}

// getRates GETs url and baseURL warm times each to open client's
// connections, then b.N times each in alternating chunks (alternate), and
// returns their request rates; only url's GETs run on b's timer.
func getRates(b *testing.B, client *http.Client, url, baseURL string, warm int) (rps, baseRPS float64) {
	run := func(url string) func(int) time.Duration {
		return func(n int) time.Duration { return getLoop(b, client, url, n) }
	}
	run(url)(warm)
	run(baseURL)(warm)
	d, dBase := alternate(b, 250, run(url), run(baseURL))
	return float64(b.N) / d.Seconds(), float64(b.N) / dBase.Seconds()
}

// BenchmarkReplayGET measures requests/s of a recorded GET served again and
// again at 32 concurrent clients, against a bare net/http handler writing
// the same bytes, in the same run.
func BenchmarkReplayGET(b *testing.B) {
	rd := getCassette(b, filepath.Join(b.TempDir(), "get.bolt"))
	rep := startBenchReplayer(b, ReplayConfig{Cassette: rd, Speed: 0})
	// What the replayer answers once bound: the bare handler writes exactly that.
	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	liveURL := rep.URL() + "/v1.0/communications/calls/" + benchtest.LiveGUID(2)
	resp, err := client.Get(liveURL)
	if err != nil {
		b.Fatal(err)
	}
	want, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	hdr := resp.Header.Clone()
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(200)
		w.Write(want)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go bare.Serve(ln)
	defer bare.Close()
	bareURL := "http://" + ln.Addr().String() + "/v1.0/communications/calls/" + benchtest.LiveGUID(2)

	b.SetBytes(int64(len(want)))
	rps, bareRPS := getRates(b, client, liveURL, bareURL, 2000)
	b.ReportMetric(rps, "replay-req/s")
	b.ReportMetric(bareRPS, "bare-req/s")
	b.ReportMetric(rps/bareRPS, "ratio")
}

// BenchmarkReplayGETRecordActual serves one recorded GET to 32 clients
// from two replayers of the same cassette, one writing what the bot did
// (ReplayConfig.Actual) and one not, in alternating chunks so that the
// shared machine's load weighs on both alike, and reports their request
// rates and ratio: what recording the actual session costs the bot.
func BenchmarkReplayGETRecordActual(b *testing.B) {
	dir := b.TempDir()
	rd := getCassette(b, filepath.Join(dir, "get.bolt"))
	meta, err := ActualMeta(rd)
	if err != nil {
		b.Fatal(err)
	}
	w, err := cassette.Create(filepath.Join(dir, "actual.bolt"), cassette.CreateOptions{Meta: meta})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() }) // after the replayer writing to it is closed
	with := startBenchReplayer(b, ReplayConfig{Cassette: rd, Speed: 0, Actual: w})
	without := startBenchReplayer(b, ReplayConfig{Cassette: rd, Speed: 0})

	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	path := "/v1.0/communications/calls/" + benchtest.LiveGUID(2)
	rps, bareRPS := getRates(b, client, with.URL()+path, without.URL()+path, 500)
	b.ReportMetric(rps, "actual-req/s")
	b.ReportMetric(bareRPS, "plain-req/s")
	b.ReportMetric(rps/bareRPS, "ratio")
}

// BenchmarkNotificationTiming delivers many notifications at speed 1, each
// recorded 2 ms after the previous, and reports how late (or early) each
// left compared with its recorded gap from its trigger.
func BenchmarkNotificationTiming(b *testing.B) {
	const count = 300
	rd, evs := notificationCassette(b, "notify.bolt", count)
	botURL := sinkBot(b)
	report := func(b *testing.B, errs []time.Duration) {
		slices.Sort(errs)
		b.ReportMetric(float64(errs[len(errs)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(errs[len(errs)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(errs[len(errs)-1].Microseconds())/1000, "max-ms")
	}
	// replayer: the Replayer as the CLI runs it.
	b.Run("replayer", func(b *testing.B) {
		var errs []time.Duration
		for b.Loop() {
			rep := replayToEnd(b, ReplayConfig{Cassette: rd, Speed: 1, Bot: botURL})
			for _, d := range rep.Report().Notifications {
				errs = append(errs, (d.ActualGap - d.RecordedGap).Abs())
			}
			rep.Close(context.Background())
		}
		report(b, errs)
	})
	// prepared: the scheduler with each request read from the cassette and
	// built before its due time, only the POST left at that time (on a
	// keep-alive connection): what the Replayer gets once its deliveries
	// are split into prepare and send.
	b.Run("prepared", func(b *testing.B) {
		tr := &http.Transport{MaxIdleConnsPerHost: 4}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr}
		var errs []time.Duration
		for b.Loop() {
			var notifs []*notification
			for i := range count {
				notifs = append(notifs, &notification{seq: uint64(i + 1), gap: evs[i].Offset, path: "/api/calls"})
			}
			prepare := func(ctx context.Context, n *notification) sender {
				ev, err := rd.Event(n.seq)
				if err != nil {
					return func(context.Context) delivery { return delivery{err: err} }
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, botURL+n.path, bytes.NewReader(ev.Request.Body))
				if err != nil {
					return func(context.Context) delivery { return delivery{err: err} }
				}
				req.Header = ev.Request.Header.Clone()
				return func(context.Context) delivery {
					sent := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						return delivery{err: err, sent: sent}
					}
					discard(resp.Body)
					return delivery{status: resp.StatusCode, sent: sent}
				}
			}
			s := newScheduler(notifs, 1, schedulerHooks{prepare: prepare})
			s.arm(0, time.Now())
			s.run(b.Context())
			done, _ := s.snapshot()
			for _, d := range done {
				if d.d.err != nil {
					b.Fatal(d.d.err)
				}
				errs = append(errs, (d.sent.Sub(d.n.armedAt) - d.n.gap).Abs())
			}
		}
		report(b, errs)
	})
}

// rssChildEnv names the cassette a child process replays while the parent
// measures its memory (see TestReplayRSSChild).
const rssChildEnv = "GRAPHVCR_REPLAY_RSS_CASSETTE"

// BenchmarkReplayRSS replays a 1 GB cassette (1,000 exchanges of 1 MB
// bodies) in a child process and reports its resident memory after loading
// the index and after serving a sample of the bodies.
func BenchmarkReplayRSS(b *testing.B) {
	const n, size = 1000, 1 << 20
	path := filepath.Join(b.TempDir(), "big.bolt")
	body := bytes.Repeat([]byte(`{"value":"`+strings.Repeat("x", 1000)+`"},`), size/1013)
	var evs []*cassette.Event
	for i := range n {
		evs = append(evs, &cassette.Event{
			Kind: cassette.KindGraph, Offset: time.Duration(i) * time.Millisecond,
			Request:  cassette.Request{Method: "GET", URL: "https://graph.microsoft.com/v1.0/communications/calls/" + benchtest.PseudoGUID(10+i) + "/big"},
			Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: body},
		})
	}
	start := time.Now()
	writeEvents(b, path, 8, evs, nil)
	evs = nil
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("fixture: %d MB in %v", st.Size()>>20, time.Since(start).Round(time.Millisecond))
	defer os.Remove(path)
	for b.Loop() {
		cmd := exec.CommandContext(b.Context(), os.Args[0], "-test.run=^TestReplayRSSChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), rssChildEnv+"="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("child: %v\n%s", err, out)
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "RSS" {
				kb, _ := strconv.Atoi(f[2])
				b.ReportMetric(float64(kb)/1024, f[1]+"-MB")
			}
		}
	}
}

// TestReplayRSSChild is the child process of BenchmarkReplayRSS; it does
// nothing in a normal test run.
func TestReplayRSSChild(t *testing.T) {
	path := os.Getenv(rssChildEnv)
	if path == "" {
		return
	}
	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rep, err := StartReplayer(t.Context(), ReplayConfig{Cassette: rd, Speed: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer rep.Close(context.Background())
	fmt.Println("RSS loaded", vmRSS(t), "kB")
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	for i := 0; i < rd.Len(); i += 10 { // a tenth of the bodies: 100 MB served
		resp, err := client.Get(rep.URL() + "/v1.0/communications/calls/" + benchtest.PseudoGUID(10+i) + "/big")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fmt.Println("RSS served", vmRSS(t), "kB")
	fmt.Println("RSS anon", procStatus(t, "RssAnon:"), "kB")
}

func vmRSS(t *testing.T) int { return procStatus(t, "VmRSS:") }

func procStatus(t *testing.T, field string) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}
