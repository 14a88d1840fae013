package proxy_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/recordtest"
	"github.com/tidwall/gjson"
)

const (
	// retryTimeout is the test bot's HTTP client timeout, slowAnswer how
	// long the simulator takes to answer the first create-call: the bot
	// gives up on it and retries.
	retryTimeout = 400 * time.Millisecond
	slowAnswer   = 1500 * time.Millisecond
)

// retryBot is a bot whose HTTP client times out and retries: it gets a
// token, creates a call (retrying after a timeout) and collects the
// notifications posted to its listener.
type retryBot struct {
	client *http.Client
	base   string // Graph and token base URL
	tenant string
	srv    *httptest.Server

	mu    sync.Mutex // guards notes
	notes []botNote
	more  chan struct{} // gets a value when a notification arrives
}

// botNote is a notification as the bot received it.
type botNote struct {
	at   time.Time
	call string // the call id in its resource
}

// attempt is one try of the bot's create-call.
type attempt struct {
	start  time.Time
	took   time.Duration
	status int
	err    error
	call   string // the id in the answer
}

func newRetryBot(t *testing.T, timeout time.Duration) *retryBot {
	t.Helper()
	b := &retryBot{more: make(chan struct{}, 64), tenant: "3f2b1c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.notes = append(b.notes, botNote{at: time.Now(), call: callOfNote(body)})
		b.mu.Unlock()
		b.more <- struct{}{}
		w.WriteHeader(http.StatusAccepted)
	}))
	tr := &http.Transport{}
	b.client = &http.Client{Transport: tr, Timeout: timeout}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		b.srv.Close()
	})
	return b
}

// callOfNote returns the call id in a notification's first resource.
func callOfNote(body []byte) string {
	res := gjson.GetBytes(body, "value.0.resourceUrl").String()
	if res == "" {
		res = gjson.GetBytes(body, "value.0.resource").String()
	}
	_, rest, ok := strings.Cut(res, "/calls/")
	if !ok {
		return ""
	}
	id, _, _ := strings.Cut(rest, "/")
	return strings.ToLower(id)
}

// run gets a token and creates a call, retrying up to twice after a
// timeout.
func (b *retryBot) run(ctx context.Context, t *testing.T, clientID, secret string) []attempt {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID},
		"client_secret": {secret}, "scope": {"https://graph.microsoft.com/.default"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/"+b.tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	tokBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := gjson.GetBytes(tokBody, "access_token").String()
	if resp.StatusCode != http.StatusOK || tok == "" {
		t.Fatalf("token: %d %s", resp.StatusCode, tokBody)
	}
	body, _ := json.Marshal(map[string]any{
		"@odata.type":         "#microsoft.graph.call",
		"callbackUri":         "https://calls.contoso-bot.example/api/calls",
		"requestedModalities": []string{"audio"},
		"tenantId":            b.tenant,
	})
	var out []attempt
	for range 3 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.base+"/v1.0/communications/calls", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		a := attempt{start: time.Now()}
		resp, err := b.client.Do(req)
		a.took = time.Since(a.start)
		if err != nil {
			a.err = err
			out = append(out, a)
			if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
				continue // the bot's retry logic under test
			}
			return out
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		a.status, a.call = resp.StatusCode, strings.ToLower(gjson.GetBytes(answer, "id").String())
		out = append(out, a)
		return out
	}
	return out
}

// waitNotes waits until the bot has n notifications and returns them.
func (b *retryBot) waitNotes(t *testing.T, n int) []botNote {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		b.mu.Lock()
		got := append([]botNote(nil), b.notes...)
		b.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-b.more:
		case <-deadline:
			t.Fatalf("the bot got %d notifications, want %d", len(got), n)
		}
	}
}

