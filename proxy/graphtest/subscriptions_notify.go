package graphtest

// Sending change and lifecycle notifications to the subscriptions an app
// made: the bodies Graph posts, the validation tokens of rich ones, and the
// post itself.

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

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
	out, err := g.notifyEach(ctx, subs, func(s *subscription) ([]byte, error) {
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
		return mustJSON(obj{{"value", []obj{item}}}), nil
	})
	return id, out, err
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
	return g.notifyEach(ctx, subs, func(s *subscription) ([]byte, error) {
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
				return nil, fmt.Errorf("notify presence: %w", err)
			}
			body[0].v = []obj{append(item, field{"encryptedContent", ec})}
			tok, err := g.validationToken(t)
			if err != nil {
				return nil, err
			}
			body = append(body, field{"validationTokens", []string{tok}})
		}
		return mustJSON(body), nil
	})
}

// notifyEach posts to each of subs, in order, the change notification body
// makes for it, and returns the deliveries so far when body or a post fails.
func (g *Graph) notifyEach(ctx context.Context, subs []*subscription, body func(*subscription) ([]byte, error)) ([]Delivery, error) {
	var out []Delivery
	for _, s := range subs {
		b, err := body(s)
		if err != nil {
			return out, err
		}
		d, err := g.post(ctx, &s.Subscription, s.NotificationURL, b)
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
