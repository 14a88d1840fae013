package timeline

import (
	"fmt"
	"strings"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// collect summarises every event of r in sequence order. It reads no
// response body but those of the Graph exchanges whose URL names no call
// (creating a call), which name the call in their answer.
func collect(r *cassette.Reader) ([]summary, error) {
	var (
		sums []summary
		need []int // indexes into sums whose call may be in the response body
	)
	err := r.EachHead(func(e *cassette.Event) error {
		s := summarize(e)
		if s.Kind == cassette.KindGraph && s.Call == "" && e.Request.Method == "POST" {
			need = append(need, len(sums))
		}
		sums = append(sums, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	for _, i := range need {
		e, err := r.Event(sums[i].Seq)
		if err != nil {
			return nil, fmt.Errorf("read event %d: %w", sums[i].Seq, err)
		}
		sums[i].Call = summarize(e).Call
	}
	return sums, nil
}

// group is the events of one call, or of none (Call "").
type group struct {
	Call   string
	Events []summary
}

// groupByCall splits sums by call, groups in the order of their first
// event, events in sequence order within each.
func groupByCall(sums []summary) []group {
	var groups []group
	index := map[string]int{}
	for _, s := range sums {
		i, ok := index[s.Call]
		if !ok {
			i = len(groups)
			index[s.Call] = i
			groups = append(groups, group{Call: s.Call})
		}
		groups[i].Events = append(groups[i].Events, s)
	}
	return groups
}

// callLabels numbers the calls of sums by first appearance ("call 1"), a
// name short enough for a badge; the full id stays beside it.
func callLabels(sums []summary) map[string]int {
	labels := map[string]int{}
	for _, s := range sums {
		if _, ok := labels[s.Call]; !ok && s.Call != "" {
			labels[s.Call] = len(labels) + 1
		}
	}
	return labels
}

// headline describes the cassette in one line.
func headline(m cassette.Meta, sums []summary) string {
	var b strings.Builder
	b.WriteString("graphvcr cassette")
	if !m.Created.IsZero() {
		b.WriteString(", recorded " + m.Created.UTC().Format("2006-01-02 15:04:05Z"))
	}
	if m.Version != "" {
		b.WriteString(" by graphvcr " + m.Version)
	}
	if m.Upstream != "" {
		b.WriteString(" from " + m.Upstream)
	}
	fmt.Fprintf(&b, ", %d events", len(sums))
	var last time.Duration
	for _, s := range sums {
		last = max(last, s.Offset)
	}
	if len(sums) > 0 {
		b.WriteString(" over " + strings.TrimPrefix(formatOffset(last), "+"))
	}
	return b.String()
}
