package diff

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/internal/term"
	"github.com/graphvcr/graphvcr/cassette/timeline"
)

// WriteText writes the comparison for a terminal: the two files, the
// summary line, then, call by call in the order of the session, one line
// per event in one session only ("+ B#6 ..." added, "- A#6 ..." removed)
// and, for events in both that differ, a line naming both followed by one
// indented line per difference. Equal events are not listed. With color
// set, lines carry ANSI colours; the caller decides (timeline.ColorEnabled).
func (r *Result) WriteText(w io.Writer, color bool) error {
	bw := bufio.NewWriter(w)
	p := term.Painter(color).Paint
	fmt.Fprintf(bw, "%s %s (%d events)\n", p(term.Red, "---"), term.OneLine(r.A.Path), r.A.Events)
	fmt.Fprintf(bw, "%s %s (%d events)\n", p(term.Green, "+++"), term.OneLine(r.B.Path), r.B.Events)
	fmt.Fprintln(bw, p(term.Bold, r.Summary()))
	for _, c := range r.Calls {
		if !c.differs() {
			continue
		}
		fmt.Fprintln(bw)
		fmt.Fprintln(bw, p(term.Bold, c.title()))
		for _, row := range c.Rows {
			if len(row.Differences) == 0 {
				continue
			}
			writeRow(bw, p, row)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("diff text: %w", err)
	}
	return nil
}

func (c Call) differs() bool {
	for _, row := range c.Rows {
		if len(row.Differences) > 0 {
			return true
		}
	}
	return false
}

// title names a pair of calls: "call c0ffee00-…-000000000007", or both ids
// when they are not written the same.
func (c Call) title() string {
	switch {
	case c.A == "" && c.B == "":
		return "no call"
	case c.A == c.B:
		return "call " + term.OneLine(c.A)
	case c.A == "":
		return "call " + term.OneLine(c.B) + " (B only)"
	case c.B == "":
		return "call " + term.OneLine(c.A) + " (A only)"
	}
	return "call " + term.OneLine(c.A) + " ↔ " + term.OneLine(c.B)
}

func writeRow(w io.Writer, p func(string, string) string, row Row) {
	switch {
	case row.A == nil:
		fmt.Fprintln(w, p(term.Green, "  + B"+eventLine(row.B)+"  added"))
		return
	case row.B == nil:
		fmt.Fprintln(w, p(term.Red, "  - A"+eventLine(row.A)+"  removed"))
		return
	}
	fmt.Fprintf(w, "  %s A#%d ↔ B%s\n", p(term.Yellow, "~"), row.A.Seq, eventLine(row.B))
	for _, d := range row.Differences {
		fmt.Fprintln(w, "      "+p(term.Yellow, string(d.Kind))+"  "+describe(d, p))
	}
}

// eventLine is "#6  +0.765s  bot → Graph  POST /v1.0/...  200 OK  operation completed".
func eventLine(e *Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d  %s  %s  %s %s  %s", e.Seq, timeline.FormatOffset(e.Offset), timeline.Direction(kindOf(e.Kind)),
		term.OneLine(e.Method), term.OneLine(e.Path), timeline.StatusText(e.Status))
	if len(e.Kinds) > 0 {
		b.WriteString("  " + term.OneLine(strings.Join(e.Kinds, ", ")))
	}
	if e.Error != "" {
		b.WriteString("  error: " + term.OneLine(e.Error))
	}
	return b.String()
}

func kindOf(s string) cassette.Kind {
	switch s {
	case "notification":
		return cassette.KindNotification
	case "token":
		return cassette.KindToken
	}
	return cassette.KindGraph
}

// describe is one difference in words: "request body participants[0].id:
// "a" → "b"", "status: 200 → 500".
func describe(d Difference, p func(string, string) string) string {
	var b strings.Builder
	if d.Where != "" {
		b.WriteString(d.Where)
	}
	if d.Field != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p(term.Bold, term.OneLine(d.Field)))
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p(term.Red, short(value(d.A))) + " → " + p(term.Green, short(value(d.B))))
	return b.String()
}

// value shows an absent value as such.
func value(s string) string {
	if s == "" {
		return "(absent)"
	}
	return term.OneLine(s)
}

// maxTextValue bounds a value on a line of text, shorter than in JSON and
// HTML, so that a line fits a wide terminal.
const maxTextValue = 64

// short cuts a value for a line of text.
func short(s string) string {
	if p, ok := runePrefix(s, maxTextValue); ok {
		return p + "…"
	}
	return s
}

// jsonResult is the documented JSON schema of a comparison (see WriteJSON).
type jsonResult struct {
	A           Side         `json:"a"`
	B           Side         `json:"b"`
	Equal       bool         `json:"equal"`
	Summary     string       `json:"summary"`
	ToleranceNS int64        `json:"tolerance_ns"`
	Differences int          `json:"differences"`
	Counts      map[Kind]int `json:"counts"`
	Calls       []Call       `json:"calls"`
}

// WriteJSON writes the comparison as one JSON object, a schema scripts may
// rely on:
//
//	{"a": {"path", "events", "compared"}, "b": {...},
//	 "equal": bool, "summary": "one line", "tolerance_ns": 50000000 (0: timing ignored),
//	 "differences": 3, "counts": {"added": 1, "body": 2},
//	 "calls": [{"a": "call id in A", "b": "in B", "rows": [
//	   {"a": EVENT or null, "b": EVENT or null,
//	    "differences": [{"kind", "where", "field", "a", "b"}]}]}]}
//
// where EVENT is {"seq", "kind", "offset_ns", "method", "path", "status",
// "error", "kinds"}. Only rows with differences are listed, and only calls
// with such rows. Kinds are those of the Kind constants; empty strings and
// empty lists are left out.
func (r *Result) WriteJSON(w io.Writer) error {
	out := jsonResult{
		A: r.A, B: r.B, Equal: r.Equal(), Summary: r.Summary(),
		ToleranceNS: int64(r.Tolerance / time.Nanosecond), Differences: r.Count, Counts: r.Counts(),
		Calls: []Call{},
	}
	for _, c := range r.Calls {
		var rows []Row
		for _, row := range c.Rows {
			if len(row.Differences) > 0 {
				rows = append(rows, row)
			}
		}
		if len(rows) > 0 {
			out.Calls = append(out.Calls, Call{A: c.A, B: c.B, Rows: rows})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("diff json: %w", err)
	}
	return nil
}
