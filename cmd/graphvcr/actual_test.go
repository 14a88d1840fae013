package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
)

// A bot changed to skip or add a request, made from the sample bot by a
// transport that answers one request itself (the bot never sends it) or
// sends one more after another.
type tweakedTransport struct {
	base http.RoundTripper
	// skip, when it says so, answers a request with 200 and body
	// skipAnswer without sending it.
	skip       func(*http.Request) bool
	skipAnswer string
	// after, when it says so of a request that got its answer, sends
	// extra (the same method and URL with extraPath instead of the path).
	after     func(*http.Request) bool
	extraPath func(*http.Request) string
}

func (tt *tweakedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if tt.skip != nil && tt.skip(req) {
		return &http.Response{
			StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:  http.Header{"Content-Type": {"application/json"}},
			Body:    io.NopCloser(strings.NewReader(tt.skipAnswer)),
			Request: req,
		}, nil
	}
	resp, err := tt.base.RoundTrip(req)
	if err != nil || tt.after == nil || !tt.after(req) {
		return resp, err
	}
	extra, err := http.NewRequestWithContext(req.Context(), http.MethodGet, req.URL.Scheme+"://"+req.URL.Host+tt.extraPath(req), nil)
	if err != nil {
		return resp, nil
	}
	extra.Header.Set("Authorization", req.Header.Get("Authorization"))
	if r, err := tt.base.RoundTrip(extra); err == nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return resp, nil
}

// callPath is a call's own URL path (not one of its sub-resources).
var callPath = regexp.MustCompile(`^/v1\.0/communications/calls/[^/]+$`)

// replayActual replays the sample cassette of s with graphvcr replay
// --record-actual to a sample bot whose transport is tweaked by tweak
// (nil: none) and returns the actual cassette's path and replay's output.
func replayActual(t *testing.T, s graphtest.Scenario, tweak func(*tweakedTransport)) (string, result) {
	t.Helper()
	dir := t.TempDir()
	actual := filepath.Join(dir, "actual.bolt")
	toGraph := &graphtest.LateDialer{}
	opts := demoBotOptions("8d2f1c3a-6b7e-4f90-a1b2-c3d4e5f60718", "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b", 11, toGraph, nil)
	if tweak != nil {
		tt := &tweakedTransport{base: opts.HTTPClient.Transport}
		tweak(tt)
		opts.HTTPClient.Transport = tt
	}
	bot, err := graphtest.StartBot(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer bot.Close()
	speed := "0"
	if s == graphtest.FullCall {
		// The bot polls the operation at once after inviting, and Graph
		// notified its end 0.77s later: at speed 0 both come at once, in
		// either order. A quarter of the recorded gaps keeps the order.
		speed = "4"
	}
	args := []string{"replay", "--cassette", filepath.Join(repoRoot, "cassettes", string(s)+".bolt"), "--listen", "127.0.0.1:0",
		"--bot", bot.URL, "--speed", speed, "--record-actual", actual}
	if tweak == nil {
		// Every recorded exchange will be matched: replay ends by itself.
		// A tweaked bot may skip one (the replay is never done), or send
		// one more after the last recorded one was matched (it must not
		// find the replay gone).
		args = append(args, "--exit-when-done")
	}
	rep := start(t, []string{"GRAPHVCR_CA_DIR=" + filepath.Join(dir, "ca")}, args...)
	base := rep.waitMatch(replayListener)
	toGraph.Set(base)
	_, _ = bot.Run(t.Context(), s) // a tweaked bot's checks may fail: what it did is the point
	var r result
	if tweak == nil {
		r = rep.wait() // --exit-when-done: every recorded exchange was matched
	} else {
		// Stop it, as Ctrl-C does, once every notification was delivered
		// (the bot's requests were all answered when Run returned).
		waitDelivered(t, base)
		r = rep.interrupt()
	}
	wantSuccess(t, r)
	return actual, r
}

// waitDelivered polls the replay's report until no notification is pending.
func waitDelivered(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get(base + "/__graphvcr/report")
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Pending []json.RawMessage `json:"pending"`
		}
		err = json.NewDecoder(resp.Body).Decode(&rep)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Pending) == 0 {
			http.DefaultClient.CloseIdleConnections()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications still pending after a minute: %d", len(rep.Pending))
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline: the report has no push
	}
}

