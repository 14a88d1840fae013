package graphtest

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

// keySet validates notification tokens as the Graph calling docs describe:
// an RS256 signature by a key of the JWKS the OpenID configuration's
// jwks_uri names (fetched on first use), an issuer of notificationIssuers,
// the bot's app id as audience, and an expiry not passed.
type keySet struct {
	configURL string
	client    *http.Client
	audience  string

	mu   sync.Mutex // guards keys
	keys map[string]*rsa.PublicKey
}

// get fetches a JSON document.
func (k *keySet) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	return body, nil
}

// load fetches the configuration and its JWKS.
func (k *keySet) load(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys != nil {
		return k.keys, nil
	}
	cfg, err := k.get(ctx, k.configURL)
	if err != nil {
		return nil, fmt.Errorf("fetch openid configuration: %w", err)
	}
	jwksURI := gjson.GetBytes(cfg, "jwks_uri").String()
	if jwksURI == "" {
		return nil, errors.New("fetch openid configuration: no jwks_uri")
	}
	set, err := k.get(ctx, jwksURI)
	if err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	keys := make(map[string]*rsa.PublicKey)
	for _, key := range gjson.GetBytes(set, "keys").Array() {
		if key.Get("kty").String() != "RSA" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(key.Get("n").String())
		e, err2 := base64.RawURLEncoding.DecodeString(key.Get("e").String())
		if err1 != nil || err2 != nil || len(e) > 4 {
			continue
		}
		keys[key.Get("kid").String()] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(keys) == 0 {
		return nil, errors.New("fetch jwks: no RSA keys")
	}
	k.keys = keys
	return keys, nil
}

// verify checks a notification's Authorization header.
func (k *keySet) verify(ctx context.Context, authz string) error {
	raw, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		return errors.New("verify notification token: no bearer token")
	}
	keys, err := k.load(ctx)
	if err != nil {
		return fmt.Errorf("verify notification token: %w", err)
	}
	t, err := jwt.Parse(raw, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if key, ok := keys[kid]; ok {
			return key, nil
		}
		return nil, fmt.Errorf("unknown kid %q", kid)
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(k.audience), jwt.WithExpirationRequired())
	if err != nil {
		return fmt.Errorf("verify notification token: %w", err)
	}
	iss, err := t.Claims.GetIssuer()
	if err != nil || !slices.Contains(notificationIssuers, iss) {
		return fmt.Errorf("verify notification token: issuer %q is not one of %q", iss, notificationIssuers)
	}
	return nil
}

// notificationIssuers are the issuers the Graph calling docs tell a bot to
// accept on notification tokens.
var notificationIssuers = []string{"https://graph.microsoft.com", "https://api.botframework.com"}
