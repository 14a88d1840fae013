package glob

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "/v1.0/communications/calls", true},
		{"/v1.0/communications/calls", "/v1.0/communications/calls", true},
		{"/v1.0/communications/calls", "/v1.0/communications/call", false},
		{"*/participants/invite", "/v1.0/communications/calls/c1/participants/invite", true},
		{"*/participants/invite", "/v1.0/communications/calls/c1/participants", false},
		{"/v1.0/*/calls", "/v1.0/communications/beta/calls", true}, // a star crosses "/"
		{"/v1.0/*/calls/*", "/v1.0/communications/calls", false},
		{"a*b*c", "axxbyybzzc", true}, // backtracks to the last star
		{"a*b*c", "axxbyybzz", false},
		{"**", "abc", true},
		{"a?c", "abc", false}, // only "*" is special
		{"a?c", "a?c", true},
	}
	for _, tt := range tests {
		if got := Match(tt.pattern, tt.s); got != tt.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
