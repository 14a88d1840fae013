package replaytest

import (
	"testing"

	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/fault"
)

// WithFaults injects faults into the replay, each spec as graphvcr replay
// --fault takes it ("duplicate:match=established",
// "status:code=429,retry-after=1,match=*/participants/invite,nth=1"),
// drawn with seed: the same seed gives the same faults on the same events.
// A bad spec ends the test in Start with the parser's one-line error; a
// spec that selects nothing on the cassette is logged (t.Log). The
// Report's Faults lists each fault applied; a fault is not a divergence,
// what the bot does wrong after it is.
func WithFaults(seed int64, specs ...string) Option {
	return func(s *settings) {
		s.cfg.Seed = seed
		for _, text := range specs {
			spec, err := fault.Parse(text)
			if err != nil {
				s.faultErr = err
				return
			}
			s.cfg.Faults = append(s.cfg.Faults, spec)
		}
	}
}

// logFaultWarnings logs what the fault plan found odd on the cassette.
func logFaultWarnings(t testing.TB, rep *proxy.Replayer) {
	t.Helper()
	for _, w := range rep.FaultWarnings() {
		t.Logf("replaytest: warning: %s", w)
	}
}
