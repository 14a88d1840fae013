package diff_test

import (
	"bytes"
	"context"
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
	"github.com/graphvcr/graphvcr/cassette/diff"
)

// browser starts a headless Chromium (.ci/install-browser installs it) with
// its own profile, stopped with the test. Without one the test is skipped,
// except under CI=true, where that is a failure.
func browser(t *testing.T) context.Context {
	t.Helper()
	exe := "/usr/bin/chromium"
	if _, err := os.Stat(exe); err != nil {
		exe, _ = exec.LookPath("chromium")
	}
	if exe == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not installed: run .ci/install-browser")
		}
		t.Skip("chromium not installed: run .ci/install-browser")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.WithoutCancel(t.Context()), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("close browser: %v", err)
		}
		cancel()
		cancelAlloc()
	})
	return ctx
}

// inBrowser runs steps, failing the test on an error.
func inBrowser[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// steps runs browser steps in order, failing the test on an error.
func steps(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// TestHTMLInBrowser loads the HTML comparison of two sessions that differ
// in every way in Chromium: the page loads nothing from elsewhere and logs
// no error, every difference is on it, and every row that differs is
// highlighted (has a background, which equal rows do not).
func TestHTMLInBrowser(t *testing.T) {
	b := clone(session(1))
	b[3].Request.Body = bytes.Replace(b[3].Request.Body, []byte(`"default"`), []byte(`"voicemail"`), 1)
	b[4], b[5] = b[5], b[4]                                                                    // notifications reordered
	b[7].Response.Status = 404                                                                 // status
	b = append(b[:6:6], b[7:]...)                                                              // a request removed
	b = append(b, graph(ms(1600), "GET", "/v1.0/communications/calls/"+pid(3), "", 200, `{}`)) // one added
	for _, e := range b[6:] {
		e.Offset += ms(300) // and late from there on
	}
	b[0].Request.Body = []byte(`</script><script>window.pwned=1</script>`)
	res := compare(t, session(1), b, diff.Options{})
	var page bytes.Buffer
	if err := res.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for k := range res.Counts() {
		kinds[string(k)] = true
	}
	for _, k := range []string{"added", "removed", "body", "status", "order", "timing"} {
		if !kinds[k] {
			t.Fatalf("the sessions do not differ by %s: %v", k, res.Counts())
		}
	}

	const endMark = "graphvcr-test-end"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/"+endMark {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page.Bytes())
	}))
	defer srv.Close()

	ctx := browser(t)
	console := chromedp.Console(ctx)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	steps(t, ctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitReady(chromedp.CSS("table")))

	type shown struct {
		Kind, Text, RowClass, Background string
	}
	diffs := inBrowser(t, ctx, chromedp.Evaluate[[]shown](`Array.from(document.querySelectorAll("li.d")).map(li => {
		const tr = li.closest("tr");
		return {Kind: li.dataset.kind, Text: li.textContent, RowClass: tr.className,
			Background: getComputedStyle(tr.querySelector("td")).backgroundColor};
	})`))
	want := differences(res)
	if len(diffs) != len(want) {
		t.Fatalf("page lists %d differences, the comparison found %d", len(diffs), len(want))
	}
	sameBackground := inBrowser(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("tr.same td")).backgroundColor`))
	for i, d := range diffs {
		w := want[i]
		if d.Kind != string(w.Kind) {
			t.Errorf("difference %d is %q on the page, %q in the comparison", i, d.Kind, w.Kind)
		}
		if w.Field != "" && !strings.Contains(d.Text, w.Field) {
			t.Errorf("difference %d (%s) does not name its field %s: %q", i, w, w.Field, d.Text)
		}
		if d.Background == sameBackground || d.Background == "rgba(0, 0, 0, 0)" {
			t.Errorf("difference %d (%s) is not highlighted: background %s", i, w, d.Background)
		}
	}
	// Each row that differs is highlighted too, not only its list.
	rows := inBrowser(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("tr.row:not(.same)")).map(tr => getComputedStyle(tr.querySelector("td")).backgroundColor)`))
	for _, bg := range rows {
		if bg == sameBackground {
			t.Errorf("a row that differs has the background of equal rows (%s)", bg)
		}
	}
	if inBrowser(t, ctx, chromedp.Evaluate[bool](`window.pwned === 1`)) {
		t.Error("recorded content ran as script")
	}

	// "differences only" hides the equal rows and nothing else.
	all := inBrowser(t, ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("tr.row")).filter(e => e.checkVisibility()).length`))
	steps(t, ctx, chromedp.Click(chromedp.CSS("#only")))
	only := inBrowser(t, ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("tr.row")).filter(e => e.checkVisibility()).length`))
	if changed := len(rows); all <= changed || only != changed {
		t.Errorf("%d rows visible, %d with differences only; want %d", all, only, changed)
	}
	if dir := os.Getenv("GRAPHVCR_ARTIFACTS"); dir != "" { // for CI to publish
		shot := inBrowser(t, ctx, chromedp.FullScreenshot(90))
		if err := os.WriteFile(filepath.Join(dir, "diff.png"), shot, 0o644); err != nil {
			t.Errorf("save screenshot: %v", err)
		}
	}

	// Console errors and outside requests, up to a mark the test writes last.
	inBrowser(t, ctx, chromedp.Evaluate[chromedp.Void](`fetch("/`+endMark+`").catch(() => {}); console.log("`+endMark+`")`))
	for m, err := range console {
		if err != nil {
			t.Fatalf("console: %v", err)
		}
		if m.Text == endMark {
			break
		}
		if m.Type == chromedp.ConsoleError || m.IsException() {
			t.Errorf("page problem: %s", m.String())
		}
	}
	for ev, err := range requests {
		if err != nil {
			t.Fatalf("requests: %v", err)
		}
		if strings.HasSuffix(ev.Request.URL, "/"+endMark) {
			break
		}
		if !strings.HasPrefix(ev.Request.URL, srv.URL+"/") {
			t.Errorf("page requested %s", ev.Request.URL)
		}
	}
}
