package graphtest

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// validationTimeout is how long Graph waits for the echo of a validation
// token before refusing a subscription.
const validationTimeout = 10 * time.Second

// changeTrackingAppID is the azp of the validation tokens on rich
// notifications: Graph's change tracking service.
const changeTrackingAppID = "0bf30f3b-4a52-48df-9a82-234910c4a086"

// Lifecycle events Graph sends to a subscription's lifecycleNotificationUrl.
const (
	ReauthorizationRequired = "reauthorizationRequired"
	SubscriptionRemoved     = "subscriptionRemoved"
	Missed                  = "missed"
)

// subscriptionState is the simulator's subscriptions API state.
type subscriptionState struct {
	mu      sync.Mutex // guards every field
	byID    map[string]*subscription
	order   []string          // ids in creation order
	records map[string][]byte // callRecords by id
	timeout time.Duration     // 0: validationTimeout
}

// subscription is one subscription as Graph holds it.
type subscription struct {
	Subscription
	cert *x509.Certificate
}

// Subscription is a subscription the simulator holds, as the app asked
// for it.
type Subscription struct {
	ID, Resource, ChangeType                  string
	NotificationURL, LifecycleNotificationURL string
	ClientState, ExpirationDateTime           string
	IncludeResourceData                       bool
	EncryptionCertificateID                   string
	// Reauthorized counts the app's POST /subscriptions/{id}/reauthorize.
	Reauthorized int
	// Removed is set once the subscription was deleted or removed by a
	// subscriptionRemoved lifecycle event.
	Removed bool
}

// SetValidationTimeout changes how long the simulator waits for an app's
// validation echo (Graph waits 10 seconds, the default), so a test of a
// late echo need not wait that long.
func (g *Graph) SetValidationTimeout(d time.Duration) {
	g.subs.mu.Lock()
	g.subs.timeout = d
	g.subs.mu.Unlock()
}

// Subscriptions returns copies of the subscriptions created so far, in
// creation order, removed ones included.
func (g *Graph) Subscriptions() []Subscription {
	g.subs.mu.Lock()
	defer g.subs.mu.Unlock()
	out := make([]Subscription, 0, len(g.subs.order))
	for _, id := range g.subs.order {
		out = append(out, g.subs.byID[id].Subscription)
	}
	return out
}

// subscriptionRoutes registers the subscriptions API and the callRecords
// the change notifications point to.
func (g *Graph) subscriptionRoutes(mux *http.ServeMux) {
	p := "/{version}/subscriptions"
	mux.HandleFunc("POST "+p, g.requireToken(g.versioned(g.handleCreateSubscription)))
	mux.HandleFunc("GET "+p+"/{id}", g.requireToken(g.versioned(g.handleGetSubscription)))
	mux.HandleFunc("PATCH "+p+"/{id}", g.requireToken(g.versioned(g.handlePatchSubscription)))
	mux.HandleFunc("DELETE "+p+"/{id}", g.requireToken(g.versioned(g.handleDeleteSubscription)))
	mux.HandleFunc("POST "+p+"/{id}/reauthorize", g.requireToken(g.versioned(g.handleReauthorize)))
	mux.HandleFunc("GET /{version}/communications/callRecords/{id}", g.requireToken(g.versioned(g.handleGetCallRecord)))
}

// subscriptionJSON renders a subscription as Graph answers it.
func (g *Graph) subscriptionJSON(r *http.Request, s *subscription) []byte {
	var cert, clientState, lifecycle any
	if s.cert != nil {
		cert = base64.StdEncoding.EncodeToString(s.cert.Raw)
	}
	if s.ClientState != "" {
		clientState = s.ClientState
	}
	if s.LifecycleNotificationURL != "" {
		lifecycle = s.LifecycleNotificationURL
	}
	return mustJSON(obj{
		{"@odata.context", g.baseURL(r) + "/" + r.PathValue("version") + "/$metadata#subscriptions/$entity"},
		{"id", s.ID},
		{"resource", s.Resource},
		{"applicationId", g.clientID},
		{"changeType", s.ChangeType},
		{"clientState", clientState},
		{"notificationUrl", s.NotificationURL},
		{"notificationQueryOptions", nil},
		{"lifecycleNotificationUrl", lifecycle},
		{"expirationDateTime", s.ExpirationDateTime},
		{"creatorId", g.clientID},
		{"includeResourceData", s.IncludeResourceData},
		{"latestSupportedTlsVersion", "v1_2"},
		{"encryptionCertificate", cert},
		{"encryptionCertificateId", nullable(s.EncryptionCertificateID)},
		{"notificationUrlAppId", nil},
	})
}

