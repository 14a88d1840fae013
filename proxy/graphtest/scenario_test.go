package graphtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
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
	b, err := StartBot(BotOptions{CallbackURL: "https://bot.contoso.invalid/api/calls", ClientSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
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
