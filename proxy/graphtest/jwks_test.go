package graphtest

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestKeySetValidatesAsDocumented checks the validating bot's rule: an RS256
// signature by a key of the metadata's JWKS, an issuer the Graph calling
// docs list, the bot's app id as audience, an expiry not passed.
func TestKeySetValidatesAsDocumented(t *testing.T) {
	g := startGraph(t, GraphOptions{})
	hc := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(hc.CloseIdleConnections)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(change func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": "https://graph.microsoft.com", "aud": testClient, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if change != nil {
			change(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		tok := jwt.NewWithClaims(m, c)
		tok.Header["kid"] = keyID(&testKey.PublicKey)
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return "Bearer " + s
	}
	tests := []struct {
		name  string
		authz string
		ok    bool
	}{
		{"graph issuer", sign(jwt.SigningMethodRS256, testKey, claims(nil)), true},
		{"bot framework issuer", sign(jwt.SigningMethodRS256, testKey, claims(func(c jwt.MapClaims) { c["iss"] = "https://api.botframework.com" })), true},
		{"other issuer", sign(jwt.SigningMethodRS256, testKey, claims(func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/x/" })), false},
		{"no issuer", sign(jwt.SigningMethodRS256, testKey, claims(func(c jwt.MapClaims) { delete(c, "iss") })), false},
		{"other audience", sign(jwt.SigningMethodRS256, testKey, claims(func(c jwt.MapClaims) { c["aud"] = "another-app" })), false},
		{"expired", sign(jwt.SigningMethodRS256, testKey, claims(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), false},
		{"no expiry", sign(jwt.SigningMethodRS256, testKey, claims(func(c jwt.MapClaims) { delete(c, "exp") })), false},
		{"not yet valid", sign(jwt.SigningMethodRS256, testKey, claims(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() })), false},
		{"other key", sign(jwt.SigningMethodRS256, other, claims(nil)), false},
		{"alg none", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil)), false},
		{"no token", "", false},
		{"not a bearer", "Basic dXNlcjpwYXNz", false},
	}
	ks := &keySet{configURL: g.NotificationOpenIDConfigURL(), client: hc, audience: testClient}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ks.verify(t.Context(), tt.authz)
			if (err == nil) != tt.ok {
				t.Errorf("verify: %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
