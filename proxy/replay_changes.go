package proxy

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/graphvcr/graphvcr/proxy/changes"
	"github.com/graphvcr/graphvcr/proxy/internal/match"
	"github.com/graphvcr/graphvcr/redact"
)

// Change notifications in replay (see package changes for the steps): a
// live POST /subscriptions gets Graph's validation handshake before its
// recorded answer, and each recorded change or lifecycle notification goes
// out bound to the live subscription, its validation tokens signed by the
// Signer and its resource data encrypted for the live certificate.

// Validation is one validation handshake graphvcr did for a live POST
// /subscriptions, as the report shows it.
type Validation struct {
	// Seq is the recorded POST /subscriptions the request matched.
	Seq uint64 `json:"seq"`
	// Path is where the validation request was posted under the bot's
	// base URL (the path of the live notificationUrl or
	// lifecycleNotificationUrl).
	Path string `json:"path"`
	// Status is what the app answered (0 when it did not answer).
	Status int `json:"status"`
	// Error says why the echo failed (wrong token, content type, status,
	// late); the subscription was then refused with Graph's 400. Empty on
	// success.
	Error string `json:"error,omitempty"`
}

// Diverged reports whether this handshake left the recording: the app's
// echo failed where the recorded one had passed.
func (v Validation) Diverged() bool { return v.Error != "" }

// changeState is what replay knows of the live app's subscriptions.
type changeState struct {
	mu          sync.Mutex                      // guards below
	subs        map[string]changes.Subscription // by the subscription id the app was given
	validations []Validation
	warnedBare  bool               // said once that rich data was recorded without a key
	keysRecs    []*match.Candidate // recorded requests for validation token keys
	// timeout bounds the app's echo; 0 means changes.ValidationTimeout,
	// Graph's. Tests shorten it.
	timeout time.Duration
}

// isSubscriptionPath reports whether uri (path and query) is
// /…/subscriptions or /…/subscriptions/{id}.
func isSubscriptionPath(uri string) (collection, item bool) {
	p, _, _ := strings.Cut(uri, "?")
	p = strings.TrimRight(p, "/")
	if strings.HasSuffix(p, "/subscriptions") {
		return true, false
	}
	dir, _, ok := cutLast(p)
	return false, ok && strings.HasSuffix(dir, "/subscriptions")
}

// cutLast splits a path at its last slash.
func cutLast(p string) (dir, last string, ok bool) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", "", false
	}
	return p[:i], p[i+1:], true
}

// subscriptionMatchBody returns what of a POST or PATCH /subscriptions
// body is compared when matching: the values each app chooses for itself
// (clientState, its certificate and certificate id, the host of its
// notification URLs, the expiration) are replaced by markers on both the
// recorded and the live side, so a fresh app matches its recording. Any
// other request's body is returned as it is.
func subscriptionMatchBody(method, uri string, body []byte) []byte {
	if method != http.MethodPost && method != http.MethodPatch {
		return body
	}
	if coll, item := isSubscriptionPath(uri); !coll && !item || !gjson.ValidBytes(body) {
		return body
	}
	out, err := changes.RedactSubscription(body)
	if err != nil {
		return body
	}
	for _, f := range []string{"notificationUrl", "lifecycleNotificationUrl"} {
		v := gjson.GetBytes(out, f)
		if v.Type != gjson.String {
			continue
		}
		if u, err := url.Parse(v.String()); err == nil {
			out, _ = sjson.SetBytes(out, f, u.EscapedPath())
		}
	}
	for _, f := range []string{"expirationDateTime", "encryptionCertificateId"} {
		if v := gjson.GetBytes(out, f); v.Type == gjson.String && v.String() != "" {
			out, _ = sjson.SetBytes(out, f, changes.Redacted)
		}
	}
	return out
}

// isValidationEvent reports whether a recorded notification is Graph's
// validation request: replay's handshake stands in for it, so the
// scheduler never delivers it.
func isValidationEvent(method, rawURL string) bool {
	_, ok := changes.ValidationToken(method, rawURL)
	return ok
}

