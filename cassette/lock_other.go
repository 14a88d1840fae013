//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package cassette

import (
	"os"
	"time"
)

// lockFile does nothing here: bbolt's own lock (taken when it opens the file)
// still keeps a reader and a writer apart.
func lockFile(f *os.File, exclusive bool, timeout time.Duration) error { return nil }
