package proxy

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/graphvcr/graphvcr/proxy/changes"
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
