package main

import (
	"bytes"
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// demoDeadline is the bound on `graphvcr demo`.
const demoDeadline = 30 * time.Second

var (
	// demoRowLine is one event on both timelines: seq, recorded offset,
	// replayed offset, difference, direction, method, path, status.
	demoRowLine = regexp.MustCompile(`^  #(\d+) +\+(\d+\.\d{3})s +\+(\d+\.\d{3})s +([+-]\d+)ms  (bot → Graph|Graph → bot)  (GET|POST|DELETE|PATCH|PUT) +(/\S*) +(\d{3}) (.*)$`)
	demoChecks  = regexp.MustCompile(`(?m)^sample bot checks: (\d+)/(\d+) passed recording, (\d+)/(\d+) passed in replay$`)
	demoDiffed  = regexp.MustCompile(`(?m)^recorded vs replayed: (.+) \(graphvcr diff (.+)\)$`)
	demoFile    = regexp.MustCompile(`(?m)^(cassette|HTML view): +(\S+)$`)
	demoNext    = regexp.MustCompile(`(?m)^  graphvcr (.+)$`)
	// demoTokens is the line on the bot's validation of notification tokens:
	// accepted/received while recording, then in replay, and the replay key id.
	demoTokens = regexp.MustCompile(`(?m)^notification tokens: the sample bot validated every notification's JWT \(RS256 signature, iss, aud, exp\): ` +
		`(\d+)/(\d+) accepted recording \(the simulator's key\), (\d+)/(\d+) accepted in replay \(graphvcr's key ([A-Za-z0-9_-]{43})\)$`)
)

// TestDemoSideBySide runs `graphvcr demo` as a new user would and checks
// what it prints: every event of the cassette on both timelines, the
// sample bot's checks all passed both times, and the files and commands it
// points to, which are then run.
func TestDemoSideBySide(t *testing.T) {
	tmp := t.TempDir()
	stdout := runDemo(t, tmp)

	// The files it names exist, in a new directory under TMPDIR.
	files := map[string]string{}
	for _, m := range demoFile.FindAllStringSubmatch(stdout, -1) {
		files[m[1]] = m[2]
	}
	cassettePath, htmlPath := files["cassette"], files["HTML view"]
	if cassettePath == "" || htmlPath == "" {
		t.Fatalf("the demo does not say where the cassette and the HTML view are:\n%s", stdout)
	}
	for _, p := range []string{cassettePath, htmlPath} {
		if rel, err := filepath.Rel(tmp, p); err != nil || strings.HasPrefix(rel, "..") || !strings.HasPrefix(rel, "graphvcr-demo-") {
			t.Errorf("%s is not in a graphvcr-demo-* directory of TMPDIR %s", p, tmp)
		}
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil || !bytes.Contains(page, []byte("<html")) || !bytes.Contains(page, []byte("/participants/invite")) {
		t.Errorf("HTML view %s: %v; not a timeline page of the session", htmlPath, err)
	}
	r, err := cassette.Open(cassettePath)
	if err != nil {
		t.Fatalf("the demo's cassette: %v", err)
	}
	events := r.Len()
	notifications := 0
	offsets := map[uint64]time.Duration{}
	err = r.EachHead(func(e *cassette.Event) error {
		offsets[e.Seq] = e.Offset
		if e.Kind == cassette.KindNotification {
			notifications++
		}
		return nil
	})
	r.Close()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("both timelines", func(t *testing.T) {
		var rows [][]string
		for _, l := range strings.Split(stdout, "\n") {
			if m := demoRowLine.FindStringSubmatch(l); m != nil {
				rows = append(rows, m)
			}
		}
		if len(rows) != events {
			t.Fatalf("%d rows with both offsets, want one per event of the cassette (%d):\n%s", len(rows), events, stdout)
		}
		kinds, fromGraph := map[string]bool{}, 0
		for i, m := range rows {
			seq, _ := strconv.Atoi(m[1])
			if seq != i+1 {
				t.Errorf("row %d is event #%d, want #%d", i, seq, i+1)
			}
			rec, _ := strconv.ParseFloat(m[2], 64)
			rep, _ := strconv.ParseFloat(m[3], 64)
			diff, _ := strconv.Atoi(m[4])
			if want := int(math.Round((rep - rec) * 1000)); diff < want-1 || diff > want+1 {
				t.Errorf("#%s: Δ %dms, but %s − %s is %dms", m[1], diff, m[3], m[2], want)
			}
			// Events are numbered as they complete, so a notification comes
			// after the key fetches its validation started: compare each
			// offset with its event's, not with the row before.
			if want := offsets[uint64(seq)].Seconds(); math.Abs(rec-want) > 0.001 {
				t.Errorf("#%s: recorded offset %s, the cassette says %+.3fs", m[1], m[2], want)
			}
			if m[5] == "Graph → bot" {
				fromGraph++
				_, kind, ok := strings.Cut(m[9], " · ")
				if !ok || kind == "" {
					t.Errorf("#%s: a notification row without its kind: %q", m[1], m[0])
				}
				for k := range strings.SplitSeq(kind, ", ") {
					kinds[k] = true
				}
			}
		}
		if fromGraph != notifications {
			t.Errorf("%d rows Graph → bot, the cassette holds %d notifications", fromGraph, notifications)
		}
		for _, k := range []string{"call established", "operation completed", "call terminated", "call deleted"} {
			if !kinds[k] {
				t.Errorf("no notification row says %q; kinds: %v", k, kinds)
			}
		}
		if !strings.Contains(stdout, "timing: "+strconv.Itoa(events)+" of "+strconv.Itoa(events)+" events replayed") {
			t.Errorf("no timing summary for all %d events:\n%s", events, stdout)
		}
	})

	t.Run("checks passed", func(t *testing.T) {
		m := demoChecks.FindStringSubmatch(stdout)
		if m == nil || m[1] != m[2] || m[3] != m[4] || m[2] != m[4] || m[2] == "0" {
			t.Errorf("want every sample bot check passed, recording and replay: %q", m)
		}
		for _, want := range []string{"demo.bolt: clean, ", " 0 unmatched requests", "(0 diverged), 0 pending"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("output lacks %q", want)
			}
		}
	})

	t.Run("notification tokens validated", func(t *testing.T) {
		m := demoTokens.FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("the demo does not say the bot validated the notification tokens:\n%s", stdout)
		}
		want := strconv.Itoa(notifications)
		for i, what := range []string{"accepted recording", "received recording", "accepted in replay", "received in replay"} {
			if m[i+1] != want {
				t.Errorf("%s: %s notification tokens, want every notification of the cassette (%s)", what, m[i+1], want)
			}
		}
		// Every replayed notification was answered 2xx, as recorded: the
		// table shows a replay status only when it differs.
		for _, l := range strings.Split(stdout, "\n") {
			r := demoRowLine.FindStringSubmatch(l)
			if r == nil || r[5] != "Graph → bot" {
				continue
			}
			if !strings.HasPrefix(r[8], "2") || strings.Contains(r[9], "(replay: ") {
				t.Errorf("#%s: notification not accepted both times: %q", r[1], r[0])
			}
		}
		// The replay's key stays in the demo's directory: graphvcr demo
		// never writes the user's configuration.
		key := filepath.Join(filepath.Dir(cassettePath), "notify-signing-key.pem")
		if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("signing key %s: %v, want a 0600 file beside the cassette", key, err)
		}
	})

	// The demo ends with graphvcr diff of the recording against what the
	// bot did in replay (replay --record-actual): the same session.
	t.Run("recorded and replayed sessions diff equal", func(t *testing.T) {
		m := demoDiffed.FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("the demo does not end with a diff of the recorded and replayed sessions:\n%s", stdout)
		}
		want := "equal: " + strconv.Itoa(events-2) + " events each, timing ignored" // the two keys documents are ignored
		if m[1] != want {
			t.Errorf("diff verdict %q, want %q", m[1], want)
		}
	})

	t.Run("suggested commands run", func(t *testing.T) {
		next := demoNext.FindAllStringSubmatch(stdout, -1)
		if len(next) < 5 {
			t.Fatalf("want the commands to try next, got %q", next)
		}
		for _, m := range next {
			args := strings.Fields(m[1])
			for i, a := range args {
				args[i] = strings.Trim(a, "'") // shell quoting of a glob
			}
			if args[0] == "replay" {
				// It waits for a bot: check only that it names real flags.
				help := graphvcr(t, nil, "help", "replay")
				for _, a := range args {
					if strings.HasPrefix(a, "--") && !strings.Contains(help.stdout, "   "+a+" ") {
						t.Errorf("%q: graphvcr replay has no flag %s", m[1], a)
					}
				}
				continue
			}
			var out string
			if i := slices.Index(args, ">"); i >= 0 {
				out, args = args[i+1], args[:i]
			}
			res := graphvcr(t, nil, args...)
			if res.code != 0 || res.stderr != "" {
				t.Errorf("%q: exit %d, stderr %q", m[1], res.code, res.stderr)
			}
			if out != "" {
				if err := os.WriteFile(out, []byte(res.stdout), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// runDemo runs `graphvcr demo` with TMPDIR set to tmp, within the issue's
// deadline, and returns its stdout after checking it succeeded quietly.
func runDemo(t *testing.T, tmp string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), demoDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo")
	cmd.Env = append(cleanEnv(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("graphvcr demo did not finish within %v; stdout so far:\n%s", demoDeadline, stdout.String())
	}
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("graphvcr demo: %v, stderr %q\n%s", err, stderr.String(), stdout.String())
	}
	return stdout.String()
}
