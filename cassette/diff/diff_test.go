package diff_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/diff"
)

func TestIdentical(t *testing.T) {
	res := compare(t, session(1), session(1), diff.Options{})
	if !res.Equal() || res.Count != 0 {
		t.Fatalf("identical sessions differ:%s", dump(differences(res)))
	}
	if got, want := res.Summary(), "equal: 8 events each, timing within 50ms"; got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
}

// TestRenumberedPseudonyms: the same session with every id numbered from
// another start is equal; ids that stop corresponding are not.
func TestRenumberedPseudonyms(t *testing.T) {
	res := compare(t, session(1), session(7), diff.Options{})
	if !res.Equal() {
		t.Fatalf("renumbered sessions differ:%s", dump(differences(res)))
	}

	// In B the invite names the app as the user: the app of A is bound to
	// the app of B already (by the create call), so this is one difference.
	b := session(7)
	b[3].Request.Body = bytes.Replace(b[3].Request.Body, []byte(pid(10)), []byte(pid(8)), 1)
	got := differences(compare(t, session(1), b, diff.Options{}))
	if len(got) != 1 || got[0].Kind != diff.Body || got[0].Where != "request body" ||
		got[0].Field != "participants[0].identity.user.id" || got[0].seqA != 4 {
		t.Fatalf("want one request body difference at participants[0].identity.user.id of #4, got:%s", dump(got))
	}
}

