package graphtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// runOK runs s and fails the test unless every check passed.
func runOK(t *testing.T, b *Bot, s Scenario) *Result {
	t.Helper()
	res, err := b.Run(t.Context(), s)
	if err != nil {
		t.Fatalf("run %s: %v\nchecks: %+v", s, err, res)
	}
	if err := res.Err(); err != nil {
		t.Fatalf("run %s: checks failed: %v", s, err)
	}
	return res
}

func TestScenarios(t *testing.T) {
	for _, s := range Scenarios() {
		t.Run(string(s), func(t *testing.T) {
			t.Parallel()
			g := startGraph(t, GraphOptions{Seed: 7, DelayScale: 0.01})
			b := startBot(t, g, BotOptions{Seed: 3})
			res := runOK(t, b, s)
			if err := g.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got, want := res.Shapes(), b.ExpectedShapes(s); !slices.Equal(got, want) {
				t.Errorf("notifications:\n got %q\nwant %q", got, want)
			}
			sent := g.Sent()
			if len(sent) != len(res.Received) {
				t.Fatalf("simulator sent %d notifications, bot received %d", len(sent), len(res.Received))
			}
			for i, s := range sent {
				if s.Status != http.StatusAccepted || s.Err != nil || s.Path != "/api/calls" {
					t.Errorf("sent[%d]: path %s status %d err %v, want /api/calls 202", i, s.Path, s.Status, s.Err)
				}
				if string(res.Received[i].Body) != string(s.Body) {
					t.Errorf("sent[%d] and received[%d] differ: the bot saw them out of order", i, i)
				}
				if i > 0 && s.Offset < sent[i-1].Offset {
					t.Errorf("sent[%d] started before sent[%d]", i, i-1)
				}
			}
			// Every notification carries a token the simulator signed for the app.
			for _, r := range res.Received {
				if err := (&keySet{audience: g.ClientID(), keys: map[string]*rsa.PublicKey{g.kid: g.SigningKey()}}).verify(t.Context(), r.Header.Get("Authorization")); err != nil {
					t.Errorf("notification token: %v", err)
				}
				if r.Header.Get("X-Microsoft-Skype-Chain-ID") == "" || !strings.HasPrefix(r.Header.Get("User-Agent"), "Microsoft-Skype") {
					t.Errorf("notification headers lack Graph's: %v", r.Header)
				}
			}
		})
	}
}

// TestRealisticDelays runs with DelayScale 1: no notification may reach
// the bot before the delay the simulator drew after the request that
// caused it, and the drawn delays are in the hundreds of milliseconds.
func TestRealisticDelays(t *testing.T) {
	t.Parallel()
	g := startGraph(t, GraphOptions{Seed: 21, DelayScale: 1})
	b := startBot(t, g, BotOptions{Seed: 22})
	res := runOK(t, b, SingleInvite)
	var create, invite Exchange
	for _, e := range res.Requests {
		switch {
		case strings.HasSuffix(e.URL, "/communications/calls"):
			create = e
		case strings.HasSuffix(e.URL, "/participants/invite"):
			invite = e
		}
	}
	sent := g.Sent()
	if len(sent) != 4 || len(res.Received) != 4 {
		t.Fatalf("sent %d, received %d notifications, want 4", len(sent), len(res.Received))
	}
	triggers := []Exchange{create, create, invite, invite}
	for i, s := range sent {
		if s.Delay < 80*time.Millisecond || s.Delay > 3*time.Second {
			t.Errorf("sent[%d]: drawn delay %v not realistic", i, s.Delay)
		}
		if s.Offset < s.Trigger+s.Delay {
			t.Errorf("sent[%d] at %v, before its trigger %v + delay %v", i, s.Offset, s.Trigger, s.Delay)
		}
		if got := res.Received[i].Offset - triggers[i].Offset; got < s.Delay {
			t.Errorf("received[%d] %v after its request, before the drawn delay %v", i, got, s.Delay)
		}
	}
}

// fingerprint is what the seeds must fix: the notification bodies, the
// drawn delays and the ids in the answers.
type fingerprint struct {
	bodies []string
	delays []time.Duration
	ids    []string
}

