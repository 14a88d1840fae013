package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/redact"
)

const benchClients = 32

// inviteAnswer is a typical Graph answer: a JSON operation with ids.
const inviteAnswer = `{"@odata.type":"#microsoft.graph.inviteParticipantsOperation","id":"0fe0623f-d628-42ed-b4bd-8ac290072cc5",` +
	`"status":"running","clientContext":"f2fa86af-3c51-4bc2-8fc0-475452d9764f","resultInfo":null,` +
	`"participants":[{"endpointType":null,"id":null,"replacesCallId":"a7ebfb2d-871e-419c-87af-27290b22e8db",` +
	`"identity":{"user":{"id":"278405a3-f568-4b3e-b684-009193463064","displayName":"Jane Doe",` +
	`"tenantId":"aa67bd4c-8475-432d-bd41-39f255720e0a"}}}]}`

// BenchmarkRecord measures requests/s through the recorder (every exchange
// redacted and durably committed before it is relayed) at 32 concurrent
// clients against httputil.ReverseProxy in front of the same upstream in the
// same run, and the latency the recorder adds per exchange (p50, p99).
func BenchmarkRecord(b *testing.B) {
	up := benchServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "http://"+r.Host+"/v1.0/communications/calls/x/operations/y")
		io.WriteString(w, inviteAnswer)
	}))
	upURL, err := url.Parse(up)
	if err != nil {
		b.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(upURL)
	rpTr := &http.Transport{MaxIdleConnsPerHost: benchClients}
	defer rpTr.CloseIdleConnections()
	rp.Transport = rpTr
	base := benchServer(b, rp)

	red := redact.New(nil)
	w, err := cassette.Create(filepath.Join(b.TempDir(), "bench.bolt"), cassette.CreateOptions{Meta: proxy.RecordMeta(up, up, red)})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	rec, err := proxy.StartRecorder(context.Background(), proxy.RecordConfig{
		Upstream: up, TokenUpstream: up, Bot: "http://127.0.0.1:9", Cassette: w, Redactor: red,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rec.Close(ctx)
	}()

	n := max(b.N, benchClients)
	// Warm both paths (connections, leaf caches) before measuring.
	load(b, base, benchClients)
	load(b, rec.URL(), benchClients)

	b.ResetTimer()
	baseDur, baseLat := load(b, base, n)
	recDur, recLat := load(b, rec.URL(), n)
	b.StopTimer()

	recRPS := float64(n) / recDur.Seconds()
	baseRPS := float64(n) / baseDur.Seconds()
	b.ReportMetric(recRPS, "req/s")
	b.ReportMetric(baseRPS, "baseline-req/s")
	b.ReportMetric(recRPS/baseRPS, "ratio")
	b.ReportMetric(float64(percentile(recLat, 50)-percentile(baseLat, 50))/1e6, "p50-added-ms")
	b.ReportMetric(float64(percentile(recLat, 99)-percentile(baseLat, 99))/1e6, "p99-added-ms")
	if got := w.Len(); got < n {
		b.Fatalf("cassette holds %d events, want at least %d", got, n)
	}
}

// load sends n requests from benchClients concurrent clients with their own
// keep-alive connections and returns the wall time and every latency.
func load(b *testing.B, base string, n int) (time.Duration, []time.Duration) {
	b.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: benchClients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	target := base + "/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896/participants/invite"
	body := `{"participants":[{"@odata.type":"#microsoft.graph.invitationParticipantInfo","identity":{"user":{"id":"278405a3-f568-4b3e-b684-009193463064"}}}],"clientContext":"f2fa86af-3c51-4bc2-8fc0-475452d9764f"}`
	lats := make([]time.Duration, n)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range benchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				resp, err := client.Post(target, "application/json", strings.NewReader(body))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				lats[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d requests to %s failed", f, n, base)
	}
	return d, lats
}

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

// benchServer serves h on 127.0.0.1 until the benchmark ends.
func benchServer(b *testing.B, h http.Handler) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	b.Cleanup(func() { srv.Close(); <-done })
	return fmt.Sprintf("http://%s", ln.Addr())
}
