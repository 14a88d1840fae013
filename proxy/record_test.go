package proxy_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/tidwall/gjson"
)

// TestRecordScenarios records every simulator scenario end to end, with the
// bot using graphvcr as its base URL (reverse) and as its HTTPS proxy
// (forward, MITM), and checks the bot runs as it does against Graph
// directly and that the cassette is complete, correlated and redacted.
func TestRecordScenarios(t *testing.T) {
	modes := []struct {
		name string
		o    rigOptions
	}{
		{"reverse", rigOptions{}},
		{"forward", rigOptions{forward: true, gzip: true}},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			for i, s := range graphtest.Scenarios() {
				t.Run(string(s), func(t *testing.T) {
					t.Parallel()
					o := m.o
					o.seed = int64(100 + i)
					rg := newRig(t, o)
					res, err := rg.bot.Run(t.Context(), s)
					if err != nil {
						t.Fatalf("bot run: %v", err)
					}
					if err := res.Err(); err != nil {
						t.Fatalf("bot checks through the recorder: %v", err)
					}
					checkRecording(t, rg, s, res, o)
				})
			}
		})
	}
}

// TestRecordTLSReverse records over the --tls listener, which a client
// reaches with h2, and the SDK's gzipped request bodies.
func TestRecordTLSReverse(t *testing.T) {
	o := rigOptions{tls: true, gzip: true, seed: 7}
	rg := newRig(t, o)
	if !strings.HasPrefix(rg.rec.URL(), "https://") {
		t.Fatalf("URL = %q, want https", rg.rec.URL())
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: rg.ca.CertPool()}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(rg.rec.URL() + "/__graphvcr/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Proto != "HTTP/2.0" {
		t.Errorf("health over TLS: %d %s, want 200 over HTTP/2.0", resp.StatusCode, resp.Proto)
	}
	res, err := rg.bot.Run(t.Context(), graphtest.FullCall)
	if err != nil {
		t.Fatalf("bot run: %v", err)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("bot checks: %v", err)
	}
	checkRecording(t, rg, graphtest.FullCall, res, o)
}

