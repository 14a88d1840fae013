package cassette

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// benchEvent is a 2 KB event: about 300 bytes of head and the rest body.
func benchEvent(i int) *Event { return sampleEvent(i, 2048-300) }

// naiveAppend is the baseline: one bbolt transaction, so one commit and its
// fsyncs, per event; the same buckets and encoding as Writer.Append.
func naiveAppend(db *bolt.DB, seq *atomic.Uint64, ev *Event) error {
	head := encodeHead(nil, ev)
	return db.Update(func(tx *bolt.Tx) error {
		s := seq.Add(1) // inside Update: transactions are serial, so seqs follow commit order
		key := seqKey(s)
		if err := tx.Bucket(bucketEvents).Put(key, head); err != nil {
			return err
		}
		return tx.Bucket(bucketBodies).Put(key, ev.Response.Body)
	})
}

// BenchmarkAppend measures durable appends of 2 KB events with 1 and 32
// concurrent writers, and the same appends done one transaction per event
// (capped at 1,000 events: each pays its own fsyncs) as the baseline.
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 32} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			w := newCassette(b, Meta{})
			events := make([]*Event, 256)
			for i := range events {
				events[i] = benchEvent(i)
			}
			b.SetBytes(int64(len(encodeHead(nil, events[0])) + len(events[0].Response.Body)))
			b.ResetTimer()
			d := appendAll(b, writers, b.N, func(i int) error {
				ev := *events[i%len(events)]
				return w.Append(b.Context(), &ev)
			})
			b.StopTimer()
			if w.Len() != b.N {
				b.Fatalf("Len = %d after %d appends", w.Len(), b.N)
			}
			rate := float64(b.N) / d.Seconds()

			db, err := bolt.Open(filepath.Join(b.TempDir(), "naive.bolt"), 0o600, &bolt.Options{Timeout: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error { return initBuckets(tx, Meta{}) }); err != nil {
				b.Fatal(err)
			}
			var seq atomic.Uint64
			n := min(b.N, 1000)
			nd := appendAll(b, writers, n, func(i int) error {
				return naiveAppend(db, &seq, events[i%len(events)])
			})
			naive := float64(n) / nd.Seconds()

			b.ReportMetric(rate, "events/s")
			b.ReportMetric(naive, "naive-events/s")
			b.ReportMetric(rate/naive, "x-vs-naive")
			st := w.CommitStats()
			b.ReportMetric(float64(st.Events)/float64(st.Commits), "events/commit")
		})
	}
}

// fixtures holds cassettes built once per process for the read benchmarks,
// in a directory removed when the test binary exits.
var fixtures struct {
	sync.Mutex
	dir   string
	paths map[int]string
	bytes map[int]int64 // encoded heads + bodies
}

func removeFixtures() {
	fixtures.Lock()
	defer fixtures.Unlock()
	if fixtures.dir != "" {
		os.RemoveAll(fixtures.dir)
	}
}

// fixture returns a closed cassette of n 2 KB events, written in one
// transaction, and the bytes of events it holds.
func fixture(b *testing.B, n int) (string, int64) {
	b.Helper()
	fixtures.Lock()
	defer fixtures.Unlock()
	if p, ok := fixtures.paths[n]; ok {
		return p, fixtures.bytes[n]
	}
	if fixtures.dir == "" {
		dir, err := os.MkdirTemp("", "cassette-bench-")
		if err != nil {
			b.Fatal(err)
		}
		fixtures.dir = dir
		fixtures.paths = make(map[int]string)
		fixtures.bytes = make(map[int]int64)
	}
	path := filepath.Join(fixtures.dir, fmt.Sprintf("%d.bolt", n))
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	var total int64
	err = db.Update(func(tx *bolt.Tx) error {
		if err := initBuckets(tx, Meta{Version: "bench"}); err != nil {
			return err
		}
		events, bodies := tx.Bucket(bucketEvents), tx.Bucket(bucketBodies)
		events.FillPercent, bodies.FillPercent = 1, 1
		for i := 1; i <= n; i++ {
			ev := benchEvent(i)
			head := encodeHead(nil, ev)
			total += int64(len(head) + len(ev.Response.Body))
			if err := events.Put(seqKey(uint64(i)), head); err != nil {
				return err
			}
			if err := bodies.Put(seqKey(uint64(i)), ev.Response.Body); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = db.Sync()
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		b.Fatal(err)
	}
	fixtures.paths[n], fixtures.bytes[n] = path, total
	return path, total
}

// peakHeap runs fn while sampling the live heap, and returns the highest
// value above the heap before fn, in bytes.
func peakHeap(fn func(sample func())) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	fn(func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	})
	return peak - base
}

// BenchmarkEach measures streaming every event (Each, and EachHead which skips
// bodies) of 10,000- and 100,000-event cassettes, and the peak heap of a pass:
// it must not grow with the cassette.
func BenchmarkEach(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, mode := range []string{"Each", "EachHead"} {
			b.Run(fmt.Sprintf("%s/events=%d", mode, n), func(b *testing.B) {
				path, total := fixture(b, n)
				r := openReader(b, path)
				each := r.Each
				if mode == "EachHead" {
					each = r.EachHead
				}
				b.SetBytes(total) // event bytes per pass (bodies are skipped by EachHead, but counted)
				b.ResetTimer()
				for b.Loop() {
					var seen int
					if err := each(func(*Event) error { seen++; return nil }); err != nil {
						b.Fatal(err)
					}
					if seen != n {
						b.Fatalf("%d events, want %d", seen, n)
					}
				}
				b.StopTimer()
				peak := peakHeap(func(sample func()) {
					var i int
					each(func(*Event) error {
						if i++; i%500 == 0 {
							sample()
						}
						return nil
					})
				})
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			})
		}
	}
}

// BenchmarkOpen measures Open and Close of a 100,000-event cassette.
func BenchmarkOpen(b *testing.B) {
	path, _ := fixture(b, 100_000)
	for b.Loop() {
		r, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if r.Len() != 100_000 {
			b.Fatalf("Len = %d", r.Len())
		}
		r.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/open")
}
