package timeline

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/graphvcr/graphvcr/cassette"
)

// page is the HTML timeline's template: inline CSS and JS, no external
// asset, so the page works offline and as an attachment. html/template
// escapes every recorded string for the context it lands in; no recorded
// data is ever placed inside the script.
//
//go:embed page.html.tmpl
var pageSource string

var page = template.Must(template.New("page").Parse(pageSource))

// Page layout limits.
const (
	// maxGapPx is the height of the longest gap between two events; the
	// others are drawn to the same scale.
	maxGapPx = 240
	// maxPxPerSecond keeps a session of quick exchanges from being drawn
	// with huge gaps.
	maxPxPerSecond = 120
	// minGapLabelPx is the gap height from which the gap is labelled.
	minGapLabelPx = 16
	// maxBodyShown bounds each body on the page: a cassette may hold
	// megabytes of media, which no one reads in a browser.
	maxBodyShown = 256 << 10
)

// HTML writes r's timeline as one self-contained HTML page: the events in
// sequence order with the gaps between them drawn to scale, each one
// expandable to its headers and bodies (JSON pretty-printed, anything else
// as recorded, binary as base64), notifications linked to the exchanges
// that triggered them and back, and a search box that filters events by
// any text they hold. Bodies longer than 256 KiB are cut on the page.
func HTML(w io.Writer, r *cassette.Reader) error {
	sums, err := collect(r)
	if err != nil {
		return fmt.Errorf("html timeline: %w", err)
	}
	bw := bufio.NewWriter(w)
	ev := newPageEvents(sums)
	head := pageHead{
		Title:    headline(r.Meta(), sums),
		Count:    len(sums),
		PxPerSec: ev.scaleLabel(),
	}
	if err := page.ExecuteTemplate(bw, "head", head); err != nil {
		return fmt.Errorf("html timeline: write head: %w", err)
	}
	i := 0
	err = r.Each(func(e *cassette.Event) error {
		if i >= len(sums) || sums[i].Seq != e.Seq {
			return fmt.Errorf("event %d: cassette changed while read", e.Seq)
		}
		if err := page.ExecuteTemplate(bw, "event", ev.render(i, e)); err != nil {
			return fmt.Errorf("write event %d: %w", e.Seq, err)
		}
		i++
		return nil
	})
	if err != nil {
		return fmt.Errorf("html timeline: %w", err)
	}
	if err := page.ExecuteTemplate(bw, "foot", head); err != nil {
		return fmt.Errorf("html timeline: write foot: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("html timeline: write: %w", err)
	}
	return nil
}

// pageHead is what the page's head and foot show.
type pageHead struct {
	Title    string
	Count    int
	PxPerSec string
}

// pageEvents holds what rendering one event needs to know of the others.
type pageEvents struct {
	sums      []summary
	calls     map[string]int
	triggered map[uint64][]uint64 // exchange seq -> notifications it triggered
	pxPerSec  float64
}

func newPageEvents(sums []summary) *pageEvents {
	p := &pageEvents{sums: sums, calls: callLabels(sums), triggered: map[uint64][]uint64{}}
	var maxGap time.Duration
	for i, s := range sums {
		if s.Kind == cassette.KindNotification && s.Trigger != 0 {
			p.triggered[s.Trigger] = append(p.triggered[s.Trigger], s.Seq)
		}
		if i > 0 {
			maxGap = max(maxGap, s.Offset-sums[i-1].Offset)
		}
	}
	p.pxPerSec = maxPxPerSecond
	if maxGap > 0 {
		p.pxPerSec = min(p.pxPerSec, maxGapPx/maxGap.Seconds())
	}
	return p
}

func (p *pageEvents) scaleLabel() string {
	if p.pxPerSec >= 1 {
		return fmt.Sprintf("1 s = %.0f px", p.pxPerSec)
	}
	return fmt.Sprintf("1 min = %.0f px", p.pxPerSec*60)
}

// pageEvent is one event as the template shows it.
type pageEvent struct {
	Seq         uint64
	Kind        string
	Offset      string
	GapPx       int
	GapLabel    string
	Dir         string
	Method      string
	Path        string
	URL         string
	Status      string
	StatusClass string
	Latency     string
	Error       string
	Abandoned   string // what happened to an exchange the bot abandoned; "" when it did not
	Kinds       []string
	Trigger     uint64
	Triggered   []uint64
	Call        string
	CallLabel   int
	CallClass   string
	Request     pagePart
	Response    pagePart
	Bearer      string
}

// pagePart is a request or response as shown.
type pagePart struct {
	Headers  string
	Body     string
	BodyNote string
	JSON     bool
}

func (p *pageEvents) render(i int, e *cassette.Event) pageEvent {
	s := p.sums[i]
	pe := pageEvent{
		Seq:       s.Seq,
		Kind:      e.Kind.String(),
		Offset:    formatOffset(s.Offset),
		Dir:       direction(s.Kind),
		Method:    s.Method,
		Path:      s.Path,
		URL:       e.Request.URL,
		Status:    statusText(s.Status),
		Latency:   formatLatency(s.Latency),
		Error:     s.Error,
		Kinds:     s.Kinds,
		Trigger:   s.Trigger,
		Triggered: p.triggered[s.Seq],
		Call:      s.Call,
		CallLabel: p.calls[s.Call],
		Request:   part(e.Request.Header, e.Request.Body),
		Response:  part(e.Response.Header, e.Response.Body),
	}
	pe.CallClass = fmt.Sprintf("c%d", pe.CallLabel%6)
	switch {
	case s.Abandoned > 0:
		pe.Status, pe.StatusClass, pe.Error = abandonedText(s), "abandoned", ""
		pe.Abandoned = "The bot gave up " + formatLatency(s.Abandoned) + " after sending it; " +
			upstreamAnswer(s) + ", which the bot never saw."
	case s.Error != "" || s.Status == 0 || s.Status >= 400:
		pe.StatusClass = "bad"
	case s.Status >= 300:
		pe.StatusClass = "redirect"
	default:
		pe.StatusClass = "ok"
	}
	if i > 0 {
		gap := max(0, s.Offset-p.sums[i-1].Offset)
		pe.GapPx = int(math.Round(gap.Seconds() * p.pxPerSec))
		if pe.GapPx >= minGapLabelPx {
			pe.GapLabel = "+" + strings.TrimPrefix(formatOffset(gap), "+")
		}
	}
	if b := e.Bearer; b != nil {
		pe.Bearer = bearerText(b)
	}
	return pe
}

// part renders headers one per line in name order and the body pretty.
func part(h http.Header, body []byte) pagePart {
	var pp pagePart
	var hb strings.Builder
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			hb.WriteString(k + ": " + v + "\n")
		}
	}
	pp.Headers = hb.String()
	pp.Body, pp.BodyNote, pp.JSON = prettyBody(h.Get("Content-Type"), body)
	return pp
}

