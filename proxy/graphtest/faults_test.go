package graphtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/graphvcr/graphvcr/proxy/internal/glob"
)

// fastRetry keeps backoff waits short; Retry-After is honoured as sent.
var fastRetry = Retry{Base: 20 * time.Millisecond, Cap: 40 * time.Millisecond}

// faultRun plays s with a sample or naive bot against a simulator with
// faults, waits until every notification has been answered and returns
// what happened. err is Run's.
type faultRun struct {
	g   *Graph
	b   *Bot
	res *Result
	err error
}

func runWithFaults(t *testing.T, s Scenario, gopts GraphOptions, naive bool) faultRun {
	t.Helper()
	gopts.DelayScale = 0.01
	g := startGraph(t, gopts)
	b := startBot(t, g, BotOptions{Seed: 5, Naive: naive, Retry: fastRetry, WaitTimeout: 5 * time.Second})
	res, err := b.Run(t.Context(), s)
	if ferr := g.Flush(t.Context()); ferr != nil {
		t.Fatal(ferr)
	}
	return faultRun{g: g, b: b, res: res, err: err}
}

// requestsTo returns the simulator's log of the requests whose path ends
// with suffix and whose method is method.
func requestsTo(g *Graph, method, suffix string) []Request {
	return slices.DeleteFunc(g.Requests(), func(r Request) bool {
		return r.Method != method || !strings.HasSuffix(r.Path, suffix)
	})
}

// failedCheck reports whether a check whose name starts with prefix failed.
func failedCheck(res *Result, prefix string) bool {
	return res != nil && slices.ContainsFunc(res.Checks, func(c Check) bool { return !c.OK && strings.HasPrefix(c.Name, prefix) })
}

func TestRequestFaults(t *testing.T) {
	tests := []struct {
		name     string
		scenario Scenario
		fault    RequestFault
		method   string // the faulted request, as the simulator logs it
		suffix   string
		minGap   time.Duration // between the faulted request and its retry, at the simulator
		naiveErr string        // the check the naive bot fails
	}{
		{
			name: "429 with Retry-After on invite", scenario: SingleInvite,
			fault:  RequestFault{Match: "POST */participants/invite", Status: 429, RetryAfter: time.Second},
			method: http.MethodPost, suffix: "/participants/invite", minGap: time.Second, naiveErr: "invite: 200 OK",
		},
		{
			name: "503 without Retry-After on create call", scenario: SingleInvite,
			fault:  RequestFault{Match: "POST */communications/calls", Status: 503},
			method: http.MethodPost, suffix: "/communications/calls", minGap: fastRetry.Base, naiveErr: "create call: 201 Created",
		},
		{
			name: "504 on the operation poll", scenario: FullCall,
			fault:  RequestFault{Match: "GET */operations/*", Status: 504},
			method: http.MethodGet, suffix: "", minGap: fastRetry.Base, naiveErr: "get operation: 200 OK",
		},
		{
			name: "reset on invite", scenario: MultipleInvite,
			fault:  RequestFault{Match: "*/participants/invite", Reset: true},
			method: http.MethodPost, suffix: "/participants/invite", minGap: fastRetry.Base, naiveErr: "invite",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			match := func(rs []Request) []Request {
				return slices.DeleteFunc(rs, func(r Request) bool {
					return r.Method != tt.method || !glob.Match(strings.ToLower(tt.fault.Match[strings.Index(tt.fault.Match, "*"):]), strings.ToLower(r.Path))
				})
			}
			t.Run("sample bot copes", func(t *testing.T) {
				t.Parallel()
				r := runWithFaults(t, tt.scenario, GraphOptions{Seed: 9, RequestFaults: []RequestFault{tt.fault}}, false)
				if r.err != nil || r.res.Err() != nil {
					t.Fatalf("run: %v; checks: %v", r.err, r.res.Err())
				}
				if got, want := r.res.Shapes(), r.b.ExpectedShapes(tt.scenario); !slices.Equal(got, want) {
					t.Errorf("notifications:\n got %q\nwant %q", got, want)
				}
				seen := match(r.g.Requests())
				if len(seen) < 2 || seen[0].Fault == "" || seen[1].Fault != "" {
					t.Fatalf("simulator saw %+v, want the faulted request then its retry, served", seen)
				}
				if gap := seen[1].Offset - seen[0].Offset; gap < tt.minGap {
					t.Errorf("retry %v after the fault, want at least %v", gap, tt.minGap)
				}
				// The faulted request had no effect and drew no id: the
				// session goes on with the ids of a session without faults.
				clean := runWithFaults(t, tt.scenario, GraphOptions{Seed: 9}, false)
				if r.res.CallID != clean.res.CallID || r.res.OperationID != clean.res.OperationID {
					t.Errorf("call %s, operation %s; without the fault %s, %s", r.res.CallID, r.res.OperationID, clean.res.CallID, clean.res.OperationID)
				}
				tries := slices.DeleteFunc(slices.Clone(r.res.Requests), func(e Exchange) bool { return e.Try != 2 })
				if len(tries) != 1 {
					t.Errorf("bot's exchanges hold %d retries, want 1: %+v", len(tries), tries)
				}
			})
			t.Run("naive bot gives up", func(t *testing.T) {
				t.Parallel()
				r := runWithFaults(t, tt.scenario, GraphOptions{Seed: 9, RequestFaults: []RequestFault{tt.fault}}, true)
				if r.err == nil {
					t.Fatalf("naive run ended without error; checks: %v", r.res.Err())
				}
				if !failedCheck(r.res, tt.naiveErr) {
					t.Errorf("naive bot's checks %+v, want %q failed", r.res.Checks, tt.naiveErr)
				}
				if seen := match(r.g.Requests()); len(seen) != 1 {
					t.Errorf("simulator saw %d matching requests from the naive bot, want 1 (no retry)", len(seen))
				}
			})
		})
	}
}