// checkTimedOutThenSucceeded checks that the bot's first create-call
// timed out (no answer at all, 502 or other) and its retry got 201.
func checkTimedOutThenSucceeded(t *testing.T, as []attempt) {
	t.Helper()
	if len(as) != 2 {
		t.Fatalf("%d attempts %+v, want a timeout then a success", len(as), as)
	}
	var ne net.Error
	if !errors.As(as[0].err, &ne) || !ne.Timeout() || as[0].status != 0 {
		t.Errorf("first attempt: status %d err %v, want the bot's own timeout and no answer", as[0].status, as[0].err)
	}
	if as[0].took < retryTimeout {
		t.Errorf("first attempt gave up after %s, before the bot's timeout", as[0].took)
	}
	if as[1].err != nil || as[1].status != http.StatusCreated || as[1].call == "" {
		t.Errorf("retry: status %d err %v call %q, want 201 with a call", as[1].status, as[1].err, as[1].call)
	}
}

// abandonRecording is a session in which the bot abandoned its first
// create-call.
type abandonRecording struct {
	path    string
	sent    []graphtest.Sent // the notifications the simulator sent
	clients struct{ id, secret string }
}

// recordAbandon records a retryBot through a Recorder against a simulator
// that answers the first create-call slowly.
func recordAbandon(t *testing.T) abandonRecording {
	t.Helper()
	key, err := sharedKey()
	if err != nil {
		t.Fatal(err)
	}
	var notifyAddr graphtest.LateDialer
	defer notifyAddr.CloseIdleConnections()
	var creates atomic.Int32
	g := graphtest.NewGraph(graphtest.GraphOptions{
		Seed: 21, SigningKey: key, ClientSecret: "rec-secret~1",
		CallbackBase: "http://notify.graphvcr.test",
		NotifyClient: notifyAddr.Client(10 * time.Second),
		AnswerDelay: func(r *http.Request) time.Duration {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/communications/calls") && creates.Add(1) == 1 {
				return slowAnswer
			}
			return 0
		},
	})
	defer g.Close()
	bot := newRetryBot(t, retryTimeout)

	path := filepath.Join(t.TempDir(), "abandon.bolt")
	rec := recordtest.Start(t, path, proxy.RecordConfig{Upstream: g.URL, TokenUpstream: g.URL, Bot: bot.srv.URL})
	notifyAddr.Set(rec.NotifyURL())
	bot.base, bot.tenant = rec.URL(), g.TenantID()
	as := bot.run(t.Context(), t, g.ClientID(), "rec-secret~1")
	checkTimedOutThenSucceeded(t, as)
	// Graph created both calls: two notifications each reach the bot.
	bot.waitNotes(t, 4)
	if err := g.Flush(t.Context()); err != nil {
		t.Error(err)
	}
	rec.Close()
	out := abandonRecording{path: path, sent: g.Sent()}
	out.clients.id, out.clients.secret = g.ClientID(), "rec-secret~1"
	return out
}

// abandonedCreate returns the cassette's create-call events: the
// abandoned one and the retry's.
func abandonedCreate(t *testing.T, evs []*cassette.Event) (abandoned, retry *cassette.Event) {
	t.Helper()
	for _, e := range evs {
		if e.Kind == cassette.KindGraph && e.Request.Method == http.MethodPost && strings.HasSuffix(e.Request.URL, "/communications/calls") {
			if e.Abandoned > 0 {
				abandoned = e
			} else {
				retry = e
			}
		}
	}
	if abandoned == nil || retry == nil {
		t.Fatalf("want an abandoned create-call and its retry in the cassette")
	}
	return abandoned, retry
}

