package timeline_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/cassette/timeline"
)

// TestHeadOf checks that HeadOf, given each event with its bodies, gives
// what Heads gives for the whole cassette, classes and calls included; and
// that without response bodies only a created call's id goes missing.
func TestHeadOf(t *testing.T) {
	r := cassettetest.Open(t, filepath.Join("..", "..", "cassettes", "full-call.bolt"))
	want, err := timeline.Heads(r)
	if err != nil {
		t.Fatal(err)
	}
	var full, light []timeline.Head
	if err := r.Each(func(e *cassette.Event) error { full = append(full, timeline.HeadOf(e)); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := r.EachHead(func(e *cassette.Event) error { light = append(light, timeline.HeadOf(e)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(full) != len(want) || len(light) != len(want) {
		t.Fatalf("%d and %d heads, want %d", len(full), len(light), len(want))
	}
	classes := 0
	for i, w := range want {
		same := func(h timeline.Head) bool {
			return h.Seq == w.Seq && h.Kind == w.Kind && h.Method == w.Method && h.Path == w.Path &&
				h.Trigger == w.Trigger && h.Call == w.Call && slices.Equal(h.Kinds, w.Kinds)
		}
		if !same(full[i]) {
			t.Errorf("#%d: HeadOf %+v, Heads %+v", w.Seq, full[i], w)
		}
		createsCall := w.Kind == cassette.KindGraph && w.Method == "POST" && w.Path == "/v1.0/communications/calls"
		if createsCall {
			if light[i].Call != "" || w.Call == "" {
				t.Errorf("#%d creates a call: without its answer HeadOf gives call %q (Heads %q)", w.Seq, light[i].Call, w.Call)
			}
		} else if !same(light[i]) {
			t.Errorf("#%d without response bodies: HeadOf %+v, Heads %+v", w.Seq, light[i], w)
		}
		classes += len(w.Kinds)
	}
	if classes == 0 {
		t.Fatal("no notification classes in the sample: the test proves nothing")
	}
}
