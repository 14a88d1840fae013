//go:build unix

package match

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time the process has used (user and system,
// every thread: the garbage collector's too). On a shared, loaded machine it
// tells the work done apart from the time spent waiting for a CPU.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