// serveSubscription answers a POST or PATCH /subscriptions that matched c:
// a POST recorded as created first gets Graph's validation handshake with
// the app; the recorded answer then carries the app's live values. It
// reports false when the request is not one it handles (serveGraph's
// ordinary answer follows).
func (r *Replayer) serveSubscription(w http.ResponseWriter, req *http.Request, c *match.Candidate, first bool, uri string, body []byte, arrived time.Time) bool {
	coll, item := isSubscriptionPath(uri)
	switch {
	case c.Abandoned > 0 || c.ErrText != "" || c.Status/100 != 2:
		return false // what the bot got when recording: no handshake then either
	case req.Method == http.MethodPost && coll:
	case req.Method == http.MethodPatch && item:
	default:
		return false
	}
	var live changes.Subscription
	if req.Method == http.MethodPost {
		var err error
		if live, err = changes.ParseSubscription(body); err != nil {
			r.noteValidation(Validation{Seq: c.Seq, Error: err.Error()})
			writeGraphError(w, http.StatusBadRequest, changes.ValidationErrorCode, err.Error(), nil)
			return true
		}
		if err := r.validate(req.Context(), c, live); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(changes.ValidationErrorBody(err, newRequestID(), req.Header.Get("client-request-id"), time.Now()))
			return true
		}
	} else {
		live.ExpirationDateTime = gjson.GetBytes(body, "expirationDateTime").String()
	}
	header, resp, err := r.render(c)
	if err != nil {
		return false // answer reports the cassette error
	}
	if gjson.ValidBytes(resp) {
		if bound, err := changes.BindSubscription(resp, live); err == nil {
			resp = bound
		}
	}
	if id := gjson.GetBytes(resp, "id").String(); id != "" && req.Method == http.MethodPost {
		// Graph assigns the id: the recorded one (a pseudonym) is the id the
		// app now uses, as for every id Graph hands out in replay.
		r.changes.mu.Lock()
		if r.changes.subs == nil {
			r.changes.subs = map[string]changes.Subscription{}
		}
		r.changes.subs[id] = live
		r.changes.mu.Unlock()
	}
	r.wait(req.Context(), c.Latency)
	writeRecorded(w, c.Status, header, resp)
	r.answered(c, first)
	return true
}

// validate does Graph's handshake for a live subscription: each of its
// notification URLs, posted to under the bot's base URL (the app's URLs
// name its public host, a tunnel, which replay does not need), must echo a
// fresh token within changes.ValidationTimeout. Each attempt is reported.
func (r *Replayer) validate(ctx context.Context, c *match.Candidate, live changes.Subscription) error {
	for _, u := range []string{live.NotificationURL, live.LifecycleNotificationURL} {
		if u == "" {
			continue
		}
		v := Validation{Seq: c.Seq}
		status, err := r.validateOne(ctx, u, &v.Path)
		v.Status = status
		if err != nil {
			v.Error = err.Error()
			r.log.Warn("subscription validation failed", "seq", c.Seq, "path", v.Path, "err", err)
		}
		r.noteValidation(v)
		if err != nil {
			return err
		}
	}
	return nil
}

// validateOne sends one validation request and checks the echo.
func (r *Replayer) validateOne(ctx context.Context, notificationURL string, path *string) (int, error) {
	u, err := url.Parse(notificationURL)
	if err != nil {
		return 0, fmt.Errorf("notification URL %q: %w", notificationURL, err)
	}
	target := strings.TrimRight(r.cfg.Bot, "/") + u.EscapedPath()
	if u.RawQuery != "" {
		target += "?" + u.RawQuery
	}
	*path = u.EscapedPath()
	tok := changes.NewValidationToken()
	vreq, err := changes.NewValidationRequest(target, tok)
	if err != nil {
		return 0, err
	}
	timeout := r.changes.timeout
	if timeout <= 0 {
		timeout = changes.ValidationTimeout
	}
	vctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	resp, err := r.client.Do(vreq.WithContext(vctx))
	if err != nil {
		return 0, fmt.Errorf("validation request: %w", err)
	}
	defer resp.Body.Close()
	echo, err := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read validation echo: %w", err)
	}
	return resp.StatusCode, changes.CheckEcho(tok, resp.StatusCode, resp.Header.Get("Content-Type"), echo)
}

// noteValidation adds a handshake to the report.
func (r *Replayer) noteValidation(v Validation) {
	r.changes.mu.Lock()
	r.changes.validations = append(r.changes.validations, v)
	r.changes.mu.Unlock()
}

// validationReport returns the handshakes so far.
func (r *Replayer) validationReport() []Validation {
	r.changes.mu.Lock()
	defer r.changes.mu.Unlock()
	return append([]Validation{}, r.changes.validations...)
}

