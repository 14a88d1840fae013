// Package browsertest drives a headless Chromium for the tests of the HTML
// views of a cassette (cassette/timeline's page and Mermaid diagram,
// cassette/diff's comparison): it starts one per test with its own profile
// and checks none of its processes outlives the test, serves pages on a
// loopback listener, and collects what a page logged as an error or fetched
// from elsewhere. A test that needs Chromium (installed by
// .ci/install-browser) is skipped without it, except under CI=true, where
// that is a failure: CI must not pass by running nothing.
package browsertest

import (
	"bytes"
	"context"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromiumPath is where Debian's chromium package (.ci/install-browser) puts it.
const chromiumPath = "/usr/bin/chromium"

// Require skips the test when a tool it drives is missing, naming the
// install step, except under CI=true, where a missing tool is a failure:
// CI must not pass by running nothing.
func Require(t testing.TB, present bool, reason string) {
	t.Helper()
	if present {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

// chromium returns the path of the Chromium executable, skipping the test
// (or failing it under CI=true) when there is none.
func chromium(t testing.TB) string {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else {
			path = ""
		}
	}
	Require(t, path != "", "chromium not installed: run .ci/install-browser")
	return path
}

// Start starts a headless Chromium (1280×900) for the test with its own
// profile and returns the context to drive it with; it is stopped when the
// test ends, which fails if any process of it outlives the test.
func Start(t testing.TB) context.Context {
	t.Helper()
	exe := chromium(t)
	profile := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(t.Context()), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		stop, cancelStop := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancelStop()
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("close browser: %v", err)
		}
		cancel()
		cancelAlloc()
		waitNoProcess(stop, t, profile)
	})
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`1`)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// waitNoProcess fails the test when a process started with the profile
// directory is still alive by the deadline of ctx.
func waitNoProcess(ctx context.Context, t testing.TB, profile string) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		left := processesUsing(profile)
		if len(left) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("chromium processes left behind: %v", left)
			return
		case <-tick.C:
		}
	}
}

// processesUsing lists the processes whose command line names profile.
func processesUsing(profile string) []string {
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var pids []string
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(profile)) {
			pids = append(pids, filepath.Base(filepath.Dir(p)))
		}
	}
	return pids
}

// Serve serves files (URL path to content) on a loopback listener until the
// test ends and returns its base URL. The Content-Type follows the path: .js
// is JavaScript, .txt plain text, anything else HTML. It also answers the
// request PageProblems makes to mark the end of a page's log.
func Serve(t testing.TB, files map[string][]byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/"+EndMark {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, ".js"):
			w.Header().Set("Content-Type", "text/javascript")
		case strings.HasSuffix(r.URL.Path, ".txt"):
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		default:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Page is a page Load opened, watched from before it loaded for what
// PageProblems reports.
type Page struct {
	ctx      context.Context
	base     string
	console  iter.Seq2[chromedp.ConsoleMessage, error]
	requests iter.Seq2[network.EventRequestWillBeSent, error]
}

// Load serves files as Serve does, starts reading the browser's console and
// requests (so that nothing the page does while loading is missed), opens
// "/" in the browser of ctx and waits until an element matching the CSS
// selector ready is there.
func Load(t testing.TB, ctx context.Context, files map[string][]byte, ready string) *Page {
	t.Helper()
	p := &Page{
		ctx:      ctx,
		base:     Serve(t, files),
		console:  chromedp.Console(ctx),
		requests: chromedp.Events(ctx, network.RequestWillBeSent),
	}
	Do(t, ctx, chromedp.Navigate(p.base+"/"), chromedp.WaitReady(chromedp.CSS(ready)))
	return p
}

// CheckProblems fails the test, listing them, when the page logged an
// error or made a request to anything but the server Load started: see
// PageProblems.
func (p *Page) CheckProblems(t testing.TB) {
	t.Helper()
	if problems := PageProblems(t, p.ctx, p.console, p.requests, p.base); len(problems) > 0 {
		t.Errorf("page problems:\n%s", strings.Join(problems, "\n"))
	}
}

// EndMark is what a test logs last: reading the console up to it reads
// every message the page wrote before.
const EndMark = "graphvcr-test-end"

// PageProblems returns the console errors and exceptions of the page, and
// the requests it made to anything but base (the URL Serve returned), up to
// an end mark it makes the page write: console and requests must have been
// opened (chromedp.Console, chromedp.Events) before the page was loaded.
func PageProblems(t testing.TB, ctx context.Context, console iter.Seq2[chromedp.ConsoleMessage, error], requests iter.Seq2[network.EventRequestWillBeSent, error], base string) []string {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`fetch("/`+EndMark+`").catch(() => {}); console.log("`+EndMark+`")`),
	); err != nil {
		t.Fatalf("mark end: %v", err)
	}
	var problems []string
	for m, err := range console {
		if err != nil {
			t.Fatalf("read console: %v", err)
		}
		if m.Text == EndMark {
			break
		}
		if m.Type == chromedp.ConsoleError || m.IsException() {
			problems = append(problems, m.String())
		}
	}
	for ev, err := range requests {
		if err != nil {
			t.Fatalf("read requests: %v", err)
		}
		u := ev.Request.URL
		if strings.HasSuffix(u, "/"+EndMark) {
			break
		}
		if !strings.HasPrefix(u, base+"/") && u != base {
			problems = append(problems, "request to "+u)
		}
	}
	return problems
}

// SaveArtifact keeps a screenshot in the test's temp dir and, when
// GRAPHVCR_ARTIFACTS names a directory, there too, for CI to publish.
func SaveArtifact(t testing.TB, name string, png []byte) {
	t.Helper()
	dirs := []string{t.TempDir()}
	if d := os.Getenv("GRAPHVCR_ARTIFACTS"); d != "" {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("artifact dir: %v", err)
		}
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatalf("save artifact: %v", err)
		}
		t.Logf("screenshot: %s", p)
	}
}

// Run runs one browser action and returns its value, failing the test on
// an error; it gives up after 20 seconds.
func Run[T any](t testing.TB, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// Do runs browser steps, failing the test on an error.
func Do(t testing.TB, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}
