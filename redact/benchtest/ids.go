package benchtest

import "fmt"

// PseudoGUID returns the n-th GUID pseudonym as the redactor issues it
// (c0ffee00-0000-4000-8000-…n), for benchmarks that build a recorded
// cassette without redacting one.
func PseudoGUID(n int) string { return fmt.Sprintf("c0ffee00-0000-4000-8000-%012d", n) }

// LiveGUID returns a live-looking GUID for n: distinct for each n, and no
// pseudonym, so it stands for the value a bot sends in replay.
func LiveGUID(n int) string {
	return fmt.Sprintf("5a1e%04x-1b2c-4d3e-8f40-%012x", n%0x10000, n)
}
