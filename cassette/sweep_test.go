package cassette

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestRewrite checks that Rewrite changes events in place (index
// included), that a failure half-way leaves a valid cassette with the
// first batches rewritten and no sweep claimed, and that a completed sweep
// is recorded in the meta and leaves no replaced byte in the file.
func TestRewrite(t *testing.T) {
	w := newCassette(t, Meta{})
	path := w.Path()
	const n = 2*rewriteBatch + 5
	var seqs []uint64
	for i := range n {
		ev := &Event{Kind: KindGraph, Request: Request{Method: "GET", URL: "/v1.0/secret-name/" + string(rune('a'+i%26))},
			Response: Response{Status: 200, Body: []byte(`{"note":"Zoltan Kowalczyk called"}`)}}
		if err := w.Append(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, ev.Seq)
	}
	scrub := func(ev *Event) (bool, error) {
		ev.Request.URL = strings.ReplaceAll(ev.Request.URL, "secret-name", "Person-1")
		ev.Response.Body = bytes.ReplaceAll(ev.Response.Body, []byte("Zoltan Kowalczyk"), []byte("Person 1"))
		return true, nil
	}
	// A failure in the second batch: the first stays rewritten, the rest as it was.
	failing := 0
	_, err := w.Rewrite(t.Context(), seqs, func(ev *Event) (bool, error) {
		if failing++; failing > rewriteBatch {
			return false, errors.New("killed")
		}
		return scrub(ev)
	})
	if err == nil {
		t.Fatal("Rewrite returned no error from a failing fn")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkSwept(t, path, SweepPending, "after a failed sweep")
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	clean := 0
	if err := r.Each(func(ev *Event) error {
		if !bytes.Contains(ev.Response.Body, []byte("Zoltan")) {
			clean++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if clean != rewriteBatch {
		t.Errorf("%d events rewritten before the failure, want %d", clean, rewriteBatch)
	}
	r.Close()

	w, err = Create(path, CreateOptions{Append: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.Rewrite(t.Context(), seqs, scrub)
	if err != nil || got != n {
		t.Fatalf("Rewrite = %d, %v; want %d", got, err, n)
	}
	if err := w.MarkSwept(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Zoltan", "secret-name"} {
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("%q is still in the file's bytes after the sweep", s)
		}
	}
	// Appending to a cassette that was not swept: its older events never
	// were, so it is not claimed swept.
	checkSwept(t, path, SweepPending, "after an append to an unswept cassette")
}

// TestMarkSwept checks the meta of a new cassette before and after a sweep,
// and that an old cassette without the key reads as unknown.
func TestMarkSwept(t *testing.T) {
	w := newCassette(t, Meta{})
	path := w.Path()
	if err := w.MarkSwept(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	checkSwept(t, path, SweepDone, "after MarkSwept")

	// A cassette written before sweeping existed has no key.
	boltFile(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(metaSwept) })
	checkSwept(t, path, SweepUnknown, "for an old cassette")
}

// TestSweptOnlyOnceCompacted checks that a cassette whose events were
// rewritten is marked swept only in its compacted copy: until Close has
// compacted it, the file still holds the replaced bytes, and says it was
// not swept.
func TestSweptOnlyOnceCompacted(t *testing.T) {
	w := newCassette(t, Meta{})
	path := w.Path()
	ev := &Event{Kind: KindGraph, Request: Request{Method: "GET", URL: "/x"}, Response: Response{Status: 200, Body: []byte("Zoltan")}}
	if err := w.Append(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Rewrite(t.Context(), []uint64{ev.Seq}, func(ev *Event) (bool, error) {
		ev.Response.Body = []byte("Person 1")
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.MarkSwept(); err != nil {
		t.Fatal(err)
	}
	// What a process killed here leaves: the file as it is before Close.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	killed := filepath.Join(t.TempDir(), "killed.bolt")
	if err := os.WriteFile(killed, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	checkSwept(t, killed, SweepPending, "before compaction")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkSwept(t, path, SweepDone, "after Close")
	if _, err := os.Stat(path + ".compact"); err == nil {
		t.Errorf("the compacted copy was left beside the cassette")
	}
}

// checkSwept opens the cassette at path and fails the test unless its meta
// says want; when names the state the file is in, for the message.
func checkSwept(t *testing.T, path string, want SweepState, when string) {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatalf("open the cassette %s: %v", when, err)
	}
	defer r.Close()
	if got := r.Meta().Swept; got != want {
		t.Errorf("Swept = %v %s, want %v", got, when, want)
	}
}
