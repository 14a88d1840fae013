package changes

import (
	"bytes"
	"context"
	"crypto/rsa"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/graphvcr/graphvcr/proxy/graphtest"
)

// TestRecordReplayThroughSubscribers runs the package's steps the way the
// recorder and replayer will (see the package doc) between the Graph
// simulator and two sample subscribers, whose crypto and token checks are
// written separately from this package's: a rich notification sent to app
// A is stored as the recorder would store it, then replayed to app B, with
// another key, certificate, clientState and subscription id, which
// verifies and decrypts it.
func TestRecordReplayThroughSubscribers(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	g, err := graphtest.StartGraph(graphtest.GraphOptions{Seed: 7, ClientSecret: "secret", SigningKey: otherKey})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	start := func(seed int64) *graphtest.Subscriber {
		s, err := graphtest.StartSubscriber(graphtest.SubscriberOptions{
			GraphURL: g.URL, TokenURL: g.TokenURL(""), ClientID: g.ClientID(), ClientSecret: "secret",
			TenantID: g.TenantID(), KeysConfigURL: g.AuthorityURL("") + "/v2.0/.well-known/openid-configuration",
			Seed: seed, Key: map[int64]*rsa.PrivateKey{1: testKey}[seed],
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	a := start(1)
	defer a.Close()
	b := start(2) // its own fresh key
	defer b.Close()

	// Record: A's subscription, the handshake, one rich notification.
	user := "66825e03-7ef5-42da-9069-4082c9041a0b"
	if _, err := a.Subscribe(ctx, "/communications/presences/"+user, "updated", true); err != nil {
		t.Fatal(err)
	}
	ds, err := g.NotifyPresence(ctx, user, "DoNotDisturb", "Presenting", nil)
	if err != nil || len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("recorded delivery: %v", err)
	}
	received := ds[0].Body
	toks := ValidationTokens(received)
	if len(toks) != 1 {
		t.Fatalf("recorded notification has %d validation tokens", len(toks))
	}
	claims, lifetime, err := TokenClaims(toks[0])
	if err != nil {
		t.Fatal(err)
	}
	stored, err := RedactValidationTokens(received)
	if err == nil {
		stored, err = StripClientState(stored)
	}
	if err != nil {
		t.Fatal(err)
	}
	stored, n, err := Decrypted(stored, testKey)
	if err != nil || n != 1 {
		t.Fatalf("decrypt recorded notification: %d, %v", n, err)
	}
	for _, secret := range []string{a.ClientState(), toks[0], gjson.GetBytes(received, "value.0.encryptedContent.data").String()} {
		if bytes.Contains(stored, []byte(secret)) {
			t.Fatalf("stored body keeps a secret %.20q…: %s", secret, stored)
		}
	}
	if gjson.GetBytes(stored, "value.0."+DecryptedField+".activity").String() != "Presenting" {
		t.Fatalf("stored body lost the resource data: %s", stored)
	}

	// Replay to B: its live values, its certificate, tokens signed with the
	// key its issuer publishes.
	kid := publishedKid(t, g)
	replay := func(signKey *rsa.PrivateKey) int {
		t.Helper()
		body, err := Bind(stored, Live{SubscriptionID: "live-subscription", ClientState: b.ClientState(), TenantID: g.TenantID()})
		if err != nil {
			t.Fatal(err)
		}
		body, n, err := Reencrypt(body, b.Certificate(), b.CertificateID())
		if err != nil || n != 1 {
			t.Fatalf("reencrypt: %d, %v", n, err)
		}
		tok, err := SignValidationToken(signKey, kid, claims, lifetime, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if body, err = SetValidationTokens(body, []string{tok}); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(b.URL+"/api/notifications", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		http.DefaultClient.CloseIdleConnections()
		return resp.StatusCode
	}
	if st := replay(otherKey); st != http.StatusAccepted {
		t.Fatalf("fresh app answered the replayed notification %d", st)
	}
	got, err := b.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	h := got[0]
	if h.Err != nil || h.SubscriptionID != "live-subscription" || gjson.GetBytes(h.Data, "activity").String() != "Presenting" {
		t.Fatalf("fresh app handled %+v (data %s)", h, h.Data)
	}
	// A token signed by a key the issuer does not publish is caught.
	if st := replay(testKey); st != http.StatusForbidden {
		t.Fatalf("a token signed by an unpublished key was answered %d", st)
	}
	if got, _ := b.Wait(ctx, 2); got[1].Err == nil || !strings.Contains(got[1].Err.Error(), "validation token") {
		t.Fatalf("forged token handled as %+v", got[1])
	}
}

// publishedKid returns the kid of the simulator's published signing key.
func publishedKid(t *testing.T, g *graphtest.Graph) string {
	t.Helper()
	resp, err := http.Get(g.URL + "/" + g.TenantID() + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	http.DefaultClient.CloseIdleConnections()
	kid := gjson.GetBytes(body, "keys.0.kid").String()
	if kid == "" {
		t.Fatalf("no kid in %s", body)
	}
	return kid
}
