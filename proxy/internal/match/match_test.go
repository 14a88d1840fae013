package match

import (
	"maps"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
)

// Pseudonyms as the redactor issues them, and live values of every form.
const (
	p1       = "c0ffee00-0000-4000-8000-000000000001"
	p1Upper  = "C0FFEE00-0000-4000-8000-000000000001"
	p2Undash = "C0FFEE00000040008000000000000002" // undashed upper, legacy /app/calls ids
	p3       = "c0ffee00-0000-4000-8000-000000000003"
	pPhone   = "+55500000001"
	pEmail   = "user1@example.invalid"

	live1        = "57dab8b1-894c-409a-b240-bd8beae78896"
	live1Upper   = "57DAB8B1-894C-409A-B240-BD8BEAE78896"
	live2Undash  = "8A34A46B11114222833312345678ABCD"
	live2Dashed  = "8a34a46b-1111-4222-8333-12345678abcd"
	live3        = "0e7a3f1c-2b4d-4e6f-8a9b-0c1d2e3f4a5b"
	livePhone    = "+12065551234"
	liveEmail    = "alice@contoso.com"
	keptGUID     = "11111111-2222-4333-8444-555555555555" // not a pseudonym: kept as recorded
	otherKept    = "99999999-2222-4333-8444-555555555555"
	recordedCtx  = "c0ffee-context-from-the-recording"
	liveCtx      = "bot-generated-context-42"
	recordedName = "Person 1"
)

type exchange struct {
	method, url, body string
}

func newTestMatcher(t *testing.T, recorded ...exchange) *Matcher {
	t.Helper()
	m := newMatcher(pseudonymSet{p1: true, p3: true, pPhone: true, pEmail: true, recordedName: true})
	for i, e := range recorded {
		m.add(&Candidate{Seq: uint64(i + 1), Kind: cassette.KindGraph, Method: e.method, URL: e.url, Status: 200}, []byte(e.body))
	}
	return m
}

func matchLive(m *Matcher, e exchange) (*Candidate, bool) {
	lt := newTemplate(e.method, e.url, []byte(e.body), nil)
	return m.match(cassette.Shape(e.method, e.url), &lt, nil)
}

