//go:build !unix

package proxy_test

import (
	"testing"
	"time"
)

// processCPU is not measured here: the CPU metrics read zero.
func processCPU(*testing.B) time.Duration { return 0 }
