package cassette

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConcurrentAppend(t *testing.T) {
	const writers, each = 32, 20
	w := newCassette(t, Meta{})
	seqs := make(chan uint64, writers*each)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				ev := sampleEvent(g*each+i, 100)
				if err := w.Append(t.Context(), ev, fmt.Sprintf("Person %d", g)); err != nil {
					t.Error(err)
					return
				}
				seqs <- ev.Seq
			}
		})
	}
	wg.Wait()
	close(seqs)
	var got []uint64
	for s := range seqs {
		got = append(got, s)
	}
	slices.Sort(got)
	for i, s := range got {
		if s != uint64(i+1) {
			t.Fatalf("seqs not dense 1..%d: position %d holds %d", writers*each, i, s)
		}
	}
	if len(got) != writers*each || w.Len() != writers*each {
		t.Fatalf("%d seqs returned, Len %d, want %d", len(got), w.Len(), writers*each)
	}
	w.Close()

	r := openReader(t, w.Path())
	// Every event is stored under the seq its Append returned: its URL
	// carries the number it was made with; all numbers appear once.
	seen := make(map[string]bool)
	if err := r.Each(func(e *Event) error {
		if seen[e.Request.URL] {
			return fmt.Errorf("seq %d duplicates %s", e.Seq, e.Request.URL)
		}
		seen[e.Request.URL] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != writers*each {
		t.Fatalf("%d distinct events stored, want %d", len(seen), writers*each)
	}
	if p := r.Pseudonyms(); len(p) != writers {
		t.Fatalf("%d pseudonyms stored, want %d", len(p), writers)
	}
}

// blockCommits makes w's leader stop before each commit until release is
// called, reporting each batch size on the returned channel.
func blockCommits(w *Writer) (sizes <-chan int, release func()) {
	ch := make(chan int, 100)
	gate := make(chan struct{})
	w.beforeCommit = func(n int) {
		ch <- n
		<-gate
	}
	var once sync.Once
	return ch, func() { once.Do(func() { close(gate) }) }
}

// waitQueued polls until n Appends wait in w's queue.
func waitQueued(t *testing.T, w *Writer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		q := len(w.queue)
		w.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d appends queued, want %d", q, n)
		}
		time.Sleep(time.Millisecond) // polling with a deadline, not synchronisation by sleep
	}
}

// TestGroupCommit checks that Appends arriving during a commit share the
// next one: 1 leader + 31 followers take two transactions, not 32.
func TestGroupCommit(t *testing.T) {
	w := newCassette(t, Meta{})
	sizes, release := blockCommits(w)
	defer release()
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	wg.Go(func() { errs <- w.Append(t.Context(), sampleEvent(0, 10)) })
	if n := <-sizes; n != 1 {
		t.Fatalf("first batch has %d events, want 1", n)
	}
	for i := 1; i < 32; i++ {
		wg.Go(func() { errs <- w.Append(t.Context(), sampleEvent(i, 10)) })
	}
	waitQueued(t, w, 31)
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := <-sizes; n != 31 {
		t.Fatalf("second batch has %d events, want 31", n)
	}
	if st := w.CommitStats(); st.Commits != 2 || st.Events != 32 || w.Len() != 32 || st.Busy <= 0 {
		t.Fatalf("%+v for %d events, want 2 commits of 32 events in all", st, w.Len())
	}
}

