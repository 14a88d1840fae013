package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// sampleCassette is the cassette the fault tests replay.
var sampleCassette = filepath.Join(repoRoot, "cassettes", "single-invite.bolt")

// TestReplayFaultBadSpecs: every bad --fault (or GRAPHVCR_FAULT, or
// --seed) stops replay before it listens, with exit status 2 and one line
// naming the spec, and for a spec, the valid actions and keys.
func TestReplayFaultBadSpecs(t *testing.T) {
	args := func(extra ...string) []string {
		return append([]string{"replay", "--cassette", sampleCassette, "--bot", "http://127.0.0.1:1", "--listen", "127.0.0.1:0"}, extra...)
	}
	for _, tc := range []struct {
		name  string
		env   []string
		args  []string
		wants []string
	}{
		{"unknown action", nil, args("--fault", "explode"), []string{`fault "explode"`, `unknown action "explode"`}},
		{"unknown key", nil, args("--fault", "drop:colour=red"), []string{`fault "drop:colour=red"`, `unknown key "colour"`}},
		{"p above 1", nil, args("--fault", "drop:p=1.5"), []string{`fault "drop:p=1.5"`, "p must be a number from 0 to 1"}},
		{"p below 0", nil, args("--fault", "duplicate:p=-0.1"), []string{`fault "duplicate:p=-0.1"`, "p must be"}},
		{"nth zero", nil, args("--fault", "drop:nth=0"), []string{`fault "drop:nth=0"`, "nth must be a whole number from 1 up"}},
		{"delay without by", nil, args("--fault", "delay"), []string{`fault "delay"`, "needs by="}},
		{"bad by", nil, args("--fault", "delay:by=soon"), []string{`fault "delay:by=soon"`, "by must be a duration"}},
		{"code of a success", nil, args("--fault", "status:code=200"), []string{`fault "status:code=200"`, "code must be an HTTP error status"}},
		{"key of another action", nil, args("--fault", "drop:code=503"), []string{`fault "drop:code=503"`, "code applies only to status"}},
		{"class on a request action", nil, args("--fault", "status:match=established"), []string{`fault "status:match=established"`, "notification class"}},
		{"nothing after the colon", nil, args("--fault", "drop:"), []string{`fault "drop:"`, "nothing after"}},
		{"second of two bad", nil, args("--fault", "drop", "--fault", "latency:by=0s"), []string{`fault "latency:by=0s"`, "above zero"}},
		{"in the environment", []string{"GRAPHVCR_FAULT=drop;bogus:p=1"}, args(), []string{`fault "bogus:p=1"`, `unknown action "bogus"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := graphvcr(t, tc.env, tc.args...)
			wantFailure(t, r, 2, append(tc.wants, "actions: drop, duplicate, delay, reorder", "keys: match, p, nth, by, code, retry-after")...)
		})
	}
	t.Run("bad seed", func(t *testing.T) {
		r := graphvcr(t, nil, args("--fault", "drop", "--seed", "lucky")...)
		wantFailure(t, r, 2, `--seed "lucky"`, "whole number")
	})
}

var seedLine = regexp.MustCompile(`^faults: seed (-?\d+) — rerun with --seed (-?\d+)$`)

// TestReplayFaultStart: replay prints the seed with its start lines (drawn
// when --seed is not given) and warns of a match that selects nothing,
// naming the classes the cassette holds.
func TestReplayFaultStart(t *testing.T) {
	t.Run("given seed, empty match", func(t *testing.T) {
		p := start(t, nil, "replay", "--cassette", sampleCassette, "--bot", "http://127.0.0.1:1", "--listen", "127.0.0.1:0",
			"--speed", "0", "--seed", "7", "--fault", "drop:match=incoming")
		p.waitMatch(replayListener)
		if got := p.waitMatch(seedLine); got != "7" {
			t.Errorf("seed line names %s, want 7", got)
		}
		r := p.interrupt()
		want := `graphvcr: warning: fault "drop:match=incoming": match=incoming selects no notification; classes in the cassette: call establishing, call established, operation completed, roster updated`
		if !strings.Contains(r.stderr, want+"\n") {
			t.Errorf("stderr lacks the warning line %q:\n%s", want, r.stderr)
		}
	})
	t.Run("drawn seed", func(t *testing.T) {
		p := start(t, []string{"GRAPHVCR_FAULT=duplicate:match=roster"}, "replay", "--cassette", sampleCassette,
			"--bot", "http://127.0.0.1:1", "--listen", "127.0.0.1:0", "--speed", "0")
		seed := p.waitMatch(seedLine)
		r := p.interrupt()
		if !strings.Contains(r.stdout, "faults: seed "+seed+" — rerun with --seed "+seed+"\n") {
			t.Errorf("seed line names two seeds:\n%s", r.stdout)
		}
		if strings.Contains(r.stderr, "warning") {
			t.Errorf("a warning for a spec that selects a notification:\n%s", r.stderr)
		}
	})
	t.Run("no faults, no seed line", func(t *testing.T) {
		p := start(t, nil, "replay", "--cassette", sampleCassette, "--bot", "http://127.0.0.1:1", "--listen", "127.0.0.1:0", "--speed", "0")
		p.waitMatch(replayListener)
		r := p.interrupt()
		if strings.Contains(r.stdout, "faults:") {
			t.Errorf("a seed line without --fault:\n%s", r.stdout)
		}
	})
}