// TestRecordAbandonedKeepsGraphsAnswer: the bot gives up on a slow
// create-call; the cassette holds what Graph answered, when the bot gave
// up, and the notifications about the abandoned call triggered by it.
func TestRecordAbandonedKeepsGraphsAnswer(t *testing.T) {
	r := recordAbandon(t)
	evs := readEvents(t, r.path)
	for _, e := range evs {
		if e.Response.Status == http.StatusBadGateway || e.Error != "" {
			t.Errorf("event %d: status %d error %q; want no failure recorded", e.Seq, e.Response.Status, e.Error)
		}
	}
	ab, retry := abandonedCreate(t, evs)
	if ab.Response.Status != http.StatusCreated || gjson.GetBytes(ab.Response.Body, "id").String() == "" {
		t.Errorf("abandoned create-call: status %d body %.80s; want Graph's 201 with the call", ab.Response.Status, ab.Response.Body)
	}
	// The bot's clock starts before graphvcr's (which starts once the
	// request has arrived): allow for the trip.
	if ab.Abandoned < retryTimeout*3/4 || ab.Abandoned >= ab.Latency || ab.Latency < slowAnswer {
		t.Errorf("abandoned after %s, latency %s; want the bot's %s timeout before Graph's %s answer",
			ab.Abandoned, ab.Latency, retryTimeout, slowAnswer)
	}
	// graphvcr learns the bot gave up when the closed connection reaches
	// its server, which can be just after the retry came in on a new one:
	// allow it noticeLag, far less than the answer's 1.5 s it must not be.
	const noticeLag = 100 * time.Millisecond
	if retry.Offset+noticeLag < ab.Offset+ab.Abandoned {
		t.Errorf("retry arrived at %s, more than %s before the bot gave up at %s", retry.Offset, noticeLag, ab.Offset+ab.Abandoned)
	}
	abCall := strings.ToLower(gjson.GetBytes(ab.Response.Body, "id").String())
	retryCall := strings.ToLower(gjson.GetBytes(retry.Response.Body, "id").String())
	byCall := map[string]int{}
	for _, e := range evs {
		if e.Kind != cassette.KindNotification {
			continue
		}
		c := callOfNote(e.Request.Body)
		byCall[c]++
		want := retry.Seq
		if c == abCall {
			want = ab.Seq
		}
		if e.Trigger != want {
			t.Errorf("notification %d about call %s: trigger %d, want %d", e.Seq, c, e.Trigger, want)
		}
	}
	if byCall[abCall] != 2 || byCall[retryCall] != 2 {
		t.Errorf("notifications per call %v; want 2 about the abandoned call and 2 about the retry's", byCall)
	}
}

// replayAbandon replays the cassette at speed to a fresh retryBot whose
// client times out after timeout, and returns its attempts, notifications
// and the report once the replay is done (once the bot has wantNotes
// notifications; 0 does not wait for any).
func replayAbandon(t *testing.T, path string, speed float64, timeout time.Duration, wantNotes int) ([]attempt, []botNote, proxy.Report) {
	t.Helper()
	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	bot := newRetryBot(t, timeout)
	rep, stop := startReplayer(t, proxy.ReplayConfig{Bot: bot.srv.URL, Speed: speed, Strict: true, Cassette: rd})
	defer stop()
	bot.base = rep.URL()
	as := bot.run(t.Context(), t, "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d", "no secret offline")
	var notes []botNote
	if wantNotes > 0 {
		notes = bot.waitNotes(t, wantNotes)
		select {
		case <-rep.Done():
		case <-time.After(10 * time.Second):
			t.Fatalf("replay not done after 10 s: %+v", rep.Report())
		}
	}
	return as, notes, settledReport(t, rep)
}

