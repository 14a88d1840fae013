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
)

// ANSI SGR sequences used when colour is on.
const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiDim     = "\x1b[2m"
	ansiRed     = "\x1b[31m"
	ansiGreen   = "\x1b[32m"
	ansiYellow  = "\x1b[33m"
	ansiMagenta = "\x1b[35m"
	ansiCyan    = "\x1b[36m"
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
	p := painter{on: color}
	fmt.Fprintln(bw, p.paint(ansiBold, headline(r.Meta(), sums)))

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

	for _, g := range groupByCall(sums) {
		fmt.Fprintln(bw)
		title := "no call"
		if g.Call != "" {
			title = "call " + oneLine(g.Call)
		}
		fmt.Fprintln(bw, p.paint(ansiBold, title))
		for _, s := range g.Events {
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

func writeTextLine(w io.Writer, p painter, s summary, cw columns) {
	dirColor := ansiCyan
	if s.Kind == cassette.KindNotification {
		dirColor = ansiMagenta
	}
	status, latency := shownStatus(s)
	statusCol := statusColor(s.Status)
	switch {
	case s.Abandoned > 0:
		statusCol = ansiYellow
	case s.Error != "":
		statusCol = ansiRed
	}
	var b strings.Builder
	b.WriteString("  " + p.paint(ansiBold, pad(fmt.Sprintf("#%d", s.Seq), cw.seq)))
	b.WriteString("  " + p.paint(ansiDim, padLeft(formatOffset(s.Offset), cw.offset)))
	b.WriteString("  " + p.paint(dirColor, direction(s.Kind)))
	b.WriteString("  " + pad(oneLine(s.Method), cw.method))
	b.WriteString("  " + pad(oneLine(s.Path), cw.path))
	b.WriteString("  " + p.paint(statusCol, status) + strings.Repeat(" ", max(0, cw.status-len(status))))
	b.WriteString("  " + p.paint(ansiDim, padLeft(formatLatency(latency), cw.latency)))
	if s.Abandoned > 0 {
		b.WriteString("  " + p.paint(ansiYellow, "bot gave up; "+oneLine(upstreamAnswer(s))))
	} else if s.Error != "" {
		b.WriteString("  " + p.paint(ansiRed, "error: "+oneLine(s.Error)))
	}
	if len(s.Kinds) > 0 {
		b.WriteString("  " + p.paint(ansiYellow, oneLine(strings.Join(s.Kinds, ", "))))
	}
	if s.Kind == cassette.KindNotification {
		trig := "← start"
		if s.Trigger != 0 {
			trig = fmt.Sprintf("← #%d", s.Trigger)
		}
		b.WriteString("  " + p.paint(ansiDim, trig))
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
		return ansiGreen
	case code >= 300 && code < 400:
		return ansiYellow
	}
	return ansiRed
}

// painter wraps text in ANSI colours when on, and leaves it alone otherwise.
type painter struct{ on bool }

func (p painter) paint(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return code + s + ansiReset
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

// oneLine keeps a recorded string from breaking the layout or driving the
// terminal: control characters (escape sequences included) become spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
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
