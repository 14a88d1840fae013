package diff

// maxEdits bounds the edit distance the alignment searches for in one call.
// Myers' greedy algorithm keeps O(D²) state for D edits (16 MB at this
// bound) and takes O((N+M)·D) steps; two calls that
// differ in more than this many events are aligned by position past their
// common prefix and suffix instead, which still reports every difference,
// only less economically.
const maxEdits = 2000

// op is one step of an alignment.
type op struct {
	a, b int // index into each sequence; -1 when the step takes no event from it
}

// align returns a shortest edit script between the key sequences a and b as
// a list of steps in order: matched pairs (both indexes set), deletions
// (only a) and insertions (only b). It is Myers' O(ND) algorithm, after
// stripping the common prefix and suffix, so two long sessions that differ
// in a few events cost little more than a linear scan; and an inserted
// request is one insertion, not a mismatch of everything after it.
func align(a, b []int) []op {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]op, 0, max(len(a), len(b)))
	for i := range pre {
		ops = append(ops, op{i, i})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	for _, o := range middle(ma, mb) {
		if o.a >= 0 {
			o.a += pre
		}
		if o.b >= 0 {
			o.b += pre
		}
		ops = append(ops, o)
	}
	for i := range suf {
		ops = append(ops, op{len(a) - suf + i, len(b) - suf + i})
	}
	return ops
}

// middle aligns what differs between the common prefix and suffix.
func middle(a, b []int) []op {
	n, m := len(a), len(b)
	switch {
	case n == 0 && m == 0:
		return nil
	case n == 0 || m == 0:
		return byPosition(a, b)
	}
	// v[k+off] is the furthest x reached on diagonal k = x - y. trace keeps,
	// for every d, the part of v that step d could read: diagonals -d..d.
	off := n + m
	v := make([]int, 2*off+2)
	var trace [][]int32
	limit := min(n+m, maxEdits)
	found := -1
	for d := 0; d <= limit && found < 0; d++ {
		// snap holds v before step d, which reads diagonals -d+1..d-1.
		snap := make([]int32, 2*d+1)
		for k := -d; k <= d; k++ {
			snap[k+d] = int32(v[k+off])
		}
		trace = append(trace, snap)
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || k != d && v[k-1+off] < v[k+1+off] {
				x = v[k+1+off] // down: an insertion from b
			} else {
				x = v[k-1+off] + 1 // right: a deletion from a
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[k+off] = x
			if x >= n && y >= m {
				found = d
				break
			}
		}
	}
	if found < 0 {
		return byPosition(a, b)
	}
	// Walk back from (n, m) through the snapshots.
	var rev []op
	x, y := n, m
	for d := found; d > 0; d-- {
		prev := trace[d] // v after step d-1, diagonals -d..d
		get := func(k int) int { return int(prev[k+d]) }
		k := x - y
		var pk int
		if k == -d || k != d && get(k-1) < get(k+1) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := get(pk)
		sx := px // where the snake into (x, y) starts
		if pk == k-1 {
			sx = px + 1
		}
		for x > sx {
			x--
			y--
			rev = append(rev, op{x, y})
		}
		if pk == k+1 {
			y--
			rev = append(rev, op{-1, y})
		} else {
			x--
			rev = append(rev, op{x, -1})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, op{x, y})
	}
	out := make([]op, len(rev))
	for i, o := range rev {
		out[len(rev)-1-i] = o
	}
	return out
}

// byPosition is the fallback alignment: every event of a removed, every
// event of b added. It is used when one side is empty, or when the two
// differ beyond maxEdits and a shortest script would cost too much.
func byPosition(a, b []int) []op {
	ops := make([]op, 0, len(a)+len(b))
	for i := range a {
		ops = append(ops, op{i, -1})
	}
	for j := range b {
		ops = append(ops, op{-1, j})
	}
	return ops
}
