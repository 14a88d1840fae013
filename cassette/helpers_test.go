package cassette

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// newCassette creates a cassette in a temp dir and closes it at cleanup.
func newCassette(t testing.TB, meta Meta) *Writer {
	t.Helper()
	w, err := Create(filepath.Join(t.TempDir(), "c.bolt"), CreateOptions{Meta: meta})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// openReader opens path and closes the Reader at cleanup.
func openReader(t testing.TB, path string) *Reader {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// appendNext appends a sample event and fails the test unless it got seq
// want and the Writer then holds want events: seqs go on with no gap and no
// repeat, whatever happened before (when, for the message).
func appendNext(t *testing.T, w *Writer, want uint64, when string) {
	t.Helper()
	ev := sampleEvent(int(want), 10)
	if err := w.Append(t.Context(), ev); err != nil {
		t.Fatalf("Append %s: %v", when, err)
	}
	if ev.Seq != want || w.Len() != int(want) {
		t.Fatalf("Append %s: Seq %d, Len %d, want %d, %d", when, ev.Seq, w.Len(), want, want)
	}
}

// sampleEvent returns a plausible Graph exchange whose URL and body carry i.
func sampleEvent(i int, bodySize int) *Event {
	body := make([]byte, bodySize)
	for j := range body {
		body[j] = byte('a' + (i+j)%26)
	}
	return &Event{
		Kind:    KindGraph,
		Offset:  time.Duration(i) * time.Millisecond,
		Latency: 120 * time.Millisecond,
		Request: Request{
			Method: "POST",
			URL:    fmt.Sprintf("https://graph.microsoft.com/v1.0/communications/calls/c0ffee00-0000-4000-8000-%012d/participants/invite", i),
			Header: http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer REDACTED"}},
			Body:   []byte(fmt.Sprintf(`{"clientContext":"%d"}`, i)),
		},
		Response: Response{
			Status: 200,
			Header: http.Header{"Content-Type": {"application/json"}, "Location": {"https://graph.microsoft.com/v1.0/communications/calls/x/operations/y"}},
			Body:   body,
		},
	}
}

// appendAll runs n appends from writers goroutines, appendOne(i) for each
// i in [0, n) once, and returns the time taken; an error fails the test.
func appendAll(t testing.TB, writers, n int, appendOne func(i int) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range writers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := appendOne(i); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// boltFile opens the bbolt file at path, making it if there is none, and
// lets fn shape its content in one transaction.
func boltFile(t testing.TB, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