// TestRetryIsBounded: a request that keeps failing is sent MaxTries times,
// each retry at least the backoff after the one before, and the scenario
// fails with the last answer.
func TestRetryIsBounded(t *testing.T) {
	t.Parallel()
	g := startGraph(t, GraphOptions{DelayScale: 0.01, RequestFaults: []RequestFault{{Match: "POST */calls", Status: 503, Times: 100}}})
	b := startBot(t, g, BotOptions{Retry: Retry{MaxTries: 4, Base: 20 * time.Millisecond, Cap: 30 * time.Millisecond}})
	res, err := b.Run(t.Context(), SingleInvite)
	if err == nil || !failedCheck(res, "create call: 201 Created") {
		t.Fatalf("run: %v, checks %+v: want create call failed with 503", err, res.Checks)
	}
	seen := requestsTo(g, http.MethodPost, "/communications/calls")
	if len(seen) != 4 {
		t.Fatalf("simulator saw %d create requests, want MaxTries = 4", len(seen))
	}
	for i, want := range []time.Duration{20 * time.Millisecond, 30 * time.Millisecond, 30 * time.Millisecond} {
		if gap := seen[i+1].Offset - seen[i].Offset; gap < want {
			t.Errorf("retry %d came %v after the try before, want at least %v", i+1, gap, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	b := &Bot{opts: BotOptions{Retry: Retry{MaxTries: 5, Base: 100 * time.Millisecond, Cap: 300 * time.Millisecond}}}
	naive := &Bot{opts: BotOptions{Naive: true}}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	tests := []struct {
		name   string
		bot    *Bot
		try    int
		status int
		h      http.Header
		err    error
		wait   time.Duration
		again  bool
	}{
		{"429 Retry-After seconds", b, 1, 429, h("3"), nil, 3 * time.Second, true},
		{"429 Retry-After above Cap is honoured", b, 1, 429, h("10"), nil, 10 * time.Second, true},
		{"429 without Retry-After backs off", b, 1, 429, nil, nil, 100 * time.Millisecond, true},
		{"503 second retry doubles", b, 2, 503, nil, nil, 200 * time.Millisecond, true},
		{"504 third retry capped", b, 3, 504, nil, nil, 300 * time.Millisecond, true},
		{"503 with Retry-After", b, 2, 503, h("1"), nil, time.Second, true},
		{"last try", b, 5, 503, nil, nil, 0, false},
		{"500 is not retried", b, 1, 500, nil, nil, 0, false},
		{"400 is not retried", b, 1, 400, nil, nil, 0, false},
		{"reset is retried", b, 1, 0, nil, errors.New("Post \"x\": read tcp: connection reset by peer"), 100 * time.Millisecond, true},
		{"EOF is retried", b, 1, 0, nil, fmt.Errorf("Post \"x\": %w", io.EOF), 100 * time.Millisecond, true},
		{"cancelled is not", b, 1, 0, nil, context.Canceled, 0, false},
		{"naive never retries", naive, 1, 429, h("1"), nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait, again := tt.bot.retryAfter(tt.try, tt.status, tt.h, tt.err)
			if again != tt.again || (again && wait != tt.wait) {
				t.Errorf("retryAfter = %v, %v; want %v, %v", wait, again, tt.wait, tt.again)
			}
		})
	}
	if d, ok := parseRetryAfter(now.Add(2*time.Second).Format(http.TimeFormat), now); !ok || d != 2*time.Second {
		t.Errorf("HTTP-date Retry-After: %v %v, want 2s", d, ok)
	}
	if _, ok := parseRetryAfter("soon", now); ok {
		t.Error("a Retry-After of neither form was accepted")
	}
}

// TestRetryHonoursContext: a Retry-After beyond the context's deadline
// ends the run at once instead of sleeping past it.
func TestRetryHonoursContext(t *testing.T) {
	t.Parallel()
	g := startGraph(t, GraphOptions{DelayScale: 0.01, RequestFaults: []RequestFault{{Match: "POST */calls", Status: 429, RetryAfter: time.Minute}}})
	b := startBot(t, g, BotOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	began := time.Now()
	_, err := b.Run(ctx, SingleInvite)
	if err == nil {
		t.Fatal("run succeeded although the only answer was a 429 with a minute's Retry-After")
	}
	if took := time.Since(began); took > 4*time.Second {
		t.Errorf("run took %v: it waited for a retry it could not send before its deadline", took)
	}
	if n := len(requestsTo(g, http.MethodPost, "/communications/calls")); n != 1 {
		t.Errorf("simulator saw %d create requests, want 1", n)
	}
}

// countActions counts the bot's actions whose change is change, on a
// resource that ends with suffix.
func countActions(as []Action, suffix, change string) int {
	n := 0
	for _, a := range as {
		if a.Change == change && strings.HasSuffix(canonicalResource(a.Resource), suffix) {
			n++
		}
	}
	return n
}

func TestNotificationFaults(t *testing.T) {
	type check func(t *testing.T, r faultRun)
	callState := func(want string) check {
		return func(t *testing.T, r faultRun) {
			t.Helper()
			v, ok := r.b.Call(r.res.CallID)
			if !ok || v.State != want {
				t.Errorf("bot's view of the call: %+v, want state %s", v, want)
			}
		}
	}
	actions := func(suffix, change string, want int) check {
		return func(t *testing.T, r faultRun) {
			t.Helper()
			if got := countActions(r.res.Actions, suffix, change); got != want {
				t.Errorf("%d %q actions, want %d: %+v", got, change, want, r.res.Actions)
			}
		}
	}
	ignored := func(why string, want int) check {
		return func(t *testing.T, r faultRun) {
			t.Helper()
			n := 0
			for _, rc := range r.res.Received {
				for _, x := range rc.Notifications {
					if x.Ignored == why {
						n++
					}
				}
			}
			if n != want {
				t.Errorf("%d entries ignored as %s, want %d", n, why, want)
			}
		}
	}
	failed := func(prefix string) check {
		return func(t *testing.T, r faultRun) {
			t.Helper()
			if !failedCheck(r.res, prefix) {
				t.Errorf("checks %v, want %q failed", r.res.Err(), prefix)
			}
		}
	}
	sentFault := func(fault string, want int) check {
		return func(t *testing.T, r faultRun) {
			t.Helper()
			n := 0
			for _, s := range r.g.Sent() {
				if s.Fault == fault {
					n++
				}
			}
			if n != want {
				t.Errorf("simulator sent %d notifications with fault %q, want %d", n, fault, want)
			}
		}
	}
	tests := []struct {
		name     string
		scenario Scenario
		fault    NotificationFault
		sample   []check
		naive    []check
	}{
		{
			name: "duplicate established", scenario: SingleInvite,
			fault:  NotificationFault{Action: Duplicate, Match: "established"},
			sample: []check{sentFault("duplicate", 1), actions("", "state established", 1), ignored("duplicate", 1), callState("established")},
			naive:  []check{actions("", "state established", 2), failed("every notification correlated")},
		},
		{
			name: "duplicate operation completed", scenario: MultipleInvite,
			fault:  NotificationFault{Action: Duplicate, Match: "operation completed", By: 5 * time.Millisecond},
			sample: []check{sentFault("duplicate", 1), actions("", "status completed", 1), ignored("duplicate", 1)},
			naive:  []check{actions("", "status completed", 2), failed("every notification correlated")},
		},
		{
			name: "duplicate replaced call terminated", scenario: ReplaceCall,
			fault:  NotificationFault{Action: Duplicate, Match: "call terminated"},
			sample: []check{actions("", "state terminated", 1), ignored("duplicate", 1)},
			naive:  []check{actions("", "state terminated", 2), failed("every notification correlated")},
		},
		{
			name: "reorder establishing and established", scenario: SingleInvite,
			fault:  NotificationFault{Action: Reorder, Match: "establishing"},
			sample: []check{sentFault("reorder", 2), ignored("stale", 1), actions("", "state establishing", 0), callState("established")},
			naive:  []check{callState("establishing"), failed("order: call establishing, then established")},
		},
		{
			name: "establishing delivered late, after established", scenario: PSTNInvite,
			fault:  NotificationFault{Action: Delay, Match: "call establishing", By: 300 * time.Millisecond},
			sample: []check{sentFault("delay", 1), ignored("stale", 1), callState("established")},
			naive:  []check{callState("establishing"), failed("order: call establishing, then established")},
		},
		{
			name: "reorder operation completed and roster", scenario: SingleInvite,
			fault:  NotificationFault{Action: Reorder, Match: "operation completed"},
			sample: []check{sentFault("reorder", 2), ignored("stale", 0), actions("", "status completed", 1)},
			naive:  []check{failed("order: operation completed before roster update")},
		},
		{
			name: "replaced call deleted before it is terminated", scenario: ReplaceCall,
			fault:  NotificationFault{Action: Reorder, Match: "call terminated"},
			sample: []check{sentFault("reorder", 2), ignored("stale", 1), actions("", "state terminated", 0)},
			naive:  []check{actions("", "state terminated", 1), failed("order: replaced call terminated, then deleted")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			t.Run("sample bot copes", func(t *testing.T) {
				t.Parallel()
				r := runWithFaults(t, tt.scenario, GraphOptions{Seed: 4, NotificationFaults: []NotificationFault{tt.fault}}, false)
				if r.err != nil || r.res.Err() != nil {
					t.Fatalf("run: %v; checks: %v", r.err, r.res.Err())
				}
				for _, c := range tt.sample {
					c(t, r)
				}
			})
			t.Run("naive bot fails", func(t *testing.T) {
				t.Parallel()
				r := runWithFaults(t, tt.scenario, GraphOptions{Seed: 4, NotificationFaults: []NotificationFault{tt.fault}}, true)
				if r.err != nil {
					t.Fatalf("naive run: %v", r.err)
				}
				if r.res.Err() == nil {
					t.Fatal("the naive bot passed every check")
				}
				for _, c := range tt.naive {
					c(t, r)
				}
			})
		})
	}
}

// TestNotificationFaultNth: Nth picks one notification among those Match
// selects, in scheduling order; the others go out untouched.
func TestNotificationFaultNth(t *testing.T) {
	t.Parallel()
	r := runWithFaults(t, FullCall, GraphOptions{NotificationFaults: []NotificationFault{{Action: Duplicate, Match: "call", Nth: 2}}}, false)
	if r.err != nil || r.res.Err() != nil {
		t.Fatalf("run: %v; checks: %v", r.err, r.res.Err())
	}
	var dups []string
	for _, s := range r.g.Sent() {
		if s.Fault == "duplicate" {
			dups = append(dups, strings.Join(notificationClasses(s.Body), "+"))
		}
	}
	if !slices.Equal(dups, []string{"call established"}) {
		t.Errorf("duplicated %q, want only the second call notification (established)", dups)
	}
}

// TestResetOverHTTP2: over TLS the simulator speaks HTTP/2, which cannot
// hijack a connection: the reset is a reset stream, and the sample bot
// retries it all the same.
func TestResetOverHTTP2(t *testing.T) {
	t.Parallel()
	g := startGraph(t, GraphOptions{TLS: true, DelayScale: 0.01, RequestFaults: []RequestFault{{Match: "*/participants/invite", Reset: true}}})
	hc := g.Client()
	t.Cleanup(hc.CloseIdleConnections)
	b := startBot(t, g, BotOptions{HTTPClient: hc, Retry: fastRetry})
	runOK(t, b, SingleInvite)
	seen := requestsTo(g, http.MethodPost, "/participants/invite")
	if len(seen) != 2 || seen[0].Fault != "reset" || seen[1].Fault != "" {
		t.Errorf("simulator saw %+v, want a reset invite then its retry", seen)
	}
}

// TestDuplicateOfLastNotification: the copy of a scenario's last
// notification may come after Run returned; Bot.Actions, read once the
// simulator is flushed, still shows whether the bot acted on it twice.
func TestDuplicateOfLastNotification(t *testing.T) {
	t.Parallel()
	for _, naive := range []bool{false, true} {
		r := runWithFaults(t, SingleInvite, GraphOptions{NotificationFaults: []NotificationFault{{Action: Duplicate, Match: "roster"}}}, naive)
		if r.err != nil {
			t.Fatalf("naive %v: run: %v", naive, r.err)
		}
		want := 1
		if naive {
			want = 2
		}
		if got := countActions(r.b.Actions(), "/participants", "roster 2 participants"); got != want {
			t.Errorf("naive %v: acted %d times on the roster, want %d: %+v", naive, got, want, r.b.Actions())
		}
	}
}

// TestBotReplaysTwice: a bot's memory of notifications starts afresh with
// each Run. Two simulators with one seed send the same call ids and bodies,
// as two replays of one cassette do: in the second run they are news, not
// duplicates of the first run's.
func TestBotReplaysTwice(t *testing.T) {
	t.Parallel()
	g1 := startGraph(t, GraphOptions{Seed: 3, DelayScale: 0.01})
	g2 := startGraph(t, GraphOptions{Seed: 3, DelayScale: 0.01})
	b := startBot(t, g1, BotOptions{Seed: 3, WaitTimeout: 3 * time.Second})
	res1 := runOK(t, b, SingleInvite)
	if err := g1.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.opts.GraphURL, b.opts.TokenURL = g2.URL, g2.TokenURL("")
	// A fresh token, so that g2 sees the very requests g1 saw.
	b.tokens.set("", 0)
	res2 := runOK(t, b, SingleInvite)
	if res1.CallID != res2.CallID {
		t.Fatalf("call ids %s and %s: the two sessions differ", res1.CallID, res2.CallID)
	}
	if len(res2.Actions) != len(res1.Actions) || len(res2.Actions) == 0 {
		t.Errorf("second run acted %d times, first %d", len(res2.Actions), len(res1.Actions))
	}
}

func TestRequestSelected(t *testing.T) {
	tests := []struct {
		match, method, path string
		want                bool
	}{
		{"", "GET", "/v1.0/communications/calls/x", true},
		{"*/participants/invite", "POST", "/v1.0/communications/calls/x/participants/invite", true},
		{"*/participants/invite", "POST", "/v1.0/communications/calls/x/participants", false},
		{"POST */calls", "POST", "/beta/app/calls", true},
		{"POST */calls", "GET", "/beta/app/calls", false},
		{"post:*/CALLS", "POST", "/beta/app/calls", true},
		{"DELETE */calls/*", "DELETE", "/v1.0/communications/calls/abc", true},
		{"*/operations/*", "GET", "/v1.0/communications/calls/a/operations/b", true},
	}
	for _, tt := range tests {
		r, err := http.NewRequest(tt.method, "http://127.0.0.1"+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := requestSelected(tt.match, r); got != tt.want {
			t.Errorf("requestSelected(%q, %s %s) = %v, want %v", tt.match, tt.method, tt.path, got, tt.want)
		}
	}
}

func TestNotificationSelected(t *testing.T) {
	classes := []string{"call terminated", "call deleted"}
	for _, tt := range []struct {
		match string
		want  bool
	}{
		{"", true}, {"terminated", true}, {"call deleted", true}, {"Deleted", true},
		{"established", false}, {"terminated call", false}, {"roster", false},
	} {
		if got := notificationSelected(tt.match, classes); got != tt.want {
			t.Errorf("notificationSelected(%q) = %v, want %v", tt.match, got, tt.want)
		}
	}
}

// TestHandleOrdering feeds entries straight to the bot's handling, for the
// ordering evidence the simulator never sends (etags out of step with the
// lifecycle, deltaParticipants' sequenceNumber).
func TestHandleOrdering(t *testing.T) {
	const call = "/app/calls/57DAB8B1894C409AB240BD8BEAE78896"
	state := func(s, etag string) string {
		return `{"changeType":"updated","resource":"` + call + `","resourceData":{"state":"` + s + `","@odata.etag":"W/\"` + etag + `\""}}`
	}
	delta := func(seq, n int) string {
		ps := strings.TrimSuffix(strings.Repeat(`{"id":"p"},`, n), ",")
		return fmt.Sprintf(`{"changeType":"updated","resource":"%s/participants","resourceData":{"@odata.type":"#microsoft.graph.deltaParticipants","sequenceNumber":%d,"participants":[%s]}}`, call, seq, ps)
	}
	op := func(status string) string {
		return `{"changeType":"deleted","resource":"` + call + `/operations/0fe0a7b5-4e5c-4ae0-9b43-21c9e8e1f5d2","resourceData":{"status":"` + status + `"}}`
	}
	tests := []struct {
		name    string
		entries []string
		want    []string // handling of each, for the sample bot
		state   string   // the call's state after them
	}{
		{"lifecycle never goes back", []string{state("established", "2"), state("establishing", "3")}, []string{"", "stale"}, "established"},
		{"older etag is stale", []string{state("established", "7"), state("established", "6")}, []string{"", "stale"}, "established"},
		{"newer etag applies", []string{state("established", "6"), state("established", "7")}, []string{"", ""}, "established"},
		{"same entry twice", []string{state("established", "6"), state("established", "6")}, []string{"", "duplicate"}, "established"},
		{"terminated stays terminated", []string{state("terminated", "9"), state("established", "2")}, []string{"", "stale"}, "terminated"},
		{"roster by sequenceNumber", []string{delta(5, 3), delta(4, 2), delta(6, 1)}, []string{"", "stale", ""}, ""},
		{"operation completed stays completed", []string{op("completed"), op("running"), op("failed")}, []string{"", "stale", "stale"}, ""},
		{"nothing after deletion", []string{`{"changeType":"deleted","resource":"` + call + `"}`, state("established", "2"), delta(1, 2)}, []string{"", "stale", "stale"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, naive := range []bool{false, true} {
				b := &Bot{opts: BotOptions{Naive: naive}, seen: map[[32]byte]bool{}, views: map[string]*callView{}}
				var got []string
				for _, e := range tt.entries {
					h, _ := b.handle(gjson.Parse(e))
					got = append(got, h)
				}
				want := tt.want
				if naive {
					want = make([]string, len(tt.entries)) // the naive bot applies all
				}
				if !slices.Equal(got, want) {
					t.Errorf("naive %v: handled %q, want %q", naive, got, want)
				}
				if v, _ := b.Call("57dab8b1-894c-409a-b240-bd8beae78896"); !naive && v.State != tt.state {
					t.Errorf("state %q, want %q", v.State, tt.state)
				}
			}
		})
	}
}
