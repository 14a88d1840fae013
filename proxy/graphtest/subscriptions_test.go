package graphtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

// appKeys are two apps' encryption keys, made once.
var appKeys = sync.OnceValues(func() ([2]*rsa.PrivateKey, error) {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return ks, err
		}
		ks[i] = k
	}
	return ks, nil
})

// appKey returns the i-th app key (0 or 1).
func appKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	ks, err := appKeys()
	if err != nil {
		t.Fatal(err)
	}
	return ks[i]
}

// startSubscriber starts a subscriber wired to g, closed at the end of
// the test (before g).
func startSubscriber(t *testing.T, g *Graph, opts SubscriberOptions) *Subscriber {
	t.Helper()
	opts.GraphURL = g.URL
	opts.TokenURL = g.TokenURL("")
	opts.ClientID = g.ClientID()
	opts.ClientSecret = testSecret
	opts.TenantID = g.TenantID()
	opts.KeysConfigURL = g.AuthorityURL("") + "/v2.0/.well-known/openid-configuration"
	return startClosed(t, StartSubscriber, opts)
}

// last returns the last handled item after waiting for n.
func last(t *testing.T, s *Subscriber, n int) Handled {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := s.Wait(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("handled %d items, want %d: %+v", len(got), n, got)
	}
	return got[n-1]
}

// simSubscription returns the simulator's copy of subscription id.
func simSubscription(t *testing.T, g *Graph, id string) Subscription {
	t.Helper()
	for _, s := range g.Subscriptions() {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no subscription %s", id)
	return Subscription{}
}

func TestSubscriptionFlows(t *testing.T) {
	g := startGraph(t, GraphOptions{Seed: 20})
	sub := startSubscriber(t, g, SubscriberOptions{Seed: 1, Key: appKey(t, 0)})
	ctx := t.Context()

	// Subscription to callRecords: both URLs validated before the answer.
	calls, err := sub.Subscribe(ctx, "/communications/callRecords", "created", false)
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.Handled(); len(got) != 2 || got[0].Class != "validation" || got[1].Class != "validation" {
		t.Fatalf("handled before the subscription existed: %+v, want two validations", got)
	}
	if s := simSubscription(t, g, calls); s.ClientState != sub.ClientState() || s.IncludeResourceData {
		t.Fatalf("simulator holds %+v", s)
	}

	// callRecord created, then the app GETs the record.
	recID, ds, err := g.NotifyCallRecord(ctx, nil)
	if err != nil || len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("deliveries %v, %v", statuses(ds), err)
	}
	h := last(t, sub, 3)
	if h.Class != "callRecord created" || h.Err != nil || gjson.GetBytes(h.Data, "id").String() != recID || h.SubscriptionID != calls {
		t.Fatalf("callRecord handled as %+v (data %s)", h, h.Data)
	}

	// Rich presence: encrypted in transit, decrypted by the app.
	user := "66825e03-7ef5-42da-9069-4082c9041a0b"
	pres, err := sub.Subscribe(ctx, "/communications/presences/"+user, "updated", true)
	if err != nil {
		t.Fatal(err)
	}
	last(t, sub, 5) // two more validations
	ds, err = g.NotifyPresence(ctx, user, "Busy", "InACall", nil)
	if err != nil || len(ds) != 1 || ds[0].Status != http.StatusAccepted {
		t.Fatalf("deliveries %v, %v", statuses(ds), err)
	}
	posted := ds[0].Body
	if strings.Contains(string(posted), "InACall") || !gjson.GetBytes(posted, "value.0.encryptedContent.dataKey").Exists() || len(gjson.GetBytes(posted, "validationTokens").Array()) != 1 {
		t.Fatalf("rich notification not encrypted or without a validation token: %s", posted)
	}
	if got := gjson.GetBytes(posted, "value.0.encryptedContent.encryptionCertificateId").String(); got != sub.CertificateID() {
		t.Fatalf("encryptionCertificateId %q, want the app's %q", got, sub.CertificateID())
	}
	h = last(t, sub, 6)
	if h.Class != "presence updated" || h.Err != nil || gjson.GetBytes(h.Data, "activity").String() != "InACall" {
		t.Fatalf("presence handled as %+v (data %s)", h, h.Data)
	}

	// reauthorizationRequired: the app reauthorizes.
	if d, err := g.NotifyLifecycle(ctx, pres, ReauthorizationRequired, nil); err != nil || d.Status != http.StatusAccepted {
		t.Fatalf("lifecycle delivery %v, %v", statuses([]Delivery{d}), err)
	}
	if h := last(t, sub, 7); h.Class != ReauthorizationRequired || h.Err != nil {
		t.Fatalf("reauthorizationRequired handled as %+v", h)
	}
	if n := simSubscription(t, g, pres).Reauthorized; n != 1 {
		t.Fatalf("reauthorized %d times, want 1", n)
	}

	// missed, renewal, removal, deletion.
	if _, err := g.NotifyLifecycle(ctx, calls, Missed, nil); err != nil {
		t.Fatal(err)
	}
	if h := last(t, sub, 8); h.Class != Missed || h.SubscriptionID != calls {
		t.Fatalf("missed handled as %+v", h)
	}
	before := simSubscription(t, g, calls).ExpirationDateTime
	if err := sub.Renew(ctx, calls); err != nil {
		t.Fatal(err)
	}
	if after := simSubscription(t, g, calls).ExpirationDateTime; after == before {
		t.Fatal("renewal did not change expirationDateTime")
	}
	if _, err := g.NotifyLifecycle(ctx, pres, SubscriptionRemoved, nil); err != nil {
		t.Fatal(err)
	}
	if h := last(t, sub, 9); h.Class != SubscriptionRemoved {
		t.Fatalf("subscriptionRemoved handled as %+v", h)
	}
	if ds, _ := g.NotifyPresence(ctx, user, "Away", "Away", nil); len(ds) != 0 {
		t.Fatalf("a removed subscription still gets notifications: %v", statuses(ds))
	}
	if err := sub.Unsubscribe(ctx, calls); err != nil {
		t.Fatal(err)
	}
	if _, ds, _ := g.NotifyCallRecord(ctx, nil); len(ds) != 0 {
		t.Fatalf("a deleted subscription still gets notifications: %v", statuses(ds))
	}
	if err := sub.Unsubscribe(ctx, calls); err == nil {
		t.Fatal("deleting a deleted subscription succeeded")
	}
}

