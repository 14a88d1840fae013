package fault

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseValid(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		spec string
		want Spec // text and matcher are not compared
	}{
		{"bare drop", "drop", Spec{Action: Drop, P: 1, Code: 503, RetryAfter: -1}},
		{"class", "drop:match=established", Spec{Action: Drop, Match: "established", P: 1, Code: 503, RetryAfter: -1}},
		{"action case", "DUPLICATE:match=established", Spec{Action: Duplicate, Match: "established", P: 1, Code: 503, RetryAfter: -1}},
		{"duplicate by", "duplicate:by=100ms", Spec{Action: Duplicate, P: 1, By: Range{100 * ms, 100 * ms}, Code: 503, RetryAfter: -1}},
		{"duplicate by zero", "duplicate:by=0s", Spec{Action: Duplicate, P: 1, Code: 503, RetryAfter: -1}},
		{"delay", "delay:by=300ms", Spec{Action: Delay, P: 1, By: Range{300 * ms, 300 * ms}, Code: 503, RetryAfter: -1}},
		{"delay range and p", "delay:by=50ms..400ms,p=0.3", Spec{Action: Delay, P: 0.3, By: Range{50 * ms, 400 * ms}, Code: 503, RetryAfter: -1}},
		{"range of one point", "delay:by=1s..1s", Spec{Action: Delay, P: 1, By: Range{time.Second, time.Second}, Code: 503, RetryAfter: -1}},
		{"reorder nth", "reorder:match=roster,nth=2", Spec{Action: Reorder, Match: "roster", P: 1, Nth: 2, Code: 503, RetryAfter: -1}},
		{"status default", "status", Spec{Action: Status, P: 1, Code: 503, RetryAfter: -1}},
		{"issue example", "status:code=429,retry-after=1,match=*/participants/invite,nth=1",
			Spec{Action: Status, Match: "*/participants/invite", P: 1, Nth: 1, Code: 429, RetryAfter: time.Second}},
		{"retry-after zero", "status:retry-after=0", Spec{Action: Status, P: 1, Code: 503, RetryAfter: 0}},
		{"code 599", "status:code=599", Spec{Action: Status, P: 1, Code: 599, RetryAfter: -1}},
		{"method and space", "reset:match=POST */calls", Spec{Action: Reset, Match: "POST */calls", P: 1, Code: 503, RetryAfter: -1}},
		{"method and colon", "reset:match=POST:*/calls", Spec{Action: Reset, Match: "POST:*/calls", P: 1, Code: 503, RetryAfter: -1}},
		{"latency", "latency:by=1s,match=GET */operations/*",
			Spec{Action: Latency, Match: "GET */operations/*", P: 1, By: Range{time.Second, time.Second}, Code: 503, RetryAfter: -1}},
		{"comma inside a glob", "drop:match=*/a,b/c,p=0.5", Spec{Action: Drop, Match: "*/a,b/c", P: 0.5, Code: 503, RetryAfter: -1}},
		{"spaces around pairs", " drop: match = call established , p = 0 ", Spec{Action: Drop, Match: "call established", P: 0, Code: 503, RetryAfter: -1}},
		{"class with a slash in details", "drop:match=operation failed (500/0)", Spec{Action: Drop, Match: "operation failed (500/0)", P: 1, Code: 503, RetryAfter: -1}},
		{"star", "status:match=*", Spec{Action: Status, Match: "*", P: 1, Code: 503, RetryAfter: -1}},
		{"key case", "status:CODE=504", Spec{Action: Status, P: 1, Code: 504, RetryAfter: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.spec, err)
			}
			if got.text == "" || got.String() == "" {
				t.Errorf("Parse(%q) lost the spec's text", tt.spec)
			}
			// The want table gives the exported fields only: clear the
			// text (checked just above) and the compiled matcher.
			exported := got
			exported.text, exported.m = "", matcher{}
			if !reflect.DeepEqual(exported, tt.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.spec, exported, tt.want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		spec, problem string
	}{
		{"", "empty spec"},
		{"  ", "empty spec"},
		{"explode", `unknown action "explode"`},
		{"drop:", `nothing after "drop:": give key=value pairs or leave out the colon`},
		{"drop:colour=red", `unknown key "colour"`},
		{"drop:match", `key "match" has no value`},
		{"drop:match=", `key "match" has no value`},
		{"drop:match=roster,", "empty key=value pair (a stray comma?)"},
		{"drop:p=1,,nth=2", "empty key=value pair (a stray comma?)"},
		{"drop:p=0.1,p=0.2", `key "p" given twice`},
		{"drop:p=1.5", `p must be a number from 0 to 1, got "1.5"`},
		{"drop:p=-0.1", `p must be a number from 0 to 1, got "-0.1"`},
		{"drop:p=NaN", `p must be a number from 0 to 1, got "NaN"`},
		{"drop:p=half", `p must be a number from 0 to 1, got "half"`},
		{"drop:nth=0", `nth must be a whole number from 1 up, got "0"`},
		{"drop:nth=-2", `nth must be a whole number from 1 up, got "-2"`},
		{"drop:nth=1.5", `nth must be a whole number from 1 up, got "1.5"`},
		{"drop:by=1s", "by does not apply to drop (only to duplicate, delay, latency)"},
		{"reorder:by=1s", "by does not apply to reorder (only to duplicate, delay, latency)"},
		{"status:by=1s", "by does not apply to status (only to duplicate, delay, latency)"},
		{"reset:by=1s", "by does not apply to reset (only to duplicate, delay, latency)"},
		{"delay", "delay needs by= (a duration such as by=300ms, or a range such as by=100ms..2s)"},
		{"latency:p=0.5", "latency needs by= (a duration such as by=300ms, or a range such as by=100ms..2s)"},
		{"delay:by=0s", "by=0s: delay needs a delay above zero"},
		{"delay:by=soon", `by must be a duration (by=300ms) or a range (by=100ms..2s), got "soon"`},
		{"delay:by=300", `by must be a duration (by=300ms) or a range (by=100ms..2s), got "300"`},
		{"delay:by=1s..", `by must be a duration (by=300ms) or a range (by=100ms..2s), got "1s.."`},
		{"delay:by=-1s", `by must not be negative, got "-1s"`},
		{"delay:by=2s..1s", `by range "2s..1s" runs backwards: give the smaller bound first`},
		{"status:code=200", `code must be an HTTP error status from 400 to 599, got "200"`},
		{"status:code=600", `code must be an HTTP error status from 400 to 599, got "600"`},
		{"status:code=teapot", `code must be an HTTP error status from 400 to 599, got "teapot"`},
		{"drop:code=503", "code applies only to status, not to drop"},
		{"reset:retry-after=1", "retry-after applies only to status, not to reset"},
		{"status:retry-after=1.5", `retry-after must be whole seconds from 0 up, got "1.5"`},
		{"status:retry-after=-1", `retry-after must be whole seconds from 0 up, got "-1"`},
		{"status:match=established", "match=established is a notification class, but status acts on the bot's requests: give a path glob such as */participants/invite"},
		{"latency:by=1s,match=roster updated", "match=roster updated is a notification class, but latency acts on the bot's requests: give a path glob such as */participants/invite"},
		{"reset:match=POST ", "match=POST is a notification class, but reset acts on the bot's requests: give a path glob such as */participants/invite"},
		{"reset:match=POST:", "match=POST:: a method needs a path glob after it, such as POST */calls"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, err := Parse(tt.spec)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want %q", tt.spec, tt.problem)
			}
			want := `fault "` + tt.spec + `": ` + tt.problem + "; actions: drop, duplicate, delay, reorder (notifications), " +
				"status, reset, latency (requests); keys: match, p, nth, by, code, retry-after"
			if err.Error() != want {
				t.Errorf("Parse(%q):\n got %s\nwant %s", tt.spec, err, want)
			}
			var se *SpecError
			if !errors.As(err, &se) || se.Spec != tt.spec {
				t.Errorf("Parse(%q) error is not a *SpecError naming the spec: %#v", tt.spec, err)
			}
		})
	}
}

