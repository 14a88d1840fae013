package proxy

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/graphvcr/graphvcr/cassette"
)

// signingKeyFile is the notification signing key's file name, beside the CA.
const signingKeyFile = "notify-signing-key.pem"

// signingKeyBits is the size of the RSA signing key: what Microsoft's
// notification keys have, and the least RS256 validators accept.
const signingKeyBits = 2048

// Default claims of a replayed notification token.
const (
	// defaultIssuer is the iss of Graph's notification tokens, used when the
	// recorded token had none.
	defaultIssuer = "https://graph.microsoft.com"
	// defaultTokenLifetime is used when the recorded lifetime is unknown.
	defaultTokenLifetime = time.Hour
)

// tokenRefresh is how old a signed token gets before a fresh one is signed
// in the background. Signing with RSA-2048 takes about 2 ms, too long for the
// timing of a notification; like Graph, which sends one token on many
// notifications, a signed token is reused, and its iat stays within about
// tokenRefresh of the delivery.
const tokenRefresh = time.Second

// maxCachedTokens bounds the token cache.
const maxCachedTokens = 256

// Signer signs the bearer tokens of replayed notifications with a
// per-install RSA key and publishes that key (as a JWKS) so a bot that
// validates notifications accepts them. It is safe for concurrent use;
// Close stops its background signing.
type Signer struct {
	key  *rsa.PrivateKey
	kid  string
	path string
	jwks []byte

	mu     sync.Mutex // guards tokens, closed
	tokens map[string]*signedToken
	closed bool
	wg     sync.WaitGroup // background refreshes
}

// signedToken is a token signed for one set of claims.
type signedToken struct {
	raw        string
	iat, exp   time.Time
	refreshing bool
}

// LoadSigner reads the notification signing key in dir (the CA directory,
// see LoadCA), creating dir (mode 0700) and a new RSA-2048 key (file
// notify-signing-key.pem, mode 0600) when there is none yet. A key file
// that is unreadable or corrupt is an error: LoadSigner never silently
// replaces a key that bots may have cached.
func LoadSigner(dir string) (*Signer, error) {
	if dir == "" {
		return nil, errors.New("load signing key: empty directory")
	}
	path := filepath.Join(dir, signingKeyFile)
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		if err := createSigningKey(dir); err != nil {
			return nil, err
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %w (fix its permissions, or remove it to create a new key)", err)
	}
	key, err := parseSigningKey(data)
	if err != nil {
		return nil, fmt.Errorf("load signing key: %s: %w (remove it to create a new key)", path, err)
	}
	return newSigner(key, path)
}

// createSigningKey writes a new key into dir; installFile never replaces a
// key another process installed meanwhile.
func createSigningKey(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	key, err := rsa.GenerateKey(rand.Reader, signingKeyBits)
	if err != nil {
		return fmt.Errorf("create signing key: generate: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("create signing key: encode: %w", err)
	}
	if err := installFile(dir, signingKeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	return nil
}

// parseSigningKey parses a PEM RSA private key (PKCS#8 or PKCS#1) of at
// least 2048 bits.
func parseSigningKey(data []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	var parsed any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%T is not an RSA key", parsed)
	}
	if key.N.BitLen() < signingKeyBits {
		return nil, fmt.Errorf("RSA key of %d bits, want at least %d", key.N.BitLen(), signingKeyBits)
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("invalid RSA key: %w", err)
	}
	return key, nil
}

func newSigner(key *rsa.PrivateKey, path string) (*Signer, error) {
	key.Precompute()
	pub := &key.PublicKey
	n := base64.RawURLEncoding.EncodeToString(pub.N.Bytes())
	e := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())
	// RFC 7638 thumbprint: SHA-256 of the required members in lexical order.
	sum := sha256.Sum256([]byte(`{"e":"` + e + `","kty":"RSA","n":"` + n + `"}`))
	kid := base64.RawURLEncoding.EncodeToString(sum[:])
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": n, "e": e,
	}}})
	if err != nil {
		return nil, fmt.Errorf("encode jwks: %w", err)
	}
	return &Signer{key: key, kid: kid, path: path, jwks: jwks, tokens: map[string]*signedToken{}}, nil
}

// Path returns the key file's path.
func (s *Signer) Path() string { return s.path }

// KeyID returns the kid of the signed tokens: the key's RFC 7638 thumbprint.
func (s *Signer) KeyID() string { return s.kid }

// JWKS returns the public key as a JSON Web Key Set. The caller must not
// modify it.
func (s *Signer) JWKS() []byte { return s.jwks }

