package diff_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/graphvcr/graphvcr/cassette/diff"
	"github.com/graphvcr/graphvcr/cassette/internal/browsertest"
)

// TestHTMLInBrowser loads the HTML comparison of two sessions that differ
// in every way in Chromium: the page loads nothing from elsewhere and logs
// no error, every difference is on it, and every row that differs is
// highlighted (has a background, which equal rows do not).
func TestHTMLInBrowser(t *testing.T) {
	b := clone(session(1))
	b[3].Request.Body = bytes.Replace(b[3].Request.Body, []byte(`"default"`), []byte(`"voicemail"`), 1)
	arriveSwapped(b, 4, 5)                                                                     // notifications reordered
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

	ctx := browsertest.Start(t)
	loaded := browsertest.Load(t, ctx, map[string][]byte{"/": page.Bytes()}, "table")

	type shown struct {
		Kind, Text, RowClass, Background string
	}
	diffs := browsertest.Run(t, ctx, chromedp.Evaluate[[]shown](`Array.from(document.querySelectorAll("li.d")).map(li => {
		const tr = li.closest("tr");
		return {Kind: li.dataset.kind, Text: li.textContent, RowClass: tr.className,
			Background: getComputedStyle(tr.querySelector("td")).backgroundColor};
	})`))
	want := differences(res)
	if len(diffs) != len(want) {
		t.Fatalf("page lists %d differences, the comparison found %d", len(diffs), len(want))
	}
	sameBackground := browsertest.Run(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("tr.same td")).backgroundColor`))
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
	rows := browsertest.Run(t, ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("tr.row:not(.same)")).map(tr => getComputedStyle(tr.querySelector("td")).backgroundColor)`))
	for _, bg := range rows {
		if bg == sameBackground {
			t.Errorf("a row that differs has the background of equal rows (%s)", bg)
		}
	}
	if browsertest.Run(t, ctx, chromedp.Evaluate[bool](`window.pwned === 1`)) {
		t.Error("recorded content ran as script")
	}

	// "differences only" hides the equal rows and nothing else.
	all := browsertest.Run(t, ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("tr.row")).filter(e => e.checkVisibility()).length`))
	browsertest.Do(t, ctx, chromedp.Click(chromedp.CSS("#only")))
	only := browsertest.Run(t, ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("tr.row")).filter(e => e.checkVisibility()).length`))
	if changed := len(rows); all <= changed || only != changed {
		t.Errorf("%d rows visible, %d with differences only; want %d", all, only, changed)
	}
	browsertest.SaveArtifact(t, "diff.png", browsertest.Run(t, ctx, chromedp.FullScreenshot(90)))

	// Console errors and outside requests.
	loaded.CheckProblems(t)
}
