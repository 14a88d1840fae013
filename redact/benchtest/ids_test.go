package benchtest_test

import (
	"testing"

	"github.com/graphvcr/graphvcr/redact"
	"github.com/graphvcr/graphvcr/redact/benchtest"
)

// TestIDs checks what the benchmarks rely on: a PseudoGUID is what the
// redactor would have issued for that number, a LiveGUID is no pseudonym,
// and each is distinct per n.
func TestIDs(t *testing.T) {
	r := redact.New(nil)
	seen := map[string]bool{}
	for n := 1; n <= 70000; n += 997 {
		p, l := benchtest.PseudoGUID(n), benchtest.LiveGUID(n)
		if !redact.IsPseudonym(p) || redact.IsPseudonym(l) {
			t.Fatalf("n=%d: IsPseudonym(%s)=%v, IsPseudonym(%s)=%v", n, p, redact.IsPseudonym(p), l, redact.IsPseudonym(l))
		}
		if got := r.Text(p); got != p {
			t.Errorf("the redactor changed pseudonym %s to %s", p, got)
		}
		if seen[p] || seen[l] {
			t.Fatalf("n=%d: %s or %s repeats", n, p, l)
		}
		seen[p], seen[l] = true, true
	}
	if r := redact.New(nil); r.Text("57dab8b1-894c-409a-b240-bd8beae78896") != benchtest.PseudoGUID(1) {
		t.Errorf("the redactor's first GUID pseudonym is not PseudoGUID(1)")
	}
}
