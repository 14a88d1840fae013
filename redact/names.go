package redact

import (
	"strconv"
	"strings"
)

// microsoftSuffixes are the domains whose hosts are Microsoft's, not the
// bot's: URLs on them are kept (with the ids in them redacted). Any other host
// in a URL is the bot's (its callback host, a tunnel) and is pseudonymised.
var microsoftSuffixes = []string{
	"microsoft.com", "microsoftonline.com", "microsoft.us", "microsoftonline.us",
	"microsoft.de", "microsoftonline.de", "chinacloudapi.cn", "partner.microsoftonline.cn",
	"windows.net", "azure.com", "azure.net", "office.com", "office.net", "office365.com",
	"skype.com", "lync.com", "teams.microsoft.com", "botframework.com", "live.com",
	"aka.ms", "microsoftstream.com", "sharepoint.com", "smba.trafficmanager.net",
	"example.invalid", "example.com", "example.org", "example.net",
}

// isKeptHost reports whether host (lower case, no port) stays as is:
// Microsoft's, loopback, documentation and pseudonym hosts.
func isKeptHost(host string) bool {
	switch host {
	case "", "localhost":
		return true
	}
	for _, s := range microsoftSuffixes {
		if host == s || (len(host) > len(s) && strings.HasSuffix(host, s) && host[len(host)-len(s)-1] == '.') {
			return true
		}
	}
	return strings.HasSuffix(host, ".localhost")
}

// normKey lower-cases a field name and drops '_' and '-', so client_secret,
// clientSecret and Client-Secret are one name.
func normKey(k []byte) string {
	var buf [32]byte
	if len(k) > len(buf) {
		return ""
	}
	return string(appendNormKey(buf[:0], k))
}

// secretKeys are field, form and query names (normalised by normKey) whose
// values are secrets: removed, never pseudonymised.
var secretKeys = map[string]bool{
	"accesstoken": true, "refreshtoken": true, "idtoken": true, "token": true,
	"clientsecret": true, "clientassertion": true, "assertion": true,
	"password": true, "passwd": true, "secret": true, "apikey": true,
	"authorization": true, "cookie": true, "setcookie": true, "sig": true,
	"sessiontoken": true, "securitytoken": true, "subscriptionkey": true,
	"sharedsecret": true, "privatekey": true,
	// Change notifications: the token of a subscription's validation
	// request (query) and the keys of a rich notification's
	// encryptedContent; clientState is in the field table.
	"validationtoken": true, "datakey": true, "datasignature": true,
	// "code" is left out on purpose: it is Graph's error code far more often
	// than an OAuth authorization code, which graphvcr's flows never carry.
}

func isSecretKey(k []byte) bool { return keyClass(k) == keySecret }

// nameKeys are JSON field names (normalised) holding a person's name.
var nameKeys = map[string]bool{
	"displayname": true, "givenname": true, "surname": true, "middlename": true,
	"nickname": true, "firstname": true, "lastname": true, "fullname": true,
	"name": true, "mailnickname": true,
}

func isNameKey(k []byte) bool { return keyClass(k) == keyName }

const (
	keyPlain = iota
	keySecret
	keyName
)

// keyClasses merges secretKeys and nameKeys for one lookup per field.
var keyClasses = func() map[string]uint8 {
	m := map[string]uint8{}
	for k, v := range secretKeys {
		if v {
			m[k] = keySecret
		}
	}
	for k, v := range nameKeys {
		if v {
			m[k] = keyName
		}
	}
	return m
}()

// keyEnds has a bit for each (first, last) pair of normalised letters of
// the names in keyClasses: it rules out most field names ("@odata.type",
// "tenantId", "status") before any normalising or lookup.
var keyEnds = func() (t [1024]uint64) {
	for k := range keyClasses {
		i := uint(k[0])<<8 | uint(k[len(k)-1])
		t[i>>6] |= 1 << (i & 63)
	}
	return t
}()

// endsBit returns the bit of field name k in a (first, last) letters
// bitmap such as keyEnds: its first and last letters in lower case, past
// any leading and trailing '_' or '-' ("_client_secret_" is c…t). ok is
// false when fewer than two characters remain. Both field tables rule names
// out with it before normalising one.
func endsBit(k []byte) (i uint, ok bool) {
	first, last := 0, len(k)-1
	for first < len(k) && (k[first] == '_' || k[first] == '-') {
		first++
	}
	for last > first && (k[last] == '_' || k[last] == '-') {
		last--
	}
	if first >= last {
		return 0, false
	}
	return uint(lowerASCII(k[first]))<<8 | uint(lowerASCII(k[last])), true
}

// keyClass says whether a field name holds a secret, a name, or neither.
// Names longer than any known one are plain without normalising. It runs for
// every JSON string, so it normalises into a stack buffer: the map lookup on
// string(buf[:n]) does not allocate.
func keyClass(k []byte) uint8 {
	if len(k) < 3 || len(k) > 20 {
		return keyPlain
	}
	if i, ok := endsBit(k); !ok || keyEnds[i>>6]&(1<<(i&63)) == 0 {
		return keyPlain
	}
	var buf [20]byte
	return keyClasses[string(appendNormKey(buf[:0], k))]
}

// appendNormKey appends k normalised as normKey says. Callers pass a
// buffer with room for all of k, so nothing is allocated.
func appendNormKey(dst, k []byte) []byte {
	for _, c := range k {
		switch {
		case c == '_' || c == '-':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isSecretHeader reports whether a header (canonical or not) carries a
// secret in its value as a whole.
func isSecretHeader(name string) bool {
	if secret, ok := commonHeaders[name]; ok {
		return secret
	}
	return secretHeaderName(name)
}

// commonHeaders holds what secretHeaderName says of the headers every
// Graph exchange carries (canonical names), so Header looks them up rather
// than searching each for seven words.
var commonHeaders = func() map[string]bool {
	m := map[string]bool{}
	for _, h := range []string{
		"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control", "Client-Request-Id",
		"Connection", "Content-Encoding", "Content-Length", "Content-Type", "Date", "Expires", "Host",
		"Location", "Odata-Version", "Pragma", "Request-Id", "Retry-After", "Scenario-Id", "Sdkversion",
		"Strict-Transport-Security", "Transfer-Encoding", "User-Agent", "Vary", "Www-Authenticate",
		"X-Content-Type-Options", "X-Forwarded-For", "X-Ms-Ags-Diagnostic", "X-Ms-Client-Request-Id",
		"X-Ms-Request-Id", "X-Ms-Resource-Unit", "X-Microsoft-Skype-Chain-Id",
	} {
		m[h] = secretHeaderName(h)
	}
	return m
}()

// secretHeaderName is isSecretHeader without the table of common headers.
func secretHeaderName(name string) bool {
	n := normKey([]byte(name))
	if n == "" {
		return false
	}
	for _, w := range []string{"secret", "token", "password", "apikey", "subscriptionkey", "cookie", "signature"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// name returns the pseudonym of a person's name, learning the name so that it
// is replaced wherever else it appears.
func (r *Redactor) name(v string) string {
	return string(r.appendName(nil, []byte(v)))
}

// appendName appends the pseudonym of the name v ("Person N"), learning the
// name on first sight.
func (r *Redactor) appendName(dst, v []byte) []byte {
	n := r.learnedNum(&r.names, &r.nameN, kName, v, namePrefix, "")
	return strconv.AppendInt(append(dst, namePrefix...), int64(n), 10)
}
