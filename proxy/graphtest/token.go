package graphtest

import (
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// graphResource is the audience of Graph access tokens.
const graphResource = "https://graph.microsoft.com"

// tokenLifetime is what Azure AD grants client-credentials tokens.
const tokenLifetime = 3599 * time.Second

// notificationIssuer is the iss of the tokens on Graph's notifications.
const notificationIssuer = "https://graph.microsoft.com"

// keyID names a public key by its SHA-256 thumbprint, so the same key always
// gets the same kid.
func keyID(pub *rsa.PublicKey) string {
	sum := sha256.Sum256(pub.N.Bytes())
	return base64.RawURLEncoding.EncodeToString(sum[:15])
}

// jwks renders the public key as a JSON Web Key Set.
func (g *Graph) jwks() []byte {
	pub := &g.key.PublicKey
	return mustJSON(obj{{"keys", []obj{{
		{"kty", "RSA"},
		{"use", "sig"},
		{"kid", g.kid},
		{"alg", "RS256"},
		{"n", base64.RawURLEncoding.EncodeToString(pub.N.Bytes())},
		{"e", base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())},
	}}}})
}

// baseURL is the scheme and host the client used to reach the simulator, so
// absolute URLs in answers point back through whatever proxy it went
// through. The scheme is the connection's, unless X-Forwarded-Proto says
// otherwise or the Host is a bare DNS name with no port (a proxy forwarding
// graph.microsoft.com over plain HTTP): then https, as Graph's.
func (g *Graph) baseURL(r *http.Request) string {
	if r.Host == "" {
		return g.URL
	}
	_, _, splitErr := net.SplitHostPort(r.Host)
	bareName := splitErr != nil && net.ParseIP(strings.Trim(r.Host, "[]")) == nil && r.Host != "localhost"
	scheme := "http"
	switch {
	case r.TLS != nil:
		scheme = "https"
	case r.Header.Get("X-Forwarded-Proto") != "":
		scheme = strings.ToLower(r.Header.Get("X-Forwarded-Proto"))
	case bareName:
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// aadError answers like Azure AD's token endpoint does.
func (g *Graph) aadError(w http.ResponseWriter, r *http.Request, status int, code string, aadsts int, desc string) {
	trace, corr := g.ids.guid(), g.ids.guid()
	now := time.Now().UTC()
	ts := now.Format("2006-01-02 15:04:05Z")
	full := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, trace, corr, ts)
	body := mustJSON(obj{
		{"error", code},
		{"error_description", full},
		{"error_codes", []int{aadsts}},
		{"timestamp", ts},
		{"trace_id", trace},
		{"correlation_id", corr},
		{"error_uri", g.baseURL(r) + "/error?code=" + fmt.Sprint(aadsts)},
	})
	h := w.Header()
	h.Set("Cache-Control", "no-store, no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("x-ms-request-id", trace)
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	write(w, r, status, "application/json; charset=utf-8", body)
}

// handleToken is the client-credentials grant of
// POST /{tenant}/oauth2/v2.0/token.
func (g *Graph) handleToken(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	body, err := readBody(r)
	if err != nil {
		g.aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body could not be read.")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		g.aadError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	switch {
	case !strings.EqualFold(tenant, g.tenantID):
		g.aadError(w, r, http.StatusBadRequest, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
	case form.Get("grant_type") != "client_credentials":
		g.aadError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
	case form.Get("client_id") != g.clientID:
		g.aadError(w, r, http.StatusBadRequest, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", form.Get("client_id"), g.tenantID))
	case form.Get("client_secret") == "" || (g.opts.ClientSecret != "" && form.Get("client_secret") != g.opts.ClientSecret):
		g.aadError(w, r, http.StatusUnauthorized, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", g.clientID))
	case !clientCredentialsScope(form.Get("scope")):
		g.aadError(w, r, http.StatusBadRequest, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", form.Get("scope")))
	default:
		tok, err := g.accessToken()
		if err != nil {
			g.aadError(w, r, http.StatusInternalServerError, "server_error", 50000, "There was an error issuing a token.")
			return
		}
		w.Header().Set("Cache-Control", "no-store, no-cache")
		w.Header().Set("Pragma", "no-cache")
		w.Header().Set("x-ms-request-id", g.ids.guid())
		write(w, r, http.StatusOK, "application/json; charset=utf-8", mustJSON(obj{
			{"token_type", "Bearer"},
			{"expires_in", int(tokenLifetime / time.Second)},
			{"ext_expires_in", int(tokenLifetime / time.Second)},
			{"access_token", tok},
		}))
	}
}

// accessToken issues an app-only Graph token shaped like Azure AD's v1 tokens.
func (g *Graph) accessToken() (string, error) {
	now := time.Now()
	iss := "https://sts.windows.net/" + g.tenantID + "/"
	oid := g.ids.guid()
	claims := jwt.MapClaims{
		"aud":             graphResource,
		"iss":             iss,
		"iat":             now.Unix(),
		"nbf":             now.Unix(),
		"exp":             now.Add(tokenLifetime).Unix(),
		"app_displayname": "graphtest bot",
		"appid":           g.clientID,
		"appidacr":        "1",
		"idp":             iss,
		"idtyp":           "app",
		"oid":             oid,
		"roles":           []string{"Calls.Initiate.All", "Calls.InitiateGroupCall.All", "Calls.JoinGroupCall.All"},
		"sub":             oid,
		"tid":             g.tenantID,
		"uti":             strings.ReplaceAll(g.ids.guid(), "-", "")[:22],
		"ver":             "1.0",
	}
	return g.sign(claims)
}

// notificationToken is the bearer token on a notification: issued by Graph
// to the bot's application.
func (g *Graph) notificationToken() (string, error) {
	now := time.Now()
	return g.sign(jwt.MapClaims{
		"iss":   notificationIssuer,
		"aud":   g.clientID,
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(time.Hour).Unix(),
		"tid":   g.tenantID,
		"appid": g.clientID,
		"ver":   "2.0",
	})
}

func (g *Graph) sign(claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = g.kid
	s, err := t.SignedString(g.key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// errBadToken is what every bearer-token rejection wraps.
var errBadToken = errors.New("invalid authentication token")

// verify checks a Graph access token issued by this simulator.
func (g *Graph) verify(authz string) error {
	raw, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok || raw == "" {
		return fmt.Errorf("%w: access token is empty", errBadToken)
	}
	_, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return &g.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience(graphResource),
		jwt.WithIssuer("https://sts.windows.net/"+g.tenantID+"/"),
		jwt.WithExpirationRequired(),
	)
	if err != nil {
		return fmt.Errorf("%w: %w", errBadToken, err)
	}
	return nil
}

// requireToken wraps a Graph handler with bearer-token validation.
func (g *Graph) requireToken(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := g.verify(r.Header.Get("Authorization")); err != nil {
			g.logger.Debug("graph request rejected", "method", r.Method, "path", r.URL.Path, "err", err)
			msg := "Access token validation failure. Invalid audience."
			if r.Header.Get("Authorization") == "" {
				msg = "Access token is empty."
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
			g.graphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", msg)
			return
		}
		next(w, r)
	}
}

// handleOpenIDConfig serves {tenant}/v2.0/.well-known/openid-configuration
// pointing at the simulator itself, as MSAL and azidentity read it first.
func (g *Graph) handleOpenIDConfig(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	base := g.baseURL(r) + "/" + tenant
	write(w, r, http.StatusOK, "application/json; charset=utf-8", mustJSON(obj{
		{"token_endpoint", base + "/oauth2/v2.0/token"},
		{"token_endpoint_auth_methods_supported", []string{"client_secret_post", "private_key_jwt", "client_secret_basic"}},
		{"jwks_uri", g.baseURL(r) + "/" + tenant + "/discovery/v2.0/keys"},
		{"response_modes_supported", []string{"query", "fragment", "form_post"}},
		{"subject_types_supported", []string{"pairwise"}},
		{"id_token_signing_alg_values_supported", []string{"RS256"}},
		{"response_types_supported", []string{"code", "id_token", "code id_token", "id_token token"}},
		{"scopes_supported", []string{"openid", "profile", "email", "offline_access"}},
		{"issuer", "https://login.microsoftonline.com/" + g.tenantID + "/v2.0"},
		{"request_uri_parameter_supported", false},
		{"authorization_endpoint", base + "/oauth2/v2.0/authorize"},
		{"device_authorization_endpoint", base + "/oauth2/v2.0/devicecode"},
		{"end_session_endpoint", base + "/oauth2/v2.0/logout"},
		{"tenant_region_scope", "NA"},
		{"cloud_instance_name", "microsoftonline.com"},
		{"msgraph_host", "graph.microsoft.com"},
	}))
}

// handleInstanceDiscovery answers azidentity's instance discovery request.
func (g *Graph) handleInstanceDiscovery(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	write(w, r, http.StatusOK, "application/json; charset=utf-8", mustJSON(obj{
		{"tenant_discovery_endpoint", g.baseURL(r) + "/" + g.tenantID + "/v2.0/.well-known/openid-configuration"},
		{"api-version", "1.1"},
		{"metadata", []obj{{
			{"preferred_network", host},
			{"preferred_cache", host},
			{"aliases", []string{host}},
		}}},
	}))
}

// handleKeys serves the JWKS for both token kinds.
func (g *Graph) handleKeys(w http.ResponseWriter, r *http.Request) {
	write(w, r, http.StatusOK, "application/json; charset=utf-8", g.jwks())
}

// handleNotificationConfig serves the notification-signing OpenID
// configuration (what Graph publishes at api.aps.skype.com).
func (g *Graph) handleNotificationConfig(w http.ResponseWriter, r *http.Request) {
	write(w, r, http.StatusOK, "application/json; charset=utf-8", mustJSON(obj{
		{"issuer", notificationIssuer},
		{"authorization_endpoint", "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"},
		{"jwks_uri", g.baseURL(r) + "/v1/.well-known/keys"},
		{"id_token_signing_alg_values_supported", []string{"RS256"}},
		{"token_endpoint_auth_methods_supported", []string{"private_key_jwt"}},
	}))
}

// oidcScopes are the OpenID scopes MSAL adds to every request, client
// credentials included (msal-go, under azidentity, sends
// "https://graph.microsoft.com/.default openid offline_access profile");
// Azure AD ignores them there.
var oidcScopes = map[string]bool{"openid": true, "profile": true, "offline_access": true, "email": true}

// clientCredentialsScope reports whether scope names exactly one resource
// with the /.default suffix, besides any of the OpenID scopes.
func clientCredentialsScope(scope string) bool {
	n := 0
	for _, s := range strings.Fields(scope) {
		switch {
		case strings.HasSuffix(s, "/.default"):
			n++
		case !oidcScopes[s]:
			return false
		}
	}
	return n == 1
}
