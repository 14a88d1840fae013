package proxy

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// BenchmarkReplayGETRecordActual serves one recorded GET to 32 clients
// from two replayers of the same cassette, one writing what the bot did
// (ReplayConfig.Actual) and one not, in alternating chunks so that the
// shared machine's load weighs on both alike, and reports their request
// rates and ratio: what recording the actual session costs the bot.
func BenchmarkReplayGETRecordActual(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "get.bolt")
	ev := &cassette.Event{
		Kind: cassette.KindGraph, Offset: time.Millisecond, Latency: 20 * time.Millisecond,
		Request: cassette.Request{Method: "GET", URL: "https://graph.microsoft.com/v1.0/communications/calls/" + pseudoGUID(2)},
		Response: cassette.Response{Status: 200, Header: http.Header{
			"Content-Type": {"application/json"}, "Request-Id": {pseudoGUID(9)},
		}, Body: benchBody},
	}
	writeEvents(b, path, 1, []*cassette.Event{ev}, []string{pseudoGUID(1), pseudoGUID(2), pseudoGUID(3), pseudoGUID(4), pseudoGUID(5), pseudoGUID(9), "Person 1", "Person 2"})
	rd, err := cassette.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	meta, err := ActualMeta(rd)
	if err != nil {
		b.Fatal(err)
	}
	w, err := cassette.Create(filepath.Join(dir, "actual.bolt"), cassette.CreateOptions{Meta: meta})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	with, err := StartReplayer(b.Context(), ReplayConfig{Cassette: rd, Speed: 0, Actual: w})
	if err != nil {
		b.Fatal(err)
	}
	defer with.Close(context.Background())
	without, err := StartReplayer(b.Context(), ReplayConfig{Cassette: rd, Speed: 0})
	if err != nil {
		b.Fatal(err)
	}
	defer without.Close(context.Background())

	tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	withURL := with.URL() + "/v1.0/communications/calls/" + liveGUID(2)
	withoutURL := without.URL() + "/v1.0/communications/calls/" + liveGUID(2)
	const clients = 32
	run := func(url string, n int) time.Duration {
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range clients {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	run(withURL, 500)
	run(withoutURL, 500)
	const chunk = 250
	var tWith, tWithout time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		k := min(chunk, b.N-done)
		tWith += run(withURL, k)
		b.StopTimer()
		tWithout += run(withoutURL, k)
		b.StartTimer()
	}
	b.StopTimer()
	rps, bareRPS := float64(b.N)/tWith.Seconds(), float64(b.N)/tWithout.Seconds()
	b.ReportMetric(rps, "actual-req/s")
	b.ReportMetric(bareRPS, "plain-req/s")
	b.ReportMetric(rps/bareRPS, "ratio")
}
