package diff

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/graphvcr/graphvcr/cassette/timeline"
)

// pairWindow is how many added events gapRows looks through for the
// counterpart of a removed one: a changed request faces its old self in the
// alignment, not events further on, and the bound keeps two sessions that
// differ everywhere from costing removed × added comparisons.
const pairWindow = 8

// keyTable interns keys as small ints, which the alignment compares.
type keyTable map[string]int

func (t keyTable) id(k string) int {
	if n, ok := t[k]; ok {
		return n
	}
	t[k] = len(t)
	return len(t) - 1
}

// callGroup is the events of one call in one session.
type callGroup struct {
	call  string
	heads []head
}

// groupByCall splits hs by call as show does: the events of no call first
// (a group that is always there, maybe empty), then calls in the order of
// their first event, events in order of arrival within each.
//
// Arrival, not sequence: an event's sequence number is when its exchange
// was committed, after the answer, so a notification that arrived while a
// request was in flight can be committed after it in one session and
// before it in the other. That is no change in what the bot or Graph did.
func groupByCall(hs []head) []callGroup {
	groups := []callGroup{{call: ""}}
	for _, g := range timeline.GroupByCall(hs, func(h head) string { return h.Call }) {
		slices.SortStableFunc(g, func(x, y head) int { return cmp.Compare(x.Offset, y.Offset) })
		if g[0].Call == "" {
			groups[0].heads = g
			continue
		}
		groups = append(groups, callGroup{call: g[0].Call, heads: g})
	}
	return groups
}

// pairCalls pairs the groups of a and b (no call with no call, then calls
// in the order they first appear), aligns each pair, and returns the calls
// in the order of the session: by the first event of each, A's first.
func pairCalls(ga, gb []callGroup, keys *keyTable) []Call {
	var calls []Call
	var first []uint64
	for i := range max(len(ga), len(gb)) {
		var a, b callGroup
		if i < len(ga) {
			a = ga[i]
		}
		if i < len(gb) {
			b = gb[i]
		}
		if len(a.heads) == 0 && len(b.heads) == 0 {
			continue
		}
		calls = append(calls, Call{A: a.call, B: b.call, Rows: alignCall(a.heads, b.heads, keys)})
		switch {
		case len(a.heads) > 0:
			first = append(first, a.heads[0].Seq)
		default:
			first = append(first, b.heads[0].Seq)
		}
	}
	order := make([]int, len(calls))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return int(first[x]) - int(first[y]) })
	out := make([]Call, len(calls))
	for i, j := range order {
		out[i] = calls[j]
	}
	return out
}

// alignCall aligns the events of one call of each session and returns the
// rows: matched events with no difference yet (their bodies are compared
// later), events paired as changed (another method or path) with that
// difference, events found in both in another order with an Order
// difference, and events of one side only.
func alignCall(a, b []head, keys *keyTable) []Row {
	ka, kb := make([]int, len(a)), make([]int, len(b))
	for i := range a {
		ka[i] = keys.id(a[i].key)
	}
	for j := range b {
		kb[j] = keys.id(b[j].key)
	}
	ops := align(ka, kb)

	// Between two matches, a removed and an added event of the same
	// direction with the same method or the same path shape are one event
	// changed; taken in order.
	var rows []Row
	for i := 0; i < len(ops); {
		if ops[i].a >= 0 && ops[i].b >= 0 {
			rows = append(rows, Row{A: event(&a[ops[i].a]), B: event(&b[ops[i].b])})
			i++
			continue
		}
		j := i
		var dels, ins []int
		for ; j < len(ops) && (ops[j].a < 0 || ops[j].b < 0); j++ {
			if ops[j].a >= 0 {
				dels = append(dels, ops[j].a)
			} else {
				ins = append(ins, ops[j].b)
			}
		}
		rows = append(rows, gapRows(a, b, dels, ins)...)
		i = j
	}
	return markMoved(rows, a, b)
}

// gapRows pairs, in order, the removed and added events between two matches.
func gapRows(a, b []head, dels, ins []int) []Row {
	var rows []Row
	used := make([]bool, len(ins))
	next := 0 // ins before next are used: pairing at n emits those before n as added
	for _, d := range dels {
		ha := &a[d]
		paired := false
		for n := next; n < len(ins) && n < next+pairWindow; n++ {
			hb := &b[ins[n]]
			if ha.Kind != hb.Kind {
				continue
			}
			var diff *Difference
			sa, sb := ha.shape, hb.shape
			switch {
			case sa == sb:
				// Same request, another notification class: compared
				// field by field later, like a match.
			case strings.EqualFold(ha.Method, hb.Method):
				diff = &Difference{Kind: Path, A: cut(stripQuery(ha.Path)), B: cut(stripQuery(hb.Path))}
			case pathOf(sa) == pathOf(sb):
				diff = &Difference{Kind: Method, A: ha.Method, B: hb.Method}
			default:
				continue
			}
			// Rows before this one in ins are added events.
			for m := next; m < n; m++ {
				if !used[m] {
					used[m] = true
					rows = append(rows, Row{B: event(&b[ins[m]]), Differences: []Difference{{Kind: Added}}})
				}
			}
			used[n] = true
			next = n + 1
			row := Row{A: event(ha), B: event(hb)}
			if diff != nil {
				row.Differences = []Difference{*diff}
			}
			rows = append(rows, row)
			paired = true
			break
		}
		if !paired {
			rows = append(rows, Row{A: event(ha), Differences: []Difference{{Kind: Removed}}})
		}
	}
	for n, j := range ins {
		if !used[n] {
			rows = append(rows, Row{B: event(&b[j]), Differences: []Difference{{Kind: Added}}})
		}
	}
	return rows
}

// markMoved turns a removed event and an added event of the same key in
// one call into one event in another order: the row stays where B has it.
func markMoved(rows []Row, a, b []head) []Row {
	keyA := map[uint64]string{}
	for i := range a {
		keyA[a[i].Seq] = a[i].key
	}
	keyB := map[uint64]string{}
	for i := range b {
		keyB[b[i].Seq] = b[i].key
	}
	removed := map[string][]int{} // key -> indexes of removed rows, in order
	for i, r := range rows {
		if r.B == nil {
			k := keyA[r.A.Seq]
			removed[k] = append(removed[k], i)
		}
	}
	drop := map[int]bool{}
	for i := range rows {
		r := &rows[i]
		if r.A != nil || len(removed[keyB[r.B.Seq]]) == 0 {
			continue
		}
		k := keyB[r.B.Seq]
		j := removed[k][0]
		removed[k] = removed[k][1:]
		r.A = rows[j].A
		r.Differences = []Difference{{Kind: Order, A: fmt.Sprintf("#%d", r.A.Seq), B: fmt.Sprintf("#%d", r.B.Seq)}}
		drop[j] = true
	}
	if len(drop) == 0 {
		return rows
	}
	out := rows[:0:0]
	for i, r := range rows {
		if !drop[i] {
			out = append(out, r)
		}
	}
	return out
}
