package fault

import "sync/atomic"

// Counter numbers the occurrences of each recorded exchange as live
// requests match it, for Plan.Request. It is safe for concurrent use; two
// requests that match one exchange at the same moment get different
// numbers, in the order they reach Next.
type Counter struct {
	n []atomic.Int32
}

// Counter returns a Counter for the exchanges of p, all at zero. Replay
// makes one per run.
func (p *Plan) Counter() *Counter {
	return &Counter{n: make([]atomic.Int32, len(p.reqs))}
}

// Next counts one more match of recorded exchange seq and returns its
// occurrence number, from 1. A seq the plan does not know (none of its
// specs can fault it) always gets 1: it needs no count.
func (c *Counter) Next(seq uint64) int {
	if seq >= uint64(len(c.n)) {
		return 1
	}
	return int(c.n[seq].Add(1))
}
