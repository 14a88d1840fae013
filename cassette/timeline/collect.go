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

// GroupByCall splits items by call as show groups events: groups in the
// order of their first item, items in their given order within each. call
// gives an item's call ("" for none). diff groups its heads with it too, so
// that a comparison lists calls in the order show does.
func GroupByCall[T any](items []T, call func(T) string) [][]T {
	var groups [][]T
	index := map[string]int{}
	for _, it := range items {
		c := call(it)
		i, ok := index[c]
		if !ok {
			i = len(groups)
			index[c] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], it)
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