// TestEachKind changes one thing at a time and checks it is found once,
// named with its kind and field, and nothing else is.
func TestEachKind(t *testing.T) {
	type edit func(b []*cassette.Event) []*cassette.Event
	tests := []struct {
		name string
		edit edit
		opts diff.Options
		want []found
	}{
		{
			name: "added request",
			edit: func(b []*cassette.Event) []*cassette.Event {
				get := graph(ms(450), "GET", "/v1.0/communications/calls/"+pid(3), "", 200, `{"id":"`+pid(3)+`"}`)
				return append(b[:3:3], append([]*cassette.Event{get}, b[3:]...)...)
			},
			want: []found{{0, 4, diff.Difference{Kind: diff.Added}}},
		},
		{
			name: "removed request",
			edit: func(b []*cassette.Event) []*cassette.Event { return append(b[:6:6], b[7:]...) },
			want: []found{{7, 0, diff.Difference{Kind: diff.Removed}}},
		},
		{
			name: "changed body field",
			edit: func(b []*cassette.Event) []*cassette.Event {
				b[3].Request.Body = bytes.Replace(b[3].Request.Body, []byte(`"default"`), []byte(`"voicemail"`), 1)
				return b
			},
			want: []found{{4, 4, diff.Difference{Kind: diff.Body, Where: "request body", Field: "participants[0].endpointType", A: `"default"`, B: `"voicemail"`}}},
		},
		{
			name: "field only in B",
			edit: func(b []*cassette.Event) []*cassette.Event {
				b[1].Response.Body = []byte(`{"@odata.type":"#microsoft.graph.call","id":"` + pid(3) + `","state":"establishing","direction":"outgoing"}`)
				return b
			},
			want: []found{{2, 2, diff.Difference{Kind: diff.Body, Where: "response body", Field: "direction", B: `"outgoing"`}}},
		},
		{
			name: "changed key with a dot",
			edit: func(b []*cassette.Event) []*cassette.Event {
				b[4].Request.Body = bytes.Replace(b[4].Request.Body, []byte(`microsoft.graph.inviteParticipantsOperation`), []byte(`microsoft.graph.commsOperation`), 1)
				return b
			},
			want: []found{{5, 5, diff.Difference{Kind: diff.Body, Where: "request body", Field: `value[0].resourceData["@odata.type"]`,
				A: `"#microsoft.graph.inviteParticipantsOperation"`, B: `"#microsoft.graph.commsOperation"`}}},
		},
		{
			name: "ignored key with a dot, gjson style",
			edit: func(b []*cassette.Event) []*cassette.Event {
				b[4].Request.Body = bytes.Replace(b[4].Request.Body, []byte(`microsoft.graph.inviteParticipantsOperation`), []byte(`microsoft.graph.commsOperation`), 1)
				return b
			},
			opts: diff.Options{IgnoreFields: []string{`value.#.resourceData.@odata\.type`}},
		},
		{
			name: "ignored key with a dot, as reported",
			edit: func(b []*cassette.Event) []*cassette.Event {
				b[4].Request.Body = bytes.Replace(b[4].Request.Body, []byte(`microsoft.graph.inviteParticipantsOperation`), []byte(`microsoft.graph.commsOperation`), 1)
				return b
			},
			opts: diff.Options{IgnoreFields: []string{`value[0].resourceData["@odata.type"]`}},
		},
		{
			name: "changed status",
			edit: func(b []*cassette.Event) []*cassette.Event { b[7].Response.Status = 404; return b },
			want: []found{{8, 8, diff.Difference{Kind: diff.Status, A: "204", B: "404"}}},
		},
		{
			name: "changed query",
			edit: func(b []*cassette.Event) []*cassette.Event {
				b[6].Request.URL = strings.Replace(b[6].Request.URL, "$top=10", "$top=20", 1)
				return b
			},
			want: []found{{7, 7, diff.Difference{Kind: diff.Query, Field: "$top", A: "10", B: "20"}}},
		},
		{
			name: "changed method",
			edit: func(b []*cassette.Event) []*cassette.Event { b[7].Request.Method = "PATCH"; return b },
			want: []found{{8, 8, diff.Difference{Kind: diff.Method, A: "DELETE", B: "PATCH"}}},
		},
		{
			name: "changed path",
			edit: func(b []*cassette.Event) []*cassette.Event {
				b[6].Request.URL = graphHost + "/v1.0/communications/calls/" + pid(3) + "/audioRoutingGroups"
				return b
			},
			want: []found{{7, 7, diff.Difference{Kind: diff.Path, A: "/v1.0/communications/calls/" + pid(3) + "/participants",
				B: "/v1.0/communications/calls/" + pid(3) + "/audioRoutingGroups"}}},
		},
		{
			name: "transport error",
			edit: func(b []*cassette.Event) []*cassette.Event { b[6].Error = "connection reset by peer"; return b },
			want: []found{{7, 7, diff.Difference{Kind: diff.Error, B: "connection reset by peer"}}},
		},
		{
			name: "abandoned by the bot in one session",
			edit: func(b []*cassette.Event) []*cassette.Event { b[6].Abandoned = 400 * time.Millisecond; return b },
			want: []found{{7, 7, diff.Difference{Kind: diff.Abandoned, B: "400ms"}}},
		},
		{
			name: "notification missing",
			edit: func(b []*cassette.Event) []*cassette.Event { return append(b[:5:5], b[6:]...) },
			want: []found{{6, 0, diff.Difference{Kind: diff.Removed}}},
		},
		{
			name: "notifications reordered",
			edit: func(b []*cassette.Event) []*cassette.Event {
				arriveSwapped(b, 4, 5)
				return b
			},
			opts: diff.Options{IgnoreTiming: true},
			want: []found{{5, 6, diff.Difference{Kind: diff.Order, A: "#5", B: "#6"}}},
		},
		{
			// A notification that arrives while a request is in flight is
			// committed after or before it as the answer happens to come:
			// the same session, in another commit order.
			name: "committed in another order, arrived in the same",
			edit: func(b []*cassette.Event) []*cassette.Event {
				b[4], b[5] = b[5], b[4]
				return b
			},
			opts: diff.Options{IgnoreTiming: true},
		},
		{
			name: "timing beyond tolerance",
			edit: func(b []*cassette.Event) []*cassette.Event {
				for _, e := range b[4:] { // the operation's notification and all after it come 80ms later
					e.Offset += ms(80)
				}
				return b
			},
			want: []found{{5, 5, diff.Difference{Kind: diff.Timing, A: "+450ms after the previous event", B: "+530ms (+80ms)"}}},
		},
		{
			name: "timing within tolerance",
			edit: func(b []*cassette.Event) []*cassette.Event {
				for _, e := range b[4:] {
					e.Offset += ms(30)
				}
				return b
			},
		},
		{
			name: "timing ignored",
			edit: func(b []*cassette.Event) []*cassette.Event {
				for _, e := range b[4:] {
					e.Offset += ms(3000)
				}
				return b
			},
			opts: diff.Options{IgnoreTiming: true},
		},
		{
			name: "tolerance given",
			edit: func(b []*cassette.Event) []*cassette.Event {
				for _, e := range b[4:] {
					e.Offset += ms(80)
				}
				return b
			},
			opts: diff.Options{Tolerance: ms(100)},
		},
		{
			name: "ignored path",
			edit: func(b []*cassette.Event) []*cassette.Event {
				get := graph(ms(450), "GET", "/v1.0/communications/calls/"+pid(3)+"/operations/"+pid(5), "", 200, `{}`)
				return append(b[:4:4], append([]*cassette.Event{get}, b[4:]...)...)
			},
			opts: diff.Options{Ignore: []string{"/v1.0/communications/calls/*/operations/*"}},
		},
		{
			name: "ignored field",
			edit: func(b []*cassette.Event) []*cassette.Event {
				b[3].Request.Body = bytes.Replace(b[3].Request.Body, []byte(`"ctx-1"`), []byte(`"ctx-2"`), 1)
				b[3].Request.Body = bytes.Replace(b[3].Request.Body, []byte(`"Person 1"`), []byte(`"Person 2"`), 1)
				return b
			},
			opts: diff.Options{IgnoreFields: []string{"clientContext", "participants[*].identity.user.displayName"}},
		},
		{
			name: "ignored query parameter",
			edit: func(b []*cassette.Event) []*cassette.Event {
				b[6].Request.URL = strings.Replace(b[6].Request.URL, "$top=10", "$top=20", 1)
				return b
			},
			opts: diff.Options{IgnoreFields: []string{"$top"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := compare(t, session(1), tt.edit(clone(session(1))), tt.opts)
			got := differences(res)
			if len(got) != len(tt.want) {
				t.Fatalf("%d differences, want %d:%s", len(got), len(tt.want), dump(got))
			}
			for i := range got {
				if got[i].String() != tt.want[i].String() {
					t.Errorf("difference %d:\n  got  %s\n  want %s", i, got[i], tt.want[i])
				}
			}
			if res.Equal() != (len(tt.want) == 0) {
				t.Errorf("Equal() = %v with %d differences", res.Equal(), len(got))
			}
		})
	}
}

// TestOneInsertedRequestOneLine: a request inserted in the middle of a long
// session is one line of the text output, not a cascade.
func TestOneInsertedRequestOneLine(t *testing.T) {
	var a []*cassette.Event
	for i := range 50 {
		for _, e := range session(1) {
			e.Offset += ms(2000 * i)
			a = append(a, e)
		}
	}
	b := clone(a)
	get := graph(a[200].Offset, "GET", "/v1.0/communications/calls/"+pid(3)+"/participants", "", 200, `{"value":[]}`)
	b = append(b[:200:200], append([]*cassette.Event{get}, b[200:]...)...)
	res := compare(t, a, b, diff.Options{})
	var out bytes.Buffer
	if err := res.WriteText(&out, false); err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "  ") {
			changes = append(changes, l)
		}
	}
	if len(changes) != 1 || !strings.HasPrefix(changes[0], "  + B#201  ") || !strings.HasSuffix(changes[0], "added") {
		t.Fatalf("want one added line for B#201, got:\n%s", out.String())
	}
}

