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

	"github.com/golang-jwt/jwt/v5"
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

// Delivery is one change or lifecycle notification the simulator posted
// and the app's answer.
type Delivery struct {
	SubscriptionID string
	URL            string
	Body           []byte // what was posted
	Status         int    // the app's answer; 0 when the post failed
	Err            error  // the transport error, if any
}

// Tamper makes the simulator send a notification an app must reject, for
// negative tests. The zero value (or nil) sends an honest one.
type Tamper struct {
	// ClientState replaces the subscription's clientState.
	ClientState string
	// TokenKey signs the validation tokens instead of the simulator's key
	// (a forger's key, with the simulator's kid).
	TokenKey *rsa.PrivateKey
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

// live returns copies of the live subscriptions whose resource matches.
func (g *Graph) live(match func(resource string) bool) []*subscription {
	g.subs.mu.Lock()
	defer g.subs.mu.Unlock()
	var out []*subscription
	for _, id := range g.subs.order {
		s := g.subs.byID[id]
		if !s.Removed && match(s.Resource) {
			c := *s
			out = append(out, &c)
		}
	}
	return out
}

// NotifyCallRecord creates a call record, as Graph does some minutes after
// a call ends, and posts a "created" change notification to each
// /communications/callRecords subscription; an app then GETs the record.
// It returns the record's id and the deliveries, once every app has
// answered.
func (g *Graph) NotifyCallRecord(ctx context.Context, t *Tamper) (string, []Delivery, error) {
	id := g.ids.guid()
	now := time.Now().UTC()
	rec := mustJSON(obj{
		{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#communications/callRecords/$entity"},
		{"version", 1},
		{"type", "peerToPeer"},
		{"modalities", []string{"audio"}},
		{"lastModifiedDateTime", now.Format(time.RFC3339Nano)},
		{"startDateTime", now.Add(-5 * time.Minute).Format(time.RFC3339Nano)},
		{"endDateTime", now.Add(-time.Minute).Format(time.RFC3339Nano)},
		{"id", id},
		{"joinWebUrl", nil},
		{"organizer", obj{{"user", obj{{"id", g.ids.guid()}, {"displayName", "Adele Vance"}, {"tenantId", g.tenantID}}}}},
	})
	g.subs.mu.Lock()
	if g.subs.records == nil {
		g.subs.records = make(map[string][]byte)
	}
	g.subs.records[id] = rec
	g.subs.mu.Unlock()
	subs := g.live(func(res string) bool {
		return strings.EqualFold(strings.TrimPrefix(res, "/"), "communications/callRecords")
	})
	var out []Delivery
	for _, s := range subs {
		item := obj{
			{"subscriptionId", s.ID},
			{"clientState", g.clientState(s, t)},
			{"changeType", "created"},
			{"resource", "communications/callRecords/" + id},
			{"subscriptionExpirationDateTime", s.ExpirationDateTime},
			{"resourceData", obj{
				{"@odata.type", "#Microsoft.Graph.callrecord"},
				{"@odata.id", "communications/callRecords/" + id},
				{"id", id},
			}},
			{"tenantId", g.tenantID},
		}
		d, err := g.post(ctx, &s.Subscription, s.NotificationURL, mustJSON(obj{{"value", []obj{item}}}))
		if err != nil {
			return id, out, err
		}
		out = append(out, d)
	}
	return id, out, nil
}

// NotifyPresence posts an "updated" change notification of userID's
// presence to each presence subscription that covers the user; to a rich
// subscription (includeResourceData) the presence goes encrypted for its
// certificate, with validationTokens signed by the simulator's key.
func (g *Graph) NotifyPresence(ctx context.Context, userID, availability, activity string, t *Tamper) ([]Delivery, error) {
	subs := g.live(func(res string) bool {
		r := strings.ToLower(res)
		return strings.Contains(r, "communications/presences") && strings.Contains(r, strings.ToLower(userID))
	})
	presence := mustJSON(obj{
		{"@odata.type", "#Microsoft.Graph.presence"},
		{"id", userID},
		{"availability", availability},
		{"activity", activity},
	})
	var out []Delivery
	for _, s := range subs {
		item := obj{
			{"subscriptionId", s.ID},
			{"clientState", g.clientState(s, t)},
			{"changeType", "updated"},
			{"tenantId", g.tenantID},
			{"resource", "communications/presences/" + userID},
			{"subscriptionExpirationDateTime", s.ExpirationDateTime},
			{"resourceData", obj{
				{"@odata.id", "users/" + userID + "/presence"},
				{"@odata.type", "#microsoft.graph.presence"},
				{"id", userID},
			}},
			{"organizationId", g.tenantID},
		}
		body := obj{{"value", []obj{item}}}
		if s.IncludeResourceData {
			ec, err := encryptResource(s.cert, s.EncryptionCertificateID, presence)
			if err != nil {
				return out, fmt.Errorf("notify presence: %w", err)
			}
			body[0].v = []obj{append(item, field{"encryptedContent", ec})}
			tok, err := g.validationToken(t)
			if err != nil {
				return out, err
			}
			body = append(body, field{"validationTokens", []string{tok}})
		}
		d, err := g.post(ctx, &s.Subscription, s.NotificationURL, mustJSON(body))
		if err != nil {
			return out, err
		}
		out = append(out, d)
	}
	return out, nil
}

// NotifyLifecycle posts a lifecycle notification (ReauthorizationRequired,
// SubscriptionRemoved or Missed) to the subscription's
// lifecycleNotificationUrl. SubscriptionRemoved removes the subscription,
// as Graph has when it sends it.
func (g *Graph) NotifyLifecycle(ctx context.Context, subscriptionID, event string, t *Tamper) (Delivery, error) {
	subs := g.live(func(string) bool { return true })
	var s *subscription
	for _, c := range subs {
		if c.ID == subscriptionID {
			s = c
		}
	}
	if s == nil {
		return Delivery{}, fmt.Errorf("notify lifecycle: no live subscription %s", subscriptionID)
	}
	if s.LifecycleNotificationURL == "" {
		return Delivery{}, fmt.Errorf("notify lifecycle: subscription %s has no lifecycleNotificationUrl", subscriptionID)
	}
	if event == SubscriptionRemoved {
		g.subs.mu.Lock()
		g.subs.byID[subscriptionID].Removed = true
		g.subs.mu.Unlock()
	}
	item := obj{
		{"lifecycleEvent", event},
		{"subscriptionId", s.ID},
		{"subscriptionExpirationDateTime", s.ExpirationDateTime},
		{"clientState", g.clientState(s, t)},
		{"tenantId", g.tenantID},
		{"organizationId", g.tenantID},
	}
	return g.post(ctx, &s.Subscription, s.LifecycleNotificationURL, mustJSON(obj{{"value", []obj{item}}}))
}

// clientState is what a notification for s carries in clientState.
func (g *Graph) clientState(s *subscription, t *Tamper) any {
	if t != nil && t.ClientState != "" {
		return t.ClientState
	}
	return nullable(s.ClientState)
}

// validationToken signs a validationTokens JWT as the Microsoft identity
// platform issues them for Graph's change tracking service: addressed to
// the app, in the tenant, valid for an hour.
func (g *Graph) validationToken(t *Tamper) (string, error) {
	key := g.key
	if t != nil && t.TokenKey != nil {
		key = t.TokenKey
	}
	now := time.Now().Truncate(time.Second)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"aud":    g.clientID,
		"iss":    "https://sts.windows.net/" + g.tenantID + "/",
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(time.Hour).Unix(),
		"azp":    changeTrackingAppID,
		"azpacr": "2",
		"tid":    g.tenantID,
		"ver":    "1.0",
	})
	tok.Header["kid"] = g.kid
	raw, err := tok.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign validation token: %w", err)
	}
	return raw, nil
}

// post delivers one notification body and waits for the app's answer.
func (g *Graph) post(ctx context.Context, s *Subscription, target string, body []byte) (Delivery, error) {
	d := Delivery{SubscriptionID: s.ID, URL: target, Body: body}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.callbackTarget(target), strings.NewReader(string(body)))
	if err != nil {
		return d, fmt.Errorf("notify %s: %w", target, err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := g.notifier.Do(req)
	if err != nil {
		d.Err = err
		g.logger.Debug("change notification failed", "url", target, "err", err)
		return d, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	d.Status = resp.StatusCode
	g.logger.Debug("change notification", "url", target, "status", d.Status)
	return d, nil
}
