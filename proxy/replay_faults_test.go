package proxy_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/fault"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/replaytest"
)

// The sample cassette the fault tests replay: token #1, create call #2,
// establishing #3, established #4, invite #5, operation completed #6,
// roster #7 (cassettes/single-invite.md).
const faultCassette = "../cassettes/single-invite.bolt"

// faultRun is one replay of the single-invite cassette, with faults, to a
// sample or a naive bot.
type faultRun struct {
	bot    *graphtest.Bot
	res    *graphtest.Result
	err    error // Run's
	report proxy.Report
}

// runFaults replays faultCassette at speed 0 to a fresh bot (naive or the
// sample bot), with the faults of specs drawn with seed, and returns once
// the bot's run ended and the replay has nothing left to deliver (or the
// bot gave up, when it could not go on).
func runFaults(t *testing.T, naive bool, seed int64, specs []string, opts ...replaytest.Option) faultRun {
	t.Helper()
	return runFaultsWith(t, graphtest.BotOptions{Naive: naive}, seed, specs, opts...)
}

func runFaultsWith(t *testing.T, bo graphtest.BotOptions, seed int64, specs []string, opts ...replaytest.Option) faultRun {
	t.Helper()
	return runFaultsVia(t, bo, seed, specs, nil, opts...)
}

// runFaultsVia is runFaultsWith with notifications posted to via(bot's URL)
// instead of the bot's URL, when via is set.
func runFaultsVia(t *testing.T, bo graphtest.BotOptions, seed int64, specs []string, via func(string) string, opts ...replaytest.Option) faultRun {
	t.Helper()
	const tenant = "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	var repAddr graphtest.LateDialer
	botTr := &http.Transport{DisableCompression: true, DialContext: repAddr.DialContext}
	t.Cleanup(botTr.CloseIdleConnections)
	base := "http://replay.graphvcr.test:8080"
	bo.GraphURL, bo.TokenURL = base, base+"/"+tenant+"/oauth2/v2.0/token"
	bo.ClientID, bo.ClientSecret = "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "no secret is needed offline"
	bo.Seed = 11
	bo.HTTPClient = &http.Client{Transport: botTr, Timeout: 10 * time.Second}
	bo.Retry = graphtest.Retry{Base: 20 * time.Millisecond}
	if bo.WaitTimeout == 0 {
		bo.WaitTimeout = 3 * time.Second
	}
	if bo.OpenIDConfigURL != "" {
		bo.OpenIDConfigURL = base + bo.OpenIDConfigURL
	}
	bot, err := graphtest.StartBot(bo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bot.Close) // after the replayer's own cleanup
	opts = append([]replaytest.Option{replaytest.WithSpeed(0), replaytest.WithFaults(seed, specs...)}, opts...)
	target := bot.URL
	if via != nil {
		target = via(bot.URL)
	}
	rep := replaytest.Start(t, faultCassette, target, opts...)
	repAddr.Set(rep.URL)
	res, err := bot.Run(t.Context(), graphtest.SingleInvite)
	if err == nil {
		select {
		case <-rep.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("replay not done 10s after the bot's run: %+v", rep.Report())
		}
	}
	return faultRun{bot: bot, res: res, err: err, report: rep.Report()}
}

// faultsOf returns the report's faults without their times (which vary
// from run to run) for comparing runs.
func faultsOf(rep proxy.Report) []fault.Record {
	out := slices.Clone(rep.Faults)
	for i := range out {
		out[i].At = 0
	}
	return out
}

// wantFaults checks the report's faults: seq and action, in order applied.
func wantFaults(t *testing.T, rep proxy.Report, want ...string) {
	t.Helper()
	var got []string
	for _, f := range rep.Faults {
		got = append(got, "#"+strconv.FormatUint(f.Seq, 10)+" "+f.Action.String())
	}
	if !slices.Equal(got, want) {
		t.Errorf("faults %v, want %v (%+v)", got, want, rep.Faults)
	}
}

// ignored counts the notification entries the bot ignored as why.
func ignored(res *graphtest.Result, why string) int {
	n := 0
	for _, rc := range res.Received {
		for _, x := range rc.Notifications {
			if x.Ignored == why {
				n++
			}
		}
	}
	return n
}

// countChange counts the bot's actions that applied change.
func countChange(as []graphtest.Action, change string) int {
	n := 0
	for _, a := range as {
		if a.Change == change {
			n++
		}
	}
	return n
}

