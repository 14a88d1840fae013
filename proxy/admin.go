package proxy

import (
	"encoding/json"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

// adminPrefix starts every path graphvcr answers itself on its graph listener.
const adminPrefix = "/__graphvcr/"

// isAdminPath reports whether path is one of graphvcr's own endpoints.
func isAdminPath(path string) bool { return strings.HasPrefix(path, adminPrefix) }

// isLoopbackRequest reports whether r came from a loopback address. The
// admin endpoints answer only those: they describe a session (and, in
// replay, serve signing metadata) that is nobody else's business.
func isLoopbackRequest(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// IsLoopbackAddr reports whether a listen address binds only the loopback
// interface ("127.0.0.1:8080", "[::1]:0", "localhost:8080" in any case);
// ":8080" and "0.0.0.0:8080" bind every interface and are not. The recorder
// and the command line warn about a listener that is not.
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// adminHandler serves /__graphvcr/* for a listener: health, answered 200
// once ready is set (both listeners up) and 503 before, and whatever extra
// routes a mode adds (the replayer's report and OpenID documents), keyed by
// full path. Requests from non-loopback clients get 403; unknown admin
// paths get 404. A nil ready counts as ready.
type adminHandler struct {
	mode   string       // "record" or "replay", reported by health
	ready  *atomic.Bool // nil: always ready
	routes map[string]http.Handler
}

// ServeHTTP answers an admin request.
func (a *adminHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !isLoopbackRequest(r) {
		http.Error(w, "graphvcr: admin endpoints answer loopback clients only", http.StatusForbidden)
		return
	}
	if r.URL.Path == adminPrefix+"health" {
		a.health(w, r)
		return
	}
	if h, ok := a.routes[r.URL.Path]; ok {
		h.ServeHTTP(w, r)
		return
	}
	http.Error(w, "graphvcr: no such admin endpoint: "+r.URL.Path, http.StatusNotFound)
}

func (a *adminHandler) health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "graphvcr: method not allowed", http.StatusMethodNotAllowed)
		return
	}
	status := "ok"
	code := http.StatusOK
	if a.ready != nil && !a.ready.Load() {
		status, code = "starting", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]string{"status": status, "mode": a.mode})
}

// writeJSON answers with v as JSON: every answer graphvcr makes up itself
// (health, report, offline token and OpenID documents, Graph errors). It is
// never cached: each describes the session's state or is a fresh token.
func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "graphvcr: encode answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
