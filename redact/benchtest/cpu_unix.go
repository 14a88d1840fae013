//go:build unix

package benchtest

import (
	"syscall"
	"time"
)

// ProcessCPU returns the CPU time the process has used so far, user and
// system, of every thread (the garbage collector's too), and whether it
// could be measured. Benchmarks take it before and after the measured loop
// and report the difference per operation; where ok is false they leave
// their CPU metric out rather than report zero.
func ProcessCPU() (d time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
