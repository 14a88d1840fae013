package changes

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Subscription is what an app asks for in POST /subscriptions, as far as
// the handshake and the notifications depend on it.
type Subscription struct {
	Resource                 string
	ChangeType               string
	NotificationURL          string
	LifecycleNotificationURL string // "" when the app set none
	ClientState              string // "" when the app set none
	ExpirationDateTime       string
	IncludeResourceData      bool
	// EncryptionCertificate is the parsed encryptionCertificate; nil when
	// the app sent none.
	EncryptionCertificate   *x509.Certificate
	EncryptionCertificateID string
}

// ParseSubscription reads a subscription request body. A rich
// subscription (includeResourceData) needs an encryptionCertificate, as
// Graph requires.
func ParseSubscription(body []byte) (Subscription, error) {
	if !gjson.ValidBytes(body) {
		return Subscription{}, errors.New("parse subscription: body is not JSON")
	}
	r := gjson.ParseBytes(body)
	s := Subscription{
		Resource:                 r.Get("resource").String(),
		ChangeType:               r.Get("changeType").String(),
		NotificationURL:          r.Get("notificationUrl").String(),
		LifecycleNotificationURL: r.Get("lifecycleNotificationUrl").String(),
		ClientState:              r.Get("clientState").String(),
		ExpirationDateTime:       r.Get("expirationDateTime").String(),
		IncludeResourceData:      r.Get("includeResourceData").Bool(),
		EncryptionCertificateID:  r.Get("encryptionCertificateId").String(),
	}
	if s.NotificationURL == "" {
		return Subscription{}, errors.New("parse subscription: no notificationUrl")
	}
	if enc := r.Get("encryptionCertificate").String(); enc != "" {
		cert, err := ParseCertificate(enc)
		if err != nil {
			return Subscription{}, fmt.Errorf("parse subscription: %w", err)
		}
		s.EncryptionCertificate = cert
	}
	if s.IncludeResourceData && s.EncryptionCertificate == nil {
		return Subscription{}, errors.New("parse subscription: includeResourceData without an encryptionCertificate")
	}
	return s, nil
}

// StripSubscription removes the subscription's secrets from a request or
// response body before it is stored: clientState, and the app's
// encryptionCertificate (public, but it identifies the app and replay
// takes the live one).
func StripSubscription(body []byte) ([]byte, error) {
	out := body
	for _, f := range []string{"clientState", "encryptionCertificate"} {
		if !gjson.GetBytes(out, f).Exists() {
			continue
		}
		var err error
		if out, err = sjson.DeleteBytes(out, f); err != nil {
			return nil, fmt.Errorf("strip subscription %s: %w", f, err)
		}
	}
	return out, nil
}

// BindSubscription sets the live app's values in a recorded subscription
// answer (POST or PATCH): notificationUrl, lifecycleNotificationUrl,
// expirationDateTime, clientState, encryptionCertificate and
// encryptionCertificateId as Graph echoes them. Empty live values leave
// the recorded field alone; Graph echoes clientState null when none was
// set, so a recorded answer keeps that.
func BindSubscription(resp []byte, live Subscription) ([]byte, error) {
	sets := []struct{ field, v string }{
		{"notificationUrl", live.NotificationURL},
		{"lifecycleNotificationUrl", live.LifecycleNotificationURL},
		{"expirationDateTime", live.ExpirationDateTime},
		{"clientState", live.ClientState},
		{"encryptionCertificateId", live.EncryptionCertificateID},
	}
	if live.EncryptionCertificate != nil {
		sets = append(sets, struct{ field, v string }{"encryptionCertificate", EncodeCertificate(live.EncryptionCertificate)})
	}
	out := resp
	for _, s := range sets {
		if s.v == "" {
			continue
		}
		var err error
		if out, err = sjson.SetBytes(out, s.field, s.v); err != nil {
			return nil, fmt.Errorf("bind subscription %s: %w", s.field, err)
		}
	}
	return out, nil
}

// Graph's messages when it refuses a subscription because the validation
// failed, answered 400 with code "InvalidRequest".
const (
	ValidationErrorCode     = "InvalidRequest"
	validationFailedMessage = "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."
	validationEchoMessage   = "Subscription validation request failed. Response must exactly match validationToken query parameter."
	validationTimeoutMsg    = "Subscription validation request timed out."
)

// ValidationErrorBody returns the 400 body Graph answers POST
// /subscriptions with when the validation of a notification URL failed
// with err (from CheckEcho, or a transport error, a deadline exceeded):
// Graph's error envelope with its message for that failure.
func ValidationErrorBody(err error, requestID, clientRequestID string, now time.Time) []byte {
	msg := validationFailedMessage
	switch {
	case errors.Is(err, ErrEchoToken), errors.Is(err, ErrEchoType):
		msg = validationEchoMessage
	case isTimeout(err):
		msg = validationTimeoutMsg
	}
	out := []byte(`{"error":{}}`)
	for _, f := range []struct{ k, v string }{
		{"error.code", ValidationErrorCode},
		{"error.message", msg},
		{"error.innerError.date", now.UTC().Format("2006-01-02T15:04:05")},
		{"error.innerError.request-id", requestID},
		{"error.innerError.client-request-id", clientRequestID},
	} {
		out, _ = sjson.SetBytes(out, f.k, f.v) // plain keys on an object cannot fail
	}
	return out
}

// isTimeout reports whether err is a deadline: context's, or a net
// timeout.
func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &t) && t.Timeout())
}

// RedactSubscription replaces the subscription's secrets in a request or
// response body with Redacted before it is stored: clientState (shared by
// the app and Graph) and encryptionCertificate (public, but it identifies
// the app, and replay takes the live one), at the top level and in each
// item of a list's value (GET /subscriptions). The marker stays so replay
// knows the app had set one; a null or empty value is left as it is
// (Graph echoes clientState null when none was set).
func RedactSubscription(body []byte) ([]byte, error) {
	prefixes := []string{""}
	for i := range gjson.GetBytes(body, "value").Array() {
		prefixes = append(prefixes, "value."+strconv.Itoa(i)+".")
	}
	out := body
	for _, p := range prefixes {
		for _, f := range []string{"clientState", "encryptionCertificate"} {
			v := gjson.GetBytes(out, p+f)
			if v.Type == gjson.Null || v.String() == "" || v.String() == Redacted {
				continue
			}
			var err error
			if out, err = sjson.SetBytes(out, p+f, Redacted); err != nil {
				return nil, fmt.Errorf("redact subscription %s: %w", f, err)
			}
		}
	}
	return out, nil
}