// TestReplayAbandonedAsRecorded: replay makes the same bot time out on the
// request it abandoned and succeed on its retry, with no 502 anywhere, and
// delivers the notifications about the abandoned call after it.
func TestReplayAbandonedAsRecorded(t *testing.T) {
	r := recordAbandon(t)
	ab, retry := abandonedCreate(t, readEvents(t, r.path))
	abCall := strings.ToLower(gjson.GetBytes(ab.Response.Body, "id").String())
	for _, speed := range []float64{1, 0} {
		t.Run("speed "+strconv.FormatFloat(speed, 'g', -1, 64), func(t *testing.T) {
			as, notes, rep := replayAbandon(t, r.path, speed, retryTimeout, 4)
			checkTimedOutThenSucceeded(t, as)
			if rep.Diverged() {
				t.Errorf("replay diverged: %+v", rep)
			}
			if len(rep.Abandoned) != 1 || rep.Abandoned[0].Seq != ab.Seq || !rep.Abandoned[0].Reproduced {
				t.Errorf("report abandoned %+v; want #%d reproduced", rep.Abandoned, ab.Seq)
			}
			for _, m := range rep.Matched {
				if m.Status == http.StatusBadGateway {
					t.Errorf("match %+v: served a 502", m)
				}
				if m.Seq == ab.Seq && (!m.Abandoned || m.Status != 0) {
					t.Errorf("match %+v: want the abandoned exchange unanswered", m)
				}
				if m.Seq == retry.Seq && m.Status != http.StatusCreated {
					t.Errorf("match %+v: want the retry answered 201", m)
				}
			}
			if len(rep.ServedAgain) != 0 || len(rep.Unmatched) != 0 {
				t.Errorf("served again %+v, unmatched %+v; want neither", rep.ServedAgain, rep.Unmatched)
			}
			abNotes := 0
			for _, d := range rep.Notifications {
				if d.Trigger == ab.Seq {
					abNotes++
				}
			}
			if abNotes != 2 {
				t.Errorf("%d notifications delivered after the abandoned exchange, want 2: %+v", abNotes, rep.Notifications)
			}
			for _, n := range notes {
				if n.call == abCall && n.at.Before(as[0].start) {
					t.Errorf("a notification about the abandoned call reached the bot before it asked for the call")
				}
			}
		})
	}
}

// TestReplayAbandonedBotWaitsLonger: a bot that waits longer than the
// recorded bot did gets its connection closed (no answer, no 502) after
// the recorded time plus the margin, and the strict report diverges.
func TestReplayAbandonedBotWaitsLonger(t *testing.T) {
	r := recordAbandon(t)
	as, _, rep := replayAbandon(t, r.path, 1, 10*time.Second, 0)
	if len(as) != 1 || as[0].err == nil || as[0].status != 0 {
		t.Fatalf("attempts %+v; want one that got no answer", as)
	}
	if len(rep.Abandoned) != 1 || rep.Abandoned[0].Reproduced || rep.Abandoned[0].Held < retryTimeout {
		t.Errorf("report abandoned %+v; want one not reproduced, held past %s", rep.Abandoned, retryTimeout)
	}
	if !rep.Diverged() || !rep.Failed() {
		t.Errorf("report diverged %v failed %v; want both under strict", rep.Diverged(), rep.Failed())
	}
}

// writeCassette writes evs to a new cassette at path with the cassette
// writer directly, as a recorder (of any version) would have.
func writeCassette(t *testing.T, path string, evs []cassette.Event) {
	t.Helper()
	ptrs := make([]*cassette.Event, len(evs))
	for i := range evs {
		ptrs[i] = &evs[i]
	}
	cassettetest.Write(t, path, cassette.Meta{Upstream: proxy.DefaultUpstream, TokenUpstream: proxy.DefaultTokenUpstream}, ptrs)
}

// pollEvent is a recorded GET of an operation, answered with state.
func pollEvent(offset time.Duration, state string) cassette.Event {
	return cassette.Event{
		Kind: cassette.KindGraph, Offset: offset, Latency: 20 * time.Millisecond,
		Request: cassette.Request{Method: http.MethodGet, URL: proxy.DefaultUpstream + "/v1.0/communications/calls/poll/operations/op"},
		Response: cassette.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
			Body: []byte(`{"status":"` + state + `"}`)},
	}
}

// replayPolls replays path at speed 0 and sends n GETs of the polled
// operation with a client that gives up after retryTimeout; it returns
// each answer's status and body ("" and status 0 when there was none).
func replayPolls(t *testing.T, path string, n int) ([]int, []string, proxy.Report) {
	return replayPollsWith(t, path, n, pollOptions{timeout: retryTimeout})
}

// pollOptions vary replayPollsWith.
type pollOptions struct {
	timeout time.Duration // the client's
	speed   float64
	h2      bool // the listener serves TLS and the client speaks HTTP/2
}

