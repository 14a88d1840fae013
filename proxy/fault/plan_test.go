package fault

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/cassette/timeline"
	"github.com/tidwall/gjson"
)

// notification builds the head of a recorded notification of call, with
// its classes.
func notification(seq, trigger uint64, call string, kinds ...string) timeline.Head {
	var ks []string
	for _, k := range kinds {
		if k != "" {
			ks = append(ks, k)
		}
	}
	return timeline.Head{Seq: seq, Kind: cassette.KindNotification, Trigger: trigger, Method: "POST",
		Path: "/api/calls", Call: call, Kinds: ks}
}

// graph builds the head of a recorded Graph exchange.
func graph(seq uint64, method, path string) timeline.Head {
	return timeline.Head{Seq: seq, Kind: cassette.KindGraph, Method: method, Path: path}
}

func cutSpace(s string) (string, string, bool) { return strings.Cut(s, " ") }

func mustParse(t testing.TB, specs ...string) []Spec {
	t.Helper()
	var out []Spec
	for _, s := range specs {
		sp, err := Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, sp)
	}
	return out
}

func mustPlan(t testing.TB, seed int64, heads []timeline.Head, specs ...string) (*Plan, []Warning) {
	t.Helper()
	p, warns, err := New(seed, mustParse(t, specs...), heads)
	if err != nil {
		t.Fatal(err)
	}
	return p, warns
}

// session is a small recorded call: create, establishing/established,
// invite, its operation and roster, a second call's termination, and a
// polled operation.
func session() []timeline.Head {
	const call, other = "call-1", "call-2"
	return []timeline.Head{
		{Seq: 1, Kind: cassette.KindToken, Method: "POST", Path: "/tenant/oauth2/v2.0/token"},
		graph(2, "POST", "/v1.0/communications/calls"),
		notification(3, 2, call, "call establishing"),
		notification(4, 2, call, "call established"),
		graph(5, "POST", "/v1.0/communications/calls/call-1/participants/invite"),
		graph(6, "GET", "/v1.0/communications/calls/call-1/operations/op-1"),
		notification(7, 5, call, "operation completed"),
		notification(8, 5, other, "call terminated"),
		notification(9, 5, call, "roster updated (2 participants)"),
		notification(10, 5, other, "call deleted"),
		graph(11, "POST", "/v1.0/communications/calls/call-1/participants/invite"),
		notification(12, 11, call, "operation failed (500/0)"),
		graph(13, "DELETE", "/v1.0/communications/calls/call-1"),
		notification(14, 13, call, "call terminated", "call deleted"),
	}
}

// faulted lists the notifications of p with their action, in seq order:
// "4:duplicate 7:drop".
func faulted(p *Plan, heads []timeline.Head) string {
	var out []string
	for _, h := range heads {
		if f := p.Notification(h.Seq); f.Action != None {
			out = append(out, fmt.Sprintf("%d:%s", h.Seq, f.Action))
		}
	}
	return strings.Join(out, " ")
}

func TestNotificationMatchByClass(t *testing.T) {
	heads := session()
	tests := []struct {
		spec string
		want string
	}{
		{"duplicate:match=established", "4:duplicate"},
		{"drop:match=terminated", "8:drop 14:drop"},
		{"drop:match=call deleted", "10:drop 14:drop"},
		{"drop:match=operation", "7:drop 12:drop"},
		{"drop:match=operation failed", "12:drop"},
		{"drop:match=roster", "9:drop"},
		{"drop:match=call", "3:drop 4:drop 8:drop 10:drop 14:drop"},
		{"drop:match=call*", "3:drop 4:drop 8:drop 10:drop 14:drop"},
		{"drop", "3:drop 4:drop 7:drop 8:drop 9:drop 10:drop 12:drop 14:drop"},
		{"drop:match=*/api/calls", "3:drop 4:drop 7:drop 8:drop 9:drop 10:drop 12:drop 14:drop"},
		{"drop:match=terminated,nth=2", "14:drop"},
		{"drop:match=*,nth=3", "7:drop"},
		{"drop:match=roster,p=0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			p, warns := mustPlan(t, 1, heads, tt.spec)
			if got := faulted(p, heads); got != tt.want {
				t.Errorf("faulted: got %q, want %q", got, tt.want)
			}
			if len(warns) != 0 {
				t.Errorf("unexpected warnings: %v", warns)
			}
			for seq := range uint64(20) {
				if f := p.Request(seq, 1); f.Action != None {
					t.Errorf("notification spec faulted request %d: %+v", seq, f)
				}
			}
		})
	}
}

