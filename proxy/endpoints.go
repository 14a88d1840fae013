package proxy

import (
	"net"
	"slices"
	"strings"

	"github.com/graphvcr/graphvcr/cassette"
)

// The Microsoft hosts graphvcr knows by name. Recording and replay read
// them from the one table below, so a host added there is known to both.
const (
	graphHost = "graph.microsoft.com"
	loginHost = "login.microsoftonline.com"
	apsHost   = "api.aps.skype.com"
	botFwHost = "login.botframework.com"
)

// knownHost says what a Microsoft host is to graphvcr.
type knownHost struct {
	// kind is what a recording makes of the traffic a bot sends the host
	// through graphvcr as its HTTPS_PROXY (forward mode); zero for a host
	// whose CONNECT the recorder tunnels untouched.
	kind cassette.Kind
	// metadata marks a publisher of the OpenID documents that notification
	// tokens are validated with: replay answers any path on it.
	metadata bool
}

// knownHosts are the hosts a bot reaches through graphvcr by name. Replay
// answers a CONNECT to each of them (every other one is refused: replay is
// offline); recording intercepts those with a kind.
var knownHosts = map[string]knownHost{
	graphHost: {kind: cassette.KindGraph},
	loginHost: {kind: cassette.KindToken},
	apsHost:   {metadata: true},
	botFwHost: {metadata: true},
}

// hostName returns the lower-case host name of a host or host:port.
func hostName(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		hostport = h
	}
	return strings.ToLower(hostport)
}

// lookupHost returns what the host of hostport (any case, with or without a
// port) is to graphvcr; false for a host it does not know.
func lookupHost(hostport string) (knownHost, bool) {
	h, ok := knownHosts[hostName(hostport)]
	return h, ok
}

// Classes of the login endpoints replay answers offline.
const (
	loginToken    = "token"    // the token endpoint, v1 and v2
	loginOpenID   = "openid"   // the OpenID discovery document
	loginInstance = "instance" // instance discovery
)

// loginPaths are the login endpoints MSAL and azidentity use, below
// /{tenant}/: every path under a prefix belongs to the token upstream (and
// is recorded as token traffic), and the paths in ends are those replay
// answers offline, as class. Everything else on the graph listener is Graph.
var loginPaths = []struct {
	prefix string
	class  string
	ends   []string
}{
	{"oauth2/", loginToken, []string{"oauth2/token", "oauth2/v2.0/token"}},
	{"v2.0/.well-known/", loginOpenID, []string{"v2.0/.well-known/openid-configuration"}},
	{".well-known/", loginOpenID, []string{".well-known/openid-configuration"}},
	{"discovery/", loginInstance, []string{"discovery/instance"}},
}

// loginPath reports whether a request path is a login endpoint's (ok), and
// then its tenant segment ("common", a GUID, a domain) and the class of the
// offline answer replay gives it ("" for none: the recorded exchange is
// matched as any other).
func loginPath(path string) (tenant, class string, ok bool) {
	rest, ok := strings.CutPrefix(path, "/")
	if !ok {
		return "", "", false
	}
	tenant, rest, ok = strings.Cut(rest, "/")
	if !ok || tenant == "" {
		return "", "", false
	}
	for _, p := range loginPaths {
		if strings.HasPrefix(rest, p.prefix) {
			if slices.Contains(p.ends, rest) {
				class = p.class
			}
			return tenant, class, true
		}
	}
	return "", "", false
}
