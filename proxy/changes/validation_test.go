package changes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

var fixedNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestValidationRequestRoundTrip(t *testing.T) {
	tok := NewValidationToken()
	if tok == NewValidationToken() {
		t.Fatal("validation tokens repeat")
	}
	req, err := NewValidationRequest("https://app.example/api/notify?tenant=a", tok)
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || !strings.HasPrefix(req.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("request %s %q", req.Method, req.Header.Get("Content-Type"))
	}
	if req.URL.Query().Get("tenant") != "a" {
		t.Fatal("the notification URL's own query was lost")
	}
	got, ok := ValidationToken(req.Method, req.URL.RequestURI())
	if !ok || got != tok {
		t.Fatalf("ValidationToken = %q, %v; want %q", got, ok, tok)
	}
	if _, ok := ValidationToken("POST", "/api/notify"); ok {
		t.Fatal("a notification without validationToken is a validation request")
	}
	if _, err := ValidationURL("ftp://x/y", tok); err == nil {
		t.Fatal("a non-http notificationUrl was accepted")
	}
}

func TestCheckEcho(t *testing.T) {
	tok := NewValidationToken()
	tests := []struct {
		name   string
		status int
		ct     string
		body   string
		want   error
	}{
		{"valid", 200, "text/plain", tok, nil},
		{"valid with charset", 200, "text/plain; charset=utf-8", tok, nil},
		{"wrong status", 202, "text/plain", tok, ErrEchoStatus},
		{"json", 200, "application/json", tok, ErrEchoType},
		{"no type", 200, "", tok, ErrEchoType},
		{"url-encoded echo", 200, "text/plain", url.QueryEscape(tok), ErrEchoToken},
		{"other token", 200, "text/plain", NewValidationToken(), ErrEchoToken},
		{"trailing newline", 200, "text/plain", tok + "\n", ErrEchoToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckEcho(tok, tt.status, tt.ct, []byte(tt.body))
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("CheckEcho = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestValidationErrorBody(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("x: %w", ErrEchoToken), "must exactly match validationToken"},
		{ErrEchoStatus, "must respond with 200 OK"},
		{fmt.Errorf("post: %w", context.DeadlineExceeded), "timed out"},
	}
	for _, tt := range tests {
		b := ValidationErrorBody(tt.err, "rid", "crid", fixedNow)
		if !gjson.ValidBytes(b) || gjson.GetBytes(b, "error.code").String() != ValidationErrorCode || gjson.GetBytes(b, "error.innerError.request-id").String() != "rid" {
			t.Fatalf("%v: body %s", tt.err, b)
		}
		if msg := gjson.GetBytes(b, "error.message").String(); !strings.Contains(msg, tt.want) {
			t.Errorf("%v: message %q, want %q", tt.err, msg, tt.want)
		}
	}
}

func TestSubscription(t *testing.T) {
	body := realExample(t, "910-contrib-v1-presence-subscription.req")
	if _, err := ParseSubscription(body); err == nil || !strings.Contains(err.Error(), "encryptionCertificate") {
		t.Fatalf("the example's placeholder certificate: %v", err)
	}
	body = []byte(strings.Replace(string(body), "{encryption certificate}", EncodeCertificate(testCert), 1))
	s, err := ParseSubscription(body)
	if err != nil {
		t.Fatal(err)
	}
	if !s.IncludeResourceData || !s.EncryptionCertificate.Equal(testCert) || s.EncryptionCertificateID != "{certificate id}" ||
		s.ClientState != "{secret client state}" || s.NotificationURL != "https://webhook.contoso.com/api" || s.LifecycleNotificationURL == "" {
		t.Fatalf("parsed %+v", s)
	}
	stored, err := StripSubscription(body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), "secret client state") || strings.Contains(string(stored), EncodeCertificate(testCert)[:40]) {
		t.Fatalf("secrets stored: %s", stored)
	}

	call, err := ParseSubscription(realExample(t, "908-contrib-v1-callrecords-subscription.req"))
	if err != nil || call.IncludeResourceData || call.EncryptionCertificate != nil || call.Resource != "/communications/callRecords" {
		t.Fatalf("callRecords subscription %+v, %v", call, err)
	}

	resp := realExample(t, "154-v1-subscription-post-subscriptions.resp")
	resp, _ = StripSubscription(resp)
	live := Subscription{NotificationURL: "http://127.0.0.1:1/n", ClientState: "live", ExpirationDateTime: "2030-01-01T00:00:00Z", EncryptionCertificate: otherCert, EncryptionCertificateID: "c2"}
	bound, err := BindSubscription(resp, live)
	if err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]string{"notificationUrl": live.NotificationURL, "clientState": "live", "expirationDateTime": live.ExpirationDateTime, "encryptionCertificateId": "c2", "encryptionCertificate": EncodeCertificate(otherCert), "id": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07"} {
		if got := gjson.GetBytes(bound, f).String(); got != want {
			t.Errorf("%s = %q, want %q", f, got, want)
		}
	}
}

func TestSignValidationToken(t *testing.T) {
	claims := map[string]any{"aud": "app-id", "iss": ValidationIssuer("tid"), "tid": "tid", "azp": ChangeTrackingAppID, "exp": 1}
	raw, err := SignValidationToken(testKey, "kid-1", claims, 30*time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Parse(raw, func(t *jwt.Token) (any, error) {
		if t.Header["kid"] != "kid-1" {
			return nil, fmt.Errorf("kid %v", t.Header["kid"])
		}
		return &testKey.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience("app-id"), jwt.WithIssuer("https://sts.windows.net/tid/"), jwt.WithExpirationRequired())
	if err != nil {
		t.Fatal(err)
	}
	if azp, _ := tok.Claims.(jwt.MapClaims)["azp"].(string); azp != ChangeTrackingAppID {
		t.Fatalf("azp %q", azp)
	}
	if _, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return &otherKey.PublicKey, nil }); err == nil {
		t.Fatal("another key verifies the token")
	}
	got, lifetime, err := TokenClaims(raw)
	if err != nil || lifetime != 30*time.Minute || got["tid"] != "tid" {
		t.Fatalf("TokenClaims: %v %v %v", got, lifetime, err)
	}
	if _, _, err := TokenClaims(Redacted); err == nil {
		t.Fatal("TokenClaims read the redaction marker")
	}
}

func TestRedactValidationURL(t *testing.T) {
	tok := NewValidationToken()
	u, err := ValidationURL("https://app.example/api/notify?tenant=a", tok)
	if err != nil {
		t.Fatal(err)
	}
	got := RedactValidationURL(u)
	if strings.Contains(got, "Request-Id") || strings.Contains(got, url.QueryEscape(tok)) {
		t.Fatalf("token survived: %s", got)
	}
	if tok, ok := ValidationToken("POST", got); !ok || tok != Redacted {
		t.Fatalf("redacted URL %s is not a validation request with %q", got, Redacted)
	}
	if !strings.Contains(got, "tenant=a") || !strings.HasPrefix(got, "https://app.example/api/notify?") {
		t.Fatalf("redaction changed the rest of the URL: %s", got)
	}
	if plain := "/api/notify?x=1"; RedactValidationURL(plain) != plain {
		t.Fatal("a URL without validationToken changed")
	}
}
