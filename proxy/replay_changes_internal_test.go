package proxy

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/changes"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
)

// TestSubscriptionMatchBody: what each app chooses for itself does not
// take part in matching a subscription request, everything else does, and
// other requests are compared whole.
func TestSubscriptionMatchBody(t *testing.T) {
	recorded := `{"changeType":"created","notificationUrl":"https://bot1.example.invalid/api/notifications","resource":"/communications/callRecords","expirationDateTime":"2026-12-06T21:03:10Z","clientState":"REDACTED","encryptionCertificate":"REDACTED","encryptionCertificateId":"cert-1"}`
	live := `{"changeType":"created","notificationUrl":"https://app.contoso.com/api/notifications","resource":"/communications/callRecords","expirationDateTime":"2027-01-01T00:00:00Z","clientState":"state-abc","encryptionCertificate":"MIIB","encryptionCertificateId":"cert-2"}`
	otherPath := strings.Replace(live, "/api/notifications", "/api/other", 1)
	otherResource := strings.Replace(live, "callRecords", "presences", 1)
	tests := []struct {
		name, method, uri, a, b string
		same                    bool
	}{
		{"fresh app, POST", "POST", "/v1.0/subscriptions", recorded, live, true},
		{"fresh app, PATCH", "PATCH", "/v1.0/subscriptions/c0ffee00-0000-4000-8000-000000000005", recorded, live, true},
		{"another notification path", "POST", "/v1.0/subscriptions", recorded, otherPath, false},
		{"another resource", "POST", "/v1.0/subscriptions", recorded, otherResource, false},
		{"not a subscription", "POST", "/v1.0/communications/calls", recorded, live, false},
		{"GET of a list", "GET", "/v1.0/subscriptions", recorded, live, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := subscriptionMatchBody(tt.method, tt.uri, []byte(tt.a))
			b := subscriptionMatchBody(tt.method, tt.uri, []byte(tt.b))
			if bytes.Equal(a, b) != tt.same {
				t.Errorf("same %v, want %v:\n%s\n%s", bytes.Equal(a, b), tt.same, a, b)
			}
			if strings.Contains(string(b), "state-abc") && tt.same {
				t.Errorf("clientState kept for matching: %s", b)
			}
		})
	}
}

// TestValidationKeysPath: the identity platform's key set paths, and not
// its other documents or Graph's paths.
func TestValidationKeysPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/c0ffee00-0000-4000-8000-000000000001/discovery/v2.0/keys": true,
		"/common/discovery/keys":                                    true,
		"/common/discovery/instance":                                false,
		"/common/v2.0/.well-known/openid-configuration":             false,
		"/v1.0/subscriptions":                                       false,
		"/discovery/v2.0/keys":                                      false,
	} {
		if got := validationKeysPath(p); got != want {
			t.Errorf("validationKeysPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestLiveChangeBareRich: a rich notification recorded without the app's
// key goes out without resource data, bound to the live subscription, and
// graphvcr says so once, not at every notification.
func TestLiveChangeBareRich(t *testing.T) {
	var logs bytes.Buffer
	r := &Replayer{log: slog.New(slog.NewTextHandler(&logs, nil))}
	r.changes.subs = map[string]changes.Subscription{
		"sub-1": {ClientState: "live-state", IncludeResourceData: true},
	}
	body := []byte(`{"value":[{"subscriptionId":"sub-1","clientState":"REDACTED","changeType":"updated","resource":"communications/presences/x","resourceData":{"id":"x"},"tenantId":"t"}],"validationTokens":["REDACTED"],"validationTokenClaims":[{"malformed":true}]}`)
	tok := TokenRequest{Tenant: "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", AppID: "app"}
	for range 2 {
		out, err := r.liveChange(body, tok)
		if err != nil {
			t.Fatal(err)
		}
		if gjson.GetBytes(out, "value.0.clientState").String() != "live-state" || gjson.GetBytes(out, "value.0.tenantId").String() != tok.Tenant {
			t.Errorf("not bound to the live subscription: %s", out)
		}
		if gjson.GetBytes(out, changes.ClaimsField).Exists() || gjson.GetBytes(out, "value.0.encryptedContent").Exists() {
			t.Errorf("sent with a graphvcr field or resource data it does not have: %s", out)
		}
	}
	if n := strings.Count(logs.String(), "without its resource data"); n != 1 {
		t.Errorf("said %d times that the resource data is missing, want once:\n%s", n, logs.String())
	}
}

// TestValidationLateEcho: an app that does not echo within the validation
// timeout (Graph's 10 s, shortened here) gets Graph's 400 "timed out", and
// the handshake is a divergence.
func TestValidationLateEcho(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	rd, err := cassette.Open(filepath.Join("..", "cassettes", "change-notifications.bolt"))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	toGraph := &graphtest.LateDialer{}
	defer toGraph.CloseIdleConnections()
	app, err := graphtest.StartSubscriber(graphtest.SubscriberOptions{
		GraphURL: "http://graph.replay.invalid", TokenURL: "http://graph.replay.invalid/common/oauth2/v2.0/token",
		ClientID: "app", ClientSecret: "any", Seed: 31, HTTPClient: toGraph.Client(30 * time.Second),
		Echo: func(w http.ResponseWriter, r *http.Request, tok string) {
			<-r.Context().Done() // never in time: graphvcr gives up first
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	r, err := NewReplayer(ReplayConfig{Cassette: rd, Bot: app.URL})
	if err != nil {
		t.Fatal(err)
	}
	r.changes.timeout = 100 * time.Millisecond
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.WithoutCancel(ctx))
	toGraph.Set(r.URL())
	_, err = app.Subscribe(ctx, "/communications/callRecords", "created", false)
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("subscribe with a late echo: %v", err)
	}
	rep := r.Report()
	if !rep.Diverged() || len(rep.Validations) != 1 || rep.Validations[0].Status != 0 {
		t.Fatalf("late echo not reported: %+v", rep.Validations)
	}
}
