package proxy

import (
	"slices"
	"testing"
)

func TestCallIDs(t *testing.T) {
	const id = "57dab8b1-894c-409a-b240-bd8beae78896"
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"v1.0 invite", "/v1.0/communications/calls/" + id + "/participants/invite", id},
		{"legacy undashed upper", "/beta/app/calls/57DAB8B1894C409AB240BD8BEAE78896/participants/invite", id},
		{"resource without slash", "communications/calls/" + id + "/participants", id},
		{"braced", "/app/calls/{57DAB8B1-894C-409A-B240-BD8BEAE78896}", id},
		{"not a guid", "/app/calls/abc123/operations/x", "abc123"},
		{"no call", "/v1.0/me", ""},
		{"create call", "/v1.0/communications/calls", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := callIDOf(tt.in); got != tt.want {
				t.Errorf("callIDOf(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	created := callIDsOf("POST", "/v1.0/communications/calls", 201, []byte(`{"id":"57DAB8B1894C409AB240BD8BEAE78896"}`))
	if !slices.Equal(created, []string{id}) {
		t.Errorf("create call ids = %q", created)
	}
	if got := callIDsOf("POST", "/v1.0/communications/calls", 400, []byte(`{"id":"x"}`)); got != nil {
		t.Errorf("failed create call ids = %q", got)
	}
	body := []byte(`{"value":[{"resource":"/app/calls/` + id + `/operations/1","resourceUrl":"/communications/calls/` + id + `/operations/1"},{"resource":"/communications/calls/11111111-2222-3333-4444-555555555555"}],}`)
	if got := notificationCallIDs(body); !slices.Contains(got, id) || !slices.Contains(got, "11111111-2222-3333-4444-555555555555") {
		t.Errorf("notification ids (invalid JSON) = %q", got)
	}
	valid := body[:len(body)-2]
	valid = append(valid, '}')
	if got := notificationCallIDs(valid); !slices.Contains(got, id) {
		t.Errorf("notification ids = %q", got)
	}
}

func TestCallTrackerTrigger(t *testing.T) {
	ctx := t.Context()
	var tr callTracker
	tr.init()
	if got := tr.trigger(ctx, tr.mark(), []string{"a"}); got != 0 {
		t.Errorf("before any exchange: %d, want 0", got)
	}
	var reads callTracker
	reads.init()
	reads.finish(reads.begin("GET", []string{"c"}), 3, nil)
	if got := reads.trigger(ctx, reads.mark(), []string{"c"}); got != 3 {
		t.Errorf("only a read on the call: %d, want 3", got)
	}

	create := tr.begin("POST", nil) // create call: its id is learnt from the answer
	tr.finish(create, 1, []string{"a"})
	tr.finish(tr.begin("POST", []string{"a"}), 2, nil) // invite on a
	tr.finish(tr.begin("GET", []string{"a"}), 4, nil)  // polling the operation on a
	early := tr.mark()
	tr.finish(tr.begin("POST", []string{"b"}), 6, nil)   // something on b
	tr.finish(tr.begin("DELETE", []string{"a"}), 7, nil) // arrived after the notification
	tests := []struct {
		name  string
		mark  uint64
		calls []string
		want  uint64
	}{
		{"same call, change before arrival, not the poll", early, []string{"a"}, 2},
		{"latest of several calls", tr.mark(), []string{"a", "b"}, 7},
		{"unknown call falls back to latest change", early, []string{"zzz"}, 2},
		{"no call falls back to latest change", tr.mark(), nil, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tr.trigger(ctx, tt.mark, tt.calls); got != tt.want {
				t.Errorf("trigger = %d, want %d", got, tt.want)
			}
		})
	}
}

// A notification that arrives while its cause is still being answered and
// committed waits for that commit and takes it as trigger, rather than an
// earlier exchange whose answer was already relayed.
func TestCallTrackerWaitsForInFlightTrigger(t *testing.T) {
	var tr callTracker
	tr.init()
	tr.finish(tr.begin("POST", nil), 1, []string{"a"}) // create call
	invite := tr.begin("POST", []string{"a"})          // answer not committed yet
	mark := tr.mark()                                  // the completion arrives now
	got := make(chan uint64)
	go func() { got <- tr.trigger(t.Context(), mark, []string{"a"}) }()
	tr.finish(invite, 5, nil)
	if seq := <-got; seq != 5 {
		t.Errorf("trigger = %d, want the in-flight invite (5)", seq)
	}

	// An exchange that could not be committed is passed over.
	failed := tr.begin("POST", []string{"a"})
	tr.finish(failed, 0, nil)
	if seq := tr.trigger(t.Context(), tr.mark(), []string{"a"}); seq != 5 {
		t.Errorf("trigger after an uncommitted exchange = %d, want 5", seq)
	}
}

// A long session's tracker keeps about what is in flight, not its history,
// and still answers like one that kept everything: a notification that
// arrived before later exchanges were committed still gets its trigger from
// before them.
func TestCallTrackerForgetsUnreachable(t *testing.T) {
	var tr callTracker
	tr.init()
	tr.finish(tr.begin("POST", nil), 1, []string{"a"}) // create call
	seq := uint64(1)
	var held, heldWant uint64
	for i := range 10000 {
		poll := tr.begin("GET", []string{"a"})
		invite := tr.begin("POST", []string{"a"})
		seq++
		tr.finish(invite, seq, nil)
		seq++
		tr.finish(poll, seq, nil)
		if i == 5000 {
			held, heldWant = tr.mark(), seq-1 // arrives now, chooses later
		}
		if i%100 == 0 {
			m := tr.mark()
			if got := tr.trigger(t.Context(), m, []string{"a"}); got != seq-1 {
				t.Fatalf("exchange %d: trigger = %d, want the latest invite %d", i, got, seq-1)
			}
			tr.release(m)
		}
	}
	if got := tr.trigger(t.Context(), held, []string{"a"}); got != heldWant {
		t.Errorf("held mark: trigger = %d, want %d (an invite from before it)", got, heldWant)
	}
	tr.release(held)
	// The next commits of each kind prune what the held mark kept.
	poll := tr.begin("GET", []string{"a"})
	tr.finish(tr.begin("POST", []string{"a"}), seq+1, nil)
	tr.finish(poll, seq+2, nil)
	if n, na := len(tr.all), len(tr.byCall["a"]); n > 4 || na > 4 {
		t.Errorf("after 20,000 exchanges the tracker holds %d exchanges, %d on the call; want a handful", n, na)
	}
	if got := tr.trigger(t.Context(), tr.mark(), []string{"zzz"}); got != seq+1 {
		t.Errorf("fallback to the latest change = %d, want %d", got, seq+1)
	}
}

// An exchange filed under its call at arrival and again when its answer
// names the same call is listed once.
func TestCallTrackerFilesOnce(t *testing.T) {
	var tr callTracker
	tr.init()
	a := tr.begin("POST", []string{"a"})
	tr.mark() // a notification that may pick a: nothing is pruned
	b := tr.begin("POST", []string{"a"})
	tr.finish(b, 2, []string{"a"})
	tr.finish(a, 1, []string{"a", "b"})
	if got := len(tr.byCall["a"]); got != 2 {
		t.Errorf("call a lists %d exchanges, want 2", got)
	}
	if got := len(tr.byCall["b"]); got != 1 {
		t.Errorf("call b lists %d exchanges, want 1", got)
	}
}