func runFingerprint(t *testing.T, graphSeed, botSeed int64) fingerprint {
	t.Helper()
	g := startGraph(t, GraphOptions{Seed: graphSeed, DelayScale: 0.01})
	b := startBot(t, g, BotOptions{Seed: botSeed})
	res := runOK(t, b, FullCall)
	var fp fingerprint
	for _, s := range g.Sent() {
		fp.bodies = append(fp.bodies, string(s.Body))
		fp.delays = append(fp.delays, s.Delay)
	}
	for _, e := range res.Requests {
		fp.ids = append(fp.ids, e.Header.Get("request-id"), gjson.GetBytes(e.Body, "id").String())
	}
	fp.ids = append(fp.ids, res.CallID, res.OperationID)
	return fp
}

func TestSeedsAreDeterministic(t *testing.T) {
	t.Parallel()
	base := runFingerprint(t, 1, 2)
	tests := []struct {
		name             string
		graphSeed, bot   int64
		sameIDs, sameAll bool
	}{
		{name: "same seeds", graphSeed: 1, bot: 2, sameIDs: true, sameAll: true},
		{name: "other graph seed", graphSeed: 5, bot: 2},
		{name: "other bot seed", graphSeed: 1, bot: 6, sameIDs: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fp := runFingerprint(t, tt.graphSeed, tt.bot)
			if got := slices.Equal(fp.ids, base.ids); got != tt.sameIDs {
				t.Errorf("simulator ids equal = %v, want %v\n%q\n%q", got, tt.sameIDs, fp.ids, base.ids)
			}
			if got := slices.Equal(fp.delays, base.delays); got != tt.sameIDs {
				t.Errorf("delays equal = %v, want %v\n%v\n%v", got, tt.sameIDs, fp.delays, base.delays)
			}
			if got := slices.Equal(fp.bodies, base.bodies); got != tt.sameAll {
				t.Errorf("notification bodies equal = %v, want %v", got, tt.sameAll)
			}
		})
	}
	t.Run("bot ids follow the seed", func(t *testing.T) {
		g := startGraph(t, GraphOptions{})
		a, a2, c := startBot(t, g, BotOptions{Seed: 2}), startBot(t, g, BotOptions{Seed: 2}), startBot(t, g, BotOptions{Seed: 6})
		for _, s := range Scenarios() {
			ia, ia2, ic := a.IDs(s), a2.IDs(s), c.IDs(s)
			if ia.ClientContext != ia2.ClientContext || !slices.Equal(ia.Users, ia2.Users) || ia.Phone != ia2.Phone || ia.ReplacedCallID != ia2.ReplacedCallID {
				t.Errorf("%s: same seed, different ids: %+v %+v", s, ia, ia2)
			}
			if ia.ClientContext == ic.ClientContext || ia.Users[0] == ic.Users[0] || ia.Phone == ic.Phone || ia.ReplacedCallID == ic.ReplacedCallID {
				t.Errorf("%s: other seed, shared ids: %+v %+v", s, ia, ic)
			}
		}
		if l := a.IDs(LegacyAppCalls).ClientContext; len(l) != 32 || strings.ToUpper(l) != l {
			t.Errorf("legacy clientContext %q, want 32 upper-case hex digits", l)
		}
	})
}

// TestCallbackBase sends notifications to the bot although callbackUri
// names another host, as when a recorder's listener stands in for the bot.
func TestCallbackBase(t *testing.T) {
	t.Parallel()
	// The bot must exist before the simulator that points at it: start it
	// unwired and wire it before Run, in this goroutine.
	b := startClosed(t, StartBot, BotOptions{CallbackURL: "https://bot.contoso.invalid/api/calls", ClientSecret: testSecret})
	g := startGraph(t, GraphOptions{CallbackBase: b.URL, DelayScale: 0.01})
	b.opts.GraphURL, b.opts.TokenURL, b.opts.ClientID = g.URL, g.TokenURL(""), g.ClientID()
	res := runOK(t, b, SingleInvite)
	for _, s := range g.Sent() {
		if s.URL != b.URL+"/api/calls" {
			t.Errorf("sent to %s, want %s/api/calls", s.URL, b.URL)
		}
	}
	if got := gjson.GetBytes(res.Requests[1].Body, "callbackUri").String(); got != "https://bot.contoso.invalid/api/calls" {
		t.Errorf("callbackUri %q, want it as the bot gave it", got)
	}
}