func TestSummary(t *testing.T) {
	b := clone(session(1))
	b[7].Response.Status = 500
	b = append(b[:6:6], b[7:]...)
	res := compare(t, session(1), b, diff.Options{})
	want := "2 differences (1 removed, 1 status) between 8 and 7 events, timing within 50ms"
	if got := res.Summary(); got != want {
		t.Errorf("summary %q, want %q", got, want)
	}
	if res.Equal() {
		t.Error("Equal() with differences")
	}
}

// TestSampleCassettes compares two of the sample cassettes the tool
// recorded: a single and a multiple invite differ in the invite and in
// what followed it, not in the call set-up.
func TestSampleCassettes(t *testing.T) {
	single, multiple := filepath.Join("..", "..", "cassettes", "single-invite.bolt"), filepath.Join("..", "..", "cassettes", "multiple-invite.bolt")
	res, err := diff.Files(single, multiple, diff.Options{IgnoreTiming: true})
	if err != nil {
		t.Fatal(err)
	}
	got := differences(res)
	if len(got) == 0 {
		t.Fatal("single and multiple invite compare equal")
	}
	fields := map[string]bool{}
	for _, f := range got {
		if f.Kind != diff.Body || f.seqA < 5 {
			t.Errorf("unexpected difference %s", f)
		}
		fields[f.Where+" "+f.Field] = true
	}
	for _, want := range []string{"request body participants[1]", "request body participants[2]", "request body value[0].resourceData[2]"} {
		if !fields[want] {
			t.Errorf("no difference at %s:%s", want, dump(got))
		}
	}
	same, err := diff.Files(single, single, diff.Options{})
	if err != nil || !same.Equal() {
		t.Fatalf("a sample cassette differs from itself: %v%s", err, dump(differences(same)))
	}
}