// nullable is nil for "", as Graph writes unset strings.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// subscribable reports whether the simulator sends notifications for
// resource, and whether they may carry resource data.
func subscribable(resource string) (ok, rich bool) {
	r := strings.ToLower(strings.TrimPrefix(resource, "/"))
	switch {
	case r == "communications/callrecords":
		return true, false
	case strings.HasPrefix(r, "communications/presences/"), strings.HasPrefix(r, "communications/presences?"):
		return true, true
	}
	return false, false
}

func (g *Graph) handleCreateSubscription(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil || !gjson.ValidBytes(body) {
		g.graphError(w, r, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload.")
		return
	}
	j := gjson.ParseBytes(body)
	s := &subscription{Subscription: Subscription{
		ID:                       g.ids.guid(),
		Resource:                 j.Get("resource").String(),
		ChangeType:               j.Get("changeType").String(),
		NotificationURL:          j.Get("notificationUrl").String(),
		LifecycleNotificationURL: j.Get("lifecycleNotificationUrl").String(),
		ClientState:              j.Get("clientState").String(),
		ExpirationDateTime:       j.Get("expirationDateTime").String(),
		IncludeResourceData:      j.Get("includeResourceData").Bool(),
		EncryptionCertificateID:  j.Get("encryptionCertificateId").String(),
	}}
	for _, f := range []struct{ name, v string }{{"changeType", s.ChangeType}, {"notificationUrl", s.NotificationURL}, {"resource", s.Resource}, {"expirationDateTime", s.ExpirationDateTime}} {
		if f.v == "" {
			g.graphError(w, r, http.StatusBadRequest, "InvalidRequest", "The property '"+f.name+"' is required.")
			return
		}
	}
	exp, err := time.Parse(time.RFC3339Nano, s.ExpirationDateTime)
	if err != nil || !exp.After(time.Now()) {
		g.graphError(w, r, http.StatusBadRequest, "InvalidRequest", "Subscription expiration can only be 4230 minutes in the future and must be in the future.")
		return
	}
	ok, rich := subscribable(s.Resource)
	if !ok {
		g.graphError(w, r, http.StatusBadRequest, "InvalidRequest", "Resource '"+s.Resource+"' is not supported by this simulator.")
		return
	}
	if s.IncludeResourceData {
		if !rich {
			g.graphError(w, r, http.StatusBadRequest, "InvalidRequest", "Resource data is not supported for resource '"+s.Resource+"'.")
			return
		}
		der, err := base64.StdEncoding.DecodeString(j.Get("encryptionCertificate").String())
		cert, err2 := x509.ParseCertificate(der)
		if err != nil || err2 != nil || s.EncryptionCertificateID == "" {
			g.graphError(w, r, http.StatusBadRequest, "InvalidRequest", "A valid encryptionCertificate and encryptionCertificateId are required when includeResourceData is true.")
			return
		}
		if _, isRSA := cert.PublicKey.(*rsa.PublicKey); !isRSA {
			g.graphError(w, r, http.StatusBadRequest, "InvalidRequest", "The encryptionCertificate must have an RSA key.")
			return
		}
		s.cert = cert
	}
	for _, u := range []string{s.NotificationURL, s.LifecycleNotificationURL} {
		if u == "" {
			continue
		}
		if err := g.validateURL(r.Context(), u); err != nil {
			g.logger.Debug("subscription validation failed", "url", u, "err", err)
			g.graphError(w, r, http.StatusBadRequest, "InvalidRequest", validationMessage(err))
			return
		}
	}
	g.subs.mu.Lock()
	if g.subs.byID == nil {
		g.subs.byID = make(map[string]*subscription)
	}
	g.subs.byID[s.ID] = s
	g.subs.order = append(g.subs.order, s.ID)
	g.subs.mu.Unlock()
	g.graphHeaders(w, r)
	write(w, r, http.StatusCreated, odataJSON, g.subscriptionJSON(r, s))
}

// Ways an app fails validation.
var (
	errEchoStatus = errors.New("validation answer is not 200 OK")
	errEchoBody   = errors.New("validation answer is not the token in text/plain")
	errEchoLate   = errors.New("validation answer came too late")
)

// validationMessage is Graph's message for a failed validation.
func validationMessage(err error) string {
	switch {
	case errors.Is(err, errEchoLate):
		return "Subscription validation request timed out."
	case errors.Is(err, errEchoBody):
		return "Subscription validation request failed. Response must exactly match validationToken query parameter."
	}
	return "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request."
}

// validateURL does Graph's handshake with a notification URL: a POST
// with a fresh validationToken, answered within the timeout with 200,
// text/plain and the token.
func (g *Graph) validateURL(ctx context.Context, notificationURL string) error {
	g.subs.mu.Lock()
	timeout := g.subs.timeout
	g.subs.mu.Unlock()
	if timeout <= 0 {
		timeout = validationTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stop := context.AfterFunc(g.ctx, cancel) // Close gives up on the app
	defer stop()
	u, err := url.Parse(notificationURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%w (notificationUrl %q is not an http(s) URL)", errEchoStatus, notificationURL)
	}
	token := "Validation: Testing client application reachability for subscription Request-Id: " + g.ids.guid()
	q := u.Query()
	q.Set("validationToken", token)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.callbackTarget(u.String()), http.NoBody)
	if err != nil {
		return fmt.Errorf("%w (%v)", errEchoStatus, err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := g.notifier.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return errEchoLate
		}
		return fmt.Errorf("%w (%v)", errEchoStatus, err)
	}
	defer resp.Body.Close()
	echo, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err != nil {
		if ctx.Err() != nil {
			return errEchoLate
		}
		return fmt.Errorf("%w (%v)", errEchoStatus, err)
	}
	if resp.StatusCode != http.StatusOK {
		return errEchoStatus
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/plain" || string(echo) != token {
		return errEchoBody
	}
	return nil
}

// callbackTarget applies GraphOptions.CallbackBase to a URL the app gave,
// as for calls' callbackUri: a recorder's notification listener receives
// it.
func (g *Graph) callbackTarget(target string) string {
	if g.opts.CallbackBase == "" {
		return target
	}
	u, err := url.Parse(target)
	if err != nil {
		return target
	}
	return strings.TrimRight(g.opts.CallbackBase, "/") + u.RequestURI()
}

// lookupSubscription finds the live subscription in the path, answering
// 404 when there is none.
func (g *Graph) lookupSubscription(w http.ResponseWriter, r *http.Request) *subscription {
	g.subs.mu.Lock()
	s := g.subs.byID[r.PathValue("id")]
	g.subs.mu.Unlock()
	if s == nil || s.Removed {
		g.graphError(w, r, http.StatusNotFound, "ResourceNotFound", "The object was not found.")
		return nil
	}
	return s
}

func (g *Graph) handleGetSubscription(w http.ResponseWriter, r *http.Request) {
	if s := g.lookupSubscription(w, r); s != nil {
		g.subs.mu.Lock()
		body := g.subscriptionJSON(r, s)
		g.subs.mu.Unlock()
		g.graphHeaders(w, r)
		write(w, r, http.StatusOK, odataJSON, body)
	}
}

// handlePatchSubscription renews a subscription (expirationDateTime, the
// only field the simulator lets an app change).
func (g *Graph) handlePatchSubscription(w http.ResponseWriter, r *http.Request) {
	s := g.lookupSubscription(w, r)
	if s == nil {
		return
	}
	body, err := readBody(r)
	exp := gjson.GetBytes(body, "expirationDateTime").String()
	t, perr := time.Parse(time.RFC3339Nano, exp)
	if err != nil || perr != nil || !t.After(time.Now()) {
		g.graphError(w, r, http.StatusBadRequest, "InvalidRequest", "A future expirationDateTime is required.")
		return
	}
	g.subs.mu.Lock()
	s.ExpirationDateTime = exp
	out := g.subscriptionJSON(r, s)
	g.subs.mu.Unlock()
	g.graphHeaders(w, r)
	write(w, r, http.StatusOK, odataJSON, out)
}

func (g *Graph) handleDeleteSubscription(w http.ResponseWriter, r *http.Request) {
	if s := g.lookupSubscription(w, r); s != nil {
		g.subs.mu.Lock()
		s.Removed = true
		g.subs.mu.Unlock()
		g.graphHeaders(w, r)
		write(w, r, http.StatusNoContent, "", nil)
	}
}

// handleReauthorize answers POST /subscriptions/{id}/reauthorize: 204, as
// Graph does once it has checked the app still has access.
func (g *Graph) handleReauthorize(w http.ResponseWriter, r *http.Request) {
	if s := g.lookupSubscription(w, r); s != nil {
		g.subs.mu.Lock()
		s.Reauthorized++
		g.subs.mu.Unlock()
		g.graphHeaders(w, r)
		write(w, r, http.StatusNoContent, "", nil)
	}
}

func (g *Graph) handleGetCallRecord(w http.ResponseWriter, r *http.Request) {
	g.subs.mu.Lock()
	rec := g.subs.records[r.PathValue("id")]
	g.subs.mu.Unlock()
	if rec == nil {
		g.graphError(w, r, http.StatusNotFound, "NotFound", "The call record was not found.")
		return
	}
	g.graphHeaders(w, r)
	write(w, r, http.StatusOK, odataJSON, rec)
}
