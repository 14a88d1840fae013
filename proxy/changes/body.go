package changes

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"strconv"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Redacted replaces a removed secret where its place must stay (a
// validation token, so replay knows how many to sign). It is not shaped
// like a token, so a reader tells a removed secret from a leaked one.
const Redacted = "REDACTED"

// DecryptedField is the field of a stored notification item that holds its
// decrypted, redacted resource data in place of encryptedContent. It is
// not a Graph field: Reencrypt turns it back into encryptedContent.
const DecryptedField = "decryptedContent"

// ClaimsField is the top-level field of a stored notification body that
// holds, for each of its validationTokens (stored as Redacted, in the same
// order), what was kept of the token: {"header":{alg,kid,typ,x5t},
// "claims":{iss,aud,tid,appid,azp,...},"lifetime_ns":exp-iat}, redacted
// like a notification's bearer (cassette.Bearer), or {"malformed":true}.
// It is not a Graph field: replay signs an equivalent token from each entry
// and removes the field.
const ClaimsField = "validationTokenClaims"

// items returns the value array of a notification body (change and
// lifecycle notifications share it).
func items(body []byte) []gjson.Result {
	return gjson.GetBytes(body, "value").Array()
}

// itemPath is the sjson path of field in the i-th item.
func itemPath(i int, field string) string {
	return "value." + strconv.Itoa(i) + "." + field
}

// StripClientState removes every item's clientState: a secret shared by
// the app and Graph, never stored. The body is returned unchanged when it
// has none.
func StripClientState(body []byte) ([]byte, error) {
	out := body
	for i, it := range items(body) {
		if !it.Get("clientState").Exists() {
			continue
		}
		var err error
		if out, err = sjson.DeleteBytes(out, itemPath(i, "clientState")); err != nil {
			return nil, fmt.Errorf("strip clientState: %w", err)
		}
	}
	return out, nil
}

// RedactClientState replaces every item's clientState with Redacted: what
// the recorder stores, so that replay knows the item carried one (it sets
// the live subscription's). A null or empty clientState is left as it is.
func RedactClientState(body []byte) ([]byte, error) {
	out := body
	for i, it := range items(body) {
		v := it.Get("clientState")
		if v.Type == gjson.Null || v.String() == "" || v.String() == Redacted {
			continue
		}
		var err error
		if out, err = sjson.SetBytes(out, itemPath(i, "clientState"), Redacted); err != nil {
			return nil, fmt.Errorf("redact clientState: %w", err)
		}
	}
	return out, nil
}

// StripEncrypted removes every item's encryptedContent and reports how
// many it removed: what the recorder stores when it has no key to decrypt
// them (it warns once, naming the flag that gives the key).
func StripEncrypted(body []byte) ([]byte, int, error) {
	out, n := body, 0
	for i, it := range items(body) {
		if !it.Get("encryptedContent").Exists() {
			continue
		}
		var err error
		if out, err = sjson.DeleteBytes(out, itemPath(i, "encryptedContent")); err != nil {
			return nil, 0, fmt.Errorf("strip encryptedContent: %w", err)
		}
		n++
	}
	return out, n, nil
}

// Decrypted replaces every item's encryptedContent with its decrypted
// resource JSON under DecryptedField and reports how many it replaced. An
// item whose content fails to decrypt (another certificate, a bad
// signature) is an error naming the item: the caller decides whether to
// store it stripped. The result still holds the resource data in the
// clear: the caller redacts it before storing.
func Decrypted(body []byte, key crypto.Decrypter) ([]byte, int, error) {
	out, n := body, 0
	for i, it := range items(body) {
		raw := it.Get("encryptedContent")
		if !raw.Exists() {
			continue
		}
		ec, err := ParseEncryptedContent([]byte(raw.Raw))
		if err != nil {
			return nil, 0, fmt.Errorf("notification item %d: %w", i, err)
		}
		plain, err := Decrypt(key, ec)
		if err != nil {
			return nil, 0, fmt.Errorf("notification item %d: %w", i, err)
		}
		if !gjson.ValidBytes(plain) {
			return nil, 0, fmt.Errorf("notification item %d: decrypted resource data is not JSON", i)
		}
		if out, err = sjson.SetRawBytes(out, itemPath(i, DecryptedField), plain); err != nil {
			return nil, 0, fmt.Errorf("notification item %d: %w", i, err)
		}
		if out, err = sjson.DeleteBytes(out, itemPath(i, "encryptedContent")); err != nil {
			return nil, 0, fmt.Errorf("notification item %d: %w", i, err)
		}
		n++
	}
	return out, n, nil
}

// Reencrypt is Decrypted's inverse for replay: every item's DecryptedField
// is encrypted with a fresh key for cert (the live subscription's
// encryptionCertificate) and certID (its encryptionCertificateId) and put
// back as encryptedContent. It reports how many items it encrypted. With a
// nil cert (the live app asked for no resource data) DecryptedField is
// only removed.
func Reencrypt(body []byte, cert *x509.Certificate, certID string) ([]byte, int, error) {
	out, n := body, 0
	for i, it := range items(body) {
		plain := it.Get(DecryptedField)
		if !plain.Exists() {
			continue
		}
		var err error
		if cert != nil {
			ec, err := Encrypt(cert, certID, []byte(plain.Raw))
			if err != nil {
				return nil, 0, fmt.Errorf("notification item %d: %w", i, err)
			}
			if out, err = sjson.SetRawBytes(out, itemPath(i, "encryptedContent"), ec.JSON()); err != nil {
				return nil, 0, fmt.Errorf("notification item %d: %w", i, err)
			}
			n++
		}
		if out, err = sjson.DeleteBytes(out, itemPath(i, DecryptedField)); err != nil {
			return nil, 0, fmt.Errorf("notification item %d: %w", i, err)
		}
	}
	return out, n, nil
}

// ValidationTokens returns the validationTokens of a rich notification
// (JWTs; nil when there are none), for the recorder to keep their claims.
func ValidationTokens(body []byte) []string {
	var out []string
	for _, t := range gjson.GetBytes(body, "validationTokens").Array() {
		out = append(out, t.String())
	}
	return out
}

// SetValidationTokens replaces the validationTokens with tokens, one for
// one (the recorder passes Redacted for each, replay freshly signed ones).
// A nil tokens removes the array; a body without validationTokens is
// returned unchanged unless tokens is non-empty.
func SetValidationTokens(body []byte, tokens []string) ([]byte, error) {
	if tokens == nil {
		if !gjson.GetBytes(body, "validationTokens").Exists() {
			return body, nil
		}
		out, err := sjson.DeleteBytes(body, "validationTokens")
		if err != nil {
			return nil, fmt.Errorf("remove validationTokens: %w", err)
		}
		return out, nil
	}
	out, err := sjson.SetBytes(body, "validationTokens", tokens)
	if err != nil {
		return nil, fmt.Errorf("set validationTokens: %w", err)
	}
	return out, nil
}

// RedactValidationTokens replaces each validation token with Redacted,
// keeping their number.
func RedactValidationTokens(body []byte) ([]byte, error) {
	n := len(ValidationTokens(body))
	if n == 0 {
		return body, nil
	}
	marks := make([]string, n)
	for i := range marks {
		marks[i] = Redacted
	}
	return SetValidationTokens(body, marks)
}

// Live holds the live subscription's values a replayed notification
// carries instead of the recorded ones. An empty field leaves the recorded
// value alone (for ClientState: the live app set none, so none is sent).
type Live struct {
	SubscriptionID string
	ClientState    string
	TenantID       string
}

// Bind sets every item's subscriptionId, clientState and tenantId (and
// organizationId, Graph's other name for the tenant, where the item has
// one) to the live values.
func Bind(body []byte, live Live) ([]byte, error) {
	out := body
	for i, it := range items(body) {
		sets := []struct {
			field, v string
			always   bool
		}{
			{"subscriptionId", live.SubscriptionID, true},
			{"clientState", live.ClientState, true},
			{"tenantId", live.TenantID, true},
			{"organizationId", live.TenantID, false},
		}
		for _, s := range sets {
			if s.v == "" || (!s.always && !it.Get(s.field).Exists()) {
				continue
			}
			var err error
			if out, err = sjson.SetBytes(out, itemPath(i, s.field), s.v); err != nil {
				return nil, fmt.Errorf("bind notification item %d %s: %w", i, s.field, err)
			}
		}
	}
	return out, nil
}

// IsChangeNotification reports whether body is a change or lifecycle
// notification: a value array whose items name a subscriptionId.
func IsChangeNotification(body []byte) bool {
	its := items(body)
	return len(its) > 0 && its[0].Get("subscriptionId").Exists()
}
