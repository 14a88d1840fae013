package timeline_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/internal/browsertest"
	"github.com/graphvcr/graphvcr/cassette/timeline"
)

const visibleEvents = `Array.from(document.querySelectorAll("li.ev")).filter(e => e.checkVisibility()).length`

func TestHTMLInBrowser(t *testing.T) {
	ctx := browsertest.Start(t)

	t.Run("sample session", func(t *testing.T) {
		r := sampleReader(t)
		page := browsertest.Load(t, ctx, map[string][]byte{"/": render(t, timeline.HTML, r)}, "#events li.ev")

		if n := browsertest.Run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.ev").length`)); n != r.Len() {
			t.Errorf("page shows %d events, cassette holds %d", n, r.Len())
		}
		if n := browsertest.Run(t, ctx, chromedp.Evaluate[int](visibleEvents)); n != r.Len() {
			t.Errorf("%d events visible before any search, want %d", n, r.Len())
		}

		// Expanding the invite shows its request body pretty-printed.
		invite := chromedp.CSS("#e4 pre.body.json")
		if vis := browsertest.Run(t, ctx, chromedp.Evaluate[bool](`document.querySelector("#e4 pre.body.json").checkVisibility()`)); vis {
			t.Error("the invite's body is visible before it is expanded")
		}
		browsertest.Do(t, ctx, chromedp.Click(chromedp.CSS("#e4 summary")), chromedp.WaitVisible(invite))
		body := browsertest.Run(t, ctx, chromedp.Text(invite))
		if !strings.Contains(body, "{\n  \"participants\": [\n    {\n      \"@odata.type\": \"#microsoft.graph.invitationParticipantInfo\",") {
			t.Errorf("invite body is not pretty-printed JSON:\n%s", body)
		}

		// The failure notification's invalid JSON is shown as recorded.
		browsertest.Do(t, ctx, chromedp.Click(chromedp.CSS("#e11 summary")), chromedp.WaitVisible(chromedp.CSS("#e11 pre.body")))
		raw := browsertest.Run(t, ctx, chromedp.Text(chromedp.CSS("#e11 pre.body")))
		if !strings.Contains(raw, "subcode=5201\"\n        },\n      }") {
			t.Errorf("invalid JSON body not shown as recorded:\n%s", raw)
		}

		// A notification links to its trigger, which opens.
		browsertest.Do(t, ctx, chromedp.Click(chromedp.CSS("#e7 a.trig")))
		browsertest.Do(t, ctx, chromedp.WaitVisible(chromedp.CSS("#e4.target")))
		if hash := browsertest.Run(t, ctx, chromedp.Evaluate[string](`location.hash`)); hash != "#e4" {
			t.Errorf("trigger link went to %q, want #e4", hash)
		}

		// From the top, so the sticky header is drawn where it belongs.
		browsertest.Do(t, ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
		shot := browsertest.Run(t, ctx, chromedp.FullScreenshot(100))
		browsertest.SaveArtifact(t, "timeline.png", shot)

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
			browsertest.Do(t, ctx,
				chromedp.Evaluate[chromedp.Void](`document.querySelector("#q").focus(); document.querySelector("#q").select()`),
				chromedp.SendKeys(chromedp.CSS("#q"), kb.Backspace+s.term))
			if got := browsertest.Run(t, ctx, chromedp.Value(chromedp.CSS("#q"))); got != s.term {
				t.Fatalf("search box holds %q, want %q", got, s.term)
			}
			if n := browsertest.Run(t, ctx, chromedp.Evaluate[int](visibleEvents)); n != s.want {
				t.Errorf("search %q shows %d events, want %d", s.term, n, s.want)
			}
		}
		browsertest.Do(t, ctx, chromedp.SendKeys(chromedp.CSS("#q"), "roster"))
		browsertest.SaveArtifact(t, "timeline-search.png", browsertest.Run(t, ctx, chromedp.FullScreenshot(100)))
		page.CheckProblems(t)
	})

	t.Run("hostile content", func(t *testing.T) {
		r := openEvents(t, hostileEvents()...)
		page := browsertest.Load(t, ctx, map[string][]byte{"/": render(t, timeline.HTML, r)}, "#events")
		if n := browsertest.Run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.ev").length`)); n != r.Len() {
			t.Errorf("page shows %d events, cassette holds %d", n, r.Len())
		}
		if pwned := browsertest.Run(t, ctx, chromedp.Evaluate[bool](`window.pwned === 1`)); pwned {
			t.Error("recorded content ran as script")
		}
		browsertest.Do(t, ctx, chromedp.Click(chromedp.CSS("#e1 summary")), chromedp.WaitVisible(chromedp.CSS("#e1 pre.body")))
		if got := browsertest.Run(t, ctx, chromedp.Text(chromedp.CSS("#e1 pre.body"))); !strings.Contains(got, "</script><script>window.pwned=1</script>") {
			t.Errorf("script-like body not shown as text: %q", got)
		}
		page.CheckProblems(t)
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
	browsertest.Require(t, err == nil, "mermaid not installed: run .ci/install-browser")
	ctx := browsertest.Start(t)

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
			r := openEvents(t, tt.events...)
			diagram := render(t, timeline.Mermaid, r)
			page := browsertest.Load(t, ctx, map[string][]byte{
				"/":               []byte(`<!DOCTYPE html><meta charset="utf-8"><link rel="icon" href="data:,"><body><div id="out"></div><script src="/mermaid.min.js"></script></body>`),
				"/mermaid.min.js": lib,
				"/diagram.txt":    diagram,
			}, "#out")
			status := browsertest.Run(t, ctx, chromedp.Evaluate[string](`(async () => {
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
			texts := browsertest.Run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#out svg text, #out svg foreignObject")).map(e => e.textContent)`))
			all := strings.Join(texts, "\n")
			for _, want := range tt.labels {
				if !strings.Contains(all, want) {
					t.Errorf("rendered diagram lacks %q; its labels:\n%s", want, all)
				}
			}
			if strings.Contains(all, "#59;") || strings.Contains(all, "#35;") {
				t.Errorf("entity codes shown undecoded:\n%s", all)
			}
			if pwned := browsertest.Run(t, ctx, chromedp.Evaluate[bool](`window.pwned === 1`)); pwned {
				t.Error("recorded content ran as script")
			}
			browsertest.SaveArtifact(t, fmt.Sprintf("mermaid-%s.png", strings.ReplaceAll(tt.name, " ", "-")), browsertest.Run(t, ctx, chromedp.FullScreenshot(100)))
			page.CheckProblems(t)
		})
	}
}
