package changes

import (
	"crypto/rand"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ValidationTimeout is how long Graph waits for the app to echo a
// validation token before it refuses the subscription.
const ValidationTimeout = 10 * time.Second

// NewValidationToken returns a fresh validation token shaped like
// Graph's: a sentence with a random request id, so that an app that
// mishandles its URL encoding (spaces, colons) fails as it would with
// Graph.
func NewValidationToken() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	id := fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
	return "Validation: Testing client application reachability for subscription Request-Id: " + id
}

// ValidationURL returns the URL Graph POSTs to validate notificationURL
// (or a lifecycleNotificationUrl): the URL with validationToken added to
// its query.
func ValidationURL(notificationURL, token string) (string, error) {
	u, err := url.Parse(notificationURL)
	if err != nil {
		return "", fmt.Errorf("validation URL: notificationUrl %q: %w", notificationURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("validation URL: notificationUrl %q is not an http(s) URL", notificationURL)
	}
	q := u.Query()
	q.Set("validationToken", token)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// NewValidationRequest builds Graph's validation request for
// notificationURL: a POST with the token in the query, Content-Type
// text/plain and an empty body.
func NewValidationRequest(notificationURL, token string) (*http.Request, error) {
	u, err := ValidationURL(notificationURL, token)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodPost, u, http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("validation request: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	return req, nil
}

// ValidationToken returns the token of a validation request (a POST
// whose query has validationToken) and whether it is one; rawURL may be a
// full URL or a request URI.
func ValidationToken(method, rawURL string) (string, bool) {
	if method != http.MethodPost {
		return "", false
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false
	}
	q := u.Query()
	if !q.Has("validationToken") {
		return "", false
	}
	return q.Get("validationToken"), true
}

// Errors CheckEcho wraps, so a caller can tell the ways an echo is wrong.
var (
	// ErrEchoStatus is a validation answer whose status is not 200.
	ErrEchoStatus = errors.New("validation answer status is not 200 OK")
	// ErrEchoType is a validation answer that is not text/plain.
	ErrEchoType = errors.New("validation answer is not text/plain")
	// ErrEchoToken is a validation answer whose body is not the token.
	ErrEchoToken = errors.New("validation answer is not the validation token")
)

// CheckEcho reports whether an app answered a validation request as Graph
// requires: status 200, Content-Type text/plain, the body the token
// exactly (decoded from the query, not URL-encoded). A nil error is a
// valid echo.
func CheckEcho(token string, status int, contentType string, body []byte) error {
	if status != http.StatusOK {
		return fmt.Errorf("%w (got %d)", ErrEchoStatus, status)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.EqualFold(mt, "text/plain") {
		return fmt.Errorf("%w (got %q)", ErrEchoType, contentType)
	}
	if string(body) != token {
		return fmt.Errorf("%w (got %d bytes)", ErrEchoToken, len(body))
	}
	return nil
}

// RedactValidationURL returns rawURL (a full URL or a request URI) with
// the value of its validationToken replaced by Redacted, the rest of it
// as it was: how the recorder stores a validation request. A URL without
// the parameter, or one that does not parse, is returned unchanged.
func RedactValidationURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || !u.Query().Has("validationToken") {
		return rawURL
	}
	q := u.Query()
	q.Set("validationToken", Redacted)
	u.RawQuery = q.Encode()
	return u.String()
}
