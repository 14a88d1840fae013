package replaytest

import (
	"path/filepath"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
)

// WithRecordActual records what the bot actually did while replaying (its
// requests with graphvcr's answers, the notifications with its answers,
// redacted so that its ids line up with the recording's) into a cassette
// in the test's temporary directory, at Server.ActualPath. When the test
// fails, its path is logged with the command that compares it with the
// recording (graphvcr diff). The file goes with the temporary directory
// when the test ends: a test that wants to keep it copies it out.
func WithRecordActual() Option {
	return func(s *settings) { s.actual = true }
}

// createActual creates the actual cassette of a replay of rd.
func createActual(t testing.TB, rd *cassette.Reader) (*cassette.Writer, error) {
	meta, err := proxy.ActualMeta(rd)
	if err != nil {
		return nil, err
	}
	meta.Version = "replaytest"
	path := filepath.Join(t.TempDir(), "actual-"+filepath.Base(rd.Path()))
	return cassette.Create(path, cassette.CreateOptions{Meta: meta})
}

// closeActual closes the actual cassette, if any.
func closeActual(t testing.TB, w *cassette.Writer) {
	if w == nil {
		return
	}
	if err := w.Close(); err != nil {
		t.Errorf("replaytest: close %s: %v", w.Path(), err)
	}
}

// logActual logs where the actual cassette is when the test failed.
func logActual(t testing.TB, recorded, path string) {
	if path == "" || !t.Failed() {
		return
	}
	t.Logf("replaytest: what the bot actually did is in %s; compare: graphvcr diff %s %s", path, recorded, path)
}
