//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package cassette

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockFile takes an flock on f (shared or exclusive), retrying until timeout.
// bbolt later locks the same open file, which then succeeds at once; taking the
// lock first lets the checks before bbolt's own open see a file no writer is
// changing, and a file being created by a writer report ErrLocked, not ErrCorrupt.
func lockFile(f *os.File, exclusive bool, timeout time.Duration) error {
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return err
		}
		if time.Now().After(deadline) {
			return ErrLocked
		}
		// flock cannot wait with a deadline; poll like bbolt does.
		time.Sleep(50 * time.Millisecond)
	}
}
