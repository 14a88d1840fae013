package proxy_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/proxy"
)

// A bot recorded through HTTPS_PROXY (forward mode) replays unchanged: the
// replay listener is its HTTPS proxy too, for the recorded hosts only.
func TestReplayForwardProxy(t *testing.T) {
	ca, err := proxy.LoadCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	body := `{"callbackUri":"https://bot1.example.invalid/api/calls","requestedModalities":["audio"]}`
	r := cassettetest.Open(t, cassettetest.WriteTemp(t, cassette.Meta{Upstream: proxy.DefaultUpstream, TokenUpstream: proxy.DefaultTokenUpstream}, []*cassette.Event{{
		Kind:     cassette.KindGraph,
		Request:  cassette.Request{Method: "POST", URL: "https://graph.microsoft.com/v1.0/communications/calls", Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)},
		Response: cassette.Response{Status: 201, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":"c0ffee00-0000-4000-8000-000000000001","state":"establishing"}`)},
	}}))
	rp, err := proxy.StartReplayer(t.Context(), proxy.ReplayConfig{Listen: "127.0.0.1:0", CA: ca, Cassette: r})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 5*time.Second)
		defer cancel()
		if err := rp.Close(ctx); err != nil {
			t.Error(err)
		}
	}()
	proxyURL, _ := url.Parse(rp.URL())
	for _, h2 := range []bool{false, true} {
		tr := &http.Transport{Proxy: http.ProxyURL(proxyURL), TLSClientConfig: &tls.Config{RootCAs: ca.CertPool()}, ForceAttemptHTTP2: h2}
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

		resp, err := client.Post("https://graph.microsoft.com/v1.0/communications/calls", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("h2 %v: POST through the replay proxy: %v", h2, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || !strings.Contains(string(got), `"establishing"`) {
			t.Errorf("h2 %v: got %d %s, want the recorded 201", h2, resp.StatusCode, got)
		}
		if h2 && resp.ProtoMajor != 2 {
			t.Errorf("inside the tunnel: %s, want HTTP/2", resp.Proto)
		}
		// Replay is offline: no tunnel to any other host.
		if _, err := client.Get("https://example.com/"); err == nil {
			t.Error("CONNECT to example.com succeeded, want it refused")
		}
		tr.CloseIdleConnections()
	}
	if rep := rp.Report(); len(rep.Unmatched) != 0 {
		t.Errorf("unmatched: %+v", rep.Unmatched)
	}
}
