package proxy

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
)

func TestAdminHandler(t *testing.T) {
	var ready atomic.Bool
	report := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	a := &adminHandler{mode: "record", ready: &ready, routes: map[string]http.Handler{adminPrefix + "report": report}}
	tests := []struct {
		name   string
		remote string
		method string
		path   string
		ready  bool
		want   int
	}{
		{"health before ready", "127.0.0.1:5000", "GET", "/__graphvcr/health", false, http.StatusServiceUnavailable},
		{"health ready", "127.0.0.1:5000", "GET", "/__graphvcr/health", true, http.StatusOK},
		{"health from ::1", "[::1]:5000", "GET", "/__graphvcr/health", true, http.StatusOK},
		{"health from elsewhere", "192.0.2.7:5000", "GET", "/__graphvcr/health", true, http.StatusForbidden},
		{"health POST", "127.0.0.1:5000", "POST", "/__graphvcr/health", true, http.StatusMethodNotAllowed},
		{"extra route", "127.0.0.1:5000", "GET", "/__graphvcr/report", true, http.StatusTeapot},
		{"extra route from elsewhere", "198.51.100.1:5000", "GET", "/__graphvcr/report", true, http.StatusForbidden},
		{"unknown", "127.0.0.1:5000", "GET", "/__graphvcr/nope", true, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready.Store(tt.ready)
			rec := serveFrom(a.ServeHTTP, tt.method, tt.path, tt.remote)
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d", rec.Code, tt.want)
			}
		})
	}
}

// TestAdminLoopbackOnly sends requests for graphvcr's own endpoints, with
// the remote address of another host, to the real handlers of a recorder
// (reverse and proxy-form requests) and a replayer: each is refused with
// 403 and answers a loopback client.
func TestAdminLoopbackOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "admin.bolt")
	w, err := cassette.Create(path, cassette.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := StartRecorder(t.Context(), RecordConfig{Upstream: "http://127.0.0.1:9", Bot: "http://127.0.0.1:9", Cassette: w})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		closeBounded(rec)
		w.Close()
		rd, err := cassette.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		if rd.Len() != 0 {
			t.Errorf("admin requests were recorded: %d events", rd.Len())
		}
	}()

	rd := cassettetest.Open(t, cassettetest.WriteTemp(t, cassette.Meta{Upstream: DefaultUpstream}, nil))
	rep, err := StartReplayer(t.Context(), ReplayConfig{Cassette: rd})
	if err != nil {
		t.Fatal(err)
	}
	defer closeBounded(rep)

	handlers := []struct {
		name   string
		serve  http.HandlerFunc
		target string // request target: origin form, or absolute (proxy form)
	}{
		{"record health", rec.gp.ServeHTTP, "/__graphvcr/health"},
		{"record unknown admin path", rec.gp.ServeHTTP, "/__graphvcr/anything"},
		{"replay health", rep.serveHTTP, "/__graphvcr/health"},
		{"replay report", rep.serveHTTP, "/__graphvcr/report"},
		{"replay openid", rep.serveHTTP, "/__graphvcr/openid/.well-known/OpenIdConfiguration"},
	}
	for _, h := range handlers {
		for _, remote := range []string{"203.0.113.9:40000", "[2001:db8::1]:40000", "10.0.0.1:1", "garbage", ""} {
			t.Run(h.name+" from "+remote, func(t *testing.T) {
				rr := serveFrom(h.serve, http.MethodGet, h.target, remote)
				if rr.Code != http.StatusForbidden {
					t.Errorf("status %d for a client at %q, want 403", rr.Code, remote)
				}
			})
		}
		t.Run(h.name+" from loopback", func(t *testing.T) {
			rr := serveFrom(h.serve, http.MethodGet, h.target, "127.0.0.1:40000")
			if rr.Code == http.StatusForbidden {
				t.Errorf("a loopback client was refused: %s", rr.Body)
			}
		})
	}
}

// serveFrom has serve answer a method request for target from a client at
// remote (a host:port, or anything a broken peer might give), and returns
// the answer.
func serveFrom(serve http.HandlerFunc, method, target, remote string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = remote
	rr := httptest.NewRecorder()
	serve(rr, req)
	return rr
}

func TestIsLoopbackAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"[::1]:0", true},
		{"localhost:8080", true},
		{"LOCALHOST:8080", true},
		{"LocalHost", true},
		{"localhost.example:8080", false},
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"192.0.2.1:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := IsLoopbackAddr(tt.addr); got != tt.want {
				t.Errorf("IsLoopbackAddr(%q) = %v", tt.addr, got)
			}
		})
	}
}
