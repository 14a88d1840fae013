// Package recordtest runs a graphvcr Recorder inside a Go test, as
// proxy/replaytest runs a Replayer: it creates the cassette, starts the
// recorder in front of an upstream (typically a graphtest.Graph), and stops
// both in the right order when the test ends. What drives the session (the
// sample bot, an SDK client) and where the simulator posts its
// notifications (Recorder.NotifyURL, through a graphtest.LateDialer when the
// simulator had to exist first) stay with the test.
package recordtest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/redact"
)

// stopTimeout bounds how long Close lets the recorder finish the exchanges
// in flight.
const stopTimeout = 10 * time.Second

// Session is a Recorder writing a new cassette for the length of a test.
// Its embedded Recorder gives URL, NotifyURL and Summary.
type Session struct {
	*proxy.Recorder
	// Path is the cassette's file; it is complete once Close returned.
	Path string

	t    testing.TB
	w    *cassette.Writer
	once sync.Once
}

// Start creates a cassette at path (which must not exist) and starts a
// Recorder on it with cfg, whose Cassette is set here. A nil cfg.Redactor
// gets redact.New(nil); empty Listen and NotifyListen get 127.0.0.1:0. The
// cassette's meta is proxy.RecordMeta of cfg's upstreams, as graphvcr record
// writes it. The session is closed when the test ends, if the test has not
// closed it before. Any error fails the test.
func Start(t testing.TB, path string, cfg proxy.RecordConfig) *Session {
	t.Helper()
	if cfg.Redactor == nil {
		cfg.Redactor = redact.New(nil)
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.NotifyListen == "" {
		cfg.NotifyListen = "127.0.0.1:0"
	}
	w, err := cassette.Create(path, cassette.CreateOptions{Meta: proxy.RecordMeta(cfg.Upstream, cfg.TokenUpstream, cfg.Redactor)})
	if err != nil {
		t.Fatalf("create cassette: %v", err)
	}
	cfg.Cassette = w
	rec, err := proxy.StartRecorder(t.Context(), cfg)
	if err != nil {
		w.Close()
		t.Fatalf("start recorder: %v", err)
	}
	s := &Session{Recorder: rec, Path: path, t: t, w: w}
	t.Cleanup(s.Close)
	return s
}

// Close stops the recorder, letting the exchanges in flight finish (for at
// most 10 seconds), then closes the cassette. An error fails the test. Only
// the first call does anything; the test's end calls it too. Close the idle
// connections of the clients that reach the recorder first: an idle
// connection holds the recorder's shutdown until it times out.
func (s *Session) Close() {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := s.Recorder.Close(ctx); err != nil {
			s.t.Errorf("close recorder: %v", err)
		}
		if err := s.w.Close(); err != nil {
			s.t.Errorf("close cassette: %v", err)
		}
	})
}
