package diff

import (
	"bufio"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/graphvcr/graphvcr/cassette/timeline"
)

// page is the HTML comparison's template: inline CSS and JS, no external
// asset, so the page works offline and as an attachment. html/template
// escapes every recorded string for where it lands; no recorded data is
// ever placed inside the script.
//
//go:embed page.html.tmpl
var pageSource string

var page = template.Must(template.New("page").Parse(pageSource))

// WriteHTML writes the comparison as one self-contained HTML page: the two
// timelines side by side, call by call, each event of A facing its
// counterpart in B, rows that differ highlighted (added, removed, changed,
// moved, late or early) with their differences listed under them, and a
// switch that hides the equal rows.
func (r *Result) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	if err := page.Execute(bw, r.pageData()); err != nil {
		return fmt.Errorf("diff html: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("diff html: %w", err)
	}
	return nil
}

type pageData struct {
	A, B    Side
	Summary string
	Equal   bool
	Count   int
	Calls   []pageCall
}

type pageCall struct {
	Title string
	Rows  []pageRow
}

type pageRow struct {
	ID    string
	Class string // "same", "added", "removed", "changed", "moved", "timing"
	A, B  *pageEvent
	Diffs []pageDiff
}

type pageEvent struct {
	Seq    uint64
	Kind   string
	Offset string
	Dir    string
	Method string
	Path   string
	Status string
	Kinds  string
	Error  string
}

type pageDiff struct {
	Kind  string
	Label string
	A, B  string
}

func (r *Result) pageData() pageData {
	pd := pageData{A: r.A, B: r.B, Summary: r.Summary(), Equal: r.Equal(), Count: r.Count}
	n := 0
	for _, c := range r.Calls {
		pc := pageCall{Title: c.title()}
		for _, row := range c.Rows {
			pr := pageRow{A: pageEventOf(row.A), B: pageEventOf(row.B), Class: rowClass(row)}
			if len(row.Differences) > 0 {
				n++
				pr.ID = fmt.Sprintf("d%d", n)
			}
			for _, d := range row.Differences {
				pd := pageDiff{Kind: string(d.Kind), A: value(d.A), B: value(d.B)}
				pd.Label = strings.TrimSpace(d.Where + " " + d.Field)
				switch d.Kind {
				case Added:
					pd.Label, pd.A, pd.B = "only in B", "", ""
				case Removed:
					pd.Label, pd.A, pd.B = "only in A", "", ""
				}
				pr.Diffs = append(pr.Diffs, pd)
			}
			pc.Rows = append(pc.Rows, pr)
		}
		pd.Calls = append(pd.Calls, pc)
	}
	return pd
}

func rowClass(row Row) string {
	switch {
	case len(row.Differences) == 0:
		return "same"
	case row.A == nil:
		return "added"
	case row.B == nil:
		return "removed"
	case row.Differences[0].Kind == Order:
		return "moved"
	case len(row.Differences) == 1 && row.Differences[0].Kind == Timing:
		return "timing"
	}
	return "changed"
}

func pageEventOf(e *Event) *pageEvent {
	if e == nil {
		return nil
	}
	return &pageEvent{
		Seq:    e.Seq,
		Kind:   e.Kind,
		Offset: timeline.FormatOffset(e.Offset),
		Dir:    timeline.Direction(kindOf(e.Kind)),
		Method: e.Method,
		Path:   e.Path,
		Status: timeline.StatusText(e.Status),
		Kinds:  strings.Join(e.Kinds, ", "),
		Error:  e.Error,
	}
}