// Sign returns the Authorization header value of a replayed notification:
// "Bearer " and an RS256 JWT with this Signer's kid, the claims recorded in
// ev.Bearer (whose pseudonyms the Replayer has bound to live values), aud
// set to tok.AppID when known (as is every claim that was recorded equal to
// aud, e.g. appid), tid to tok.Tenant when it is a tenant id, iat and nbf
// now and exp now + the recorded lifetime (1 hour when unknown). It returns
// "" (no Authorization) for a notification recorded without a token
// (Bearer nil) or with a malformed one: the bot gets what it got then. It
// has the signature of ReplayConfig.Sign.
//
// Tokens are reused for equal claims while they are younger than half
// their lifetime, and re-signed in the background after a second, so a
// notification rarely waits for an RSA signature.
func (s *Signer) Sign(ev *cassette.Event, tok TokenRequest) (string, error) {
	if ev == nil || ev.Bearer == nil || ev.Bearer.Malformed {
		return "", nil
	}
	claims, lifetime := notificationClaims(ev.Bearer, tok)
	key := claimsKey(claims, lifetime)
	now := time.Now()
	s.mu.Lock()
	if t := s.tokens[key]; t != nil && now.Before(t.iat.Add((t.exp.Sub(t.iat))/2)) && !now.Before(t.iat) {
		raw := t.raw
		if now.Sub(t.iat) >= tokenRefresh && !t.refreshing && !s.closed {
			t.refreshing = true
			s.wg.Add(1)
			go s.refresh(key, claims, lifetime)
		}
		s.mu.Unlock()
		return "Bearer " + raw, nil
	}
	s.mu.Unlock()
	t, err := s.sign(claims, lifetime, now)
	if err != nil {
		return "", err
	}
	s.store(key, t)
	return "Bearer " + t.raw, nil
}

// refresh signs a fresh token for key in the background.
func (s *Signer) refresh(key string, claims map[string]any, lifetime time.Duration) {
	defer s.wg.Done()
	t, err := s.sign(claims, lifetime, time.Now())
	if err != nil {
		// The cached token stays in use; the next call tries again.
		s.mu.Lock()
		if old := s.tokens[key]; old != nil {
			old.refreshing = false
		}
		s.mu.Unlock()
		return
	}
	s.store(key, t)
}

// store caches t for key unless a newer token is there already.
func (s *Signer) store(key string, t *signedToken) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) >= maxCachedTokens {
		clear(s.tokens) // a replay has a handful of claim sets; bound odd ones
	}
	if old := s.tokens[key]; old == nil || !old.iat.After(t.iat) {
		s.tokens[key] = t
	}
}

// sign signs claims with iat and nbf at now.
func (s *Signer) sign(claims map[string]any, lifetime time.Duration, now time.Time) (*signedToken, error) {
	now = now.Truncate(time.Second)
	mc := make(jwt.MapClaims, len(claims)+3)
	for k, v := range claims {
		mc[k] = v
	}
	mc["iat"] = now.Unix()
	mc["nbf"] = now.Unix()
	mc["exp"] = now.Add(lifetime).Unix()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, mc)
	t.Header["kid"] = s.kid
	raw, err := t.SignedString(s.key)
	if err != nil {
		return nil, fmt.Errorf("sign notification token: %w", err)
	}
	return &signedToken{raw: raw, iat: now, exp: now.Add(lifetime)}, nil
}

// Close waits for background signing to finish; Sign still works after
// it, signing synchronously when no cached token fits.
func (s *Signer) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.wg.Wait()
}

// notificationClaims returns the claims to sign for a recorded bearer (iat,
// nbf and exp aside) and the token lifetime.
func notificationClaims(b *cassette.Bearer, tok TokenRequest) (map[string]any, time.Duration) {
	claims := make(map[string]any, len(b.Claims)+2)
	recAud, recTid := b.Claims["aud"], b.Claims["tid"]
	tenant := ""
	if isGUID(tok.Tenant) {
		tenant = strings.ToLower(tok.Tenant)
	}
	for k, v := range b.Claims {
		switch {
		case k == "iat" || k == "nbf" || k == "exp":
			continue // always fresh
		case tok.AppID != "" && (k == "aud" || (recAud != "" && v == recAud)):
			claims[k] = tok.AppID
		case tenant != "" && (k == "tid" || (recTid != "" && v == recTid)):
			claims[k] = tenant
		case k == "roles":
			// Stored space-joined; an array in tokens.
			claims[k] = strings.Fields(v)
		default:
			claims[k] = v
		}
	}
	if _, ok := claims["iss"]; !ok {
		claims["iss"] = defaultIssuer
	}
	if _, ok := claims["aud"]; !ok && tok.AppID != "" {
		claims["aud"] = tok.AppID
	}
	lifetime := b.Lifetime
	if lifetime <= 0 {
		lifetime = defaultTokenLifetime
	}
	return claims, lifetime
}

// claimsKey identifies a claim set and lifetime, for the token cache.
func claimsKey(claims map[string]any, lifetime time.Duration) string {
	keys := make([]string, 0, len(claims))
	for k := range claims {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	sb.WriteString(lifetime.String())
	for _, k := range keys {
		sb.WriteByte(0)
		sb.WriteString(k)
		sb.WriteByte('=')
		switch v := claims[k].(type) {
		case string:
			sb.WriteString(v)
		case []string:
			sb.WriteString(strings.Join(v, "\x01"))
		default:
			fmt.Fprint(&sb, v)
		}
	}
	return sb.String()
}

// isGUID reports whether s is a dashed GUID (a tenant id, not "common" or a
// domain name).
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return true
}
