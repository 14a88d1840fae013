// Package replaytest replays a graphvcr cassette inside a Go test, the way
// net/http/httptest serves a handler: no binary to install, no network.
//
// A bot's test starts a replayer on the cassette, points the bot's Graph
// base URL (and token authority) at srv.URL and its own webhook listener at
// the replayer (botURL): the bot gets the recorded answers, with its own ids
// bound in, and the recorded notifications at their recorded offsets.
// Everything stops, and the cassette is closed, when the test ends.
//
// With WithSignedNotifications, each notification recorded with a bearer
// token carries a fresh RS256 token signed with a key made for the test; a
// bot that validates notification tokens accepts them once its OpenID
// metadata URL is srv.OpenIDConfigURL.
package replaytest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
)

// Server is a replayer serving one cassette for the length of a test.
type Server struct {
	// URL is the Graph base URL (scheme and host, e.g. http://127.0.0.1:PORT):
	// the bot appends /v1.0; the offline token endpoint is URL/{tenant}/oauth2/v2.0/token.
	URL string
	// OpenIDConfigURL is the OpenID configuration describing the key that
	// signs notification tokens (URL + /__graphvcr/openid/.well-known/OpenIdConfiguration):
	// a validating bot's metadata URL. It is "" unless notifications are
	// signed (WithSignedNotifications, WithSigner).
	OpenIDConfigURL string
	// ActualPath is the cassette of what the bot actually did, in the test's
	// temporary directory (WithRecordActual); "" without it. It is complete
	// once Stop returns.
	ActualPath string

	rep  *proxy.Replayer
	stop func() // stops the replayer and closes the cassettes, once
}

// settings is what the options set.
type settings struct {
	cfg proxy.ReplayConfig
	// sign makes Start create a signer in a temporary directory of the test
	// when cfg.Signer is nil.
	sign bool
	// actual makes Start record what the bot actually did (actual.go).
	actual bool
	// faultErr is WithFaults' error on a bad spec, reported by Start.
	faultErr error
}

// Option changes how Start replays.
type Option func(*settings)

// WithSpeed sets the replay speed: 1 (the default) replays recorded
// latencies and notification gaps, 2 twice as fast, 0 with no delays at all
// (notifications keep their order).
func WithSpeed(speed float64) Option {
	return func(s *settings) { s.cfg.Speed = speed }
}

// WithStrict makes any divergence (a request matching nothing, a
// notification the bot did not take as recorded) fail the test when it ends.
func WithStrict() Option {
	return func(s *settings) { s.cfg.Strict = true }
}

// WithAppID sets the bot's application id (the audience of signed
// notifications); by default the client_id of the bot's token request.
func WithAppID(id string) Option {
	return func(s *settings) { s.cfg.AppID = id }
}

// WithLogger sends the replayer's log (divergences, delivery failures) to l;
// by default it is discarded.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) { s.cfg.Logger = l }
}

// WithSignedNotifications signs each notification recorded with a bearer
// token with a new key made for the test (in a t.TempDir()), as graphvcr
// replay does with its per-install key, and publishes that key at
// Server.OpenIDConfigURL. Without it (or WithSigner) notifications are
// replayed with no Authorization header.
func WithSignedNotifications() Option {
	return func(s *settings) { s.sign = true }
}

// WithSigner signs notifications with signer (see proxy.LoadSigner), e.g.
// one key shared by many tests; the caller closes it after the test. A nil
// signer signs nothing.
func WithSigner(signer *proxy.Signer) Option {
	return func(s *settings) { s.cfg.Signer = signer }
}

// closeTimeout bounds the replayer's shutdown when the test ends.
const closeTimeout = 10 * time.Second

// Start opens the cassette at cassettePath read-only and starts a replayer
// on 127.0.0.1 (a free port) that posts notifications to botURL (the bot's
// base URL: a notification recorded at /api/calls goes to botURL/api/calls;
// "" when the cassette holds none). It stops the replayer and closes the
// cassette with t.Cleanup. It never panics: errors end the test with t.Fatal.
func Start(t testing.TB, cassettePath, botURL string, opts ...Option) *Server {
	t.Helper()
	rd, err := cassette.Open(cassettePath)
	if err != nil {
		t.Fatalf("replaytest: %v", err)
	}
	set := settings{cfg: proxy.ReplayConfig{Speed: 1}}
	for _, o := range opts {
		o(&set)
	}
	if set.faultErr != nil {
		rd.Close()
		t.Fatalf("replaytest: %v", set.faultErr)
	}
	cfg := set.cfg
	cfg.Listen, cfg.Bot, cfg.Cassette = "127.0.0.1:0", strings.TrimRight(botURL, "/"), rd
	if set.sign && cfg.Signer == nil {
		signer, err := proxy.LoadSigner(t.TempDir())
		if err != nil {
			rd.Close()
			t.Fatalf("replaytest: %v", err)
		}
		// Registered before the replayer's cleanup, so it runs after it.
		t.Cleanup(signer.Close)
		cfg.Signer = signer
	}
	var actual *cassette.Writer
	if set.actual {
		if actual, err = createActual(t, rd); err != nil {
			rd.Close()
			t.Fatalf("replaytest: %v", err)
		}
		cfg.Actual = actual
	}
	rep, err := proxy.StartReplayer(context.Background(), cfg)
	if err != nil {
		closeActual(t, actual)
		rd.Close()
		t.Fatalf("replaytest: %v", err)
	}
	logFaultWarnings(t, rep)
	s := &Server{URL: rep.URL(), OpenIDConfigURL: rep.OpenIDConfigURL(), rep: rep}
	if actual != nil {
		s.ActualPath = actual.Path()
	}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
			defer cancel()
			if err := rep.Close(ctx); err != nil {
				t.Errorf("replaytest: %v", err)
			}
			closeActual(t, actual)
			if err := rd.Close(); err != nil {
				t.Errorf("replaytest: close cassette: %v", err)
			}
			if r := rep.Report(); r.Failed() {
				t.Errorf("replaytest: replay of %s diverged: %s", cassettePath, divergence(r))
			}
		})
	}
	t.Cleanup(func() {
		s.stop()
		logActual(t, cassettePath, s.ActualPath)
	})
	return s
}

// Stop stops the replayer, as the end of the test does: it waits for the
// requests in flight, closes the cassette (and the one of WithRecordActual,
// which is then complete) and fails the test if the replay diverged under
// WithStrict. Calling it again, or the test's end after it, does nothing more.
func (s *Server) Stop() { s.stop() }

// Report returns what the replay has done so far.
func (s *Server) Report() proxy.Report { return s.rep.Report() }

// Done returns a channel closed once every recorded exchange was matched and
// every notification delivered.
func (s *Server) Done() <-chan struct{} { return s.rep.Done() }

// divergence summarises a report's divergence in one line.
func divergence(r proxy.Report) string {
	var parts []string
	for _, u := range r.Unmatched {
		parts = append(parts, "unmatched "+u.Method+" "+u.Path)
	}
	for _, a := range r.Abandoned {
		if a.Diverged() {
			parts = append(parts, "abandoned "+a.Method+" "+a.Path+" waited on longer than recorded")
		}
	}
	for _, d := range r.Notifications {
		if d.Error != "" {
			parts = append(parts, "notification not delivered: "+d.Error)
		} else if d.Diverged() {
			parts = append(parts, "notification "+d.Path+" answered differently than recorded")
		}
	}
	for _, v := range r.Validations {
		if v.Diverged() {
			parts = append(parts, "subscription validation at "+v.Path+" failed: "+v.Error)
		}
	}
	return strings.Join(parts, "; ")
}