func replayPollsWith(t *testing.T, path string, n int, o pollOptions) ([]int, []string, proxy.Report) {
	t.Helper()
	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	cfg := proxy.ReplayConfig{Cassette: rd, Speed: o.speed}
	tr := &http.Transport{}
	if o.h2 {
		ca, err := proxy.LoadCA(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLS, cfg.CA = true, ca
		tr.TLSClientConfig = &tls.Config{RootCAs: ca.CertPool()}
		tr.ForceAttemptHTTP2 = true
	}
	rep, stop := startReplayer(t, cfg)
	defer stop()
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: o.timeout}
	var statuses []int
	var bodies []string
	for range n {
		resp, err := client.Get(rep.URL() + "/v1.0/communications/calls/poll/operations/op")
		if err != nil {
			statuses, bodies = append(statuses, 0), append(bodies, "")
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if o.h2 && resp.ProtoMajor != 2 {
			t.Errorf("answered over %s, want HTTP/2", resp.Proto)
		}
		statuses, bodies = append(statuses, resp.StatusCode), append(bodies, string(b))
	}
	return statuses, bodies, settledReport(t, rep)
}

// settledReport returns rep's report once every hold of an abandoned
// exchange has ended: a hold notes its outcome as its handler ends, which
// can be just after the client has moved on.
func settledReport(t *testing.T, rep *proxy.Replayer) proxy.Report {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(5 * time.Second)
	for {
		r := rep.Report()
		held := 0
		for _, m := range r.Matched {
			if m.Abandoned {
				held++
			}
		}
		if len(r.Abandoned) >= held {
			return r
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("holds still running after 5 s: %+v", r)
		}
	}
}

// TestReplayNeverServesAbandonedAgain: once a run of identical requests is
// used up, the last exchange served again is never one the bot abandoned;
// with nothing else to serve, the request matches nothing.
func TestReplayNeverServesAbandonedAgain(t *testing.T) {
	abandoned := func(ev cassette.Event) cassette.Event {
		ev.Latency, ev.Abandoned = time.Second, 200*time.Millisecond
		return ev
	}
	t.Run("last exchange abandoned", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "last.bolt")
		writeCassette(t, path, []cassette.Event{pollEvent(0, "running"), abandoned(pollEvent(time.Second, "completed"))})
		statuses, bodies, rep := replayPolls(t, path, 4)
		want := []int{200, 0, 200, 200}
		for i, s := range statuses {
			if s != want[i] || strings.Contains(bodies[i], "completed") {
				t.Errorf("request %d: %d %q; want %d and never the abandoned answer", i+1, s, bodies[i], want[i])
			}
		}
		if len(rep.ServedAgain) != 1 || rep.ServedAgain[0].Seq != 1 || rep.ServedAgain[0].Count != 2 {
			t.Errorf("served again %+v; want #1 twice", rep.ServedAgain)
		}
	})
	t.Run("over HTTP/2", func(t *testing.T) {
		// The held stream is reset, not the connection: the requests
		// after it share the connection and get their answers.
		path := filepath.Join(t.TempDir(), "h2.bolt")
		writeCassette(t, path, []cassette.Event{pollEvent(0, "running"), abandoned(pollEvent(time.Second, "completed"))})
		// The bot's patience is twice the retry test's: the held request
		// must reach its handler before the bot gives up on it (else the
		// next request, arriving first, takes the abandoned exchange), and
		// stay under the hold's end, 200ms + 1s.
		statuses, _, rep := replayPollsWith(t, path, 3, pollOptions{timeout: 2 * retryTimeout, h2: true})
		if want := []int{200, 0, 200}; statuses[0] != want[0] || statuses[1] != want[1] || statuses[2] != want[2] {
			t.Errorf("answers %v, want %v", statuses, want)
		}
		if len(rep.Abandoned) != 1 || !rep.Abandoned[0].Reproduced {
			t.Errorf("report abandoned %+v; want one reproduced", rep.Abandoned)
		}
	})
	t.Run("HTTP/2 bot waits longer", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "h2late.bolt")
		writeCassette(t, path, []cassette.Event{abandoned(pollEvent(0, "completed"))})
		statuses, _, rep := replayPollsWith(t, path, 1, pollOptions{timeout: 10 * time.Second, speed: 4, h2: true})
		if statuses[0] != 0 {
			t.Errorf("answer %d, want the stream reset without one", statuses[0])
		}
		if len(rep.Abandoned) != 1 || rep.Abandoned[0].Reproduced || !rep.Diverged() {
			t.Errorf("report abandoned %+v, diverged %v; want a divergence", rep.Abandoned, rep.Diverged())
		}
	})
	t.Run("only exchange abandoned", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "only.bolt")
		writeCassette(t, path, []cassette.Event{abandoned(pollEvent(0, "completed"))})
		statuses, bodies, rep := replayPolls(t, path, 2)
		if statuses[0] != 0 || statuses[1] == http.StatusOK || statuses[1] == http.StatusBadGateway || strings.Contains(bodies[1], "completed") {
			t.Errorf("answers %v %q; want none, then graphvcr's no-match error", statuses, bodies)
		}
		if len(rep.Unmatched) != 1 || len(rep.ServedAgain) != 0 {
			t.Fatalf("unmatched %+v served again %+v; want the repeat unmatched", rep.Unmatched, rep.ServedAgain)
		}
		if !strings.Contains(bodies[1], "the bot abandoned it when recording") {
			t.Errorf("no-match answer %q does not say the exchange was abandoned", bodies[1])
		}
	})
}