func TestTLSAndGzipRequests(t *testing.T) {
	t.Parallel()
	g := startGraph(t, GraphOptions{TLS: true, DelayScale: 0.01})
	hc := g.Client()
	t.Cleanup(hc.CloseIdleConnections)
	b := startBot(t, g, BotOptions{HTTPClient: hc, GzipRequests: true})
	if !strings.HasPrefix(g.URL, "https://127.0.0.1:") {
		t.Fatalf("URL %s, want https on 127.0.0.1", g.URL)
	}
	res := runOK(t, b, FullCall)
	for _, e := range res.Requests[1:] {
		if e.Header.Get("Content-Encoding") != "gzip" && e.Status != http.StatusNoContent {
			t.Errorf("%s %s: answer not gzip-encoded although the bot accepts gzip", e.Method, e.URL)
		}
		if !strings.HasPrefix(e.URL, "https://") {
			t.Errorf("%s: not over TLS", e.URL)
		}
	}
}

func TestValidatingBot(t *testing.T) {
	t.Parallel()
	g := startGraph(t, GraphOptions{DelayScale: 0.01})
	t.Run("accepts the simulator's tokens", func(t *testing.T) {
		b := startBot(t, g, BotOptions{OpenIDConfigURL: g.NotificationOpenIDConfigURL()})
		runOK(t, b, SingleInvite)
	})
	t.Run("rejects tokens signed by another key", func(t *testing.T) {
		other, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		g2 := startGraph(t, GraphOptions{SigningKey: other})
		g3 := startGraph(t, GraphOptions{DelayScale: 0.01})
		b := startBot(t, g3, BotOptions{OpenIDConfigURL: g2.NotificationOpenIDConfigURL()})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			_, err := b.Run(ctx, SingleInvite)
			done <- err
		}()
		until(t, "first notification answered", func() bool {
			s := g3.Sent()
			return len(s) > 0 && (s[0].Status != 0 || s[0].Err != nil)
		})
		if s := g3.Sent()[0]; s.Status != http.StatusUnauthorized {
			t.Errorf("bot answered %d to a forged notification, want 401", s.Status)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("run: %v, want it cancelled while waiting", err)
		}
	})
}

// The scenarios' bodies against the documentation's examples.

// trailingComma matches the comma the documented failure body has before a
// closing brace.
var trailingComma = regexp.MustCompile(`,\s*([}\]])`)

// keyPaths flattens a JSON body to its key paths (arrays as "[]") and, for
// the keys whose values define the protocol (@odata.type, status,
// changeType, state), the values seen under each path.
func keyPaths(t *testing.T, body []byte) map[string][]string {
	t.Helper()
	var v any
	if err := json.Unmarshal(trailingComma.ReplaceAll(body, []byte("$1")), &v); err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	out := make(map[string][]string)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(p, e)
			}
		case []any:
			for _, e := range x {
				walk(path+"[]", e)
			}
			if len(x) == 0 {
				out[path+"[]"] = out[path+"[]"]
			}
		default:
			key := path[strings.LastIndex(path, ".")+1:]
			vals := out[path]
			if s, ok := x.(string); ok && slices.Contains([]string{"@odata.type", "status", "changeType", "state"}, key) && !slices.Contains(vals, s) {
				vals = append(vals, s)
			}
			out[path] = vals
		}
	}
	walk("", v)
	return out
}

// classify names a notification body by its first entry.
func classify(body []byte) string {
	n := gjson.GetBytes(body, "value.0")
	_, rest := resourceCall(n.Get("resource").String())
	switch {
	case strings.HasPrefix(rest, "/operations/"):
		return n.Get("resourceData.status").String()
	case rest == "/participants":
		return "roster"
	case n.Get("changeType").String() == "deleted":
		return "deleted"
	default:
		return n.Get("resourceData.state").String()
	}
}

// collect runs scenario s and returns its bodies by name: request, answer,
// and each notification by classify.
func collect(t *testing.T, s Scenario) map[string][]byte {
	t.Helper()
	g := startGraph(t, GraphOptions{Seed: 11})
	b := startBot(t, g, BotOptions{Seed: 12})
	res, err := b.Run(t.Context(), s)
	if err != nil || res.Err() != nil {
		t.Fatalf("run %s: %v %v", s, err, res.Err())
	}
	out := make(map[string][]byte)
	for _, e := range res.Requests {
		if strings.HasSuffix(e.URL, "/participants/invite") {
			out["request"], out["answer"] = e.RequestBody, e.Body
		}
	}
	for _, sent := range g.Sent() {
		out[classify(sent.Body)] = sent.Body
	}
	return out
}