// inviteTries returns the bot's invite requests (the first try and any
// retries), in the order it sent them.
func inviteTries(res *graphtest.Result) []graphtest.Exchange {
	var tries []graphtest.Exchange
	for _, x := range res.Requests {
		if strings.HasSuffix(x.URL, "/participants/invite") {
			tries = append(tries, x)
		}
	}
	return tries
}

// failedCheck reports whether a check whose name starts with prefix failed.
func failedCheck(res *graphtest.Result, prefix string) bool {
	if res == nil {
		return false
	}
	for _, c := range res.Checks {
		if !c.OK && strings.HasPrefix(c.Name, prefix) {
			return true
		}
	}
	return false
}

// mustCope checks that the sample bot passed every check and that the
// replay saw no divergence: a fault is not one.
func mustCope(t *testing.T, r faultRun) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("the sample bot's run failed: %v", r.err)
	}
	if err := r.res.Err(); err != nil {
		t.Errorf("the sample bot did not cope: %v", err)
	}
	if r.report.Diverged() {
		t.Errorf("replay diverged: %+v", r.report)
	}
	if len(r.report.Pending) != 0 || len(r.report.Unused) != 0 {
		t.Errorf("pending %v, unused %v after the run", r.report.Pending, r.report.Unused)
	}
}

// mustFail checks that the naive bot's run failed (Run's error, or check
// prefix).
func mustFail(t *testing.T, r faultRun, prefix string) {
	t.Helper()
	if r.err == nil && !failedCheck(r.res, prefix) {
		t.Errorf("the naive bot passed %q; checks: %+v", prefix, r.res.Checks)
	}
}

func TestFaultDuplicate(t *testing.T) {
	specs := []string{"duplicate:match=established"}
	t.Run("sample", func(t *testing.T) {
		r := runFaults(t, false, 7, specs)
		mustCope(t, r)
		wantFaults(t, r.report, "#4 duplicate")
		if n := countChange(r.res.Actions, "state established"); n != 1 {
			t.Errorf("%d 'state established' actions, want 1", n)
		}
		if n := ignored(r.res, "duplicate"); n != 1 {
			t.Errorf("%d entries ignored as duplicate, want 1", n)
		}
		copies := 0
		for _, d := range r.report.Notifications {
			if d.Copy {
				copies++
				if d.Seq != 4 || d.Status != http.StatusAccepted {
					t.Errorf("copy %+v, want #4 answered 202", d)
				}
			}
		}
		if copies != 1 {
			t.Errorf("%d copies delivered, want 1", copies)
		}
		if f := r.report.Faults[0]; f.BotStatus != http.StatusAccepted {
			t.Errorf("fault's bot status %d, want 202", f.BotStatus)
		}
	})
	t.Run("naive", func(t *testing.T) {
		r := runFaults(t, true, 7, specs)
		mustFail(t, r, "every notification correlated")
		if n := countChange(r.res.Actions, "state established"); n != 2 {
			t.Errorf("%d 'state established' actions, want 2", n)
		}
	})
}

func TestFaultReorder(t *testing.T) {
	specs := []string{"reorder:match=establishing"}
	t.Run("sample", func(t *testing.T) {
		r := runFaults(t, false, 7, specs)
		mustCope(t, r)
		wantFaults(t, r.report, "#3 reorder", "#4 reorder")
		if n := ignored(r.res, "stale"); n != 1 {
			t.Errorf("%d entries ignored as stale, want 1", n)
		}
		if v, ok := r.bot.Call(r.res.CallID); !ok || v.State != "established" {
			t.Errorf("bot's view of the call %+v, want established", v)
		}
		var order []uint64
		for _, d := range r.report.Notifications {
			order = append(order, d.Seq)
		}
		if !slices.Equal(order[:2], []uint64{4, 3}) {
			t.Errorf("delivered in order %v, want #4 before #3", order)
		}
	})
	t.Run("naive", func(t *testing.T) {
		mustFail(t, runFaults(t, true, 7, specs), "order: call establishing, then established")
	})
}

// TestFaultReorderPartnerWaitsForBot: established (#4) swaps with the next
// notification of its call, the operation (#6), which the invite (#5)
// triggers, and the bot invites only once the call is established. The
// held notification is released rather than waiting for ever.
func TestFaultReorderPartnerWaitsForBot(t *testing.T) {
	r := runFaults(t, false, 7, []string{"reorder:match=established"})
	mustCope(t, r)
	wantFaults(t, r.report, "#4 reorder", "#6 reorder")
}

