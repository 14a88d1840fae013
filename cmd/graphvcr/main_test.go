package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden and the README's generated examples from the current output")

// bin is the graphvcr binary built once by TestMain, for the tests that
// need a process of their own: signals, a lock held by another process, a
// session in the background. The others call run in this process.
var bin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "graphvcr-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(2)
	}
	bin = filepath.Join(dir, "graphvcr")
	// The CA and the notification signing key of every run go here, never
	// into the user's config directory (tests that need their own set
	// GRAPHVCR_CA_DIR or --ca-dir, which win).
	testCADir = filepath.Join(dir, "ca")
	// The commands run in this process see the environment the binary is
	// given (cleanEnv): no GRAPHVCR_ variable of the user's, no colour, the
	// test CA directory.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "GRAPHVCR_") {
			os.Unsetenv(k)
		}
	}
	os.Setenv("NO_COLOR", "1")
	os.Setenv("GRAPHVCR_CA_DIR", testCADir)
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	// Not built with -race even under go test -race: a race-enabled binary
	// takes up to a second to start on a busy machine, and these tests start
	// it about a hundred times. The packages it wires run their own tests
	// with -race.
	build := exec.Command(goTool(), "build", "-o", bin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build graphvcr:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		os.RemoveAll(dir)
		os.Exit(code)
	}))
}

// goTool finds the go command that is running these tests.
func goTool() string {
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// result is what one run of graphvcr produced.
type result struct {
	stdout, stderr string
	code           int
}

// graphvcr runs the command in this process, through run as main does, with
// env (KEY=VALUE) set for the test's duration on top of the environment
// TestMain cleaned: a test passing env must not be parallel. Use it for
// every run that involves no signal and no lock held by another process;
// graphvcrProcess runs the binary for those.
func graphvcr(t *testing.T, env []string, args ...string) result {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	inProcess.Lock()
	defer inProcess.Unlock()
	code := run(ctx, append([]string{"graphvcr"}, args...), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// inProcess serialises the runs of graphvcr in this process: urfave/cli
// keeps its help and version flags in package variables that every run
// writes (the race detector sees it), so parallel tests take turns here.
// A run in process is short (no signal, no waiting on a peer), so they
// lose little.
var inProcess sync.Mutex

// graphvcrProcess runs the binary with args and env (KEY=VALUE) added to a
// copy of the test's environment stripped of every GRAPHVCR_ variable, as a
// user or a script would: for runs where another process must hold a lock,
// or where the exit status must come from a real process.
func graphvcrProcess(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run graphvcr %q: %v", args, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// wantFailure checks a run failed with code and exactly one stderr line
// "graphvcr: ..." containing every one of wants.
func wantFailure(t *testing.T, r result, code int, wants ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "graphvcr: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("stderr is not one line starting with %q:\n%s", "graphvcr: ", r.stderr)
	}
	for _, w := range wants {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr %q does not contain %q", r.stderr, w)
		}
	}
	for _, bad := range []string{"goroutine ", "panic", "Incorrect Usage", "bbolt", "\tat "} {
		if strings.Contains(r.stderr, bad) {
			t.Errorf("stderr shows a raw library error or stack (%q): %s", bad, r.stderr)
		}
	}
}

// wantSuccess checks a run exited 0 with nothing on stderr.
func wantSuccess(t *testing.T, r result) {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit status %d, stderr %q; want 0 and nothing", r.code, r.stderr)
	}
}

// Pseudonyms of the fixture cassette, as redact would issue them.
const (
	callID     = "c0ffee00-0000-4000-8000-000000000001"
	tenantID   = "c0ffee00-0000-4000-8000-000000000002"
	operation  = "c0ffee00-0000-4000-8000-000000000003"
	fakeSecret = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwidGlkIjoiOGEzNGE0NmItOWE4Zi00ZjNlLTliMWMtMWY1ZTNkOGMyYTEwIn0.c2lnbmF0dXJlLW5vdC1yZWFsLWJ1dC1sb25nLWVub3VnaC10by1sb29rLWxpa2Utb25l"
)

// fixtureEvents returns the events of a small redacted session: a token
// request, a call, an invite and the notification it caused.
func fixtureEvents() []*cassette.Event {
	jsonHeader := func() http.Header { return http.Header{"Content-Type": {"application/json"}} }
	return []*cassette.Event{
		{
			Kind: cassette.KindToken, Offset: 0, Latency: 120 * time.Millisecond,
			Request:  cassette.Request{Method: "POST", URL: "https://login.microsoftonline.com/" + tenantID + "/oauth2/v2.0/token", Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte("grant_type=client_credentials&client_secret=REDACTED")},
			Response: cassette.Response{Status: 200, Header: jsonHeader(), Body: []byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"REDACTED"}`)},
		},
		{
			Kind: cassette.KindGraph, Offset: 150 * time.Millisecond, Latency: 310 * time.Millisecond,
			Request:  cassette.Request{Method: "POST", URL: "https://graph.microsoft.com/v1.0/communications/calls", Header: http.Header{"Authorization": {"Bearer REDACTED"}, "Content-Type": {"application/json"}}, Body: []byte(`{"callbackUri":"https://bot1.example.invalid/api/calls","tenantId":"` + tenantID + `"}`)},
			Response: cassette.Response{Status: 201, Header: jsonHeader(), Body: []byte(`{"id":"` + callID + `","state":"establishing"}`)},
		},
		{
			Kind: cassette.KindGraph, Offset: 2 * time.Second, Latency: 95 * time.Millisecond,
			Request: cassette.Request{Method: "POST", URL: "https://graph.microsoft.com/v1.0/communications/calls/" + callID + "/participants/invite", Header: jsonHeader(), Body: []byte(`{"participants":[{"identity":{"user":{"id":"` + tenantID + `","displayName":"Person 1"}}}],"clientContext":"` + operation + `"}`)},
			Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "Location": {"https://graph.microsoft.com/v1.0/communications/calls/" + callID + "/operations/" + operation}},
				Body: []byte(`{"@odata.type":"#microsoft.graph.inviteParticipantsOperation","id":"` + operation + `","status":"running"}`)},
		},
		{
			Kind: cassette.KindNotification, Offset: 3500 * time.Millisecond, Latency: 4 * time.Millisecond, Trigger: 3,
			Request:  cassette.Request{Method: "POST", URL: "https://bot1.example.invalid/api/calls", Header: jsonHeader(), Body: []byte(`{"value":[{"changeType":"deleted","resource":"/communications/calls/` + callID + `/operations/` + operation + `","resourceData":{"status":"completed"}}]}`)},
			Response: cassette.Response{Status: 202},
			Bearer:   &cassette.Bearer{Header: map[string]string{"alg": "RS256", "kid": "kid-1"}, Claims: map[string]string{"iss": "https://graph.microsoft.com", "tid": tenantID}, Lifetime: time.Hour},
		},
	}
}

// fixtureMeta is the meta of every cassette the tests write.
var fixtureMeta = cassette.Meta{
	Created: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Version: "test",
	Upstream: "graph.microsoft.com", TokenUpstream: "login.microsoftonline.com",
}

// writeCassette creates a cassette at path holding events, with the
// fixture's pseudonyms.
func writeCassette(t *testing.T, path string, events []*cassette.Event) {
	t.Helper()
	cassettetest.Write(t, path, fixtureMeta, events, callID, tenantID, operation)
}

// fixture writes the standard clean cassette into a temp dir and returns its path.
func fixture(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "session.bolt")
	writeCassette(t, path, fixtureEvents())
	return path
}

// copyFile copies the file at from to the file to (mode 0600), creating
// to's directory.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