// TestReplayLegacyCanceledAsAbandoned: a cassette written before abandoned
// exchanges were kept holds a 502 with Error "canceled" where the bot gave
// up; it reads as abandoned, and replay answers it with nothing, never 502.
func TestReplayLegacyCanceledAsAbandoned(t *testing.T) {
	legacy := pollEvent(0, "")
	legacy.Latency = 300 * time.Millisecond
	legacy.Response = cassette.Response{Status: http.StatusBadGateway,
		Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte("graphvcr: canceled")}
	legacy.Error = "canceled"
	path := filepath.Join(t.TempDir(), "legacy.bolt")
	writeCassette(t, path, []cassette.Event{legacy, pollEvent(time.Second, "completed")})

	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := rd.Event(1)
	rd.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ev.Abandoned != legacy.Latency {
		t.Errorf("legacy event reads Abandoned %s, want its latency %s", ev.Abandoned, legacy.Latency)
	}

	statuses, _, rep := replayPolls(t, path, 3)
	if want := []int{0, 200, 200}; statuses[0] != want[0] || statuses[1] != want[1] || statuses[2] != want[2] {
		t.Errorf("answers %v, want %v: the legacy 502 is never served", statuses, want)
	}
	if len(rep.Abandoned) != 1 || rep.Abandoned[0].Seq != 1 || !rep.Abandoned[0].Reproduced {
		t.Errorf("report abandoned %+v; want #1 reproduced", rep.Abandoned)
	}
}

// TestReplayCloseEndsHold: closing the replayer while a request is held
// ends the hold at once, without an answer, and the report says the replay
// closed (no divergence).
func TestReplayCloseEndsHold(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hold.bolt")
	ev := pollEvent(0, "completed")
	ev.Latency, ev.Abandoned = time.Second, 200*time.Millisecond
	writeCassette(t, path, []cassette.Event{ev})
	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rep, err := proxy.StartReplayer(t.Context(), proxy.ReplayConfig{Cassette: rd}) // speed 0: held until the bot gives up
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	got := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr, Timeout: time.Minute}).Get(rep.URL() + "/v1.0/communications/calls/poll/operations/op")
		if err == nil {
			resp.Body.Close()
			err = errors.New("answered " + resp.Status)
		}
		got <- err
	}()
	<-rep.Done() // matched: the request is being held
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := rep.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Close took %s with a request held", took)
	}
	if err := <-got; err == nil || strings.Contains(err.Error(), "answered") {
		t.Errorf("held request: %v; want no answer", err)
	}
	r := rep.Report()
	if len(r.Abandoned) != 1 || !r.Abandoned[0].Closed || r.Abandoned[0].Reproduced || r.Diverged() {
		t.Errorf("report abandoned %+v diverged %v; want the hold ended by Close, no divergence", r.Abandoned, r.Diverged())
	}
}
