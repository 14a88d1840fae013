package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"testing"
)

// TestDemoFaults runs the demo's fault run on the sample cassette of the
// demo's scenario: one line, saying what was injected and that the sample
// bot coped with every check.
func TestDemoFaults(t *testing.T) {
	var out bytes.Buffer
	if err := demoFaults(t.Context(), &out, filepath.Join(repoRoot, "cassettes", string(demoScenario)+".bolt"), nil); err != nil {
		t.Fatalf("demo fault run: %v\n%s", err, out.String())
	}
	re := regexp.MustCompile(`^faults \(seed 7\): duplicate #\d+, 429 on invite #\d+ → bot retried after 1s; bot coped: (\d+)/(\d+) checks\n$`)
	m := re.FindStringSubmatch(out.String())
	if m == nil || m[1] != m[2] {
		t.Errorf("fault line %q, want it to match %s with every check passed", out.String(), re)
	}
}
