package timeline_test

import (
	"bytes"
	"context"
	"fmt"
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
	"github.com/chromedp/chromedp/kb"
	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/cassette/timeline"
)

// chromiumPath is where Debian's chromium package (.ci/install-browser) puts it.
const chromiumPath = "/usr/bin/chromium"

// requireTool skips the test when a tool it drives is missing, naming the
// install step, except under CI=true, where a missing tool is a failure:
// CI must not pass by running nothing.
func requireTool(t *testing.T, present bool, reason string) {
	t.Helper()
	if present {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(reason)
	}
	t.Skip(reason)
}

func chromium(t *testing.T) string {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else {
			path = ""
		}
	}
	requireTool(t, path != "", "chromium not installed: run .ci/install-browser")
	return path
}

// startBrowser starts a headless Chromium for the test with its own
// profile, and makes sure that no process of it outlives the test.
func startBrowser(t *testing.T) context.Context {
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
func waitNoProcess(ctx context.Context, t *testing.T, profile string) {
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

// serve serves body as an HTML page on a loopback listener and returns its URL.
func serve(t *testing.T, files map[string][]byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/"+endMark {
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

// endMark is what a test logs last: reading the console up to it reads
// every message the page wrote before.
const endMark = "graphvcr-test-end"

// pageProblems returns the console errors and exceptions of the page up to
// the end mark, and the requests it made to anything but base.
func pageProblems(t *testing.T, ctx context.Context, console iter.Seq2[chromedp.ConsoleMessage, error], requests iter.Seq2[network.EventRequestWillBeSent, error], base string) []string {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`fetch("/`+endMark+`").catch(() => {}); console.log("`+endMark+`")`),
	); err != nil {
		t.Fatalf("mark end: %v", err)
	}
	var problems []string
	for m, err := range console {
		if err != nil {
			t.Fatalf("read console: %v", err)
		}
		if m.Text == endMark {
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
		if strings.HasSuffix(u, "/"+endMark) {
			break
		}
		if !strings.HasPrefix(u, base+"/") && u != base {
			problems = append(problems, "request to "+u)
		}
	}
	return problems
}

// saveArtifact keeps a screenshot in the test's temp dir and, when
// GRAPHVCR_ARTIFACTS names a directory, there too, for CI to publish.
func saveArtifact(t *testing.T, name string, png []byte) {
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

func run[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// do runs browser steps, failing the test on an error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

const visibleEvents = `Array.from(document.querySelectorAll("li.ev")).filter(e => e.checkVisibility()).length`

func TestHTMLInBrowser(t *testing.T) {
	ctx := startBrowser(t)

	t.Run("sample session", func(t *testing.T) {
		r := sampleReader(t)
		base := serve(t, map[string][]byte{"/": render(t, timeline.HTML, r)})
		console := chromedp.Console(ctx)
		requests := chromedp.Events(ctx, network.RequestWillBeSent)
		do(t, ctx, chromedp.Navigate(base+"/"), chromedp.WaitReady(chromedp.CSS("#events li.ev")))

		if n := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.ev").length`)); n != r.Len() {
			t.Errorf("page shows %d events, cassette holds %d", n, r.Len())
		}
		if n := run(t, ctx, chromedp.Evaluate[int](visibleEvents)); n != r.Len() {
			t.Errorf("%d events visible before any search, want %d", n, r.Len())
		}

		// Expanding the invite shows its request body pretty-printed.
		invite := chromedp.CSS("#e4 pre.body.json")
		if vis := run(t, ctx, chromedp.Evaluate[bool](`document.querySelector("#e4 pre.body.json").checkVisibility()`)); vis {
			t.Error("the invite's body is visible before it is expanded")
		}
		do(t, ctx, chromedp.Click(chromedp.CSS("#e4 summary")), chromedp.WaitVisible(invite))
		body := run(t, ctx, chromedp.Text(invite))
		if !strings.Contains(body, "{\n  \"participants\": [\n    {\n      \"@odata.type\": \"#microsoft.graph.invitationParticipantInfo\",") {
			t.Errorf("invite body is not pretty-printed JSON:\n%s", body)
		}

		// The failure notification's invalid JSON is shown as recorded.
		do(t, ctx, chromedp.Click(chromedp.CSS("#e11 summary")), chromedp.WaitVisible(chromedp.CSS("#e11 pre.body")))
		raw := run(t, ctx, chromedp.Text(chromedp.CSS("#e11 pre.body")))
		if !strings.Contains(raw, "subcode=5201\"\n        },\n      }") {
			t.Errorf("invalid JSON body not shown as recorded:\n%s", raw)
		}

		// A notification links to its trigger, which opens.
		do(t, ctx, chromedp.Click(chromedp.CSS("#e7 a.trig")))
		do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#e4.target")))
		if hash := run(t, ctx, chromedp.Evaluate[string](`location.hash`)); hash != "#e4" {
			t.Errorf("trigger link went to %q, want #e4", hash)
		}

		// From the top, so the sticky header is drawn where it belongs.
		do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
		shot := run(t, ctx, chromedp.FullScreenshot(100))
		saveArtifact(t, "timeline.png", shot)

		// The search box filters on any text an event holds, bodies included.
		searches := []struct {
			term string
			want int
		}{
			{"roster", 1},              // #7's kind
			{"000000000005", 3},        // the replaced call: #4's body, #8, #9
			{"connection reset", 1},    // #12's error
			{"inviteParticipants", 5},  // #4 #5 #10 answers, #6 #11 notifications
			{"no such text at all", 0}, // nothing
			{"", r.Len()},              // cleared: everything again
		}
		for _, s := range searches {
			// Typed as a person would: select what is there, delete it, type.
			do(t, ctx,
				chromedp.Evaluate[chromedp.Void](`document.querySelector("#q").focus(); document.querySelector("#q").select()`),
				chromedp.SendKeys(chromedp.CSS("#q"), kb.Backspace+s.term))
			if got := run(t, ctx, chromedp.Value(chromedp.CSS("#q"))); got != s.term {
				t.Fatalf("search box holds %q, want %q", got, s.term)
			}
			if n := run(t, ctx, chromedp.Evaluate[int](visibleEvents)); n != s.want {
				t.Errorf("search %q shows %d events, want %d", s.term, n, s.want)
			}
		}
		do(t, ctx, chromedp.SendKeys(chromedp.CSS("#q"), "roster"))
		saveArtifact(t, "timeline-search.png", run(t, ctx, chromedp.FullScreenshot(100)))

		if problems := pageProblems(t, ctx, console, requests, base); len(problems) > 0 {
			t.Errorf("page problems:\n%s", strings.Join(problems, "\n"))
		}
	})

	t.Run("hostile content", func(t *testing.T) {
		r := cassettetest.Open(t, cassettetest.WriteTemp(t, cassettetest.Meta, hostileEvents()))
		page := render(t, timeline.HTML, r)
		base := serve(t, map[string][]byte{"/": page})
		console := chromedp.Console(ctx)
		requests := chromedp.Events(ctx, network.RequestWillBeSent)
		do(t, ctx, chromedp.Navigate(base+"/"), chromedp.WaitReady(chromedp.CSS("#events")))
		if n := run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.ev").length`)); n != r.Len() {
			t.Errorf("page shows %d events, cassette holds %d", n, r.Len())
		}
		if pwned := run(t, ctx, chromedp.Evaluate[bool](`window.pwned === 1`)); pwned {
			t.Error("recorded content ran as script")
		}
		do(t, ctx, chromedp.Click(chromedp.CSS("#e1 summary")), chromedp.WaitVisible(chromedp.CSS("#e1 pre.body")))
		if got := run(t, ctx, chromedp.Text(chromedp.CSS("#e1 pre.body"))); !strings.Contains(got, "</script><script>window.pwned=1</script>") {
			t.Errorf("script-like body not shown as text: %q", got)
		}
		if problems := pageProblems(t, ctx, console, requests, base); len(problems) > 0 {
			t.Errorf("page problems:\n%s", strings.Join(problems, "\n"))
		}
	})
}

// hostileEvents hold what a page must show as text and never run: markup
// in a body, a path, a header and a notification's kinds, a binary body,
// and a body longer than the page shows.
func hostileEvents() []*cassette.Event {
	markup := `</script><script>window.pwned=1</script><img src=x onerror="window.pwned=1">`
	binary := make([]byte, 512)
	for i := range binary {
		binary[i] = byte(i)
	}
	return []*cassette.Event{
		{
			Kind: cassette.KindGraph, Latency: ms(20),
			Request: cassette.Request{
				Method: "POST", URL: graphHost + "/v1.0/communications/calls/%3Cscript%3E?x=" + strings.ReplaceAll(markup, " ", "%20"),
				Header: http.Header{"Content-Type": {"application/json"}, "X-Note": {markup}},
				Body:   []byte(markup),
			},
			Response: cassette.Response{Status: 400, Header: jsonHeader(), Body: []byte(`{"error":{"code":"BadRequest","message":"` + strings.ReplaceAll(markup, `"`, `\"`) + `"}}`)},
		},
		notification(ms(500), ms(3), 1, `{"value":[{"changeType":"`+strings.ReplaceAll(markup, `"`, `\"`)+`","resource":"/communications/calls/x"},{"changeType":"created","resource":"/x","resourceData":{"@odata.type":"#microsoft.graph.a;b#c<d>&e\"f%%g"}}]}`),
		{
			Kind: cassette.KindGraph, Offset: ms(900), Latency: ms(20),
			Request:  cassette.Request{Method: "GET", URL: graphHost + "/v1.0/communications/calls/x/recording"},
			Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/octet-stream"}}, Body: binary},
		},
		{
			Kind: cassette.KindGraph, Offset: ms(1000), Latency: ms(20),
			Request:  cassette.Request{Method: "GET", URL: graphHost + "/v1.0/communications/calls/x/participants"},
			Response: cassette.Response{Status: 200, Header: jsonHeader(), Body: []byte(`{"value":"` + strings.Repeat("a", 300<<10) + `"}`)},
		},
	}
}

// TestMermaidRendersInBrowser draws the diagrams with Mermaid itself, as
// GitHub does, and checks that the labels read as recorded: escaping must
// neither break the diagram nor show entity codes.
func TestMermaidRendersInBrowser(t *testing.T) {
	lib, err := os.ReadFile(filepath.Join(mermaidModules, "mermaid", "dist", "mermaid.min.js"))
	requireTool(t, err == nil, "mermaid not installed: run .ci/install-browser")
	ctx := startBrowser(t)

	tests := []struct {
		name   string
		events []*cassette.Event
		labels []string
	}{
		{"sample session", sampleEvents(), []string{
			"#1 +0.000s token",
			"POST /v1.0/communications/calls",
			"#6 +3.870s operation completed ← #4",
			"#11 +9.214s operation failed (500/0) ← #10",
			"error: read tcp 127.0.0.1:53211->192.0.2.7:443: read: connection reset by peer",
			"502 Bad Gateway",
		}},
		{"hostile content", hostileEvents(), []string{
			`a;b#c<d>&e"f%%g created`,
			`call </script><script>window.pwned=1</script><img src=x onerror="window.pwned=1">`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cassettetest.Open(t, cassettetest.WriteTemp(t, cassettetest.Meta, tt.events))
			diagram := render(t, timeline.Mermaid, r)
			base := serve(t, map[string][]byte{
				"/":               []byte(`<!DOCTYPE html><meta charset="utf-8"><link rel="icon" href="data:,"><body><div id="out"></div><script src="/mermaid.min.js"></script></body>`),
				"/mermaid.min.js": lib,
				"/diagram.txt":    diagram,
			})
			console := chromedp.Console(ctx)
			requests := chromedp.Events(ctx, network.RequestWillBeSent)
			do(t, ctx, chromedp.Navigate(base+"/"), chromedp.WaitReady(chromedp.CSS("#out")))
			status := run(t, ctx, chromedp.Evaluate[string](`(async () => {
				mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
				const text = await (await fetch("/diagram.txt")).text();
				try {
					const {svg} = await mermaid.render("d", text);
					document.getElementById("out").innerHTML = svg;
					return "ok";
				} catch (e) {
					return "error: " + e.message;
				}
			})()`, chromedp.EvalAwaitPromise))
			if status != "ok" {
				t.Fatalf("mermaid could not render the diagram: %s\n%s", status, diagram)
			}
			texts := run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#out svg text, #out svg foreignObject")).map(e => e.textContent)`))
			all := strings.Join(texts, "\n")
			for _, want := range tt.labels {
				if !strings.Contains(all, want) {
					t.Errorf("rendered diagram lacks %q; its labels:\n%s", want, all)
				}
			}
			if strings.Contains(all, "#59;") || strings.Contains(all, "#35;") {
				t.Errorf("entity codes shown undecoded:\n%s", all)
			}
			if pwned := run(t, ctx, chromedp.Evaluate[bool](`window.pwned === 1`)); pwned {
				t.Error("recorded content ran as script")
			}
			saveArtifact(t, fmt.Sprintf("mermaid-%s.png", strings.ReplaceAll(tt.name, " ", "-")), run(t, ctx, chromedp.FullScreenshot(100)))
			if problems := pageProblems(t, ctx, console, requests, base); len(problems) > 0 {
				t.Errorf("page problems:\n%s", strings.Join(problems, "\n"))
			}
		})
	}
}