func TestReplayRecordActual(t *testing.T) {
	t.Run("the sample bot as recorded", func(t *testing.T) {
		recorded := filepath.Join(repoRoot, "cassettes", "single-invite.bolt")
		actual, r := replayActual(t, graphtest.SingleInvite, nil)
		if want := "recorded what the bot did (7 events) to " + actual + "; compare: graphvcr diff " + recorded + " " + actual; !strings.Contains(r.stdout, want) {
			t.Errorf("replay does not say where the actual cassette is; want %q in:\n%s", want, r.stdout)
		}
		d := graphvcr(t, nil, "diff", "--ignore-timing", "--ignore-field", "expires_in", "--ignore-field", "ext_expires_in", recorded, actual)
		if d.code != 0 {
			t.Errorf("diff of recorded and actual: exit %d, want 0\n%s%s", d.code, d.stdout, d.stderr)
		}
		if s := graphvcr(t, nil, "scan", actual); s.code != 0 {
			t.Errorf("scan of the actual cassette: exit %d\n%s%s", s.code, s.stdout, s.stderr)
		}
		c, err := cassette.Open(actual)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := c.Meta().RecordedFrom; !regexp.MustCompile(`^single-invite\.bolt sha256:[0-9a-f]{64}$`).MatchString(got) {
			t.Errorf("Meta.RecordedFrom = %q, want the recording's name and hash", got)
		}
	})

	t.Run("a bot that skips a request", func(t *testing.T) {
		actual, _ := replayActual(t, graphtest.FullCall, skipGetCall)
		d := graphvcr(t, nil, "diff", "--ignore-timing", "--ignore-field", "expires_in", "--ignore-field", "ext_expires_in", filepath.Join(repoRoot, "cassettes", "full-call.bolt"), actual)
		wantOneLine(t, d, `(?m)^  - A#11 .* GET /v1\.0/communications/calls/c0ffee00-0000-4000-8000-000000000007  200 OK  removed$`,
			"1 difference (1 removed) between 13 and 12 events, timing ignored")
	})

	t.Run("a bot that adds a request", func(t *testing.T) {
		actual, _ := replayActual(t, graphtest.SingleInvite, addGetCall)
		d := graphvcr(t, nil, "diff", "--ignore-timing", "--ignore-field", "expires_in", "--ignore-field", "ext_expires_in", filepath.Join(repoRoot, "cassettes", "single-invite.bolt"), actual)
		wantOneLine(t, d, `(?m)^  \+ B#\d+ .* GET /v1\.0/communications/calls/c0ffee00-0000-4000-8000-000000000007  501 Not Implemented  added$`,
			"1 difference (1 added) between 7 and 8 events, timing ignored")
	})

	t.Run("record-actual refuses the cassette replayed", func(t *testing.T) {
		p := filepath.Join(repoRoot, "cassettes", "single-invite.bolt")
		r := graphvcr(t, nil, "replay", "--cassette", p, "--bot", "http://127.0.0.1:1", "--record-actual", p)
		wantFailure(t, r, 2, "--record-actual "+p+" is the cassette being replayed")
	})
}

// skipGetCall makes the full-call bot skip its GET of the call before
// hanging up, as if that request were deleted from its code.
func skipGetCall(tt *tweakedTransport) {
	tt.skip = func(req *http.Request) bool {
		return req.Method == http.MethodGet && callPath.MatchString(req.URL.Path)
	}
	tt.skipAnswer = `{"state":"established"}`
}

// addGetCall makes the bot GET its call once the invite is answered, a
// request the recording does not hold.
func addGetCall(tt *tweakedTransport) {
	tt.after = func(req *http.Request) bool { return strings.HasSuffix(req.URL.Path, "/participants/invite") }
	tt.extraPath = func(req *http.Request) string { return strings.TrimSuffix(req.URL.Path, "/participants/invite") }
}

// wantOneLine checks that diff exited 1 with summary and exactly one event
// line (a line starting "  +", "  -" or "  ~"), matching line.
func wantOneLine(t *testing.T, d result, line, summary string) {
	t.Helper()
	if d.code != 1 {
		t.Fatalf("diff: exit %d, want 1\n%s%s", d.code, d.stdout, d.stderr)
	}
	if !strings.Contains(d.stdout, "\n"+summary+"\n") {
		t.Errorf("diff summary: want %q in:\n%s", summary, d.stdout)
	}
	if n := len(regexp.MustCompile(`(?m)^  [-+~] `).FindAllString(d.stdout, -1)); n != 1 {
		t.Errorf("diff lists %d events, want 1:\n%s", n, d.stdout)
	}
	if !regexp.MustCompile(line).MatchString(d.stdout) {
		t.Errorf("diff does not list %s:\n%s", line, d.stdout)
	}
}

// TestREADMEBugReportDiff checks the README's example of the bug-report
// flow: the output of diff on a replay of cassettes/full-call.bolt to the
// sample bot changed to skip a request, made here for real (-update
// rewrites it).
func TestREADMEBugReportDiff(t *testing.T) {
	const cmdLine = "graphvcr diff cassettes/full-call.bolt actual.bolt --ignore-timing --ignore-field expires_in --ignore-field ext_expires_in"
	readme, shown := readmeOutput(t, cmdLine)
	actual, _ := replayActual(t, graphtest.FullCall, skipGetCall)
	// The files where the README's command names them.
	dir := t.TempDir()
	copyFile(t, filepath.Join(repoRoot, "cassettes", "full-call.bolt"), filepath.Join(dir, "cassettes", "full-call.bolt"))
	copyFile(t, actual, filepath.Join(dir, "actual.bolt"))
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	r := graphvcr(t, nil, strings.Fields(cmdLine)[1:]...)
	if err := os.Chdir(wd); err != nil {
		t.Fatal(err)
	}
	if r.code != 1 {
		t.Fatalf("%s: exit status %d, want 1\n%s%s", cmdLine, r.code, r.stdout, r.stderr)
	}
	checkREADMEOutput(t, readme, shown, r.stdout, "bug-report", "TestREADMEBugReportDiff", cmdLine)
}