func TestMatchForms(t *testing.T) {
	tests := []struct {
		match string
		class string // a notification class to try ("" for none)
		path  string // a request's method and path ("POST /x") to try
		want  bool
	}{
		{"established", "call established", "", true},
		{"established", "call establishing", "", false},
		{"call established", "call established", "", true},
		{"Established", "call established", "", true},
		{"roster", "roster updated (2 participants)", "", true},
		{"roster updated", "roster updated (2 participants)", "", true},
		{"updated roster", "roster updated", "", false},
		{"operation", "operation failed (500/0)", "", true},
		{"operation failed", "operation completed", "", false},
		{"operation failed (500/0)", "operation failed (500/0)", "", true},
		{"operation *", "operation completed", "", true},
		{"*ted", "call terminated", "", true},
		{"terminated", "", "POST /api/calls", false},
		{"*/participants/invite", "", "POST /v1.0/communications/calls/c0ffee00-0000-4000-8000-000000000007/participants/invite", true},
		{"*/participants/invite", "", "POST /v1.0/communications/calls/x/participants", false},
		{"*/participants/invite", "", "POST /v1.0/communications/calls/x/participants/invite?a=b", true},
		{"*/Participants/INVITE", "", "POST /beta/app/calls/C0FFEE/participants/invite", true},
		{"POST */calls", "", "POST /v1.0/communications/calls", true},
		{"POST */calls", "", "GET /v1.0/communications/calls", false},
		{"post:*/calls", "", "POST /v1.0/communications/calls", true},
		{"POST */calls", "", "POST /v1.0/communications/calls/x/participants/invite", false},
		{"GET */operations/*", "", "GET /v1.0/communications/calls/x/operations/y", true},
		{"/v1.0/communications/calls", "", "POST /v1.0/communications/calls", true},
		{"/v1.0/communications/calls", "", "POST /beta/communications/calls", false},
		{"/*a*b*c", "", "GET /xaxbyc", true},
		{"/*a*b*c", "", "GET /xaxbycd", false},
		{"*a*b*c", "", "GET /xaxbyc", false}, // no "/": a class glob, and requests have no class
		{"*", "", "DELETE /anything", true},
		{"*", "call established", "", true},
	}
	for _, tt := range tests {
		m, err := compileMatch(tt.match)
		if err != nil {
			t.Fatalf("compileMatch(%q): %v", tt.match, err)
		}
		var h = notification(1, 0, "call", tt.class)
		if tt.path != "" {
			method, path, _ := cutSpace(tt.path)
			h = graph(1, method, path)
		}
		if got := m.selects(&h); got != tt.want {
			t.Errorf("match=%s on %q%q: got %v, want %v", tt.match, tt.class, tt.path, got, tt.want)
		}
	}
}

func TestRangeDrawsWithinBounds(t *testing.T) {
	r := Range{Min: 50 * time.Millisecond, Max: 400 * time.Millisecond}
	for _, u := range []float64{0, 0.25, 0.5, 0.999999, 1 - 1.0/(1<<53)} {
		if d := r.at(u); d < r.Min || d > r.Max {
			t.Errorf("at(%v) = %v, outside %v", u, d, r)
		}
	}
	wide := Range{Min: 0, Max: 1<<62 - 1}
	if d := wide.at(1 - 1.0/(1<<53)); d > wide.Max {
		t.Errorf("wide range draws %v past its Max %v", d, wide.Max)
	}
	if got := (Range{Min: time.Second, Max: time.Second}).String(); got != "1s" {
		t.Errorf("String of a point = %q", got)
	}
	if got := r.String(); got != "50ms..400ms" {
		t.Errorf("String of a range = %q", got)
	}
}
