package proxy

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"

	"github.com/tidwall/sjson"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/changes"
)

// Change notifications (subscriptions, the validation handshake, change and
// lifecycle notifications) carry secrets the redactor cannot tell by shape:
// clientState, the validation token Graph sends in the URL and the app
// echoes, validationTokens, and the encryptedContent of rich notifications.
// What the recorder stores instead:
//
//   - POST/PATCH /subscriptions (and their answers): clientState and
//     encryptionCertificate replaced by changes.Redacted.
//   - A validation request: the token in its URL and the app's echo body
//     replaced by changes.Redacted; its trigger is the POST /subscriptions
//     it belongs to, still unanswered when it arrived (see subscriptionsKey).
//   - A change or lifecycle notification: each item's clientState replaced
//     by changes.Redacted; each validationTokens entry replaced by
//     changes.Redacted, what is kept of it under changes.ClaimsField;
//     encryptedContent decrypted into changes.DecryptedField (with
//     RecordConfig.DecryptKey, then redacted like any JSON) or removed.

// subscriptionsKey files POST /subscriptions in the call tracker, as if it
// were a call: a validation request is about it, and picks the latest one
// whose request arrived before it. It is no call id (no URL or resource
// holds it) and is never counted as a call.
const subscriptionsKey = "\x00subscriptions"

// subscriptionPath matches the paths of the subscriptions API:
// /subscriptions, /subscriptions/{id}, /subscriptions/{id}/reauthorize.
var subscriptionPath = regexp.MustCompile(`/subscriptions(?:/[^/]+(?:/reauthorize)?)?/?$`)

// createSubscription matches the path of POST /subscriptions.
var createSubscription = regexp.MustCompile(`/subscriptions/?$`)

// subscriptionCalls returns the tracker keys a Graph request is filed under
// besides its calls: subscriptionsKey for POST /subscriptions.
func subscriptionCalls(method, path string) []string {
	if method == http.MethodPost && createSubscription.MatchString(path) {
		return []string{subscriptionsKey}
	}
	return nil
}

// storedURL is the URL of x as stored, before redaction: a validation
// request's token replaced.
func storedURL(x *rawExchange) string {
	if x.validation {
		return changes.RedactValidationURL(x.url)
	}
	return x.url
}

// changeSecrets returns the decoded request and response bodies of x as
// they may be stored, the secrets of change notifications replaced (see
// above), and what is kept of the validation tokens it removed (nil when
// there were none), for the redacted body's changes.ClaimsField. A body
// that cannot be transformed is replaced by a note: it may hold a secret.
func (r *Recorder) changeSecrets(x *rawExchange, req, resp []byte) (sreq, sresp []byte, claims []json.RawMessage) {
	switch {
	case x.kind == cassette.KindGraph && subscriptionPath.MatchString(pathOnly(x.url)):
		return r.notStored(changes.RedactSubscription(req)), r.notStored(changes.RedactSubscription(resp)), nil
	case x.kind != cassette.KindNotification:
		return req, resp, nil
	case x.validation:
		if len(resp) > 0 {
			resp = []byte(changes.Redacted) // the app's echo is the token
		}
		return req, resp, nil
	case !changes.IsChangeNotification(req):
		return req, resp, nil
	}
	for _, tok := range changes.ValidationTokens(req) {
		claims = append(claims, r.tokenClaims(tok))
	}
	out, err := changes.RedactValidationTokens(req)
	if err == nil {
		out, err = changes.RedactClientState(out)
	}
	if err != nil {
		return r.notStored(nil, err), resp, nil
	}
	n := 0
	if r.cfg.DecryptKey != nil {
		var dec []byte
		if dec, n, err = changes.Decrypted(out, r.cfg.DecryptKey); err == nil {
			return dec, resp, claims
		}
		r.log.Warn("rich notification stored without its resource data: it does not decrypt with --decrypt-key",
			"err", err)
	}
	if out, n, err = changes.StripEncrypted(out); err != nil {
		return r.notStored(nil, err), resp, nil
	}
	if n > 0 && r.cfg.DecryptKey == nil && r.warnedEncrypted.CompareAndSwap(false, true) {
		r.log.Warn("rich notification stored without its resource data: give --decrypt-key FILE (the app's private key) to keep it")
	}
	return out, resp, claims
}

// notStored returns body, or, when err is set, a note saying why the body
// is not stored (its secrets could not be removed, so nothing of it is kept).
func (r *Recorder) notStored(body []byte, err error) []byte {
	if err == nil {
		return body
	}
	r.log.Warn("body not stored: cannot remove its change-notification secrets", "err", err)
	return []byte("graphvcr: body not stored: " + err.Error())
}

// tokenClaims is what is kept of a validation token: its header and claims
// as Recorder.bearer keeps a notification's bearer token, in the JSON form
// `graphvcr show --format json` gives a bearer.
func (r *Recorder) tokenClaims(tok string) json.RawMessage {
	header, claims, lifetime, ok := r.red.Bearer(tok)
	if !ok {
		return json.RawMessage(`{"malformed":true}`)
	}
	b, err := json.Marshal(struct {
		Header     map[string]string `json:"header,omitempty"`
		Claims     map[string]string `json:"claims,omitempty"`
		LifetimeNS int64             `json:"lifetime_ns"`
	}{header, claims, int64(lifetime)})
	if err != nil { // maps of strings always marshal
		return json.RawMessage(`{"malformed":true}`)
	}
	return b
}

// withClaims adds the kept validation token claims to a redacted
// notification body under changes.ClaimsField.
func (r *Recorder) withClaims(body []byte, claims []json.RawMessage) []byte {
	if claims == nil {
		return body
	}
	raw, _ := json.Marshal(claims) // raw messages made by tokenClaims
	out, err := sjson.SetRawBytes(body, changes.ClaimsField, raw)
	if err != nil {
		r.log.Warn("validation token claims not stored", "err", err)
		return body
	}
	return out
}

// withLength returns h with its Content-Length set to n when it has one
// that differs (a stored body shorter or longer than the one received).
func withLength(h http.Header, n int) http.Header {
	if h == nil || h.Get("Content-Length") == "" || h.Get("Content-Length") == strconv.Itoa(n) {
		return h
	}
	h = h.Clone()
	h.Set("Content-Length", strconv.Itoa(n))
	return h
}

// pathOnly returns the path of an absolute URL, or "" when it does not parse.
func pathOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Path
}