// newRequestID returns a fresh random GUID for Graph's request-id.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// liveChange turns a recorded change or lifecycle notification body (its
// recorded pseudonyms already bound) into what the live app gets: its
// subscription's clientState, the tenant of its token request, resource
// data encrypted for its certificate, validation tokens signed afresh from
// the recorded claims, and no ClaimsField. A body that is not a change
// notification is returned as it is.
func (r *Replayer) liveChange(body []byte, tok TokenRequest) ([]byte, error) {
	if !gjson.ValidBytes(body) || !changes.IsChangeNotification(body) {
		return body, nil
	}
	claims := gjson.GetBytes(body, changes.ClaimsField).Array()
	out, err := sjson.DeleteBytes(body, changes.ClaimsField)
	if err != nil {
		return nil, fmt.Errorf("remove %s: %w", changes.ClaimsField, err)
	}
	tenant := ""
	if isGUID(tok.Tenant) {
		tenant = strings.ToLower(tok.Tenant)
	}
	subID := gjson.GetBytes(out, "value.0.subscriptionId").String()
	r.changes.mu.Lock()
	live, known := r.changes.subs[subID]
	r.changes.mu.Unlock()
	if !known {
		r.log.Warn("change notification for a subscription the app did not make in replay: sent with the recorded values", "subscription", subID)
	}
	if out, err = changes.Bind(out, changes.Live{SubscriptionID: subID, ClientState: live.ClientState, TenantID: tenant}); err != nil {
		return nil, err
	}
	if live.IncludeResourceData && r.bareRich(out) {
		r.changes.mu.Lock()
		warn := !r.changes.warnedBare
		r.changes.warnedBare = true
		r.changes.mu.Unlock()
		if warn {
			r.log.Warn("rich notification replayed without its resource data: it was recorded without --decrypt-key")
		}
	}
	if out, _, err = changes.Reencrypt(out, live.EncryptionCertificate, live.EncryptionCertificateID); err != nil {
		return nil, err
	}
	if len(claims) == 0 {
		return out, nil
	}
	toks := make([]string, len(claims))
	for i, c := range claims {
		toks[i] = changes.Redacted
		if c.Get("malformed").Bool() || r.cfg.Signer == nil {
			continue // no equivalent to sign: the app gets what fails as it did
		}
		if toks[i], err = r.signValidationToken(c, tok, tenant); err != nil {
			return nil, err
		}
	}
	return changes.SetValidationTokens(out, toks)
}

// bareRich reports whether an item of a body has resource data but neither
// its decrypted content nor encryptedContent: recorded without the app's
// key.
func (r *Replayer) bareRich(body []byte) bool {
	for _, it := range gjson.GetBytes(body, "value").Array() {
		if it.Get("resourceData").Exists() && !it.Get(changes.DecryptedField).Exists() && !it.Get("encryptedContent").Exists() && !it.Get("lifecycleEvent").Exists() {
			return true
		}
	}
	return false
}

// signValidationToken signs the equivalent of one recorded validation
// token: its claims as recorded (pseudonyms bound), aud the app id, tid the
// live tenant with the tenant's issuer, azp Graph's change tracking app
// when the recording only kept its pseudonym, and the recorded lifetime.
func (r *Replayer) signValidationToken(entry gjson.Result, tok TokenRequest, tenant string) (string, error) {
	claims := map[string]any{}
	entry.Get("claims").ForEach(func(k, v gjson.Result) bool {
		claims[k.String()] = v.Value()
		return true
	})
	if tok.AppID != "" {
		claims["aud"] = tok.AppID
	}
	if tenant != "" {
		claims["tid"] = tenant
		if iss, _ := claims["iss"].(string); iss == "" || strings.HasPrefix(iss, "https://sts.windows.net/") {
			claims["iss"] = changes.ValidationIssuer(tenant)
		}
	}
	if azp, _ := claims["azp"].(string); azp == "" || redact.IsPseudonym(azp) {
		claims["azp"] = changes.ChangeTrackingAppID
	}
	lifetime := time.Duration(entry.Get("lifetime_ns").Int())
	s := r.cfg.Signer
	t, err := changes.SignValidationToken(s.key, s.kid, claims, lifetime, time.Now())
	if err != nil {
		return "", err
	}
	return t, nil
}

// validationKeysPath reports whether a path asks the Microsoft identity
// platform for the keys of validation tokens: {tenant}/discovery/v2.0/keys
// or {tenant}/discovery/keys.
func validationKeysPath(p string) bool {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return false
	}
	tenant, rest, ok := strings.Cut(rest, "/")
	return ok && tenant != "" && (rest == "discovery/v2.0/keys" || rest == "discovery/keys")
}

// initChangeKeys finds the recorded requests for validation token keys,
// which serveChangeKeys stands in for.
func (r *Replayer) initChangeKeys() {
	for _, c := range r.m.All() {
		p, _, _ := strings.Cut(c.URL, "?")
		if validationKeysPath(p) {
			r.changes.keysRecs = append(r.changes.keysRecs, c)
		}
	}
}

// serveChangeKeys answers the identity platform's key set paths (on any
// host: the listener as the app's login authority, or login.microsoftonline.com
// reaching graphvcr as a proxy) with the Signer's keys, which sign the
// replayed validation tokens. It reports false for any other request.
// These requests are never a divergence.
func (r *Replayer) serveChangeKeys(w http.ResponseWriter, req *http.Request) bool {
	if r.cfg.Signer == nil || !validationKeysPath(req.URL.Path) {
		return false
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "graphvcr: method not allowed", http.StatusMethodNotAllowed)
		return true
	}
	r.changes.mu.Lock()
	recs := r.changes.keysRecs
	r.changes.keysRecs = nil
	r.changes.mu.Unlock()
	r.servedOffline(recs)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_, _ = w.Write(r.cfg.Signer.JWKS())
	return true
}