func TestRequestMatchByGlob(t *testing.T) {
	heads := session()
	tests := []struct {
		spec string
		want []uint64 // recorded exchanges whose first occurrence gets the fault
	}{
		{"status:match=*/participants/invite", []uint64{5, 11}},
		{"status:match=POST */participants/invite", []uint64{5, 11}},
		{"status:match=GET */participants/invite", nil},
		{"status:match=POST */calls", []uint64{2}},
		{"reset:match=POST:*/calls", []uint64{2}},
		{"status:match=DELETE *", []uint64{13}},
		{"latency:by=1s,match=*/operations/*", []uint64{6}},
		{"status", []uint64{2, 5, 6, 11, 13}}, // Graph requests only: never the token endpoint (#1)
		{"status:match=*/participants/invite,nth=2", []uint64{11}},
		{"status:match=/api/calls", nil}, // notifications are not requests
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			p, _ := mustPlan(t, 1, heads, tt.spec)
			var got []uint64
			for seq := range uint64(20) {
				if p.Request(seq, 1).Action != None {
					got = append(got, seq)
				}
				if p.Notification(seq).Action != None {
					t.Errorf("request spec faulted notification %d", seq)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("faulted requests: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRequestFaultFields(t *testing.T) {
	p, _ := mustPlan(t, 7, session(), "status:code=429,retry-after=1,match=*/participants/invite,nth=1")
	f := p.Request(5, 1)
	if f.Action != Status || f.Code != 429 || f.RetryAfter != time.Second {
		t.Fatalf("Request(5, 1) = %+v, want status 429 with Retry-After 1s", f)
	}
	if f.RetryAfterValue() != "1" || f.Header().Get("Retry-After") != "1" {
		t.Errorf("Retry-After value %q, header %q; want 1", f.RetryAfterValue(), f.Header().Get("Retry-After"))
	}
	// nth=1 faults the first occurrence only: the bot's retry gets the recorded answer.
	if g := p.Request(5, 2); g.Action != None {
		t.Errorf("retry of the Nth exchange faulted: %+v", g)
	}
	if g := p.Request(11, 1); g.Action != None {
		t.Errorf("second invite faulted with nth=1: %+v", g)
	}
	now := time.Date(2026, 12, 6, 19, 30, 5, 123, time.FixedZone("x", 3600))
	body := f.Body(now)
	res := gjson.ParseBytes(body)
	if res.Get("error.code").String() != "activityLimitReached" || res.Get("error.message").String() == "" ||
		res.Get("error.innerError.date").String() != "2026-12-06T18:30:05" ||
		res.Get("error.innerError.request-id").String() != f.RequestID() {
		t.Errorf("error body %s", body)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(f.RequestID()) {
		t.Errorf("request-id %q is not a version-4 GUID", f.RequestID())
	}
	if f.Header().Get("Request-Id") != f.RequestID() || f.Header().Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", f.Header())
	}
	// Same seed, same decision: same request-id.
	p2, _ := mustPlan(t, 7, session(), "status:code=429,retry-after=1,match=*/participants/invite,nth=1")
	if p2.Request(5, 1).RequestID() != f.RequestID() {
		t.Error("request-id differs between two plans of the same seed")
	}

	plain, _ := mustPlan(t, 7, session(), "status:match=*/participants/invite")
	g := plain.Request(5, 1)
	if g.Code != 503 || g.RetryAfterValue() != "" || g.Header().Get("Retry-After") != "" {
		t.Errorf("default status: %+v, Retry-After %q", g, g.Header().Get("Retry-After"))
	}
	if c := gjson.GetBytes(g.Body(now), "error.code").String(); c != "serviceNotAvailable" {
		t.Errorf("503 code %q", c)
	}
}

func TestErrorBodyCodes(t *testing.T) {
	for status, code := range map[int]string{
		429: "activityLimitReached", 503: "serviceNotAvailable", 504: "gatewayTimeout",
		500: "generalException", 404: "itemNotFound", 403: "accessDenied", 499: "generalException",
	} {
		b := ErrorBody(status, "rid", time.Unix(0, 0))
		if !json.Valid(b) {
			t.Fatalf("ErrorBody(%d) is not JSON: %s", status, b)
		}
		res := gjson.ParseBytes(b)
		if got := res.Get("error.code").String(); got != code {
			t.Errorf("ErrorBody(%d) code %q, want %q", status, got, code)
		}
		if res.Get("error.innerError.request-id").String() != "rid" || res.Get("error.innerError.date").String() != "1970-01-01T00:00:00" {
			t.Errorf("ErrorBody(%d) innerError: %s", status, b)
		}
	}
}

// TestWithholdingSparesTheRetry shows that a status or reset never hits two
// occurrences in a row of one exchange, so a retrying bot always gets the
// recorded answer, while later occurrences (polls) keep drawing.
func TestWithholdingSparesTheRetry(t *testing.T) {
	heads := session()
	// p=1: every selected exchange fails once; its retry, and every later
	// occurrence, gets the recorded answer.
	p, _ := mustPlan(t, 3, heads, "status:match=*/operations/*")
	if got := p.Request(6, 1); got.Action != Status {
		t.Fatalf("occurrence 1: %+v, want status", got)
	}
	for occ := 2; occ <= 100; occ++ {
		if f := p.Request(6, occ); f.Action != None {
			t.Fatalf("p=1: occurrence %d faulted again: %+v", occ, f)
		}
	}
	// p<1 on two withholding specs: later occurrences (polls) keep drawing,
	// but never two in a row are withheld, whichever spec drew them.
	p, _ = mustPlan(t, 3, heads, "status:match=*/operations/*,p=0.5", "reset:match=*/operations/*,p=0.5")
	withheld := map[Action]int{}
	for occ := 2; occ <= 2000; occ++ {
		f, prev := p.Request(6, occ), p.Request(6, occ-1)
		if f.Action.withholds() && prev.Action.withholds() {
			t.Fatalf("occurrences %d and %d both withheld (%s, %s)", occ-1, occ, prev.Action, f.Action)
		}
		withheld[f.Action]++
	}
	if withheld[Status] < 150 || withheld[Reset] < 60 {
		t.Errorf("later occurrences withheld: %v; both specs must keep drawing", withheld)
	}

	lat, _ := mustPlan(t, 3, heads, "latency:by=10ms..20ms,match=*/operations/*")
	for occ := 1; occ <= 50; occ++ {
		f := lat.Request(6, occ)
		if f.Action != Latency || f.By < 10*time.Millisecond || f.By > 20*time.Millisecond {
			t.Fatalf("latency occurrence %d: %+v", occ, f)
		}
	}
}

func TestProbability(t *testing.T) {
	const n = 10000
	heads := make([]timeline.Head, 0, 2*n)
	for i := range uint64(n) {
		heads = append(heads, notification(2*i+1, 0, fmt.Sprint("call-", i), "roster updated"))
		heads = append(heads, graph(2*i+2, "GET", fmt.Sprintf("/v1.0/communications/calls/c%d/participants", i)))
	}
	p, _ := mustPlan(t, 42, heads, "drop:p=0.3", "latency:by=1ms,p=0.3")
	notes, reqs, second := 0, 0, 0
	for i := range uint64(n) {
		if p.Notification(2*i+1).Action == Drop {
			notes++
		}
		if p.Request(2*i+2, 1).Action == Latency {
			reqs++
		}
		if p.Request(2*i+2, 2).Action == Latency {
			second++
		}
	}
	for name, hits := range map[string]int{"notifications": notes, "requests": reqs, "second occurrences": second} {
		if f := float64(hits) / n; math.Abs(f-0.3) > 0.02 {
			t.Errorf("p=0.3 on %d %s hit %.4f of them", n, name, f)
		}
	}
}

func TestNth(t *testing.T) {
	heads := session()
	p, warns := mustPlan(t, 1, heads, "delay:by=1s,match=operation,nth=2", "status:match=*/participants/invite,nth=2,code=504")
	if got := faulted(p, heads); got != "12:delay" {
		t.Errorf("nth=2 of operation: %q", got)
	}
	if f := p.Request(11, 1); f.Action != Status || f.Code != 504 {
		t.Errorf("nth=2 of invite: %+v", f)
	}
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	// nth faults only the first occurrence of the Nth exchange, whatever
	// the action: a later occurrence of it is answered as recorded.
	p, _ = mustPlan(t, 1, heads, "latency:by=1s,match=*/participants/invite,nth=1")
	if f, g := p.Request(5, 1), p.Request(5, 2); f.Action != Latency || g.Action != None {
		t.Errorf("latency nth=1: occurrence 1 %+v, occurrence 2 %+v", f, g)
	}
	// nth counts matching events even when an earlier spec took one.
	p, _ = mustPlan(t, 1, heads, "drop:match=operation,nth=1", "delay:by=1s,match=operation,nth=1")
	if got := faulted(p, heads); got != "7:drop" {
		t.Errorf("first spec must win on #7: %q", got)
	}
}

func TestWarnings(t *testing.T) {
	heads := session()
	tests := []struct {
		spec, want string
	}{
		{"duplicate:match=establishd", `fault "duplicate:match=establishd": match=establishd selects no notification; ` +
			"classes in the cassette: call establishing, call established, operation completed, call terminated, roster updated, call deleted, operation failed"},
		{"status:match=*/participants/remove", `fault "status:match=*/participants/remove": match=*/participants/remove selects no Graph request; ` +
			"requests in the cassette: POST /v1.0/communications/calls, POST /v1.0/communications/calls/call-1/participants/invite, " +
			"GET /v1.0/communications/calls/call-1/operations/op-1, DELETE /v1.0/communications/calls/call-1"},
		{"drop:match=roster,nth=3", `fault "drop:match=roster,nth=3": nth=3, but match selects only 1 notification(s)`},
		{"reset:match=POST */calls,nth=2", `fault "reset:match=POST */calls,nth=2": nth=2, but match selects only 1 Graph request(s)`},
		{"reorder:match=call deleted", `fault "reorder:match=call deleted": no selected notification has a later one of the same call to swap with`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			_, warns := mustPlan(t, 1, heads, tt.spec)
			if len(warns) != 1 || warns[0].String() != tt.want {
				t.Errorf("warnings %q,\nwant %q", warns, tt.want)
			}
		})
	}
	_, warns := mustPlan(t, 1, []timeline.Head{graph(1, "GET", "/x")}, "drop")
	if len(warns) != 1 || !strings.HasSuffix(warns[0].Message, "classes in the cassette: none (no notification)") {
		t.Errorf("no notifications: %v", warns)
	}
	if _, _, err := New(1, []Spec{{}}, heads); err == nil {
		t.Error("New accepted a Spec not made by Parse")
	}
	if _, _, err := New(1, mustParse(t, "drop"), []timeline.Head{graph(1<<40, "GET", "/x")}); err == nil {
		t.Error("New accepted a seq far past the number of events")
	}
}

// decide asks every question a replay could ask of p (each notification,
// and each request's first occurrences) and lists the answers.
func decide(p *Plan, heads []timeline.Head) []string {
	var out []string
	for _, h := range heads {
		if h.Kind == cassette.KindNotification {
			out = append(out, fmt.Sprintf("n%d %+v", h.Seq, p.Notification(h.Seq)))
			continue
		}
		for occ := 1; occ <= 3; occ++ {
			out = append(out, fmt.Sprintf("r%d/%d %+v", h.Seq, occ, p.Request(h.Seq, occ)))
		}
	}
	return out
}

func bigSession(n int) []timeline.Head {
	var heads []timeline.Head
	seq := uint64(0)
	for c := range n {
		call := fmt.Sprint("call-", c)
		seq++
		heads = append(heads, graph(seq, "POST", "/v1.0/communications/calls/"+call+"/participants/invite"))
		for _, k := range []string{"operation completed", "roster updated", "call established"} {
			seq++
			heads = append(heads, notification(seq, seq-1, call, k))
		}
	}
	return heads
}

var determinismSpecs = []string{
	"duplicate:match=established,p=0.5,by=0s..50ms",
	"delay:by=50ms..400ms,p=0.3",
	"reorder:match=roster,p=0.4",
	"drop:p=0.1",
	"status:code=429,retry-after=1,match=*/participants/invite,p=0.3",
	"reset:p=0.2",
	"latency:by=1ms..1s,p=0.5",
}

func TestDeterminism(t *testing.T) {
	heads := bigSession(200)
	p1, _ := mustPlan(t, 1234567, heads, determinismSpecs...)
	want := decide(p1, heads)

	// Another plan from the same seed, its heads given in another order,
	// asked in a shuffled order from several goroutines at once.
	shuffled := slices.Clone(heads)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	p2, _ := mustPlan(t, 1234567, shuffled, determinismSpecs...)
	type question struct {
		i   int // index in want
		seq uint64
		occ int // 0 for a notification
	}
	var qs []question
	for _, h := range heads {
		if h.Kind == cassette.KindNotification {
			qs = append(qs, question{len(qs), h.Seq, 0})
			continue
		}
		for occ := 1; occ <= 3; occ++ {
			qs = append(qs, question{len(qs), h.Seq, occ})
		}
	}
	// Each worker answers every question, in its own shuffled order, while
	// the others do the same.
	const workers = 4
	got := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		order := slices.Clone(qs)
		rand.New(rand.NewPCG(uint64(w), 9)).Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		got[w] = make([]string, len(qs))
		wg.Go(func() {
			for _, q := range order {
				if q.occ == 0 {
					got[w][q.i] = fmt.Sprintf("n%d %+v", q.seq, p2.Notification(q.seq))
				} else {
					got[w][q.i] = fmt.Sprintf("r%d/%d %+v", q.seq, q.occ, p2.Request(q.seq, q.occ))
				}
			}
		})
	}
	wg.Wait()
	for w := range workers {
		for i := range want {
			if got[w][i] != want[i] {
				t.Fatalf("worker %d: decision %d differs:\n got %s\nwant %s", w, i, got[w][i], want[i])
			}
		}
	}
	faults := 0
	for _, d := range want {
		if !strings.Contains(d, "Action:none") {
			faults++
		}
	}
	if faults < len(want)/10 {
		t.Fatalf("only %d of %d decisions are faults: the test proves little", faults, len(want))
	}

	// Another seed: different decisions.
	p3, _ := mustPlan(t, 7654321, heads, determinismSpecs...)
	other := decide(p3, heads)
	same := 0
	for i := range want {
		if other[i] == want[i] {
			same++
		}
	}
	if same == len(want) {
		t.Error("another seed gave the same decisions")
	}
}

func TestRangeDrawsDeterministic(t *testing.T) {
	heads := bigSession(300)
	p, _ := mustPlan(t, 5, heads, "delay:by=50ms..400ms")
	q, _ := mustPlan(t, 5, heads, "delay:by=50ms..400ms")
	var lo, hi time.Duration = time.Hour, 0
	distinct := map[time.Duration]bool{}
	for _, h := range heads {
		if h.Kind != cassette.KindNotification {
			continue
		}
		f := p.Notification(h.Seq)
		if f.Action != Delay || f.By < 50*time.Millisecond || f.By > 400*time.Millisecond {
			t.Fatalf("#%d: %+v outside 50ms..400ms", h.Seq, f)
		}
		if g := q.Notification(h.Seq); g.By != f.By {
			t.Fatalf("#%d drew %v then %v from one seed", h.Seq, f.By, g.By)
		}
		lo, hi = min(lo, f.By), max(hi, f.By)
		distinct[f.By] = true
	}
	// 900 uniform draws cover the range: a constant or narrow draw fails.
	if lo > 60*time.Millisecond || hi < 390*time.Millisecond || len(distinct) < 800 {
		t.Errorf("draws span %v..%v with %d distinct values", lo, hi, len(distinct))
	}
}

func TestReorderPairsWithinOneCall(t *testing.T) {
	heads := session()
	p, _ := mustPlan(t, 1, heads, "reorder")
	// Call 1: 3,4,7,9,12,14; call 2: 8,10. Pairs in recorded order, each
	// notification in one pair at most.
	want := map[uint64][2]uint64{3: {4, 1}, 4: {3, 0}, 7: {9, 1}, 9: {7, 0}, 12: {14, 1}, 14: {12, 0}, 8: {10, 1}, 10: {8, 0}}
	for _, h := range heads {
		f := p.Notification(h.Seq)
		w, ok := want[h.Seq]
		if !ok {
			if f.Action != None {
				t.Errorf("#%d: %+v, want none", h.Seq, f)
			}
			continue
		}
		if f.Action != Reorder || f.Partner != w[0] || f.Wait != (w[1] == 1) {
			t.Errorf("#%d: %+v, want reorder with #%d (wait %v)", h.Seq, f, w[0], w[1] == 1)
		}
	}
	// A pair never crosses calls, and a partner taken by an earlier spec is
	// not swapped.
	p, _ = mustPlan(t, 1, heads, "drop:match=roster", "reorder:match=operation completed")
	if f := p.Notification(7); f.Action != None {
		t.Errorf("#7 reordered with a dropped partner: %+v", f)
	}
	p, _ = mustPlan(t, 1, heads, "reorder:match=call terminated,nth=1")
	if f := p.Notification(8); f.Partner != 10 {
		t.Errorf("#8 (call 2) paired with #%d, want #10 of its own call", f.Partner)
	}
}

func TestRecords(t *testing.T) {
	heads := session()
	p, _ := mustPlan(t, 1, heads, "duplicate:match=established", "delay:by=250ms,match=operation completed",
		"drop:match=terminated", "reorder:match=roster", "status:code=429,retry-after=2,match=*/participants/invite,nth=1",
		"reset:match=DELETE *", "latency:by=1s,match=*/operations/*")
	recs := []Record{
		p.Notification(4).Record(4, 5*time.Millisecond),
		p.Notification(7).Record(7, 6*time.Millisecond),
		p.Notification(8).Record(8, 7*time.Millisecond),
		p.Notification(9).Record(9, 8*time.Millisecond),
		p.Notification(12).Record(12, 9*time.Millisecond),
		p.Request(5, 1).Record(5, 1, 10*time.Millisecond),
		p.Request(13, 1).Record(13, 1, 11*time.Millisecond),
		p.Request(6, 2).Record(6, 2, 12*time.Millisecond),
	}
	recs[0].BotStatus = http.StatusAccepted
	b, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"seq":4,"action":"duplicate","detail":"delivered twice, the copy 0s after the bot answered the first","at_ns":5000000,"bot_status":202,"spec":"duplicate:match=established"},` +
		`{"seq":7,"action":"delay","detail":"delivered 250ms late","at_ns":6000000,"spec":"delay:by=250ms,match=operation completed"},` +
		`{"seq":8,"action":"drop","detail":"not delivered","at_ns":7000000,"spec":"drop:match=terminated"},` +
		`{"seq":9,"action":"reorder","detail":"held and delivered right after #12, which was recorded after it","at_ns":8000000,"spec":"reorder:match=roster"},` +
		`{"seq":12,"action":"reorder","detail":"delivered before #9, which was recorded before it","at_ns":9000000,"spec":"reorder:match=roster"},` +
		`{"seq":5,"action":"status","detail":"answered 429 activityLimitReached instead of the recorded answer, Retry-After: 2","at_ns":10000000,"occurrence":1,"spec":"status:code=429,retry-after=2,match=*/participants/invite,nth=1"},` +
		`{"seq":13,"action":"reset","detail":"connection closed without an answer","at_ns":11000000,"occurrence":1,"spec":"reset:match=DELETE *"},` +
		`{"seq":6,"action":"latency","detail":"answered 1s later than recorded","at_ns":12000000,"occurrence":2,"spec":"latency:by=1s,match=*/operations/*"}]`
	if string(b) != want {
		t.Errorf("records:\n got %s\nwant %s", b, want)
	}
}

func TestSeed(t *testing.T) {
	if got := SeedLine(1234567); got != "faults: seed 1234567 — rerun with --seed 1234567" {
		t.Errorf("SeedLine = %q", got)
	}
	seen := map[int64]bool{}
	for range 100 {
		s := RandomSeed()
		if s < 1 || s >= 1<<31 {
			t.Fatalf("RandomSeed() = %d, outside 1..2^31-1", s)
		}
		seen[s] = true
	}
	if len(seen) < 95 {
		t.Errorf("100 random seeds gave only %d distinct values", len(seen))
	}
}

func TestEmptyPlan(t *testing.T) {
	p, warns, err := New(1, nil, session())
	if err != nil || len(warns) != 0 {
		t.Fatalf("New with no specs: %v %v", warns, err)
	}
	for seq := range uint64(20) {
		if p.Notification(seq) != (NotificationFault{}) || p.Request(seq, 1) != (RequestFault{}) {
			t.Fatalf("a plan with no specs faulted #%d", seq)
		}
	}
	q, _ := mustPlan(t, 1, session(), "drop")
	if q.Notification(1000) != (NotificationFault{}) || q.Request(1000, 1) != (RequestFault{}) || q.Request(5, 0) != (RequestFault{}) {
		t.Error("unknown seq or occurrence 0 faulted")
	}
}

// TestSampleCassettes reads real recorded cassettes: HeadOf gives each
// event the class show prints, and specs select by it.
func TestSampleCassettes(t *testing.T) {
	path := filepath.Join("..", "..", "cassettes", "replace-call.bolt")
	r := cassettetest.Open(t, path)
	want, err := timeline.Heads(r)
	if err != nil {
		t.Fatal(err)
	}
	var heads []timeline.Head
	err = r.EachHead(func(e *cassette.Event) error {
		heads = append(heads, timeline.HeadOf(e))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(heads) != len(want) {
		t.Fatalf("%d heads from HeadOf, %d from Heads", len(heads), len(want))
	}
	for i := range want {
		if want[i].Kind == cassette.KindNotification && !slices.Equal(heads[i].Kinds, want[i].Kinds) || heads[i].Call != want[i].Call && heads[i].Kind == cassette.KindNotification {
			t.Errorf("#%d: HeadOf %+v, Heads %+v", want[i].Seq, heads[i], want[i])
		}
	}
	p, warns := mustPlan(t, 1, heads, "duplicate:match=established", "drop:match=terminated", "reorder:match=operation",
		"status:code=429,retry-after=1,match=*/participants/invite,nth=1")
	if len(warns) != 0 {
		t.Errorf("warnings: %v", warns)
	}
	if got := faulted(p, heads); got != "4:duplicate 6:reorder 7:reorder 8:drop" {
		t.Errorf("faults on replace-call.bolt: %q", got)
	}
	if f := p.Request(5, 1); f.Action != Status {
		t.Errorf("invite #5: %+v", f)
	}
	_, warns = mustPlan(t, 1, heads, "drop:match=incoming")
	if len(warns) != 1 || !strings.HasSuffix(warns[0].Message,
		"classes in the cassette: call establishing, call established, operation completed, roster updated, call terminated, call deleted") {
		t.Errorf("warning: %v", warns)
	}
}

func TestCounter(t *testing.T) {
	p, _ := mustPlan(t, 1, session(), "reset:match=*/participants/invite")
	c := p.Counter()
	const workers, each = 4, 250
	var wg sync.WaitGroup
	seen := make([][]int, workers)
	for w := range workers {
		wg.Go(func() {
			for range each {
				seen[w] = append(seen[w], c.Next(5))
			}
		})
	}
	wg.Wait()
	all := slices.Concat(seen...)
	slices.Sort(all)
	for i, n := range all {
		if n != i+1 {
			t.Fatalf("occurrences %v...: want each of 1..%d once", all[:min(len(all), 10)], workers*each)
		}
	}
	if c.Next(11) != 1 || c.Next(11) != 2 || c.Next(1000) != 1 || c.Next(1000) != 1 {
		t.Error("counts of other or unknown seqs")
	}
}
