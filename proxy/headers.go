package proxy

import (
	"net/http"
	"strings"
)

// hopByHop are hop-by-hop headers (RFC 9110 §7.6.1): never forwarded, never
// stored, never replayed. The sets of headers replay leaves out are built on
// this one list.
var hopByHop = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopHeaders deletes the hop-by-hop headers of h, including those
// named by its Connection header.
func removeHopHeaders(h http.Header) {
	for _, v := range h.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range hopByHop {
		h.Del(k)
	}
}

// Recorded headers replay never sends, by canonical name: the hop-by-hop
// headers, and the length and encoding of a body that is stored decoded.
// A notification also goes without its recorded bearer token (a removed
// secret), host and cookies.
var (
	responseDropHeaders     = headerSet(hopByHop, "Content-Length", "Content-Encoding")
	notificationDropHeaders = headerSet(hopByHop, "Content-Length", "Content-Encoding",
		"Authorization", "Host", "Cookie")
)

// headerSet returns the canonical names of base and more as a set.
func headerSet(base []string, more ...string) map[string]bool {
	set := make(map[string]bool, len(base)+len(more))
	for _, l := range [][]string{base, more} {
		for _, k := range l {
			set[http.CanonicalHeaderKey(k)] = true
		}
	}
	return set
}