func TestAppendContext(t *testing.T) {
	t.Run("cancelled before Append", func(t *testing.T) {
		w := newCassette(t, Meta{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := w.Append(ctx, sampleEvent(1, 10)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Append = %v, want context.Canceled", err)
		}
		if w.Len() != 0 {
			t.Fatalf("Len = %d after a cancelled Append", w.Len())
		}
	})
	t.Run("cancelled while queued", func(t *testing.T) {
		w := newCassette(t, Meta{})
		sizes, release := blockCommits(w)
		defer release()
		first := make(chan error, 1)
		go func() { first <- w.Append(t.Context(), sampleEvent(1, 10)) }()
		<-sizes
		ctx, cancel := context.WithCancel(t.Context())
		queued := make(chan error, 1)
		go func() { queued <- w.Append(ctx, sampleEvent(2, 10)) }()
		waitQueued(t, w, 1)
		cancel()
		if err := <-queued; !errors.Is(err, context.Canceled) {
			t.Fatalf("queued Append = %v, want context.Canceled", err)
		}
		release()
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		appendNext(t, w, 2, "after a cancelled Append")
	})
	t.Run("cancelled during its commit", func(t *testing.T) {
		w := newCassette(t, Meta{})
		sizes, release := blockCommits(w)
		defer release()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		ev := sampleEvent(1, 10)
		go func() { done <- w.Append(ctx, ev) }()
		<-sizes // the commit has started
		cancel()
		release()
		if err := <-done; err != nil || ev.Seq != 1 {
			t.Fatalf("Append = %v, Seq %d: a started commit must be reported", err, ev.Seq)
		}
	})
}

func TestAppendAfterClose(t *testing.T) {
	w := newCassette(t, Meta{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(t.Context(), sampleEvent(1, 1)); !errors.Is(err, errClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

// TestCloseWaitsForQueued checks that Close lets queued Appends commit.
func TestCloseWaitsForQueued(t *testing.T) {
	w := newCassette(t, Meta{})
	sizes, release := blockCommits(w)
	errs := make(chan error, 2)
	go func() { errs <- w.Append(t.Context(), sampleEvent(1, 10)) }()
	<-sizes
	go func() { errs <- w.Append(t.Context(), sampleEvent(2, 10)) }()
	waitQueued(t, w, 1)
	closed := make(chan error, 1)
	go func() { closed <- w.Close() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w.mu.Lock()
		c := w.closed
		w.mu.Unlock()
		if c {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Close did not start")
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
	release()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	r := openReader(t, w.Path())
	if r.Len() != 2 {
		t.Fatalf("Len = %d after Close, want 2", r.Len())
	}
}

// TestAppendPseudonymsRepeated checks the pseudonym set when one pseudonym
// comes with many Appends (a caller that cannot tell which of its
// concurrent Appends stores it first passes it with each), and that one
// whose transaction failed is written by the next Append that carries it.
func TestAppendPseudonymsRepeated(t *testing.T) {
	tests := []struct {
		name    string
		appends [][]string // pseudonyms of each Append, in order
		failing int        // index of an Append whose commit fails, or -1
		want    []string
	}{
		{"same one many times", [][]string{{"Person 1"}, {"Person 1", "Person 2"}, {"Person 2", "Person 1"}}, -1,
			[]string{"Person 1", "Person 2"}},
		{"after a failed commit", [][]string{{"Person 1", strings.Repeat("x", 40_000)}, {"Person 1"}}, 0,
			[]string{"Person 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newCassette(t, Meta{})
			for i, names := range tt.appends {
				// A key over bbolt's size limit makes the whole transaction fail.
				err := w.Append(t.Context(), sampleEvent(i, 10), names...)
				if (i == tt.failing) != (err != nil) {
					t.Fatalf("append %d: err = %v", i, err)
				}
			}
			w.Close()
			if got := openReader(t, w.Path()).Pseudonyms(); !slices.Equal(got, tt.want) {
				t.Fatalf("pseudonyms = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestStorePseudonymsFrom checks that a pseudonym issued before an Append
// is stored with that event when no Append carries it, and that one taken
// for a transaction that failed is stored by the next.
func TestStorePseudonymsFrom(t *testing.T) {
	w := newCassette(t, Meta{})
	var (
		mu     sync.Mutex
		issued []string
		takes  int
	)
	issue := func(names ...string) {
		mu.Lock()
		defer mu.Unlock()
		issued = append(issued, names...)
	}
	w.StorePseudonymsFrom(func() []string {
		mu.Lock()
		defer mu.Unlock()
		takes++
		out := issued
		issued = nil
		return out
	})

	issue("Person 1")
	if err := w.Append(t.Context(), sampleEvent(0, 10)); err != nil {
		t.Fatal(err)
	}
	issue("Person 2")
	// A pseudonym key over bbolt's size limit makes the whole transaction fail.
	if err := w.Append(t.Context(), sampleEvent(1, 10), strings.Repeat("x", 40_000)); err == nil {
		t.Fatal("append with an oversized pseudonym key succeeded")
	}
	if err := w.Append(t.Context(), sampleEvent(2, 10)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if takes != 3 {
		t.Errorf("pseudonyms taken %d times, want once per transaction (3)", takes)
	}
	r := openReader(t, w.Path())
	if got, want := r.Pseudonyms(), []string{"Person 1", "Person 2"}; !slices.Equal(got, want) {
		t.Fatalf("pseudonyms = %q, want %q", got, want)
	}
	if r.Len() != 2 {
		t.Fatalf("%d events stored, want 2", r.Len())
	}
}
