package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/timeline"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/redact"
)

// demoRow is one event of the demo's cassette on both timelines.
type demoRow struct {
	seq          uint64
	notification bool
	method, path string
	// recorded is the event's offset in the recording. replayed is the
	// live offset of the same event in the replay, from replay start, when
	// known (the request matched, the notification was delivered).
	recorded, replayed time.Duration
	replayedOK         bool
	// gapDiff is, for a delivered notification, how much later than its
	// recorded gap after its trigger the replay sent it.
	gapDiff time.Duration
	// status is the recorded status, with what a notification reported;
	// replayStatus what the bot answered a replayed notification, when that
	// differs from the recorded status.
	status, replayStatus string
}

// demoRows lays the replay's report beside the recorded events of r, one
// row per event in recorded order.
//
// A request's replayed offset is when it reached the replayer. A
// notification's is when the replayer posted it: the live answer to its
// trigger plus the live gap the report gives (the replayer times each
// notification from its trigger's answer).
func demoRows(r *cassette.Reader, rep *proxy.Report) ([]demoRow, error) {
	matched := map[uint64]proxy.Match{}
	for _, m := range rep.Matched {
		matched[m.Seq] = m
	}
	delivered := map[uint64]proxy.Delivery{}
	for _, d := range rep.Notifications {
		delivered[d.Seq] = d
	}
	// answered is when the replay answered each exchange or finished
	// delivering each notification, from replay start: what starts the
	// clock of the notifications it triggers.
	answered := map[uint64]time.Duration{0: 0}
	var rows []demoRow
	err := r.EachHead(func(e *cassette.Event) error {
		row := demoRow{
			seq: e.Seq, notification: e.Kind == cassette.KindNotification,
			method: e.Request.Method, path: demoPath(e.Request.URL),
			recorded: e.Offset, status: demoStatus(e.Response.Status),
		}
		if row.notification {
			if kinds := timeline.NotificationKinds(e.Request.Body); len(kinds) > 0 {
				row.status += " · " + strings.Join(kinds, ", ")
			}
			if d, ok := delivered[e.Seq]; ok {
				if from, ok := answered[d.Trigger]; ok && d.Error == "" {
					row.replayed, row.replayedOK = from+d.ActualGap, true
					row.gapDiff = d.ActualGap - scaleDuration(d.RecordedGap, rep.Speed)
					answered[e.Seq] = row.replayed + d.Latency
				}
				if d.Status != e.Response.Status {
					row.replayStatus = demoStatus(d.Status)
				}
			}
		} else if m, ok := matched[e.Seq]; ok {
			row.replayed, row.replayedOK = m.At, true
			answered[e.Seq] = m.At
			if e.Kind == cassette.KindGraph { // the token endpoint answers at once
				answered[e.Seq] += scaleDuration(e.Latency, rep.Speed)
			}
		}
		rows = append(rows, row)
		return nil
	})
	return rows, err
}

// scaleDuration is d at replay speed (0: no delays).
func scaleDuration(d time.Duration, speed float64) time.Duration {
	if speed <= 0 {
		return 0
	}
	return time.Duration(float64(d) / speed)
}

// writeDemoTable prints the rows side by side, then the largest timing
// difference.
func writeDemoTable(w io.Writer, rows []demoRow) {
	pathWidth := len("path")
	for _, r := range rows {
		pathWidth = max(pathWidth, utf8.RuneCountInString(r.path))
	}
	line := func(seq, rec, rep, diff, dir, method, path, status string) {
		fmt.Fprintf(w, "  %-4s %9s %9s %7s  %-11s  %-6s  %-*s  %s\n", seq, rec, rep, diff, dir, method, pathWidth, path, status)
	}
	line("#", "recorded", "replayed", "Δ", "direction", "method", "path", "status · notification")
	var worst, worstGap demoRow
	var worstDiff time.Duration
	missing, notifications := 0, 0
	for _, r := range rows {
		dir := "bot → Graph"
		if r.notification {
			dir = "Graph → bot"
		}
		rep, diff := "—", "—"
		if r.replayedOK {
			d := r.replayed - r.recorded
			rep, diff = formatOffset(r.replayed), formatDiff(d)
			if abs(d) >= abs(worstDiff) {
				worst, worstDiff = r, d
			}
			if r.notification {
				notifications++
				if abs(r.gapDiff) >= abs(worstGap.gapDiff) {
					worstGap = r
				}
			}
		} else {
			missing++
		}
		status := r.status
		if r.replayStatus != "" {
			status += " (replay: " + r.replayStatus + ")"
		}
		line(fmt.Sprintf("#%d", r.seq), formatOffset(r.recorded), rep, diff, dir, r.method, r.path, status)
	}
	if len(rows) > missing {
		fmt.Fprintf(w, "timing: %d of %d events replayed; largest Δ %s at #%d. Offsets drift with the bot's own pace,\n",
			len(rows)-missing, len(rows), formatDiff(worstDiff), worst.seq)
		fmt.Fprintf(w, "  the machine's load and, while recording, the commit graphvcr makes before relaying each answer.\n")
	}
	if notifications > 0 {
		fmt.Fprintf(w, "timing: each notification went out its recorded gap after the live answer to its trigger, at most %s late (#%d)\n",
			formatDiff(worstGap.gapDiff), worstGap.seq)
	}
	if missing > 0 {
		fmt.Fprintf(w, "timing: %d %s not replayed (—): see the report above\n", missing, plural(missing, "event", "events"))
	}
}

// formatOffset prints d as seconds with millisecond precision: "+12.345s".
func formatOffset(d time.Duration) string {
	return fmt.Sprintf("+%.3fs", d.Seconds())
}

// formatDiff prints a signed difference in milliseconds: "+3ms", "-12ms".
func formatDiff(d time.Duration) string {
	return fmt.Sprintf("%+dms", d.Round(time.Millisecond).Milliseconds())
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// demoPath is the path and query of a recorded URL, each pseudonymous
// GUID cut to its distinctive end ("…000000000007", as the Mermaid view
// does) so that the table fits a terminal.
func demoPath(raw string) string {
	p := raw
	if u, err := url.Parse(raw); err == nil && u.Path != "" {
		p = u.EscapedPath()
		if u.RawQuery != "" {
			p += "?" + u.RawQuery
		}
	}
	var b strings.Builder
	last := 0
	for _, sp := range redact.FindIDs(p) {
		id := p[sp.Start:sp.End]
		if sp.End-sp.Start < 32 || !redact.IsPseudonym(id) {
			continue
		}
		b.WriteString(p[last:sp.Start])
		b.WriteString("…" + id[len(id)-12:])
		last = sp.End
	}
	b.WriteString(p[last:])
	return b.String()
}

// demoStatus is "200 OK", or "no response".
func demoStatus(code int) string {
	if code == 0 {
		return "no response"
	}
	return fmt.Sprintf("%d %s", code, http.StatusText(code))
}
