//go:build !unix

package benchtest

import "time"

// ProcessCPU is not measured on this system: it returns 0 and false, and
// benchmarks leave their CPU metrics out.
func ProcessCPU() (d time.Duration, ok bool) { return 0, false }
