package benchtest_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/redact/benchtest"
)

// TestProcessCPU checks that busy work shows as CPU time, where the system
// measures it.
func TestProcessCPU(t *testing.T) {
	before, ok := benchtest.ProcessCPU()
	if !ok {
		if runtime.GOOS == "linux" || runtime.GOOS == "darwin" {
			t.Fatalf("ProcessCPU not measured on %s", runtime.GOOS)
		}
		t.Skipf("no process CPU time on %s", runtime.GOOS)
	}
	// Spin until the clock says 50ms passed: at least part of it is CPU time
	// of this process, however loaded the machine.
	x := 0
	for start := time.Now(); time.Since(start) < 50*time.Millisecond; {
		x++
	}
	after, _ := benchtest.ProcessCPU()
	if after <= before {
		t.Errorf("CPU time went from %v to %v over 50ms of busy work (%d loops)", before, after, x)
	}
}
