package main

import (
	"io"
	"slices"
	"testing"
)

func TestReorderArgs(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"no args", []string{"graphvcr"}, []string{"graphvcr"}},
		{"flags already first", []string{"graphvcr", "show", "--format", "json", "a.bolt"}, []string{"graphvcr", "show", "--format", "json", "a.bolt"}},
		{"flag after positional", []string{"graphvcr", "show", "a.bolt", "--format", "json"}, []string{"graphvcr", "show", "--format", "json", "a.bolt"}},
		{"flag=value after positional", []string{"graphvcr", "show", "a.bolt", "--format=json"}, []string{"graphvcr", "show", "--format=json", "a.bolt"}},
		{"single dash", []string{"graphvcr", "show", "a.bolt", "-format", "json"}, []string{"graphvcr", "show", "-format", "json", "a.bolt"}},
		{"bool flag takes no value", []string{"graphvcr", "replay", "x", "--strict", "--bot", "http://b"}, []string{"graphvcr", "replay", "--strict", "--bot", "http://b", "x"}},
		{"value looking like a flag", []string{"graphvcr", "replay", "x", "--speed", "-1"}, []string{"graphvcr", "replay", "--speed", "-1", "x"}},
		{"flags between positionals", []string{"graphvcr", "scan", "a.bolt", "--format", "json", "b.bolt"}, []string{"graphvcr", "scan", "--format", "json", "a.bolt", "b.bolt"}},
		{"double dash keeps the rest positional", []string{"graphvcr", "scan", "a.bolt", "--", "--format", "-b.bolt"}, []string{"graphvcr", "scan", "--", "a.bolt", "--format", "-b.bolt"}},
		{"flags before double dash move", []string{"graphvcr", "scan", "a.bolt", "--format", "json", "--", "-b.bolt"}, []string{"graphvcr", "scan", "--format", "json", "--", "a.bolt", "-b.bolt"}},
		{"global flag after command moves before it", []string{"graphvcr", "ca", "--ca-dir", "/x"}, []string{"graphvcr", "--ca-dir", "/x", "ca"}},
		{"global flag after positional", []string{"graphvcr", "show", "a.bolt", "--log-level=debug", "--format", "json"}, []string{"graphvcr", "--log-level=debug", "show", "--format", "json", "a.bolt"}},
		{"global flags before command stay", []string{"graphvcr", "--ca-dir", "/x", "show", "a.bolt", "--format", "json"}, []string{"graphvcr", "--ca-dir", "/x", "show", "--format", "json", "a.bolt"}},
		{"unknown flag is left for the parser", []string{"graphvcr", "show", "a.bolt", "--bogus"}, []string{"graphvcr", "show", "--bogus", "a.bolt"}},
		{"help flag after positional", []string{"graphvcr", "show", "a.bolt", "-h"}, []string{"graphvcr", "show", "-h"}},
		{"help flag keeps global flags", []string{"graphvcr", "show", "a.bolt", "--ca-dir", "/x", "--help", "--format", "json"}, []string{"graphvcr", "--ca-dir", "/x", "show", "--help"}},
		{"stdin dash is positional", []string{"graphvcr", "show", "-", "--format", "json"}, []string{"graphvcr", "show", "--format", "json", "-"}},
		{"flag missing its value at the end gets an empty one", []string{"graphvcr", "show", "a.bolt", "--format"}, []string{"graphvcr", "show", "--format=", "a.bolt"}},
		{"unknown command unchanged", []string{"graphvcr", "nosuch", "a", "--format", "json"}, []string{"graphvcr", "nosuch", "a", "--format", "json"}},
		{"help command unchanged", []string{"graphvcr", "help", "show"}, []string{"graphvcr", "help", "show"}},
		{"only global flags", []string{"graphvcr", "--version"}, []string{"graphvcr", "--version"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			got := reorderArgs(in, app)
			if !slices.Equal(got, tt.want) {
				t.Errorf("reorderArgs(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("reorderArgs modified its input: %q", in)
			}
		})
	}
}