func TestMatch(t *testing.T) {
	tests := []struct {
		name     string
		recorded exchange
		live     exchange
		want     bool
		bindings map[string]string // pseudonym key -> live key (ids and strings)
	}{
		{
			name:     "dashed lower guid in path",
			recorded: exchange{"POST", "/v1.0/communications/calls/" + p1 + "/participants/invite", ""},
			live:     exchange{"POST", "/v1.0/communications/calls/" + live1 + "/participants/invite", ""},
			want:     true,
			bindings: map[string]string{p1: live1},
		},
		{
			name:     "dashed upper guid in path binds the same key",
			recorded: exchange{"GET", "/v1.0/communications/calls/" + p1Upper, ""},
			live:     exchange{"GET", "/v1.0/communications/calls/" + live1Upper, ""},
			want:     true,
			bindings: map[string]string{p1: live1},
		},
		{
			name:     "case of the guid differs",
			recorded: exchange{"GET", "/v1.0/communications/calls/" + p1Upper, ""},
			live:     exchange{"GET", "/v1.0/communications/calls/" + live1, ""},
			want:     false,
		},
		{
			name:     "undashed upper legacy id",
			recorded: exchange{"POST", "/beta/app/calls/" + p2Undash + "/participants/invite", ""},
			live:     exchange{"POST", "/beta/app/calls/" + live2Undash + "/participants/invite", ""},
			want:     true,
			bindings: map[string]string{"c0ffee00-0000-4000-8000-000000000002": live2Dashed},
		},
		{
			name:     "dashed live id for an undashed recorded one",
			recorded: exchange{"POST", "/beta/app/calls/" + p2Undash + "/participants/invite", ""},
			live:     exchange{"POST", "/beta/app/calls/" + live2Dashed + "/participants/invite", ""},
			want:     false,
		},
		{
			name:     "embedded id and phone number",
			recorded: exchange{"POST", "/v1.0/communications/calls", `{"targets":[{"identity":{"phone":{"id":"` + pPhone + `"}}},{"id":"28:` + p1 + `"}]}`},
			live:     exchange{"POST", "/v1.0/communications/calls", `{"targets":[{"identity":{"phone":{"id":"` + livePhone + `"}}},{"id":"28:` + live1 + `"}]}`},
			want:     true,
			bindings: map[string]string{"55500000001": "12065551234", p1: live1},
		},
		{
			name:     "embedded id with another prefix",
			recorded: exchange{"POST", "/v1.0/communications/calls", `{"id":"28:` + p1 + `"}`},
			live:     exchange{"POST", "/v1.0/communications/calls", `{"id":"8:orgid:` + live1 + `"}`},
			want:     false,
		},
		{
			name:     "email",
			recorded: exchange{"POST", "/v1.0/x", `{"upn":"` + pEmail + `"}`},
			live:     exchange{"POST", "/v1.0/x", `{"upn":"` + liveEmail + `"}`},
			want:     true,
			bindings: map[string]string{pEmail: liveEmail},
		},
		{
			name:     "clientContext matches any value",
			recorded: exchange{"POST", "/v1.0/communications/calls/" + p1 + "/participants/invite", `{"clientContext":"` + recordedCtx + `","participants":[]}`},
			live:     exchange{"POST", "/v1.0/communications/calls/" + live1 + "/participants/invite", `{"participants":[],"clientContext":"` + liveCtx + `"}`},
			want:     true,
			bindings: map[string]string{p1: live1, recordedCtx: liveCtx},
		},
		{
			name:     "name pseudonym matches any name",
			recorded: exchange{"POST", "/v1.0/x", `{"displayName":"` + recordedName + `"}`},
			live:     exchange{"POST", "/v1.0/x", `{"displayName":"Alice Smith"}`},
			want:     true,
			bindings: map[string]string{recordedName: "Alice Smith"},
		},
		{
			name:     "plain string must be equal",
			recorded: exchange{"POST", "/v1.0/x", `{"endpointType":"default"}`},
			live:     exchange{"POST", "/v1.0/x", `{"endpointType":"voicemail"}`},
			want:     false,
		},
		{
			name:     "id kept as recorded must be equal",
			recorded: exchange{"GET", "/v1.0/applications/" + keptGUID, ""},
			live:     exchange{"GET", "/v1.0/applications/" + otherKept, ""},
			want:     false,
		},
		{
			name:     "id kept as recorded, same value",
			recorded: exchange{"GET", "/v1.0/applications/" + keptGUID, ""},
			live:     exchange{"GET", "/v1.0/applications/" + keptGUID, ""},
			want:     true,
			bindings: map[string]string{},
		},
		{
			name:     "same query in another order",
			recorded: exchange{"GET", "/v1.0/communications/calls/" + p1 + "/participants?$top=5&$select=id", ""},
			live:     exchange{"GET", "/v1.0/communications/calls/" + live1 + "/participants?$select=id&$top=5", ""},
			want:     true,
			bindings: map[string]string{p1: live1},
		},
		{
			name:     "query value differs",
			recorded: exchange{"GET", "/v1.0/communications/calls/" + p1 + "/participants?$select=id", ""},
			live:     exchange{"GET", "/v1.0/communications/calls/" + live1 + "/participants?$select=info", ""},
			want:     false,
		},
		{
			name:     "extra query parameter",
			recorded: exchange{"GET", "/v1.0/communications/calls/" + p1, ""},
			live:     exchange{"GET", "/v1.0/communications/calls/" + live1 + "?$select=id", ""},
			want:     false,
		},
		{
			name:     "extra body field",
			recorded: exchange{"POST", "/v1.0/x", `{"a":1}`},
			live:     exchange{"POST", "/v1.0/x", `{"a":1,"b":2}`},
			want:     false,
		},
		{
			name:     "missing body field",
			recorded: exchange{"POST", "/v1.0/x", `{"a":1,"b":2}`},
			live:     exchange{"POST", "/v1.0/x", `{"b":2}`},
			want:     false,
		},
		{
			name:     "body field order and whitespace do not matter",
			recorded: exchange{"POST", "/v1.0/x", `{"a":1,"b":[true,null]}`},
			live:     exchange{"POST", "/v1.0/x", "{ \"b\": [true, null],\n \"a\": 1 }"},
			want:     true,
			bindings: map[string]string{},
		},
		{
			name:     "number differs",
			recorded: exchange{"POST", "/v1.0/x", `{"a":1}`},
			live:     exchange{"POST", "/v1.0/x", `{"a":2}`},
			want:     false,
		},
		{
			name:     "method differs",
			recorded: exchange{"GET", "/v1.0/communications/calls/" + p1, ""},
			live:     exchange{"DELETE", "/v1.0/communications/calls/" + live1, ""},
			want:     false,
		},
		{
			name:     "invalid json compared as text",
			recorded: exchange{"POST", "/v1.0/x", `{"id":"` + p1 + `",}`},
			live:     exchange{"POST", "/v1.0/x", `{"id":"` + live1 + `",}`},
			want:     true,
			bindings: map[string]string{p1: live1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMatcher(t, tt.recorded)
			c, first := matchLive(m, tt.live)
			if got := c != nil; got != tt.want {
				t.Fatalf("match = %v, want %v (recorded key %q, live key %q)", got, tt.want,
					m.shapes[cassette.Shape(tt.recorded.method, tt.recorded.url)].all[0].tmpl.key,
					newTemplate(tt.live.method, tt.live.url, []byte(tt.live.body), nil).key)
			}
			if c == nil {
				return
			}
			if !first {
				t.Error("first match not reported as first")
			}
			got := map[string]string{}
			maps.Copy(got, m.b.ids)
			maps.Copy(got, m.b.strs)
			if !maps.Equal(got, tt.bindings) {
				t.Errorf("bindings = %v, want %v", got, tt.bindings)
			}
		})
	}
}