// checkRecording asserts what every recorded scenario must satisfy.
func checkRecording(t *testing.T, rg *rig, s graphtest.Scenario, res *graphtest.Result, o rigOptions) {
	t.Helper()
	orig := collectOriginals(rg, s, res)
	evs := rg.events() // closes the session
	sent := rg.graph.Sent()
	for _, x := range sent {
		orig.scan("notification", x.Body)
		orig.scanHeader("notification", x.Header)
	}

	var outbound, notes []*cassette.Event
	for _, e := range evs {
		if e.Kind == cassette.KindNotification {
			notes = append(notes, e)
		} else {
			outbound = append(outbound, e)
		}
	}

	// Every request the bot made is there, once.
	var want, got []string
	for _, x := range res.Requests {
		want = append(want, cassette.Shape(x.Method, x.URL))
	}
	for _, e := range outbound {
		got = append(got, cassette.Shape(e.Request.Method, e.Request.URL))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(want, got) {
		t.Errorf("recorded requests differ from the bot's:\n got %q\nwant %q", got, want)
	}
	// Every notification the bot answered is there.
	answered := 0
	for _, x := range sent {
		if x.Status != 0 {
			answered++
		}
	}
	// The simulator may be closed before it has read an answer it got, so
	// a recorded notification can be missing from its answered ones.
	if len(notes) < answered || len(notes) > len(sent) || answered == 0 {
		t.Errorf("recorded %d notifications, simulator had %d answered (%d sent)", len(notes), answered, len(sent))
	}

	var lastGraphOffset time.Duration
	for _, e := range evs {
		if e.Offset <= 0 || e.Offset > time.Minute {
			t.Errorf("seq %d: offset %v", e.Seq, e.Offset)
		}
		if e.Error != "" {
			t.Errorf("seq %d: unexpected error %q", e.Seq, e.Error)
		}
		if e.Latency <= 0 || e.Latency > 10*time.Second {
			t.Errorf("seq %d: latency %v", e.Seq, e.Latency)
		}
		if ce := e.Request.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("seq %d: stored request body still %s-encoded", e.Seq, ce)
		}
		if ce := e.Response.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("seq %d: stored response body still %s-encoded", e.Seq, ce)
		}
		switch e.Kind {
		case cassette.KindNotification:
			if e.Bearer == nil || e.Bearer.Malformed || len(e.Bearer.Claims) == 0 || e.Bearer.Lifetime <= 0 {
				t.Errorf("seq %d: bearer %+v, want the token's redacted claims", e.Seq, e.Bearer)
			}
			// Zero (session start) is right for a notification that beat
			// the relay of its cause; checkInviteTrigger pins the exact one.
			if e.Trigger >= e.Seq || (e.Trigger != 0 && evs[e.Trigger-1].Kind != cassette.KindGraph) {
				t.Errorf("seq %d: trigger %d is not an earlier Graph exchange", e.Seq, e.Trigger)
			}
			if e.Response.Status != http.StatusAccepted {
				t.Errorf("seq %d: bot answered %d, want 202", e.Seq, e.Response.Status)
			}
			if !strings.HasSuffix(e.Request.URL, "/api/calls") {
				t.Errorf("seq %d: notification URL %q, want the bot's /api/calls", e.Seq, e.Request.URL)
			}
		case cassette.KindGraph:
			if e.Offset < lastGraphOffset {
				t.Errorf("seq %d: offset %v before the previous exchange's %v (the bot is sequential)", e.Seq, e.Offset, lastGraphOffset)
			}
			lastGraphOffset = e.Offset
			if e.Trigger != 0 {
				t.Errorf("seq %d: outbound exchange with trigger %d", e.Seq, e.Trigger)
			}
			if len(e.Request.Body) > 0 && !gjson.ValidBytes(e.Request.Body) {
				t.Errorf("seq %d: request body not stored as JSON (gzip %v): %.40q", e.Seq, o.gzip, e.Request.Body)
			}
		case cassette.KindToken:
			if strings.Contains(string(e.Request.Body), clientSecret) || strings.Contains(string(e.Request.Body), url.QueryEscape(clientSecret)) {
				t.Errorf("seq %d: token request holds the client secret", e.Seq)
			}
		}
	}

	checkInviteTrigger(t, s, evs)
	checkLocation(t, rg, res, evs)
	assertNoOriginals(t, rg.path, orig)

	// One progress line per event, nothing original in them.
	lines := strings.Split(strings.TrimSpace(rg.progress.String()), "\n")
	if len(lines) != len(evs) {
		t.Errorf("%d progress lines for %d events", len(lines), len(evs))
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "+") {
			t.Errorf("progress line %q", l)
		}
	}
	for v, what := range orig {
		if len(v) >= 4 && strings.Contains(strings.ToLower(strings.ReplaceAll(rg.progress.String(), "-", "")), strings.ToLower(strings.ReplaceAll(v, "-", ""))) {
			t.Errorf("progress shows an original %s", what)
		}
	}
}

// collectOriginals gathers what the live session held.
func collectOriginals(rg *rig, s graphtest.Scenario, res *graphtest.Result) originals {
	o := originals{
		rg.graph.TenantID(): "tenant id",
		rg.graph.ClientID(): "client id",
		clientSecret:        "client secret",
		callbackHost:        "callback host",
		res.CallID:          "call id",
		res.OperationID:     "operation id",
	}
	ids := rg.bot.IDs(s)
	for _, v := range append([]string{ids.ClientContext, ids.Target, ids.ReplacedCallID}, ids.Users...) {
		o[strings.ToLower(strings.ReplaceAll(v, "-", ""))] = "bot guid"
	}
	o[ids.Phone] = "phone"
	if s == graphtest.FailedInvite {
		o[graphtest.FailPhone] = "phone"
	}
	for _, x := range res.Requests {
		o.scan("request url", []byte(x.URL))
		o.scan("answer", x.Body)
		o.scanHeader("answer", x.Header)
	}
	for _, x := range res.Received {
		o.scan("received", x.Body)
		o.scanHeader("received", x.Header)
	}
	delete(o, "")
	return o
}

