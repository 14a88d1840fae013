package diff

import (
	"math/rand/v2"
	"testing"
)

// lcsLen is the textbook dynamic-programming LCS length, the reference the
// alignment's matches are checked against.
func lcsLen(a, b []int) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			switch {
			case a[i] == b[j]:
				dp[i][j] = dp[i+1][j+1] + 1
			case dp[i+1][j] >= dp[i][j+1]:
				dp[i][j] = dp[i+1][j]
			default:
				dp[i][j] = dp[i][j+1]
			}
		}
	}
	return dp[0][0]
}

// checkScript fails unless ops is a valid edit script from a to b whose
// matches pair equal keys and number as many as a longest common subsequence.
func checkScript(t *testing.T, a, b []int, ops []op) {
	t.Helper()
	i, j, matches := 0, 0, 0
	for _, o := range ops {
		switch {
		case o.a >= 0 && o.b >= 0:
			if o.a != i || o.b != j || a[i] != b[j] {
				t.Fatalf("bad match %v at (%d,%d) in %v / %v: %v", o, i, j, a, b, ops)
			}
			i, j, matches = i+1, j+1, matches+1
		case o.a >= 0:
			if o.a != i {
				t.Fatalf("bad deletion %v at %d: %v", o, i, ops)
			}
			i++
		case o.b >= 0:
			if o.b != j {
				t.Fatalf("bad insertion %v at %d: %v", o, j, ops)
			}
			j++
		}
	}
	if i != len(a) || j != len(b) {
		t.Fatalf("script stops at (%d,%d) of (%d,%d)", i, j, len(a), len(b))
	}
	if want := lcsLen(a, b); matches != want {
		t.Fatalf("%d matches, longest common subsequence is %d: %v / %v", matches, want, a, b)
	}
}

func TestAlignShortest(t *testing.T) {
	cases := [][2][]int{
		{nil, nil},
		{{1, 2, 3}, nil},
		{nil, {1}},
		{{1, 2, 3}, {1, 2, 3}},
		{{1, 2, 3}, {1, 9, 2, 3}},
		{{1, 2, 3, 4}, {1, 3, 4}},
		{{1, 2, 3}, {3, 2, 1}},
		{{1, 1, 1, 2}, {2, 1, 1, 1}},
	}
	for _, c := range cases {
		checkScript(t, c[0], c[1], align(c[0], c[1]))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		a := make([]int, rng.IntN(12))
		b := make([]int, rng.IntN(12))
		for i := range a {
			a[i] = rng.IntN(4)
		}
		for i := range b {
			b[i] = rng.IntN(4)
		}
		checkScript(t, a, b, align(a, b))
	}
}

// TestAlignOneInsertion: one event inserted in the middle of a long session
// is one insertion and every other event is matched.
func TestAlignOneInsertion(t *testing.T) {
	a := make([]int, 1000)
	for i := range a {
		a[i] = i % 7
	}
	b := append(append(append([]int{}, a[:500]...), 99), a[500:]...)
	ops := align(a, b)
	if len(ops) != len(b) {
		t.Fatalf("%d steps, want %d", len(ops), len(b))
	}
	for _, o := range ops {
		if o.a < 0 && o.b != 500 || o.b < 0 {
			t.Fatalf("unexpected step %v", o)
		}
	}
}

// TestAlignBeyondMaxEdits: sessions that differ everywhere still get a
// valid script (every event removed or added past the common ends), fast.
func TestAlignBeyondMaxEdits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	a, b := make([]int, 10000), make([]int, 10000)
	for i := range a {
		a[i], b[i] = rng.IntN(1000), 1000+rng.IntN(1000)
	}
	a[0], b[0] = -1, -1 // a common prefix
	ops := align(a, b)
	i, j := 0, 0
	for _, o := range ops {
		switch {
		case o.a >= 0 && o.b >= 0:
			if o.a != i || o.b != j || a[i] != b[j] {
				t.Fatalf("bad match %v", o)
			}
			i, j = i+1, j+1
		case o.a >= 0:
			if o.a != i {
				t.Fatalf("bad deletion %v", o)
			}
			i++
		default:
			if o.b != j {
				t.Fatalf("bad insertion %v", o)
			}
			j++
		}
	}
	if i != len(a) || j != len(b) {
		t.Fatalf("script stops at (%d,%d)", i, j)
	}
}