func TestFaultDelay(t *testing.T) {
	t.Run("overtaken", func(t *testing.T) {
		specs := []string{"delay:match=establishing,by=300ms"}
		r := runFaults(t, false, 7, specs)
		mustCope(t, r)
		wantFaults(t, r.report, "#3 delay")
		if n := ignored(r.res, "stale"); n != 1 {
			t.Errorf("%d entries ignored as stale, want 1", n)
		}
		mustFail(t, runFaults(t, true, 7, specs), "order: call establishing, then established")
	})
	t.Run("in order", func(t *testing.T) {
		specs := []string{"delay:match=roster,by=100ms"}
		r := runFaults(t, false, 7, specs)
		mustCope(t, r)
		wantFaults(t, r.report, "#7 delay")
		// Speed 0: due at once when its trigger is answered; 100ms late.
		for _, d := range r.report.Notifications {
			if d.Seq == 7 && d.ActualGap < 100*time.Millisecond {
				t.Errorf("roster delivered %v after its trigger, want 100ms or more", d.ActualGap)
			}
		}
		n := runFaults(t, true, 7, specs)
		if n.err != nil || n.res.Err() != nil {
			t.Errorf("the naive bot failed on a delay that changes no order: %v %v", n.err, n.res.Err())
		}
	})
}

// TestFaultDrop drops the call's establishing, which both bots wait for:
// both fail, as a bot that relies on one webhook would in a tenant. The
// dropped notification is neither delivered nor pending, and the replay
// does not diverge: the fault is not the bot's doing.
func TestFaultDrop(t *testing.T) {
	for _, naive := range []bool{false, true} {
		r := runFaultsWith(t, graphtest.BotOptions{Naive: naive, WaitTimeout: 300 * time.Millisecond}, 7, []string{"drop:match=establishing"})
		if r.err == nil || !strings.Contains(r.err.Error(), "establishing") {
			t.Errorf("naive=%v: run %v, want it to give up waiting for establishing", naive, r.err)
		}
		wantFaults(t, r.report, "#3 drop")
		for _, d := range r.report.Notifications {
			if d.Seq == 3 {
				t.Errorf("dropped notification delivered: %+v", d)
			}
		}
		for _, p := range r.report.Pending {
			if p.Seq == 3 {
				t.Errorf("dropped notification pending: %+v", p)
			}
		}
		if r.report.Diverged() {
			t.Errorf("a drop counted as a divergence: %+v", r.report)
		}
		if r.report.Faults[0].BotStatus != 0 {
			t.Errorf("a dropped notification has a bot status: %+v", r.report.Faults[0])
		}
	}
}

func TestFaultStatus(t *testing.T) {
	for _, tc := range []struct {
		spec     string
		atLeast  time.Duration // between the try and the retry
		status   int
		retryHdr string
	}{
		{"status:code=429,retry-after=1,match=*/participants/invite,nth=1", time.Second, 429, "1"},
		{"status:match=*/participants/invite", 0, 503, ""},
		{"status:code=504,match=POST */participants/invite", 0, 504, ""},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			r := runFaults(t, false, 7, []string{tc.spec})
			mustCope(t, r)
			wantFaults(t, r.report, "#5 status")
			tries := inviteTries(r.res)
			if len(tries) != 2 || tries[0].Status != tc.status || tries[1].Try != 2 || tries[1].Status != http.StatusOK {
				t.Fatalf("invite tries %+v, want %d then a 200 retry", tries, tc.status)
			}
			if got := tries[0].Header.Get("Retry-After"); got != tc.retryHdr {
				t.Errorf("Retry-After %q, want %q", got, tc.retryHdr)
			}
			if gap := tries[1].Offset - tries[0].Offset; gap < tc.atLeast {
				t.Errorf("retried after %v, want at least %v", gap, tc.atLeast)
			}
			if code := gjson.GetBytes(tries[0].Body, "error.code").String(); code == "" || gjson.GetBytes(tries[0].Body, "error.innerError.request-id").String() == "" {
				t.Errorf("error body not shaped like Graph's: %s", tries[0].Body)
			}
			if f := r.report.Faults[0]; f.Occurrence != 1 {
				t.Errorf("fault %+v, want occurrence 1", f)
			}
		})
	}
	t.Run("naive", func(t *testing.T) {
		mustFail(t, runFaults(t, true, 7, []string{"status:code=429,retry-after=1,match=*/participants/invite,nth=1"}), "invite: 200 OK")
	})
}

