package changes

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ChangeTrackingAppID is the azp of the validation tokens Graph puts on
// rich notifications: the application id of Graph's change tracking
// service, which apps are told to check.
const ChangeTrackingAppID = "0bf30f3b-4a52-48df-9a82-234910c4a086"

// DefaultValidationTokenLifetime is the lifetime of a validation token
// when the recorded one is unknown: an hour, as the Microsoft identity
// platform issues them.
const DefaultValidationTokenLifetime = time.Hour

// ValidationIssuer returns the iss of the validation tokens of a tenant's
// notifications: the Microsoft identity platform's v1 issuer.
func ValidationIssuer(tenantID string) string {
	return "https://sts.windows.net/" + tenantID + "/"
}

// SignValidationToken signs a validationTokens JWT (RS256) with key and
// kid in its header: claims as given (iss, aud = the app id, tid, azp,
// ...; replay passes the recorded ones bound to live values), iat and nbf
// at now and exp at now + lifetime (DefaultValidationTokenLifetime when
// zero or less), which override any in claims. The app verifies it
// against the keys published for kid.
func SignValidationToken(key *rsa.PrivateKey, kid string, claims map[string]any, lifetime time.Duration, now time.Time) (string, error) {
	if key == nil {
		return "", errors.New("sign validation token: no key")
	}
	if lifetime <= 0 {
		lifetime = DefaultValidationTokenLifetime
	}
	now = now.Truncate(time.Second)
	mc := make(jwt.MapClaims, len(claims)+3)
	maps.Copy(mc, claims)
	mc["iat"] = now.Unix()
	mc["nbf"] = now.Unix()
	mc["exp"] = now.Add(lifetime).Unix()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, mc)
	if kid != "" {
		t.Header["kid"] = kid
	}
	raw, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign validation token: %w", err)
	}
	return raw, nil
}

// TokenClaims returns the claims of a validation token without verifying
// it, and its lifetime (exp - iat, 0 when either is missing): what the
// recorder keeps of a token it removes, so replay can sign an equivalent.
func TokenClaims(raw string) (map[string]any, time.Duration, error) {
	mc := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, mc); err != nil {
		return nil, 0, fmt.Errorf("read validation token claims: %w", err)
	}
	var lifetime time.Duration
	iat, err1 := mc.GetIssuedAt()
	exp, err2 := mc.GetExpirationTime()
	if err1 == nil && err2 == nil && iat != nil && exp != nil {
		lifetime = exp.Sub(iat.Time)
	}
	return map[string]any(mc), lifetime, nil
}
