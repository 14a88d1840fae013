package diff_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/cassette/diff"
)

// fixtures caches the benchmark's cassettes for the whole run: writing
// them (an fsync per event) takes longer than what is measured.
var fixtures struct {
	sync.Mutex
	dir   string
	paths map[int][2]string
	sizes map[int]int64
}

// removeFixtures deletes the cached cassettes; TestMain calls it.
func removeFixtures() {
	fixtures.Lock()
	defer fixtures.Unlock()
	if fixtures.dir != "" {
		os.RemoveAll(fixtures.dir)
	}
}

// benchSessions returns two cassettes of about n events: 8-event invite
// sessions one after the other, each response carrying a field of pad
// bytes, so that bodies outweigh heads; B has a request inserted and a body
// field changed every thousand events. It also returns the bytes of bodies
// in A.
func benchSessions(b *testing.B, n, pad int) (string, string, int64) {
	b.Helper()
	fixtures.Lock()
	defer fixtures.Unlock()
	if p, ok := fixtures.paths[pad]; ok {
		return p[0], p[1], fixtures.sizes[pad]
	}
	if fixtures.dir == "" {
		dir, err := os.MkdirTemp("", "diff-bench-")
		if err != nil {
			b.Fatal(err)
		}
		fixtures.dir, fixtures.paths, fixtures.sizes = dir, map[int][2]string{}, map[int]int64{}
	}
	padding := strings.Repeat("x", pad)
	var a, bb []*cassette.Event
	var bodies int64
	for i := 0; len(a) < n; i++ {
		for j, e := range session(1) {
			e.Offset += time.Duration(i) * 2 * time.Second
			if len(e.Response.Body) > 1 && e.Response.Body[0] == '{' {
				e.Response.Body = append([]byte(`{"media":"`+padding+`",`), e.Response.Body[1:]...)
			}
			bodies += int64(len(e.Request.Body) + len(e.Response.Body))
			a = append(a, e)
			c := clone([]*cassette.Event{e})[0]
			if i%125 == 60 && j == 3 {
				c.Request.Body = []byte(strings.Replace(string(c.Request.Body), `"default"`, `"voicemail"`, 1))
			}
			bb = append(bb, c)
			if i%125 == 100 && j == 3 {
				bb = append(bb, graph(e.Offset, "GET", "/v1.0/communications/calls/"+pid(3), "", 200, `{"id":"`+pid(3)+`"}`))
			}
		}
	}
	pa, pb := filepath.Join(fixtures.dir, fmt.Sprintf("a-%d.bolt", pad)), filepath.Join(fixtures.dir, fmt.Sprintf("b-%d.bolt", pad))
	cassettetest.Write(b, pa, meta, a)
	cassettetest.Write(b, pb, meta, bb)
	fixtures.paths[pad], fixtures.sizes[pad] = [2]string{pa, pb}, bodies
	return pa, pb, bodies
}

func heapAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// peakHeap runs fn while sampling the live heap every millisecond and returns the
// highest value seen above the heap before fn, in bytes.
func peakHeap(fn func()) uint64 {
	// ReadMemStats, unlike runtime/metrics, counts what the per-P caches
	// hold; it stops the world, so it samples every millisecond only.
	read := heapAlloc
	runtime.GC()
	base := read()
	peak := base
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				peak = max(peak, read())
			}
		}
	}()
	fn()
	close(stop)
	wg.Wait()
	peak = max(peak, read())
	return peak - base
}

// BenchmarkDiff10k compares two 10,000-event cassettes, and as a baseline
// in the same run reads both fully, decoding every body with encoding/json
// as a diff that held both sessions in memory would. It reports the time of
// each (ns/op is the diff's), their peak heap, and the bodies' size, for
// responses of 1 KB and of 8 KB: the diff's peak heap must follow the
// events' heads and stay the same, while the baseline's grows with the bodies.
func BenchmarkDiff10k(b *testing.B) {
	for _, pad := range []int{1 << 10, 8 << 10} {
		b.Run(fmt.Sprintf("body=%dKB", pad>>10), func(b *testing.B) { benchDiff(b, pad) })
	}
}

func benchDiff(b *testing.B, pad int) {
	pa, pb, bodies := benchSessions(b, 10000, pad)
	var diffNS, baseNS time.Duration
	var diffPeak, basePeak, kept uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		runtime.GC()
		before := heapAlloc()
		start := time.Now()
		var res *diff.Result
		diffPeak = max(diffPeak, peakHeap(func() {
			var err error
			res, err = diff.Files(pa, pb, diff.Options{})
			if err != nil {
				b.Fatal(err)
			}
		}))
		diffNS += time.Since(start)
		runtime.GC()
		kept = max(kept, heapAlloc()-min(before, heapAlloc()))
		if c := res.Counts(); c[diff.Added] != 10 || c[diff.Body] != 10 || res.Count != 20 {
			b.Fatalf("found %v, want 10 added and 10 body", c)
		}

		b.StopTimer()
		start = time.Now()
		basePeak = max(basePeak, peakHeap(func() { readAllJSON(b, pa, pb) }))
		baseNS += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(diffNS.Milliseconds())/float64(b.N), "diff-ms")
	b.ReportMetric(float64(baseNS.Milliseconds())/float64(b.N), "baseline-ms")
	b.ReportMetric(float64(diffNS)/float64(baseNS), "time-ratio")
	b.ReportMetric(float64(diffPeak)/(1<<20), "diff-peak-heap-MB")
	b.ReportMetric(float64(basePeak)/(1<<20), "baseline-peak-heap-MB")
	b.ReportMetric(float64(kept)/(1<<20), "result-heap-MB")
	b.ReportMetric(float64(2*bodies)/(1<<20), "bodies-MB")
}

// readAllJSON is the baseline: both cassettes read event by event with
// every JSON body decoded, and kept, as a naive comparison would.
func readAllJSON(b *testing.B, paths ...string) {
	var kept []any
	for _, p := range paths {
		r, err := cassette.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		err = r.Each(func(e *cassette.Event) error {
			for _, body := range [][]byte{e.Request.Body, e.Response.Body} {
				var v any
				if json.Unmarshal(body, &v) == nil {
					kept = append(kept, v)
				}
			}
			return nil
		})
		r.Close()
		if err != nil {
			b.Fatal(err)
		}
	}
	if len(kept) == 0 {
		b.Fatal("nothing decoded")
	}
}
