package redact

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// bearerClaims are the claims Bearer keeps: what replay needs to sign an
// equivalent token, and what tells a reader who sent it. Opaque per-token
// values (uti, aio, rh, nonce, sub) identify the token itself and are dropped.
var bearerClaims = []string{
	"iss", "aud", "tid", "appid", "azp", "oid", "ver", "idtyp", "appidacr", "azpacr",
	"serviceurl", "scp", "roles", "name", "upn", "unique_name", "preferred_username", "email",
}

// nameClaims hold a person's name.
var nameClaims = map[string]bool{"name": true}

// Bearer parses a JWT bearer token WITHOUT verifying it (a leading "Bearer "
// is accepted) and returns what may be kept of it: the JOSE header fields
// alg, kid, typ and x5t, and the claims iss, aud, tid, appid, azp, oid (and
// a few more), each redacted with the session's mapping (so tid here equals
// the tenant pseudonym in bodies); arrays are joined with spaces. lifetime is
// exp − iat (zero when either is missing). ok is false when token is not a
// JWT of three base64url parts with JSON objects for header and payload.
// Neither the token nor its signature is ever returned.
func (r *Redactor) Bearer(token string) (header, claims map[string]string, lifetime time.Duration, ok bool) {
	token = strings.TrimSpace(token)
	if len(token) > 7 && strings.EqualFold(token[:7], "bearer ") {
		token = strings.TrimSpace(token[7:])
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, 0, false
	}
	h, err1 := decodeSegment(parts[0])
	c, err2 := decodeSegment(parts[1])
	if err1 != nil || err2 != nil || !gjson.ValidBytes(h) || !gjson.ValidBytes(c) {
		return nil, nil, 0, false
	}
	hj, cj := gjson.ParseBytes(h), gjson.ParseBytes(c)
	if !hj.IsObject() || !cj.IsObject() {
		return nil, nil, 0, false
	}
	header = map[string]string{}
	for _, k := range []string{"alg", "kid", "typ", "x5t"} {
		if v := hj.Get(k); v.Type == gjson.String {
			header[k] = r.Text(v.Str)
		}
	}
	claims = map[string]string{}
	for _, k := range bearerClaims {
		v := cj.Get(k)
		var s string
		switch {
		case v.Type == gjson.String:
			s = v.Str
		case v.IsArray():
			var vals []string
			for _, el := range v.Array() {
				vals = append(vals, el.String())
			}
			s = strings.Join(vals, " ")
		case v.Exists() && v.Type != gjson.Null:
			s = v.Raw
		default:
			continue
		}
		if nameClaims[k] && s != "" && !IsPseudonym(s) {
			claims[k] = r.name(s)
			continue
		}
		claims[k] = r.Text(s)
	}
	if exp, iat := cj.Get("exp"), cj.Get("iat"); exp.Type == gjson.Number && iat.Type == gjson.Number {
		lifetime = time.Duration(exp.Int()-iat.Int()) * time.Second
	}
	return header, claims, lifetime, true
}

// decodeSegment decodes one base64url JWT segment, padded or not.
func decodeSegment(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// maxJWTTries bounds the "eyJ" of one word tried as a token start.
const maxJWTTries = 8

// jwt removes a JWT (or JWE) starting at s: "eyJ" base64url segments joined
// by dots. A dotless "eyJ..." run is base64url JSON (MSAL's client_info):
// opened and redacted like any base64.
func (p *pass) jwt(src []byte, s int) int {
	n := len(src)
	e := s
	for e < n && cls[src[e]]&clsB64URL != 0 {
		e++
	}
	first := e - s
	dots := 0
	// A JWS has two dots, a JWE four: a longer chain is cut there (what
	// follows is tried as tokens of its own), which keeps a long chain of
	// "eyJ" segments linear.
	for e < n && src[e] == '.' && dots < 4 {
		j := e + 1
		for j < n && cls[src[j]]&clsB64URL != 0 {
			j++
		}
		if dots == 0 && j == e+1 {
			break // "eyJ...." followed by nothing: not a token
		}
		dots++
		e = j
	}
	if dots > 0 && first >= 10 {
		p.add(span{start: s, end: e, kind: kSecret})
		return e
	}
	if dots == 0 && first >= 16 && p.depth < maxDepth {
		return p.b64(src, s, s+first, s+first, base64.RawURLEncoding, base64.RawURLEncoding)
	}
	return 0
}