// checkInviteTrigger asserts that the notification completing (or failing)
// the invite operation names that invite as its trigger.
func checkInviteTrigger(t *testing.T, s graphtest.Scenario, evs []*cassette.Event) {
	t.Helper()
	var invite *cassette.Event
	for _, e := range evs {
		if e.Kind == cassette.KindGraph && strings.HasSuffix(pathOf(e.Request.URL), "/participants/invite") {
			invite = e
		}
	}
	if invite == nil {
		t.Fatal("no invite recorded")
	}
	opID := canonGUID(gjson.GetBytes(invite.Response.Body, "id").String())
	if opID == "" {
		t.Fatalf("invite answer has no operation id: %.200s", invite.Response.Body)
	}
	found := false
	for _, e := range evs {
		if e.Kind != cassette.KindNotification {
			continue
		}
		body := string(e.Request.Body)
		if !strings.Contains(body, `"completed"`) && !strings.Contains(body, `"failed"`) {
			continue
		}
		if !slices.ContainsFunc(guidRE.FindAllString(body, -1), func(g string) bool { return canonGUID(g) == opID }) {
			continue
		}
		found = true
		if e.Trigger != invite.Seq {
			t.Errorf("%s: completion notification seq %d has trigger %d, want the invite %d", s, e.Seq, e.Trigger, invite.Seq)
		}
	}
	if !found {
		t.Errorf("%s: no completion notification for operation %s", s, opID)
	}
}

// checkLocation asserts that the invite's Location was relayed pointing at
// the base the bot used and stored pointing at the (redacted) upstream.
func checkLocation(t *testing.T, rg *rig, res *graphtest.Result, evs []*cassette.Event) {
	t.Helper()
	for _, x := range res.Requests {
		if loc := x.Header.Get("Location"); loc != "" && !strings.HasPrefix(loc, rg.graphURL+"/") {
			t.Errorf("relayed Location %q does not start with the bot's base %s", loc, rg.graphURL)
		}
	}
	r, err := cassette.Open(rg.path)
	if err != nil {
		t.Fatal(err)
	}
	meta := r.Meta()
	r.Close()
	if meta.Upstream == "" || meta.TokenUpstream == "" {
		t.Errorf("meta upstream %q", meta.Upstream)
	}
	n := 0
	for _, e := range evs {
		if loc := e.Response.Header.Get("Location"); loc != "" {
			n++
			if !strings.HasPrefix(loc, meta.Upstream+"/") {
				t.Errorf("seq %d: stored Location %q does not start with the recorded upstream %q", e.Seq, loc, meta.Upstream)
			}
		}
	}
	if n == 0 {
		t.Error("no Location recorded")
	}
}

func pathOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Path
}

func canonGUID(s string) string {
	m := guidRE.FindString(s)
	return strings.ToLower(strings.ReplaceAll(m, "-", ""))
}

// TestRecordSummary checks the counts Close leaves.
func TestRecordSummary(t *testing.T) {
	rg := newRig(t, rigOptions{seed: 3})
	res, err := rg.bot.Run(t.Context(), graphtest.SingleInvite)
	if err != nil || res.Err() != nil {
		t.Fatalf("run: %v %v", err, res.Err())
	}
	evs := rg.events()
	sum := rg.rec.Summary()
	t.Logf("progress:\n%s%s", rg.progress, sum)
	if sum.Events != len(evs) {
		t.Errorf("summary events %d, cassette %d", sum.Events, len(evs))
	}
	byKind := map[cassette.Kind]int{}
	for _, e := range evs {
		byKind[e.Kind]++
	}
	for k, n := range byKind {
		if sum.ByKind[k] != n {
			t.Errorf("summary %s = %d, cassette %d", k, sum.ByKind[k], n)
		}
	}
	if sum.Notifications != byKind[cassette.KindNotification] || sum.Calls != 1 || sum.Duration <= 0 {
		t.Errorf("summary %+v", sum)
	}
	if s := sum.String(); !strings.Contains(s, fmt.Sprintf("%d events", len(evs))) {
		t.Errorf("summary line %q", s)
	}
	// Close twice is harmless.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := rg.rec.Close(ctx); err != nil {
		t.Errorf("second close: %v", err)
	}
}
