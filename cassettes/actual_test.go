package cassettes_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/diff"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/replaytest"
)

// recordActual replays the cassette of s to a fresh sample bot at speed 0,
// recording what the bot actually did, runs the scenario and returns the
// actual cassette's path once the replay is stopped.
func recordActual(t *testing.T, s graphtest.Scenario, opts ...replaytest.Option) string {
	t.Helper()
	bot, srv := startReplay(t, s, append([]replaytest.Option{replaytest.WithSpeed(0), replaytest.WithRecordActual()}, opts...)...)
	if _, err := bot.Run(t.Context(), s); err != nil {
		t.Fatalf("run: %v", err)
	}
	select {
	case <-srv.Done():
	case <-time.After(doneTimeout):
		t.Fatalf("replay not done after %v: %+v", doneTimeout, srv.Report())
	}
	srv.Stop()
	return srv.ActualPath
}

// tokenLifetimes are the fields where graphvcr's offline token endpoint
// answers otherwise than Azure AD did when recording: its tokens last an
// hour (3600), Azure AD's 3599 seconds.
var tokenLifetimes = []string{"expires_in", "ext_expires_in"}

// TestRecordActualEqualsRecording replays every sample cassette to the
// sample bot, which does what it did when recording: what it actually did
// is the recording, event for event and id for id (timing aside: speed 0
// drops every delay).
func TestRecordActualEqualsRecording(t *testing.T) {
	for _, s := range graphtest.Scenarios() {
		t.Run(string(s), func(t *testing.T) {
			t.Parallel()
			var opts []replaytest.Option
			if s == graphtest.FullCall {
				// The bot polls the operation at once after inviting, and
				// Graph notified its end 0.77s later: at speed 0 both come
				// at the same moment and either may be first, a real
				// difference of order. A quarter of the recorded gaps keeps
				// the recorded order on a loaded machine.
				opts = append(opts, replaytest.WithSpeed(4))
			}
			actual := recordActual(t, s, opts...)
			res, err := diff.Files(cassetteFile(s), actual, diff.Options{IgnoreTiming: true, IgnoreFields: tokenLifetimes})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Equal() {
				var buf bytes.Buffer
				_ = res.WriteText(&buf, false)
				t.Errorf("actual differs from the recording: %s\n%s", res.Summary(), buf.String())
			}
			r, err := cassette.Open(actual)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Meta().RecordedFrom; len(got) < len(cassetteFile(s))+8 || got[:len(cassetteFile(s))+8] != cassetteFile(s)+" sha256:" {
				t.Errorf("RecordedFrom = %q, want %q + hash", got, cassetteFile(s)+" sha256:")
			}
		})
	}
}
