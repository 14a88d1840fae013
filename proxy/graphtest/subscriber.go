package graphtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

// SubscriberOptions configures a sample change-notification subscriber.
type SubscriberOptions struct {
	// GraphURL is Graph's base URL, scheme and host (a simulator's or a
	// proxy's URL); the subscriber appends /v1.0.
	GraphURL string
	// TokenURL is the client-credentials endpoint.
	TokenURL string
	// ClientID and ClientSecret are the application's credentials;
	// validation tokens must be addressed to ClientID.
	ClientID, ClientSecret string
	// TenantID is the tenant whose issuer signs validation tokens
	// (https://sts.windows.net/{TenantID}/).
	TenantID string
	// KeysConfigURL is the OpenID configuration whose jwks_uri has the
	// keys of validation tokens, the Microsoft identity platform's
	// {authority}/{tenant}/v2.0/.well-known/openid-configuration.
	KeysConfigURL string
	// NotificationBase, when set, replaces the scheme and host of the
	// notificationUrl and lifecycleNotificationUrl the subscriber sends
	// (a recorder's notification listener, reached through a tunnel).
	// "" uses the subscriber's own listener.
	NotificationBase string
	// Seed derives the clientState and the encryptionCertificateId, so
	// another seed presents fresh values.
	Seed int64
	// Key is the app's private key; its self-signed certificate is sent as
	// encryptionCertificate. nil generates a 2048-bit key.
	Key *rsa.PrivateKey
	// HTTPClient sends the subscriber's Graph requests. nil uses a client
	// of its own.
	HTTPClient *http.Client
	// Echo, when set, answers validation requests instead of the correct
	// echo (for negative tests): it gets the token and writes the answer.
	Echo func(w http.ResponseWriter, r *http.Request, token string)
	// Logger receives one line per request and notification. nil discards.
	Logger *slog.Logger
}

// Subscriber is a sample app that subscribes to change notifications and
// handles them as a real app must: it answers Graph's validation
// handshake, rejects a notification whose clientState is not its own or
// whose validationTokens do not verify (RS256 by the issuer's keys,
// audience its app id, azp Graph's change tracking app, tenant's issuer),
// decrypts rich notifications with its own private key, GETs each new
// callRecord, and reauthorizes a subscription on reauthorizationRequired.
// It listens on 127.0.0.1 at /api/notifications and /api/lifecycle.
type Subscriber struct {
	// URL is the listener's base URL, e.g. http://127.0.0.1:41236.
	URL string

	opts        SubscriberOptions
	key         *rsa.PrivateKey
	cert        *x509.Certificate
	certID      string
	clientState string
	client      *http.Client
	ownHTTP     *http.Transport
	logger      *slog.Logger
	srv         *http.Server
	keys        *keySet

	ctx    context.Context // cancelled by Close: stops follow-up work
	cancel context.CancelFunc
	wg     sync.WaitGroup // serve loop and follow-up work

	tokens tokenCache

	mu      sync.Mutex // guards handled, changed
	handled []Handled
	changed chan struct{} // closed and replaced when handled grows
}

// Handled is one notification item the subscriber handled.
type Handled struct {
	// Class is "validation", the lifecycle event, or "<resource>
	// <changeType>" (e.g. "callRecord created", "presence updated").
	Class          string
	SubscriptionID string
	Resource       string
	// Data is the decrypted resource data of a rich notification, or the
	// callRecord the subscriber fetched.
	Data []byte
	// Err says why the subscriber rejected the notification or what
	// failed after accepting it (nil when all went well).
	Err error
}

// StartSubscriber starts the subscriber's listener on 127.0.0.1.
func StartSubscriber(opts SubscriberOptions) (*Subscriber, error) {
	s := &Subscriber{opts: opts, key: opts.Key, client: opts.HTTPClient, logger: opts.Logger, changed: make(chan struct{})}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generate app key: %w", err)
		}
		s.key = k
	}
	ids := newIDSource(opts.Seed, 0x53554253)
	s.clientState = "state-" + ids.guid()
	s.certID = "cert-" + ids.guid()[:8]
	cert, err := selfSigned(s.key, "graphtest subscriber")
	if err != nil {
		return nil, err
	}
	s.cert = cert
	if s.client == nil {
		s.ownHTTP = &http.Transport{Proxy: nil, IdleConnTimeout: 30 * time.Second}
		s.client = &http.Client{Transport: s.ownHTTP, Timeout: 30 * time.Second}
	}
	if opts.KeysConfigURL != "" {
		s.keys = &keySet{configURL: opts.KeysConfigURL, client: s.client}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	s.URL = "http://" + ln.Addr().String()
	s.ctx, s.cancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/notifications", s.handle)
	mux.HandleFunc("POST /api/lifecycle", s.handle)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelDebug)}
	serve(&s.wg, s.srv, ln, s.logger, "subscriber serve")
	return s, nil
}

