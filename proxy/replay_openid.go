package proxy

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/internal/match"
)

// The OpenID configuration and key set bots read to validate notification
// tokens. graphvcr serves its own under its admin prefix, and stands in for
// Microsoft's two publishers when their requests reach the graph listener
// (by host name, or by path on the listener's own host):
//
//	https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration  -> /v1/keys
//	https://login.botframework.com/v1/.well-known/openidconfiguration -> /v1/.well-known/keys
const (
	openIDConfigDoc = adminPrefix + "openid/.well-known/OpenIdConfiguration"
	openIDKeysDoc   = adminPrefix + "openid/keys"

	msConfigPath  = "/v1/.well-known/openidconfiguration" // compared lower case
	apsKeysPath   = "/v1/keys"
	botFwKeysPath = "/v1/.well-known/keys"
)

// openIDEndpoint publishes the Signer's key to the bot.
type openIDEndpoint struct {
	signer *Signer // nil: the documents answer 404
	issuer string  // iss of the first signed notification recorded

	mu       sync.Mutex         // guards recorded
	recorded []*match.Candidate // recorded metadata requests, matched when first served
}

// initOpenID finds the issuer the documents name and the recorded
// metadata requests (a bot that fetched them through the recorder) that
// the documents stand in for.
func (r *Replayer) initOpenID() error {
	o := &r.openid
	o.signer = r.cfg.Signer
	o.issuer = defaultIssuer
	for _, c := range r.m.All() {
		if metadataPath(c.URL) != "" {
			o.recorded = append(o.recorded, c)
		}
	}
	if o.signer == nil {
		return nil
	}
	iss, err := recordedIssuer(r.cfg.Cassette)
	if err != nil {
		return err
	}
	if iss != "" {
		o.issuer = iss
	}
	return nil
}

// errFound stops a cassette walk early.
var errFound = errors.New("found")

// recordedIssuer returns the iss of the first notification recorded with a
// token; "" when there is none. It stops at that notification, usually near
// the start of the cassette.
func recordedIssuer(rd *cassette.Reader) (string, error) {
	var iss string
	err := rd.EachHead(func(ev *cassette.Event) error {
		if ev.Kind == cassette.KindNotification && ev.Bearer != nil && !ev.Bearer.Malformed && ev.Bearer.Claims["iss"] != "" {
			iss = ev.Bearer.Claims["iss"]
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return "", fmt.Errorf("find notification issuer: %w", err)
	}
	return iss, nil
}

// metadataPath returns "config" or "keys" for a path (and query) that asks
// for Microsoft's notification metadata, "" otherwise. Graph's own paths
// start with /v1.0 or /beta, so these never shadow one.
func metadataPath(uri string) string {
	p, _, _ := strings.Cut(uri, "?")
	switch strings.ToLower(p) {
	case msConfigPath:
		return "config"
	case apsKeysPath, botFwKeysPath:
		return "keys"
	}
	return ""
}

// OpenIDConfigURL returns the URL of the OpenID configuration that
// describes the notification signing key (its jwks_uri is on the same
// listener): what a validating bot uses as its metadata URL in replay. It
// is "" when ReplayConfig.Signer is nil.
func (r *Replayer) OpenIDConfigURL() string {
	if r.openid.signer == nil {
		return ""
	}
	return r.url + openIDConfigDoc
}

// Issuer returns the iss of the signed notifications' metadata: that of the
// first notification recorded with a token, else https://graph.microsoft.com.
// Each token carries its own recorded iss.
func (r *Replayer) Issuer() string { return r.openid.issuer }

// serveMetadata answers a request for Microsoft's notification metadata:
// any request to api.aps.skype.com or login.botframework.com (a bot that
// resolves those names to graphvcr), or their paths on the listener's own
// host. It reports false for any other request. These requests are never a
// divergence.
func (r *Replayer) serveMetadata(w http.ResponseWriter, req *http.Request) bool {
	host := hostName(req.Host)
	kind := metadataPath(req.URL.Path)
	if kind == "" && !knownHosts[host].metadata {
		return false
	}
	if kind == "" {
		http.Error(w, "graphvcr: no such document: "+req.URL.Path+" (graphvcr serves "+msConfigPath+" and its keys)", http.StatusNotFound)
		return true
	}
	keysPath := apsKeysPath
	if host == botFwHost {
		keysPath = botFwKeysPath
	}
	r.serveOpenIDDoc(w, req, kind, keysPath)
	return true
}

// serveOpenIDDoc writes the OpenID configuration (its jwks_uri on the host
// the bot used, at keysPath) or the key set.
func (r *Replayer) serveOpenIDDoc(w http.ResponseWriter, req *http.Request, kind, keysPath string) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "graphvcr: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	s := r.openid.signer
	if s == nil {
		http.Error(w, "graphvcr: replay signs no notifications (no signing key), so it publishes no keys", http.StatusNotFound)
		return
	}
	r.metadataAnswered()
	if kind == "keys" {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(s.JWKS())
		return
	}
	base := r.url
	if req.Host != "" {
		scheme := "http"
		if r.cfg.TLS {
			scheme = "https"
		}
		base = scheme + "://" + req.Host
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                r.openid.issuer,
		"authorization_endpoint":                "https://invalid.botframework.com",
		"jwks_uri":                              base + keysPath,
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
	})
}

// openIDHandler serves graphvcr's own documents (admin routes: loopback
// clients only).
func (r *Replayer) openIDHandler(kind string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.serveOpenIDDoc(w, req, kind, openIDKeysDoc)
	})
}

// metadataAnswered marks the recorded metadata requests as matched, the
// first time a document is served.
func (r *Replayer) metadataAnswered() {
	o := &r.openid
	o.mu.Lock()
	recs := o.recorded
	o.recorded = nil
	o.mu.Unlock()
	r.servedOffline(recs)
}