// legacyDirect drives what the bot's scenarios do not: the 2019 replace
// form (replacesCallId "/app/calls/{ID}") and a failure, both through the
// deprecated /app/calls path.
func legacyDirect(t *testing.T) map[string][]byte {
	t.Helper()
	g := startGraph(t, GraphOptions{Seed: 13})
	sk := newSink(t)
	c := newClient(t, g)
	callID := undashedUpper(c.createCall(sk.URL))
	sk.next(t) // establishing
	sk.next(t) // established
	out := make(map[string][]byte)
	invite := func(participant string) {
		resp, body := c.json(http.MethodPost, "/beta/app/calls/"+callID+"/participants/invite", `{"participants":[`+participant+`],"clientContext":"A904FBD5A31041E881E861877A3DE3CD"}`)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("legacy invite: status %d: %s", resp.StatusCode, body)
		}
	}
	invite(`{"@odata.type":"#microsoft.graph.invitationParticipantInfo","identity":{"user":{"id":"8A34A46B-3D17-4ADC-8DCE-DC4E7D572698"}},"replacesCallId":"/app/calls/57DAB8B1894C409AB240BD8BEAE78896"}`)
	for range 4 {
		b := sk.next(t)
		out[classify(b)] = b
	}
	invite(`{"identity":{"phone":{"id":"` + FailPhone + `"}}}`)
	b := sk.next(t)
	out[classify(b)] = b
	return out
}

// TestShapesMatchDocumentation compares the simulator's answers and
// notifications, and the bot's requests, with the documentation's examples
// in testdata: every key path of an example must be present, with the same
// @odata.type, status, changeType and state values.
func TestShapesMatchDocumentation(t *testing.T) {
	runs := map[string]map[string][]byte{}
	for _, s := range []Scenario{SingleInvite, MultipleInvite, ReplaceCall, PSTNInvite, LegacyAppCalls, FailedInvite} {
		runs[string(s)] = collect(t, s)
	}
	runs["legacy-direct"] = legacyDirect(t)

	tests := []struct {
		seed string
		run  string
		body string
	}{
		{"2019-invite-request.json", "legacy-app-calls", "request"},
		{"2019-invite-answer.json", "legacy-app-calls", "answer"},
		{"2019-operation-completed.json", "legacy-app-calls", "completed"},
		{"2019-roster.json", "legacy-app-calls", "roster"},
		{"2019-replaced-terminated.json", "legacy-direct", "terminated"},
		{"2019-replaced-deleted.json", "legacy-direct", "deleted"},
		{"2019-operation-failed.json", "legacy-direct", "failed"},
		{"2020-invite-request.json", "replace-call", "request"},
		{"2020-invite-answer.json", "replace-call", "answer"},
		{"2020-operation-completed.json", "single-invite", "completed"},
		{"2020-roster.json", "single-invite", "roster"},
		{"2020-multiple-invite-answer.json", "multiple-invite", "answer"},
		{"2020-multiple-operation-completed.json", "multiple-invite", "completed"},
		{"2020-multiple-roster.json", "multiple-invite", "roster"},
		{"2020-pstn-invite-request.json", "pstn-invite", "request"},
		{"2020-pstn-invite-answer.json", "pstn-invite", "answer"},
		{"2020-pstn-operation-completed.json", "pstn-invite", "completed"},
		{"2020-pstn-roster.json", "pstn-invite", "roster"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.seed, ".json"), func(t *testing.T) {
			seed, err := os.ReadFile(filepath.Join("testdata", tt.seed))
			if err != nil {
				t.Fatal(err)
			}
			got := runs[tt.run][tt.body]
			if got == nil {
				t.Fatalf("%s produced no %s body", tt.run, tt.body)
			}
			want, have := keyPaths(t, seed), keyPaths(t, got)
			for _, p := range slices.Sorted(maps.Keys(want)) {
				vals, ok := have[p]
				if !ok {
					t.Errorf("key path %s missing", p)
					continue
				}
				for _, v := range want[p] {
					if !slices.Contains(vals, v) {
						t.Errorf("%s: want value %q, have %q", p, v, vals)
					}
				}
			}
			if t.Failed() {
				t.Logf("simulator body: %s", got)
			}
		})
	}

	t.Run("failure bodies keep the trailing comma", func(t *testing.T) {
		for _, b := range [][]byte{runs["legacy-direct"]["failed"], runs["failed-invite"]["failed"]} {
			if json.Valid(b) {
				t.Errorf("failure body is valid JSON, the documented one is not: %s", b)
			}
			if !regexp.MustCompile(`\},\s*\}`).Match(b) {
				t.Errorf("failure body lacks the comma after resultInfo: %s", b)
			}
		}
	})
}
