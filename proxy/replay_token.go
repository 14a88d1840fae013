package proxy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/graphvcr/graphvcr/proxy/internal/match"
)

// The token endpoint and the discovery documents MSAL and azidentity fetch
// first (see loginPaths) are answered offline: the bot needs no tenant and
// no secret, and whatever bearer token it then sends is accepted.

// tokenLifetime is the expires_in of synthetic tokens.
const tokenLifetime = time.Hour

// tokenEndpoint answers the login endpoints offline and remembers what the
// bot's token request said.
type tokenEndpoint struct {
	key []byte // signs synthetic tokens (HS256); random per Replayer

	mu       sync.Mutex                    // guards below
	recorded map[string][]*match.Candidate // recorded token exchanges by class
	last     TokenRequest
}

func (t *tokenEndpoint) init() error {
	t.key = make([]byte, 32)
	if _, err := rand.Read(t.key); err != nil {
		return fmt.Errorf("token key: %w", err)
	}
	return nil
}

// add takes a recorded token exchange the offline endpoint stands in for,
// reporting false when its path is not one of them.
func (t *tokenEndpoint) add(c *match.Candidate) bool {
	path, _, _ := strings.Cut(c.URL, "?")
	_, cls, _ := loginPath(path)
	if cls == "" {
		return false
	}
	if t.recorded == nil {
		t.recorded = map[string][]*match.Candidate{}
	}
	t.recorded[cls] = append(t.recorded[cls], c)
	return true
}

// tokenAnswer returns the body answering a token request with tok: the
// recorded answer when the cassette holds a successful one, so the bot sees
// the fields its identity provider really sent (ext_expires_in, refresh_in,
// token_type...), with the secrets the recording removed replaced or dropped;
// else a minimal client-credentials answer.
func (t *tokenEndpoint) tokenAnswer(r *Replayer, tok string) []byte {
	secs := int(tokenLifetime / time.Second)
	minimal := fmt.Appendf(nil, `{"token_type":"Bearer","expires_in":%d,"ext_expires_in":%d,"access_token":%q}`, secs, secs, tok)
	t.mu.Lock()
	var seq uint64
	for _, c := range t.recorded[loginToken] {
		if c.Status == http.StatusOK && c.ErrText == "" {
			seq = c.Seq
			break
		}
	}
	t.mu.Unlock()
	if seq == 0 {
		return minimal
	}
	ev, err := r.cfg.Cassette.Event(seq)
	if err != nil || !gjson.ValidBytes(ev.Response.Body) || !gjson.GetBytes(ev.Response.Body, "access_token").Exists() {
		return minimal
	}
	body := ev.Response.Body
	type field struct {
		path  string
		value any
	}
	fields := []field{{"access_token", tok}, {"expires_in", secs}}
	if gjson.GetBytes(body, "ext_expires_in").Exists() {
		fields = append(fields, field{"ext_expires_in", secs})
	}
	if gjson.GetBytes(body, "refresh_in").Exists() {
		fields = append(fields, field{"refresh_in", secs / 2})
	}
	for _, f := range fields {
		if body, err = sjson.SetBytes(body, f.path, f.value); err != nil {
			return minimal
		}
	}
	// Secrets a client-credentials answer does not need: removed when
	// recorded, they would only carry the REDACTED marker.
	for _, path := range []string{"refresh_token", "id_token"} {
		if body, err = sjson.DeleteBytes(body, path); err != nil {
			return minimal
		}
	}
	return body
}

// request returns what the bot's last token request said.
func (t *tokenEndpoint) request(appID string) TokenRequest {
	t.mu.Lock()
	defer t.mu.Unlock()
	tr := t.last
	tr.AppID = appID
	if tr.AppID == "" {
		tr.AppID = tr.ClientID
	}
	return tr
}

// serve answers a login request, reporting false when the path is not one
// it answers (the matcher then tries the cassette).
func (t *tokenEndpoint) serve(r *Replayer, w http.ResponseWriter, req *http.Request) bool {
	tenant, cls, _ := loginPath(req.URL.Path)
	switch {
	case cls == loginToken && req.Method == http.MethodPost:
		if err := req.ParseForm(); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "graphvcr: " + err.Error()})
			return true
		}
		clientID := req.PostForm.Get("client_id")
		t.mu.Lock()
		t.last = TokenRequest{Tenant: tenant, ClientID: clientID}
		t.mu.Unlock()
		tok, err := t.token(tenant, clientID, req.PostForm.Get("scope"))
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "server_error", "error_description": "graphvcr: " + err.Error()})
			return true
		}
		body := t.tokenAnswer(r, tok)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
	case cls == loginOpenID && (req.Method == http.MethodGet || req.Method == http.MethodHead):
		base := r.url + "/" + tenant
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                                "https://login.microsoftonline.com/" + tenant + "/v2.0",
			"token_endpoint":                        base + "/oauth2/v2.0/token",
			"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
			"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
			"jwks_uri":                              base + "/discovery/v2.0/keys",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"subject_types_supported":               []string{"pairwise"},
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"tenant_region_scope":                   "NA",
			"cloud_instance_name":                   "microsoftonline.com",
		})
	case cls == loginInstance && (req.Method == http.MethodGet || req.Method == http.MethodHead):
		host := req.Host
		writeJSON(w, http.StatusOK, map[string]any{
			"tenant_discovery_endpoint": r.url + "/common/v2.0/.well-known/openid-configuration",
			"api-version":               "1.1",
			"metadata": []map[string]any{{
				"preferred_network": host, "preferred_cache": host, "aliases": []string{host},
			}},
		})
	default:
		return false
	}
	r.tokenAnswered(cls)
	return true
}

// tokenAnswered marks the recorded exchanges of a class as matched, the
// first time that class is answered.
func (r *Replayer) tokenAnswered(cls string) {
	t := &r.tokens
	t.mu.Lock()
	recs := t.recorded[cls]
	delete(t.recorded, cls)
	t.mu.Unlock()
	r.servedOffline(recs)
}

// token returns a synthetic JWT: well formed, HS256-signed with a key that
// lives as long as the Replayer, for a bot (or SDK) that looks inside it.
func (t *tokenEndpoint) token(tenant, clientID, scope string) (string, error) {
	now := time.Now()
	aud := "https://graph.microsoft.com"
	if s, _, _ := strings.Cut(scope, " "); strings.HasPrefix(s, "https://") {
		aud = strings.TrimSuffix(s, "/.default")
	}
	header, err := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT", "kid": "graphvcr-replay"})
	if err != nil {
		return "", fmt.Errorf("encode token header: %w", err)
	}
	claims, err := json.Marshal(map[string]any{
		"aud": aud, "iss": "https://sts.windows.net/" + tenant + "/", "tid": tenant,
		"appid": clientID, "azp": clientID, "roles": []string{"Calls.Initiate.All", "Calls.InitiateGroupCall.All", "Calls.JoinGroupCall.All"},
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(tokenLifetime).Unix(), "ver": "1.0",
	})
	if err != nil {
		return "", fmt.Errorf("encode token claims: %w", err)
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, t.key)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil)), nil
}
