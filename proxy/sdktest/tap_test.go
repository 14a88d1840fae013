package sdktest

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// tap stands between graphvcr and the simulator and notes how each request
// arrived upstream, to tell what graphvcr relayed from what it stored.
type tap struct {
	URL string

	mu        sync.Mutex        // guards encodings
	encodings map[string]string // "METHOD path" -> Content-Encoding as relayed
}

func newTap(t *testing.T, upstream string) *tap {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{encodings: map[string]string{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tp.mu.Lock()
		tp.encodings[r.Method+" "+r.URL.Path] = r.Header.Get("Content-Encoding")
		tp.mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	tp.URL = srv.URL
	return tp
}

// encoding returns the Content-Encoding of the last request relayed with
// that method to a path ending in suffix, and whether there was one.
func (tp *tap) encoding(method, suffix string) (string, bool) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	for k, v := range tp.encodings {
		if strings.HasPrefix(k, method+" ") && strings.HasSuffix(k, suffix) {
			return v, true
		}
	}
	return "", false
}
