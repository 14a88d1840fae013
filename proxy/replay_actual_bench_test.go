package proxy

import (
	"context"
	"net/http"
	"path/filepath"
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
	rd := getCassette(b, filepath.Join(dir, "get.bolt"))
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
	run := func(url string) func(int) time.Duration {
		return func(n int) time.Duration { return getLoop(b, client, url, n) }
	}
	run(withURL)(500)
	run(withoutURL)(500)
	tWith, tWithout := alternate(b, 250, run(withURL), run(withoutURL))
	rps, bareRPS := float64(b.N)/tWith.Seconds(), float64(b.N)/tWithout.Seconds()
	b.ReportMetric(rps, "actual-req/s")
	b.ReportMetric(bareRPS, "plain-req/s")
	b.ReportMetric(rps/bareRPS, "ratio")
}
