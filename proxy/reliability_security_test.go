package proxy

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
)

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
				req := httptest.NewRequest(http.MethodGet, h.target, nil)
				req.RemoteAddr = remote
				rr := httptest.NewRecorder()
				h.serve(rr, req)
				if rr.Code != http.StatusForbidden {
					t.Errorf("status %d for a client at %q, want 403", rr.Code, remote)
				}
			})
		}
		t.Run(h.name+" from loopback", func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, h.target, nil)
			req.RemoteAddr = "127.0.0.1:40000"
			rr := httptest.NewRecorder()
			h.serve(rr, req)
			if rr.Code == http.StatusForbidden {
				t.Errorf("a loopback client was refused: %s", rr.Body)
			}
		})
	}
}