// TestSubscriptionFreshApp runs two apps with other keys, certificates
// and clientStates on one presence: each decrypts its own notification.
func TestSubscriptionFreshApp(t *testing.T) {
	g := startGraph(t, GraphOptions{Seed: 21})
	a := startSubscriber(t, g, SubscriberOptions{Seed: 1, Key: appKey(t, 0)})
	b := startSubscriber(t, g, SubscriberOptions{Seed: 2, Key: appKey(t, 1)})
	if a.ClientState() == b.ClientState() || a.CertificateID() == b.CertificateID() {
		t.Fatal("two seeds gave the same clientState or certificate id")
	}
	user := "0c1d2e3f-4a5b-4e7f-8a9b-9f3c2a4e5b6d"
	for _, s := range []*Subscriber{a, b} {
		if _, err := s.Subscribe(t.Context(), "/communications/presences/"+user, "updated", true); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := g.NotifyPresence(t.Context(), user, "Available", "Available", nil)
	if err != nil || len(ds) != 2 || ds[0].Status != http.StatusAccepted || ds[1].Status != http.StatusAccepted {
		t.Fatalf("deliveries %v, %v", statuses(ds), err)
	}
	for _, s := range []*Subscriber{a, b} {
		if h := last(t, s, 3); h.Err != nil || gjson.GetBytes(h.Data, "availability").String() != "Available" {
			t.Fatalf("handled %+v", h)
		}
	}
}

func TestSubscriptionValidationRefused(t *testing.T) {
	tests := []struct {
		name string
		echo func(w http.ResponseWriter, r *http.Request, token string)
		want string
	}{
		{"wrong token", func(w http.ResponseWriter, _ *http.Request, tok string) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte("not " + tok))
		}, "must exactly match validationToken"},
		{"URL-encoded token", func(w http.ResponseWriter, r *http.Request, _ string) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(r.URL.Query().Encode()))
		}, "must exactly match validationToken"},
		{"JSON", func(w http.ResponseWriter, _ *http.Request, tok string) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(tok))
		}, "must exactly match validationToken"},
		{"not 200", func(w http.ResponseWriter, _ *http.Request, tok string) {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte(tok))
		}, "must respond with 200 OK"},
		{"late", func(w http.ResponseWriter, r *http.Request, tok string) {
			<-r.Context().Done() // answers only once Graph has given up
		}, "timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := startGraph(t, GraphOptions{Seed: 22})
			g.SetValidationTimeout(200 * time.Millisecond)
			sub := startSubscriber(t, g, SubscriberOptions{Key: appKey(t, 0), Echo: tt.echo})
			_, err := sub.Subscribe(t.Context(), "/communications/callRecords", "created", false)
			if err == nil || !strings.Contains(err.Error(), "status 400") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Subscribe: %v, want a 400 saying %q", err, tt.want)
			}
			if n := len(g.Subscriptions()); n != 0 {
				t.Fatalf("%d subscriptions exist after a failed validation", n)
			}
		})
	}
}