func TestFaultReset(t *testing.T) {
	spec := []string{"reset:match=*/participants/invite"}
	r := runFaults(t, false, 7, spec)
	mustCope(t, r)
	wantFaults(t, r.report, "#5 reset")
	tries := inviteTries(r.res)
	if len(tries) != 2 || tries[0].Status != 0 || tries[1].Status != http.StatusOK {
		t.Errorf("invite tries %+v, want a reset then a 200", tries)
	}
	mustFail(t, runFaults(t, true, 7, spec), "invite")
}

func TestFaultLatency(t *testing.T) {
	r := runFaults(t, false, 7, []string{"latency:by=200ms,match=*/participants/invite"})
	mustCope(t, r)
	wantFaults(t, r.report, "#5 latency")
	for _, x := range inviteTries(r.res) {
		if x.Latency < 200*time.Millisecond {
			t.Errorf("invite answered in %v, want 200ms or more", x.Latency)
		}
	}
}

// TestFaultSelection: match, p and nth choose the events.
func TestFaultSelection(t *testing.T) {
	for _, tc := range []struct {
		specs []string
		want  []string
	}{
		{[]string{"duplicate:nth=2"}, []string{"#4 duplicate"}},
		{[]string{"duplicate:match=operation"}, []string{"#6 duplicate"}},
		{[]string{"duplicate:p=0"}, nil},
		{[]string{"latency:by=1ms,match=POST */calls"}, []string{"#2 latency"}},
		{[]string{"latency:by=1ms,nth=2"}, []string{"#5 latency"}},
		// The first spec that chooses a notification wins.
		{[]string{"duplicate:match=roster", "drop:match=roster"}, []string{"#7 duplicate"}},
	} {
		t.Run(strings.Join(tc.specs, " "), func(t *testing.T) {
			r := runFaults(t, false, 7, tc.specs)
			mustCope(t, r)
			wantFaults(t, r.report, tc.want...)
		})
	}
}

// TestFaultDeterminism: the same seed gives the same faults on the same
// events; another seed, others.
func TestFaultDeterminism(t *testing.T) {
	specs := []string{
		"duplicate:match=established",
		"delay:by=1ms..200ms,p=0.5",
		"latency:by=1ms..50ms,p=0.5",
	}
	a := faultsOf(runFaults(t, false, 7, specs).report)
	b := faultsOf(runFaults(t, false, 7, specs).report)
	c := faultsOf(runFaults(t, false, 8, specs).report)
	if !slices.Equal(a, b) {
		t.Errorf("same seed, different faults:\n%+v\n%+v", a, b)
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same faults: %+v", a)
	}
}

// TestFaultDuplicateSigned: a validating bot accepts the duplicate's copy,
// signed afresh.
func TestFaultDuplicateSigned(t *testing.T) {
	r := runFaultsWith(t, graphtest.BotOptions{OpenIDConfigURL: "/__graphvcr/openid/.well-known/OpenIdConfiguration"},
		7, []string{"duplicate:match=established"}, replaytest.WithSignedNotifications())
	mustCope(t, r)
	wantFaults(t, r.report, "#4 duplicate")
	var auths []string
	for _, rc := range r.res.Received {
		if rc.Status != http.StatusAccepted {
			t.Errorf("the validating bot answered %d to %s", rc.Status, rc.Summary)
		}
		if strings.Contains(rc.Summary, "state=established") {
			auths = append(auths, rc.Header.Get("Authorization"))
		}
	}
	if len(auths) != 2 || !strings.HasPrefix(auths[1], "Bearer ") {
		t.Errorf("established deliveries' Authorization %q, want two bearer tokens", auths)
	}
}

// TestFaultStrictCountsTheBot: a fault is not a divergence, but what the
// bot does after it is: a bot whose webhook refuses the duplicate's copy
// (409, from a front that passes everything else to the sample bot) makes
// the replay diverge, and --strict fail.
func TestFaultStrictCountsTheBot(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	front := func(botURL string) string {
		target, err := url.Parse(botURL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(target)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			again := seen[string(b)]
			seen[string(b)] = true
			mu.Unlock()
			if again {
				w.WriteHeader(http.StatusConflict)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	r := runFaultsVia(t, graphtest.BotOptions{}, 7, []string{"duplicate:match=established"}, front)
	if r.err != nil || r.res.Err() != nil {
		t.Fatalf("the sample bot's run: %v %v", r.err, r.res.Err())
	}
	wantFaults(t, r.report, "#4 duplicate")
	if !r.report.Diverged() {
		t.Errorf("a refused copy is not a divergence: %+v", r.report.Notifications)
	}
	if f := r.report.Faults[0]; f.BotStatus != http.StatusConflict {
		t.Errorf("fault's bot status %d, want the copy's 409", f.BotStatus)
	}
}
