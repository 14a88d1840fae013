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

func TestHasRun(t *testing.T) {
	tests := []struct {
		fields, words []string
		want          bool
	}{
		{[]string{"roster", "updated"}, []string{"roster", "updated"}, true},
		{[]string{"call", "roster", "updated"}, []string{"roster", "updated"}, true},
		{[]string{"call", "roster", "updated"}, []string{"call", "updated"}, false}, // not consecutive
		{[]string{"call", "established"}, []string{"established", "call"}, false},
		{[]string{"call"}, []string{"call", "established"}, false},
		{[]string{"call"}, nil, true},
		{nil, nil, true},
		{nil, []string{"call"}, false},
	}
	for _, tt := range tests {
		if got := HasRun(tt.fields, tt.words); got != tt.want {
			t.Errorf("HasRun(%q, %q) = %v, want %v", tt.fields, tt.words, got, tt.want)
		}
	}
}
