package timeline_test

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/cassette/timeline"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// plainText is the text view without colour, as a view render runs.
func plainText(w io.Writer, r *cassette.Reader) error { return timeline.Text(w, r, false) }

// render runs one view on r and returns what it wrote.
func render(t *testing.T, view func(io.Writer, *cassette.Reader) error, r *cassette.Reader) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := view(&b, r); err != nil {
		t.Fatalf("render: %v", err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	r := sampleReader(t)
	tests := []struct {
		name string
		view func(io.Writer, *cassette.Reader) error
	}{
		{"text.golden", plainText},
		{"text-color.golden", func(w io.Writer, r *cassette.Reader) error { return timeline.Text(w, r, true) }},
		{"events.jsonl.golden", timeline.JSON},
		{"mermaid.golden", timeline.Mermaid},
		{"page.html.golden", timeline.HTML},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cassettetest.Golden(t, filepath.Join("testdata", tt.name), render(t, tt.view, r), *update)
		})
	}
}

func TestText(t *testing.T) {
	r := sampleReader(t)
	plain := string(render(t, plainText, r))
	colored := string(render(t, func(w io.Writer, r *cassette.Reader) error { return timeline.Text(w, r, true) }, r))

	tests := []struct {
		name string
		line string // regexp one line of plain output must match
	}{
		{"token exchange outside any call", `^  #1 +\+0\.000s  bot → Graph  POST +/` + tenant + `/oauth2/v2\.0/token +200 OK +182ms$`},
		{"created call", `^  #2 +\+0\.310s  bot → Graph  POST +/v1\.0/communications/calls +201 Created +412ms$`},
		{"call established with trigger", `^  #3 +\+1\.204s  Graph → bot  POST +/api/calls +202 Accepted +4ms  call established  ← #2$`},
		{"operation completed", `#6 .*Graph → bot .*operation completed  ← #4$`},
		{"roster updated", `#7 .*roster updated  ← #4$`},
		{"replaced call terminated", `#8 .*call terminated  ← #4$`},
		{"replaced call deleted", `#9 .*call deleted  ← #4$`},
		{"failed invite from invalid JSON", `#11 .*operation failed \(500/0\)  ← #10$`},
		{"transport error", `#12 .*DELETE .*502 Bad Gateway +1\.50s  error: read tcp .*connection reset by peer$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !regexp.MustCompile(`(?m)` + tt.line).MatchString(plain) {
				t.Errorf("no line matches %q in\n%s", tt.line, plain)
			}
		})
	}

	t.Run("grouped by call", func(t *testing.T) {
		// The group call (whatever case and dashes its id has), then the
		// replaced peer-to-peer call, each listing its own events.
		sections := regexp.MustCompile(`(?m)^(call \S+|no call)$`).FindAllString(plain, -1)
		want := []string{"no call", "call " + groupCall, "call " + p2pCall}
		if strings.Join(sections, "|") != strings.Join(want, "|") {
			t.Fatalf("sections = %q, want %q", sections, want)
		}
		group := plain[strings.Index(plain, "call "+groupCall):strings.Index(plain, "call "+p2pCall)]
		for _, seq := range []string{"#2 ", "#3 ", "#4 ", "#5 ", "#6 ", "#7 ", "#10 ", "#11 ", "#12 "} {
			if !strings.Contains(group, seq) {
				t.Errorf("group call section lacks %s", seq)
			}
		}
	})
	t.Run("no colour unless asked", func(t *testing.T) {
		if strings.Contains(plain, "\x1b[") {
			t.Error("plain output holds ANSI escapes")
		}
		if !strings.Contains(colored, "\x1b[32m200 OK\x1b[0m") || !strings.Contains(colored, "\x1b[35mGraph → bot\x1b[0m") {
			t.Errorf("coloured output lacks the status and direction colours:\n%s", colored)
		}
		stripped := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(colored, "")
		if stripped != plain {
			t.Error("coloured output without its escapes differs from the plain output")
		}
	})
}

func TestTextNeutralisesControlCharacters(t *testing.T) {
	ev := notification(ms(10), ms(1), 0, `{"value":[{"changeType":"updated","resource":"/communications/calls/x\u001b[2Jy","resourceData":{"@odata.type":"#microsoft.graph.call","state":"est\u001b]0;pwned\u0007ablished"}}]}`)
	ev.Request.URL = botHost + "/api/calls?x=%1B"
	r := openEvents(t, ev)
	out := render(t, plainText, r)
	if bytes.ContainsAny(out, "\x1b\x07") {
		t.Errorf("recorded control characters reached the terminal: %q", out)
	}
}

func TestColorEnabled(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close(); pw.Close() })
	// /dev/null is a character device, as a terminal is: what
	// ColorEnabled tests for.
	dev, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })

	tests := []struct {
		name    string
		f       *os.File
		noColor string
		term    string
		want    bool
	}{
		{"character device", dev, "", "xterm", true},
		{"NO_COLOR set", dev, "1", "xterm", false},
		{"dumb terminal", dev, "", "dumb", false},
		{"pipe", pw, "", "xterm", false},
		{"nil file", nil, "", "xterm", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NO_COLOR", tt.noColor)
			t.Setenv("TERM", tt.term)
			if got := timeline.ColorEnabled(tt.f); got != tt.want {
				t.Errorf("ColorEnabled = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestJSONIsWriteJSONL(t *testing.T) {
	r := sampleReader(t)
	got := render(t, timeline.JSON, r)
	want := render(t, cassette.WriteJSONL, r)
	if !bytes.Equal(got, want) {
		t.Error("JSON output differs from cassette.WriteJSONL")
	}
	if n := bytes.Count(got, []byte("\n")); n != r.Len() {
		t.Errorf("JSON wrote %d lines, want one per event (%d)", n, r.Len())
	}
}

func TestEmptyCassette(t *testing.T) {
	r := openEvents(t)
	views := map[string]func(io.Writer, *cassette.Reader) error{
		"text":    plainText,
		"mermaid": timeline.Mermaid,
		"html":    timeline.HTML,
		"json":    timeline.JSON,
	}
	for name, view := range views {
		t.Run(name, func(t *testing.T) {
			out := render(t, view, r)
			if name != "json" && !bytes.Contains(out, []byte("0 events")) {
				t.Errorf("output does not say the cassette is empty:\n%s", out)
			}
		})
	}
}

// TestAbandoned: every view shows an exchange the bot abandoned as
// abandoned, with when the bot gave up, never as a 502; and what Graph
// answered (or that no answer was recorded) beside it.
func TestAbandoned(t *testing.T) {
	r := openEvents(t, abandonedEvents()...)
	views := []struct {
		name string
		view func(io.Writer, *cassette.Reader) error
		want []string
	}{
		{"text", plainText,
			[]string{"abandoned  400ms  bot gave up; Graph answered 201 Created after 1.50s",
				"abandoned  300ms  bot gave up; no answer from Graph recorded: canceled"}},
		{"mermaid", timeline.Mermaid, []string{"bot-xgraphvcr: gave up: abandoned after 400ms",
			"Graph-->>graphvcr: 201 Created, 1.50s, not relayed", "bot-xgraphvcr: gave up: abandoned after 300ms",
			"Graph--xgraphvcr: error: canceled"}},
		{"html", timeline.HTML, []string{`<span class="status abandoned">abandoned after 400ms</span>`,
			"The bot gave up 400ms after sending it; Graph answered 201 Created after 1.50s, which the bot never saw.",
			`<span class="status abandoned">abandoned after 300ms</span>`}},
		{"json", timeline.JSON, []string{`"abandoned_ns":400000000,"abandoned":"400ms"`, `"abandoned_ns":300000000,"abandoned":"300ms"`}},
	}
	for _, v := range views {
		t.Run(v.name, func(t *testing.T) {
			out := string(render(t, v.view, r))
			for _, w := range v.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if v.name != "json" && strings.Contains(out, "502") {
				t.Errorf("an abandoned exchange shows as a 502:\n%s", out)
			}
		})
	}
}