func TestJSONSchema(t *testing.T) {
	b := clone(session(1))
	b[7].Response.Status = 404
	res := compare(t, session(1), b, diff.Options{})
	var out bytes.Buffer
	if err := res.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		A, B struct {
			Path     string
			Events   int
			Compared int
		}
		Equal       bool
		Summary     string
		ToleranceNS int64 `json:"tolerance_ns"`
		Differences int
		Counts      map[string]int
		Calls       []struct {
			A, B string
			Rows []struct {
				A, B *struct {
					Seq      uint64
					Kind     string
					OffsetNS int64 `json:"offset_ns"`
					Method   string
					Path     string
					Status   int
				}
				Differences []struct{ Kind, Where, Field, A, B string }
			}
		}
	}
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if doc.Equal || doc.Differences != 1 || doc.Counts["status"] != 1 || doc.ToleranceNS != int64(diff.DefaultTolerance) || doc.A.Events != 8 {
		t.Fatalf("document %+v", doc)
	}
	if len(doc.Calls) != 1 || doc.Calls[0].A != pid(3) || len(doc.Calls[0].Rows) != 1 {
		t.Fatalf("calls %+v: want the one row that differs", doc.Calls)
	}
	row := doc.Calls[0].Rows[0]
	if row.A == nil || row.B == nil || row.A.Seq != 8 || row.B.Method != "DELETE" || row.B.Status != 404 || row.A.OffsetNS != int64(ms(1500)) ||
		len(row.Differences) != 1 || row.Differences[0].Kind != "status" || row.Differences[0].A != "204" || row.Differences[0].B != "404" {
		t.Errorf("row %+v", row)
	}
}

func TestTextColor(t *testing.T) {
	b := clone(session(1))
	b[7].Response.Status = 404
	res := compare(t, session(1), b, diff.Options{})
	var plain, color bytes.Buffer
	if err := res.WriteText(&plain, false); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteText(&color, true); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("plain text holds escape sequences:\n%s", plain.String())
	}
	if !strings.Contains(color.String(), "\x1b[33mstatus\x1b[0m") {
		t.Errorf("coloured text does not colour the difference:\n%q", color.String())
	}
	if !strings.Contains(plain.String(), "      status  204 → 404\n") {
		t.Errorf("plain text lacks the status line:\n%s", plain.String())
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []diff.Options{
		{Ignore: []string{"/v1.0/["}},
		{IgnoreFields: []string{"participants[x]"}},
		{IgnoreFields: []string{""}},
		{Tolerance: -1},
	} {
		if err := o.Validate(); !errors.Is(err, diff.ErrBadOption) {
			t.Errorf("%+v: Validate() = %v, want ErrBadOption", o, err)
		}
		a := write(t, session(1))
		if _, err := diff.Files(a, a, o); !errors.Is(err, diff.ErrBadOption) {
			t.Errorf("%+v: Files() = %v, want ErrBadOption", o, err)
		}
	}
}

func TestBadInput(t *testing.T) {
	good := write(t, session(1))
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.bolt")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a cassette "), 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want error
	}{
		{filepath.Join(dir, "missing.bolt"), cassette.ErrNotFound},
		{junk, cassette.ErrCorrupt},
	} {
		if _, err := diff.Files(good, tt.path, diff.Options{}); !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.path) {
			t.Errorf("B %s: %v, want %v naming the file", tt.path, err, tt.want)
		}
		if _, err := diff.Files(tt.path, good, diff.Options{}); !errors.Is(err, tt.want) {
			t.Errorf("A %s: %v, want %v", tt.path, err, tt.want)
		}
	}
}
