package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiff runs graphvcr diff on cassettes that are equal, differ, or
// differ only in what the flags tell it to leave out, and checks the exit
// status and output of each format.
func TestDiff(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.bolt")
	writeCassette(t, a, fixtureEvents())
	changed := filepath.Join(dir, "changed.bolt")
	evs := fixtureEvents()
	evs[2].Request.Body = []byte(strings.Replace(string(evs[2].Request.Body), "Person 1", "Person 2", 1))
	evs[3].Response.Status = 500
	writeCassette(t, changed, evs)
	late := filepath.Join(dir, "late.bolt")
	evs = fixtureEvents()
	evs[3].Offset += 400_000_000 // 400ms
	writeCassette(t, late, evs)

	t.Run("equal", func(t *testing.T) {
		r := graphvcr(t, nil, "diff", a, a)
		wantSuccess(t, r)
		if !strings.Contains(r.stdout, "equal: 4 events each, timing within 50ms\n") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
	})
	t.Run("different", func(t *testing.T) {
		r := graphvcr(t, nil, "diff", a, changed)
		wantFailure(t, r, 1, "cassettes differ: 2 differences (1 body, 1 status)")
		for _, want := range []string{
			"\n      body  request body participants[0].identity.user.displayName: \"Person 1\" → \"Person 2\"\n",
			"\n      status  202 → 500\n",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "\x1b[") {
			t.Error("colour when stdout is not a terminal")
		}
	})
	t.Run("json", func(t *testing.T) {
		r := graphvcr(t, nil, "diff", a, changed, "--format", "json")
		wantFailure(t, r, 1, "cassettes differ")
		var doc struct {
			Equal       bool
			Differences int
			Counts      map[string]int
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc.Equal || doc.Differences != 2 || doc.Counts["status"] != 1 {
			t.Errorf("json %+v (%v):\n%s", doc, err, r.stdout)
		}
	})
	t.Run("html", func(t *testing.T) {
		r := graphvcr(t, nil, "diff", "--format=html", a, changed)
		wantFailure(t, r, 1, "cassettes differ")
		if !strings.HasPrefix(r.stdout, "<!DOCTYPE html>") || strings.Count(r.stdout, `<li class="d"`) != 2 {
			t.Errorf("html:\n%.400s", r.stdout)
		}
	})
	t.Run("ignore-field", func(t *testing.T) {
		r := graphvcr(t, nil, "diff", a, changed, "--ignore-field", "participants[*].identity.user.displayName")
		wantFailure(t, r, 1, "1 difference (1 status)")
	})
	t.Run("ignore", func(t *testing.T) {
		// The status change is the notification's; leaving out /api/calls
		// and the changed field leaves nothing.
		r := graphvcr(t, nil, "diff", a, changed, "--ignore", "/api/*", "--ignore-field", "participants")
		wantSuccess(t, r)
		if !strings.Contains(r.stdout, "equal: 3 events each") {
			t.Errorf("stdout:\n%s", r.stdout)
		}
	})
	t.Run("timing", func(t *testing.T) {
		wantFailure(t, graphvcr(t, nil, "diff", a, late), 1, "1 difference (1 timing)")
		wantSuccess(t, graphvcr(t, nil, "diff", a, late, "--tolerance", "500ms"))
		wantSuccess(t, graphvcr(t, nil, "diff", a, late, "--ignore-timing"))
		wantSuccess(t, graphvcr(t, []string{"GRAPHVCR_IGNORE_TIMING=true"}, "diff", a, late))
	})
	t.Run("usage", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"diff", a}, "want two cassettes"},
			{[]string{"diff", a, a, a}, "want two cassettes"},
			{[]string{"diff", a, a, "--format", "mermaid"}, `--format "mermaid": want text, json or html`},
			{[]string{"diff", a, a, "--ignore", "["}, `--ignore "["`},
			{[]string{"diff", a, a, "--ignore-field", "a[x]"}, `--ignore-field "a[x]"`},
			{[]string{"diff", a, a, "--tolerance", "-1s"}, "--tolerance"},
		} {
			wantFailure(t, graphvcr(t, nil, tt.args...), 2, tt.want, "run 'graphvcr help diff'")
		}
	})
}

// TestDiffBadInput: a cassette that is missing, corrupt, locked by another
// process or from a newer graphvcr, on either side, is one line and exit 2.
func TestDiffBadInput(t *testing.T) {
	good := fixture(t)
	for _, b := range badCassettes(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, args := range [][]string{{"diff", good, b.path}, {"diff", b.path, good}} {
				r := graphvcrProcess(t, nil, args...)
				wantFailure(t, r, 2, "open "+b.path+": ", b.want)
				if r.stdout != "" {
					t.Errorf("stdout %.100q; want nothing", r.stdout)
				}
			}
		})
	}
}