// selfSigned makes the certificate an app sends as encryptionCertificate.
func selfSigned(key *rsa.PrivateKey, cn string) (*x509.Certificate, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("make encryption certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// Close stops the listener and any follow-up work (a GET of a callRecord,
// a reauthorization) and waits for them.
func (s *Subscriber) Close() {
	s.cancel()
	stop(&s.wg, s.srv, s.ownHTTP)
}

// ClientState returns the clientState the subscriber sends.
func (s *Subscriber) ClientState() string { return s.clientState }

// Certificate returns the subscriber's encryption certificate.
func (s *Subscriber) Certificate() *x509.Certificate { return s.cert }

// CertificateID returns the encryptionCertificateId the subscriber sends.
func (s *Subscriber) CertificateID() string { return s.certID }

// notificationURL is where Graph is told to post path.
func (s *Subscriber) notificationURL(path string) string {
	base := s.URL
	if s.opts.NotificationBase != "" {
		base = strings.TrimRight(s.opts.NotificationBase, "/")
	}
	return base + path
}

// Subscribe creates a subscription to resource ("/communications/callRecords",
// "/communications/presences/{id}") with the subscriber's notification and
// lifecycle URLs and clientState, and with rich, includeResourceData and
// its encryption certificate. It returns the subscription id; a refusal
// (such as a failed validation) is an error with Graph's message.
func (s *Subscriber) Subscribe(ctx context.Context, resource, changeType string, rich bool) (string, error) {
	body := obj{
		{"changeType", changeType},
		{"notificationUrl", s.notificationURL("/api/notifications")},
		{"lifecycleNotificationUrl", s.notificationURL("/api/lifecycle")},
		{"resource", resource},
		{"expirationDateTime", time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.0000000Z")},
		{"clientState", s.clientState},
	}
	if rich {
		body = append(body,
			field{"includeResourceData", true},
			field{"encryptionCertificate", base64.StdEncoding.EncodeToString(s.cert.Raw)},
			field{"encryptionCertificateId", s.certID})
	}
	status, resp, err := s.graph(ctx, http.MethodPost, "/v1.0/subscriptions", mustJSON(body))
	if err != nil {
		return "", err
	}
	if status != http.StatusCreated {
		return "", fmt.Errorf("subscribe to %s: status %d: %s", resource, status, gjson.GetBytes(resp, "error.message").String())
	}
	id := gjson.GetBytes(resp, "id").String()
	if got := gjson.GetBytes(resp, "clientState").String(); got != s.clientState {
		return "", fmt.Errorf("subscribe to %s: answer's clientState %q is not ours", resource, got)
	}
	return id, nil
}

// Renew extends a subscription by an hour (PATCH expirationDateTime).
func (s *Subscriber) Renew(ctx context.Context, id string) error {
	exp := time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.0000000Z")
	status, resp, err := s.graph(ctx, http.MethodPatch, "/v1.0/subscriptions/"+id, mustJSON(obj{{"expirationDateTime", exp}}))
	if err != nil {
		return err
	}
	if status != http.StatusOK || gjson.GetBytes(resp, "expirationDateTime").String() != exp {
		return fmt.Errorf("renew subscription %s: status %d", id, status)
	}
	return nil
}

// Unsubscribe deletes a subscription.
func (s *Subscriber) Unsubscribe(ctx context.Context, id string) error {
	status, _, err := s.graph(ctx, http.MethodDelete, "/v1.0/subscriptions/"+id, nil)
	if err != nil {
		return err
	}
	if status != http.StatusNoContent {
		return fmt.Errorf("delete subscription %s: status %d", id, status)
	}
	return nil
}

// Handled returns a copy of the notification items handled so far.
func (s *Subscriber) Handled() []Handled {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Handled(nil), s.handled...)
}

// Wait returns the items handled so far once there are at least n
// (follow-up work included), or ctx's error.
func (s *Subscriber) Wait(ctx context.Context, n int) ([]Handled, error) {
	for {
		s.mu.Lock()
		got, ch := len(s.handled), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Handled(), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return s.Handled(), fmt.Errorf("wait for %d notifications (have %d): %w", n, got, ctx.Err())
		}
	}
}

// record appends a handled item.
func (s *Subscriber) record(r Handled) {
	s.mu.Lock()
	s.handled = append(s.handled, r)
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	s.logger.Debug("subscriber notification", "class", r.Class, "err", r.Err)
}

// handle answers validation requests and notifications.
func (s *Subscriber) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Has("validationToken") {
		tok := r.URL.Query().Get("validationToken")
		if s.opts.Echo != nil {
			s.opts.Echo(w, r, tok)
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, tok)
		}
		s.record(Handled{Class: "validation"})
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
	if err != nil || !gjson.ValidBytes(body) {
		http.Error(w, "bad notification body", http.StatusBadRequest)
		return
	}
	items := gjson.GetBytes(body, "value").Array()
	if err := s.check(r.Context(), body, items); err != nil {
		for _, it := range items {
			s.record(Handled{Class: itemClass(it), SubscriptionID: it.Get("subscriptionId").String(), Resource: it.Get("resource").String(), Err: err})
		}
		// Graph retries a failed delivery: an app that rejects a forgery
		// says so, and the forger's notification goes nowhere.
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	// Graph wants an answer within 3 seconds: decrypting is quick, Graph
	// calls are not, so those run after the answer.
	var follow []func()
	for _, it := range items {
		rec := Handled{Class: itemClass(it), SubscriptionID: it.Get("subscriptionId").String(), Resource: it.Get("resource").String()}
		switch {
		case it.Get("encryptedContent").Exists():
			rec.Data, rec.Err = decryptResource(s.key, it.Get("encryptedContent"))
			s.record(rec)
		case rec.Class == "callRecord created":
			follow = append(follow, func() {
				status, data, err := s.graph(s.ctx, http.MethodGet, "/v1.0/communications/callRecords/"+it.Get("resourceData.id").String(), nil)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("get callRecord: status %d", status)
				}
				rec.Data, rec.Err = data, err
				s.record(rec)
			})
		case rec.Class == ReauthorizationRequired:
			follow = append(follow, func() {
				status, _, err := s.graph(s.ctx, http.MethodPost, "/v1.0/subscriptions/"+rec.SubscriptionID+"/reauthorize", nil)
				if err == nil && status != http.StatusNoContent {
					err = fmt.Errorf("reauthorize: status %d", status)
				}
				rec.Err = err
				s.record(rec)
			})
		default:
			s.record(rec)
		}
	}
	w.WriteHeader(http.StatusAccepted)
	for _, f := range follow {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			f()
		}()
	}
}