// prettyBody returns body as it is best read: valid JSON indented, other
// UTF-8 text as recorded, anything else as base64, cut at maxBodyShown.
func prettyBody(contentType string, body []byte) (text, note string, isJSON bool) {
	if len(body) == 0 {
		return "", "", false
	}
	if json.Valid(body) {
		var b bytes.Buffer
		if err := json.Indent(&b, body, "", "  "); err == nil {
			text, cut := cutText(b.String())
			return text, cut, true
		}
	}
	if utf8.Valid(body) {
		note := ""
		if strings.Contains(strings.ToLower(contentType), "json") {
			note = "not valid JSON: shown as recorded. "
		}
		text, cut := cutText(string(body))
		return text, strings.TrimSpace(note + cut), false
	}
	shown := body[:min(len(body), maxBodyShown)]
	note = fmt.Sprintf("binary body, %d bytes, shown as base64.", len(body))
	if len(shown) < len(body) {
		note += fmt.Sprintf(" First %d bytes only.", len(shown))
	}
	return base64.StdEncoding.EncodeToString(shown), note, false
}

func cutText(s string) (string, string) {
	if len(s) <= maxBodyShown {
		return s, ""
	}
	cut := maxBodyShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], fmt.Sprintf("cut: %d of %d bytes shown.", cut, len(s))
}

// bearerText lists what was kept of a notification's bearer token.
func bearerText(b *cassette.Bearer) string {
	var sb strings.Builder
	if b.Malformed {
		sb.WriteString("malformed bearer token (not a JWT)\n")
	}
	for _, k := range slices.Sorted(maps.Keys(b.Header)) {
		sb.WriteString("header " + k + ": " + b.Header[k] + "\n")
	}
	for _, k := range slices.Sorted(maps.Keys(b.Claims)) {
		sb.WriteString("claim " + k + ": " + b.Claims[k] + "\n")
	}
	if b.Lifetime != 0 {
		sb.WriteString("lifetime: " + b.Lifetime.String() + "\n")
	}
	return sb.String()
}
