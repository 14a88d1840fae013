package proxy_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind. When the test
// binary is re-executed as a child recorder (see TestKillLosesOnlyInFlight),
// it runs that instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChildRecorder())
	}
	goleak.VerifyTestMain(m)
}