func TestMatchBindingsAreConsistent(t *testing.T) {
	get := func(id string) exchange { return exchange{"GET", "/v1.0/communications/calls/" + id, ""} }
	invite := func(call, ctx string) exchange {
		return exchange{"POST", "/v1.0/communications/calls/" + call + "/participants/invite", `{"clientContext":"` + ctx + `"}`}
	}
	tests := []struct {
		name  string
		steps []exchange
		want  []uint64 // matched seq per step, 0 = no match
	}{
		{
			name:  "a bound pseudonym does not match another live value",
			steps: []exchange{get(live1), get(live3)},
			want:  []uint64{1, 2},
		},
		{
			name:  "a bound live value does not stand for another pseudonym",
			steps: []exchange{get(live1), invite(live1, "c1"), get(live1)},
			want:  []uint64{1, 0, 1},
		},
		{
			name:  "a live value bound to p3 matches p3 only",
			steps: []exchange{get(live1), get(live3), invite(live3, "c2"), invite(live1, "c2")},
			want:  []uint64{1, 2, 3, 0},
		},
		{
			name:  "a bound string does not match another live string",
			steps: []exchange{get(live1), get(live3), invite(live3, "c1"), invite(live3, "c2")},
			want:  []uint64{1, 2, 3, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMatcher(t,
				get(p1), get(p3), invite(p3, recordedCtx),
			)
			for i, step := range tt.steps {
				c, _ := matchLive(m, step)
				var got uint64
				if c != nil {
					got = c.Seq
				}
				if got != tt.want[i] {
					t.Fatalf("step %d (%s %s %s): matched seq %d, want %d", i, step.method, step.url, step.body, got, tt.want[i])
				}
			}
		})
	}
}

func TestMatchServesInOrderThenAgain(t *testing.T) {
	poll := exchange{"GET", "/v1.0/communications/calls/" + p1 + "/operations/" + p3, ""}
	other := exchange{"GET", "/v1.0/communications/calls/" + p1, ""}
	m := newTestMatcher(t, poll, other, poll, poll)
	live := exchange{"GET", "/v1.0/communications/calls/" + live1 + "/operations/" + live3, ""}
	want := []struct {
		seq   uint64
		first bool
	}{{1, true}, {3, true}, {4, true}, {4, false}, {4, false}}
	for i, w := range want {
		c, first := matchLive(m, live)
		if c == nil {
			t.Fatalf("request %d: no match", i)
		}
		if c.Seq != w.seq || first != w.first {
			t.Errorf("request %d: seq %d first %v, want seq %d first %v", i, c.Seq, first, w.seq, w.first)
		}
	}
	if c, first := matchLive(m, exchange{"GET", "/v1.0/communications/calls/" + live1, ""}); c == nil || c.Seq != 2 || !first {
		t.Errorf("other request after the polls: %+v first %v, want seq 2 first", c, first)
	}
}

// TestMatchIndex covers what the index must get right besides single
// matches: candidates dropped from a queue once bound elsewhere, classes of
// one key told apart by their fixed values, order across classes.
func TestMatchIndex(t *testing.T) {
	get := func(id string) exchange { return exchange{"GET", "/v1.0/communications/calls/" + id, ""} }
	post := func(mode, id string) exchange {
		return exchange{"POST", "/v1.0/x", `{"mode":"` + mode + `","id":"` + id + `"}`}
	}
	type step struct {
		live  exchange
		seq   uint64 // 0 = no match
		first bool
	}
	tests := []struct {
		name     string
		recorded []exchange
		steps    []step
	}{
		{
			name:     "left over candidates of a bound call wait for it",
			recorded: []exchange{get(p1), get(p1), get(p3)},
			steps: []step{
				{get(live1), 1, true}, {get(live3), 3, true}, {get(live1), 2, true},
				{get(live1), 2, false}, {get(live3), 3, false}, {get(live2Dashed), 0, false},
			},
		},
		{
			name:     "fixed values choose the class",
			recorded: []exchange{post("audio", p1), post("video", p3), post("audio", p3)},
			steps: []step{
				{post("video", live3), 2, true}, {post("audio", live3), 3, true},
				{post("audio", live1), 1, true}, {post("video", live1), 0, false},
			},
		},
		{
			name:     "the earliest fitting Candidate across classes",
			recorded: []exchange{post("audio", keptGUID), post("audio", p1), post("audio", keptGUID)},
			steps: []step{
				{post("audio", keptGUID), 1, true}, {post("audio", keptGUID), 2, true},
				{post("audio", keptGUID), 3, true}, {post("audio", keptGUID), 3, false},
				{post("audio", otherKept), 0, false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTestMatcher(t, tt.recorded...)
			for i, s := range tt.steps {
				c, first := matchLive(m, s.live)
				var got uint64
				if c != nil {
					got = c.Seq
				}
				if got != s.seq || (c != nil && first != s.first) {
					t.Fatalf("step %d (%s %s %s): seq %d first %v, want seq %d first %v", i, s.live.method, s.live.url, s.live.body, got, first, s.seq, s.first)
				}
			}
		})
	}
}
