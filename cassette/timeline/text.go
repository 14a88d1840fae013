package timeline

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/internal/term"
)

// maxPathWidth bounds the column the paths are padded to, so that one very
// long URL does not push every status off the screen.
const maxPathWidth = 72

// Text writes r's timeline for a terminal: one line per event with its
// offset from session start, direction, method, path, status, latency and,
// for a notification, what it reports and the exchange that triggered it
// ("← #3"). An exchange the bot abandoned shows "abandoned", when the bot
// gave up, and what the upstream answered after. Events are grouped by the call they belong to, calls in the
// order they first appear; events of no call (token exchanges) form a
// group of their own. With color set, lines carry ANSI colours; the caller
// decides (see ColorEnabled).
func Text(w io.Writer, r *cassette.Reader, color bool) error {
	sums, err := collect(r)
	if err != nil {
		return fmt.Errorf("text timeline: %w", err)
	}
	bw := bufio.NewWriter(w)
	p := term.Painter(color)
	fmt.Fprintln(bw, p.Paint(term.Bold, headline(r.Meta(), sums)))

	var cw columns
	for _, s := range sums {
		cw.seq = max(cw.seq, len(fmt.Sprint(s.Seq))+1)
		cw.offset = max(cw.offset, len(formatOffset(s.Offset)))
		cw.method = max(cw.method, utf8.RuneCountInString(s.Method))
		cw.path = max(cw.path, utf8.RuneCountInString(s.Path))
		status, latency := shownStatus(s)
		cw.status = max(cw.status, len(status))
		cw.latency = max(cw.latency, len(formatLatency(latency)))
	}
	cw.path = min(cw.path, maxPathWidth)
	cw.method = min(cw.method, len("OPTIONS"))

	for _, g := range GroupByCall(sums, func(s summary) string { return s.Call }) {
		fmt.Fprintln(bw)
		title := "no call"
		if call := g[0].Call; call != "" {
			title = "call " + term.OneLine(call)
		}
		fmt.Fprintln(bw, p.Paint(term.Bold, title))
		for _, s := range g {
			writeTextLine(bw, p, s, cw)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("text timeline: write: %w", err)
	}
	return nil
}

// columns holds the width of each padded column of the text timeline.
type columns struct{ seq, offset, method, path, status, latency int }

func writeTextLine(w io.Writer, p term.Painter, s summary, cw columns) {
	dirColor := term.Cyan
	if s.Kind == cassette.KindNotification {
		dirColor = term.Magenta
	}
	status, latency := shownStatus(s)
	statusCol := statusColor(s.Status)
	switch {
	case s.Abandoned > 0:
		statusCol = term.Yellow
	case s.Error != "":
		statusCol = term.Red
	}
	var b strings.Builder
	b.WriteString("  " + p.Paint(term.Bold, pad(fmt.Sprintf("#%d", s.Seq), cw.seq)))
	b.WriteString("  " + p.Paint(term.Dim, padLeft(formatOffset(s.Offset), cw.offset)))
	b.WriteString("  " + p.Paint(dirColor, direction(s.Kind)))
	b.WriteString("  " + pad(term.OneLine(s.Method), cw.method))
	b.WriteString("  " + pad(term.OneLine(s.Path), cw.path))
	b.WriteString("  " + p.Paint(statusCol, status) + strings.Repeat(" ", max(0, cw.status-len(status))))
	b.WriteString("  " + p.Paint(term.Dim, padLeft(formatLatency(latency), cw.latency)))
	if s.Abandoned > 0 {
		b.WriteString("  " + p.Paint(term.Yellow, "bot gave up; "+term.OneLine(upstreamAnswer(s))))
	} else if s.Error != "" {
		b.WriteString("  " + p.Paint(term.Red, "error: "+term.OneLine(s.Error)))
	}
	if len(s.Kinds) > 0 {
		b.WriteString("  " + p.Paint(term.Yellow, term.OneLine(strings.Join(s.Kinds, ", "))))
	}
	if s.Kind == cassette.KindNotification {
		trig := "← start"
		if s.Trigger != 0 {
			trig = fmt.Sprintf("← #%d", s.Trigger)
		}
		b.WriteString("  " + p.Paint(term.Dim, trig))
	}
	fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
}

// shownStatus returns the status and latency columns of s: for an exchange
// the bot abandoned, what the bot saw (no answer, until it gave up).
func shownStatus(s summary) (string, time.Duration) {
	if s.Abandoned > 0 {
		return "abandoned", s.Abandoned
	}
	return statusText(s.Status), s.Latency
}

func statusColor(code int) string {
	switch {
	case code >= 200 && code < 300:
		return term.Green
	case code >= 300 && code < 400:
		return term.Yellow
	}
	return term.Red
}

// pad right-pads s with spaces to width runes.
func pad(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// padLeft left-pads s with spaces to width runes.
func padLeft(s string, width int) string {
	if n := utf8.RuneCountInString(s); n < width {
		return strings.Repeat(" ", width-n) + s
	}
	return s
}

// ColorEnabled reports whether a timeline written to f should be coloured:
// f is a terminal (a character device) and the NO_COLOR environment variable
// is unset or empty (https://no-color.org), and TERM is not "dumb". A nil f
// is never coloured.
func ColorEnabled(f *os.File) bool {
	if f == nil || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	return fi.Mode()&os.ModeCharDevice != 0
}
