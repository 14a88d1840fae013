package timeline_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/internal/browsertest"
	"github.com/graphvcr/graphvcr/cassette/timeline"
)

// mermaidModules is where .ci/install-browser installs Mermaid (npm ci of
// testdata/js/package.json); the directory is git-ignored.
var mermaidModules = filepath.Join("testdata", "js", "node_modules")

// parseMermaid runs Mermaid's own parser (mermaid.parse, the one GitHub
// renders with) on diagram through node, and returns its error output.
func parseMermaid(t *testing.T, diagram []byte) (ok bool, msg string) {
	t.Helper()
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(mermaidModules, "mermaid", "package.json"))
	browsertest.Require(t, err == nil && modErr == nil, "mermaid parser not installed: run .ci/install-browser")
	cmd := exec.CommandContext(t.Context(), node, "check-mermaid.mjs")
	cmd.Dir = filepath.Join("testdata", "js")
	cmd.Stdin = bytes.NewReader(diagram)
	out, err := cmd.CombinedOutput()
	return err == nil, string(out)
}

func TestMermaidParses(t *testing.T) {
	tests := []struct {
		name   string
		events []*cassette.Event
	}{
		{"sample session", sampleEvents()},
		{"hostile content", hostileEvents()},
		{"empty cassette", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := openEvents(t, tt.events...)
			diagram := render(t, timeline.Mermaid, r)
			if ok, msg := parseMermaid(t, diagram); !ok {
				t.Errorf("mermaid rejects the diagram: %s\n%s", msg, diagram)
			}
		})
	}
	t.Run("parser rejects a broken diagram", func(t *testing.T) {
		// Guards the check itself: an unescaped ";" ends a message.
		if ok, _ := parseMermaid(t, []byte("sequenceDiagram\n    bot->>Graph: a; b c\n")); ok {
			t.Error("the parser accepted a diagram it must reject")
		}
	})
}

// TestMermaidStructure checks the diagram without a Mermaid install: the
// shape of every line, one request per event, nothing recorded unescaped.
func TestMermaidStructure(t *testing.T) {
	r := openEvents(t, append(sampleEvents(), hostileEvents()...)...)
	out := string(render(t, timeline.Mermaid, r))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "sequenceDiagram" {
		t.Fatalf("first line %q, want sequenceDiagram", lines[0])
	}
	shape := regexp.MustCompile(`^    (participant (bot|graphvcr|Graph)|Note (over bot,Graph|left of bot|right of Graph): |(bot|graphvcr|Graph)(->>|-->>|--x)(bot|graphvcr|Graph): )[^;#<>&"%]*(#\d+;[^;#<>&"%]*)*$`)
	requests := 0
	for _, l := range lines[1:] {
		if !shape.MatchString(l) {
			t.Errorf("line does not have a known shape: %q", l)
		}
		if strings.HasPrefix(l, "    bot->>graphvcr: ") || strings.HasPrefix(l, "    Graph->>graphvcr: ") {
			requests++
		}
	}
	if requests != r.Len() {
		t.Errorf("%d requests drawn, cassette holds %d events", requests, r.Len())
	}
	if strings.Contains(out, "<script") || strings.Contains(out, "a;b") {
		t.Error("recorded text reached the diagram unescaped")
	}
}