// itemClass names a notification item as the proxy's show does.
func itemClass(it gjson.Result) string {
	if ev := it.Get("lifecycleEvent").String(); ev != "" {
		return ev
	}
	res := strings.ToLower(it.Get("resource").String())
	name := "resource"
	switch {
	case strings.Contains(res, "callrecords"):
		name = "callRecord"
	case strings.Contains(res, "presences"):
		name = "presence"
	}
	return name + " " + it.Get("changeType").String()
}

// check rejects a notification that did not come from Graph: every item
// must carry the subscriber's clientState and, when any carries resource
// data, every validation token must verify.
func (s *Subscriber) check(ctx context.Context, body []byte, items []gjson.Result) error {
	if len(items) == 0 {
		return errors.New("no notification items")
	}
	rich := false
	for _, it := range items {
		if !hmac.Equal([]byte(it.Get("clientState").String()), []byte(s.clientState)) {
			return errors.New("clientState is not ours")
		}
		if it.Get("encryptedContent").Exists() {
			rich = true
			if id := it.Get("encryptedContent.encryptionCertificateId").String(); id != s.certID {
				return fmt.Errorf("encrypted for certificate %q, ours is %q", id, s.certID)
			}
		}
	}
	if !rich {
		return nil
	}
	toks := gjson.GetBytes(body, "validationTokens").Array()
	if len(toks) == 0 {
		return errors.New("rich notification without validationTokens")
	}
	if s.keys == nil {
		return errors.New("no KeysConfigURL to verify validationTokens with")
	}
	keys, err := s.keys.load(ctx)
	if err != nil {
		return fmt.Errorf("validation token keys: %w", err)
	}
	for _, t := range toks {
		if err := s.verifyToken(keys, t.String()); err != nil {
			return err
		}
	}
	return nil
}

// verifyToken checks one validation token as Microsoft's docs tell an app
// to: signature by the issuer's key, not expired, audience the app id,
// issued by the tenant's issuer for Graph's change tracking app.
func (s *Subscriber) verifyToken(keys map[string]*rsa.PublicKey, raw string) error {
	t, err := jwt.Parse(raw, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if k, ok := keys[kid]; ok {
			return k, nil
		}
		return nil, fmt.Errorf("unknown kid %q", kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(s.opts.ClientID),
		jwt.WithIssuer("https://sts.windows.net/"+s.opts.TenantID+"/"), jwt.WithExpirationRequired())
	if err != nil {
		return fmt.Errorf("validation token: %w", err)
	}
	if azp, _ := t.Claims.(jwt.MapClaims)["azp"].(string); azp != changeTrackingAppID {
		return fmt.Errorf("validation token: azp %q is not Graph's change tracking app", azp)
	}
	return nil
}

// accessToken returns a cached token or gets one (client credentials).
func (s *Subscriber) accessToken(ctx context.Context) (string, error) {
	if tok := s.tokens.get(); tok != "" {
		return tok, nil
	}
	req, err := clientCredentialsRequest(ctx, s.opts.TokenURL, s.opts.ClientID, s.opts.ClientSecret)
	if err != nil {
		return "", err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("get token: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("get token: status %d: %s", resp.StatusCode, gjson.GetBytes(body, "error_description").String())
	}
	tok := gjson.GetBytes(body, "access_token").String()
	s.tokens.set(tok, gjson.GetBytes(body, "expires_in").Int())
	return tok, nil
}

// graph sends a Graph request with the subscriber's token and returns the
// status and the (decompressed) body.
func (s *Subscriber) graph(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	tok, err := s.accessToken(ctx)
	if err != nil {
		return 0, nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(s.opts.GraphURL, "/")+path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("build %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	return resp.StatusCode, out, nil
}