func TestSubscriberRejectsForgeries(t *testing.T) {
	g := startGraph(t, GraphOptions{Seed: 23})
	sub := startSubscriber(t, g, SubscriberOptions{Key: appKey(t, 0)})
	ctx := t.Context()
	if _, err := sub.Subscribe(ctx, "/communications/callRecords", "created", false); err != nil {
		t.Fatal(err)
	}
	user := "0c1d2e3f-4a5b-4e7f-8a9b-9f3c2a4e5b6d"
	if _, err := sub.Subscribe(ctx, "/communications/presences/"+user, "updated", true); err != nil {
		t.Fatal(err)
	}
	n := len(sub.Handled())

	_, ds, err := g.NotifyCallRecord(ctx, &Tamper{ClientState: "guessed"})
	if err != nil || len(ds) != 1 || ds[0].Status != http.StatusForbidden {
		t.Fatalf("wrong clientState delivered as %v, %v; want 403", statuses(ds), err)
	}
	n++
	if h := last(t, sub, n); h.Err == nil || !strings.Contains(h.Err.Error(), "clientState") || h.Data != nil {
		t.Fatalf("wrong clientState handled as %+v", h)
	}

	ds, err = g.NotifyPresence(ctx, user, "Busy", "InACall", &Tamper{TokenKey: appKey(t, 1)})
	if err != nil || len(ds) != 1 || ds[0].Status != http.StatusForbidden {
		t.Fatalf("forged validation token delivered as %v, %v; want 403", statuses(ds), err)
	}
	n++
	if h := last(t, sub, n); h.Err == nil || !strings.Contains(h.Err.Error(), "validation token") || h.Data != nil {
		t.Fatalf("forged validation token handled as %+v", h)
	}

	// The honest notification still goes through after the forgeries.
	ds, err = g.NotifyPresence(ctx, user, "Busy", "InACall", nil)
	if err != nil || ds[0].Status != http.StatusAccepted {
		t.Fatalf("honest delivery %v, %v", statuses(ds), err)
	}
	if h := last(t, sub, n+1); h.Err != nil {
		t.Fatalf("honest notification rejected: %v", h.Err)
	}
}

// statuses lists the app's answers to deliveries, for failure messages.
func statuses(ds []Delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = fmt.Sprintf("%s: %d %v", d.URL, d.Status, d.Err)
	}
	return out
}
