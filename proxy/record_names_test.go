package proxy

import (
	"slices"
	"testing"

	"github.com/graphvcr/graphvcr/redact"
)

// TestPendingNames walks the interleavings of two concurrent exchanges: the
// one whose redaction issued a pseudonym (a) and another that uses it (b).
// Whatever order they commit in, or if a's Append fails, the pseudonym is
// carried by b until some Append that carried it has returned.
func TestPendingNames(t *testing.T) {
	const guid = "57dab8b1-894c-409a-b240-bd8beae78896"
	tests := []struct {
		name    string
		aStored bool // a's Append returned before b took the set
		wantInB bool
	}{
		{"a not yet committed", false, true},
		{"a committed first", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			red := redact.New(nil)
			var p pendingNames
			pseudo := red.Text(guid) // a's redaction issues it
			a := p.take(red)
			if !slices.Contains(a, pseudo) {
				t.Fatalf("a carries %q, want %q", a, pseudo)
			}
			if tt.aStored {
				p.stored(a)
			}
			if got := red.Text(guid); got != pseudo { // b uses it, issuing nothing
				t.Fatalf("second redaction gave %q, want %q", got, pseudo)
			}
			b := p.take(red)
			if slices.Contains(b, pseudo) != tt.wantInB {
				t.Fatalf("b carries %q; want it to carry %q: %v", b, pseudo, tt.wantInB)
			}
			p.stored(b)
			if after := p.take(red); len(after) != 0 {
				t.Fatalf("pending once both are stored: %q", after)
			}
		})
	}
	t.Run("failed append keeps it pending", func(t *testing.T) {
		red := redact.New(nil)
		var p pendingNames
		pseudo := red.Text(guid)
		_ = p.take(red) // a's Append fails: stored is never called
		for i := range 3 {
			if got := p.take(red); !slices.Contains(got, pseudo) {
				t.Fatalf("take %d after a failed append: %q, want it to hold %q", i, got, pseudo)
			}
		}
	})
}
