//go:build !unix

package redact

import "time"

// processCPU is not measured here: BenchmarkExchange leaves out its
// cpu-µs/exchange metric.
func processCPU() time.Duration { return 0 }
