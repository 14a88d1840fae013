// Package cassettetest helps tests that need a cassette on disk or compare
// output with golden files, as net/http/httptest helps tests that need a
// server. It is for tests only: every helper takes a testing.TB and fails
// the test, through t.Fatal, on any error.
//
// A cassette written here goes through cassette.Writer, the recorder's own
// path to the store, so what a test reads back is what a recording holds.
// The helpers redact nothing: the events a test gives are stored as they
// are, so give them already redacted (pseudonyms, REDACTED markers) when the
// code under test expects a recorder's output.
package cassettetest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// Meta is a cassette.Meta for tests whose output shows the meta (goldens,
// timelines): fixed, so that the output does not change from run to run.
// Tests that care about other fields build their own.
var Meta = cassette.Meta{
	Created:       time.Date(2025, 3, 4, 9, 30, 0, 0, time.UTC),
	Version:       "v0.0.0-test",
	Upstream:      "graph.microsoft.com",
	TokenUpstream: "login.microsoftonline.com",
}

// Write creates a cassette at path with meta, appends events in order and
// closes it. Each event's Seq is set by the append, as in a recording, so a
// later event's Trigger may name an earlier one by its position (the first
// event is 1). pseudonyms are stored as the pseudonyms the recording issued
// (what replay lets bind to live values); nil stores none. The cassette is
// marked swept, as a recorder's clean close leaves it: the events a test
// gives hold nothing learned late. A test of an unswept cassette (what a
// killed recorder leaves) writes it with cassette.Create.
func Write(t testing.TB, path string, meta cassette.Meta, events []*cassette.Event, pseudonyms ...string) {
	t.Helper()
	w, err := cassette.Create(path, cassette.CreateOptions{Meta: meta})
	if err != nil {
		t.Fatalf("create cassette: %v", err)
	}
	for i, ev := range events {
		// The pseudonyms go with every append: the cassette keeps them as a
		// set, so this stores each once whichever events use it.
		if err := w.Append(t.Context(), ev, pseudonyms...); err != nil {
			w.Close()
			t.Fatalf("append event %d: %v", i+1, err)
		}
	}
	if err := w.MarkSwept(); err != nil {
		w.Close()
		t.Fatalf("mark cassette swept: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close cassette: %v", err)
	}
}

// WriteTemp is Write to a new file session.bolt in a directory of its own
// under t.TempDir(), and returns its path.
func WriteTemp(t testing.TB, meta cassette.Meta, events []*cassette.Event, pseudonyms ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "session.bolt")
	Write(t, path, meta, events, pseudonyms...)
	return path
}

// Open opens the cassette at path for reading; it is closed when the test
// ends.
func Open(t testing.TB, path string) *cassette.Reader {
	t.Helper()
	r, err := cassette.Open(path)
	if err != nil {
		t.Fatalf("open cassette: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// Golden compares got with the golden file at path. With update true (a
// test package's -update flag) it writes got to the file instead, creating
// its directory if needed, and passes: review the change with git diff. A
// missing file fails the test, saying how to create it.
func Golden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatalf("update golden: %v", err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update golden: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (go test -update creates it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}
