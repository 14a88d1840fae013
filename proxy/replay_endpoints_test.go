package proxy_test

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/fault"
)

const (
	pCall  = "c0ffee00-0000-4000-8000-000000000002"
	liveID = "6b1d2c3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
)

// How the replay tests talk to a replayer's listener (also used by the
// OpenID, binding and divergence tests).

// replayTransport returns a transport for the replayer cfg is about to
// start: under cfg.TLS it gives cfg a CA of its own (in a temporary
// directory) and trusts that CA alone, so a test reaches the --tls listener
// as a bot with graphvcr's CA file would.
func replayTransport(t *testing.T, cfg *proxy.ReplayConfig) *http.Transport {
	t.Helper()
	tr := &http.Transport{}
	if !cfg.TLS {
		return tr
	}
	ca, err := proxy.LoadCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.CA = ca
	tr.TLSClientConfig = &tls.Config{RootCAs: ca.CertPool()}
	return tr
}

// roundTrip sends req with c and returns the answer with its whole body; a
// request that cannot be sent, or an answer that cannot be read, fails the
// test.
func roundTrip(t *testing.T, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	return resp, b
}

// smallCassette holds a GET answered, a GET whose upstream reset the
// connection and one answered 502 after a timeout.
func smallCassette(t *testing.T) string {
	t.Helper()
	base := "https://graph.microsoft.com/v1.0/communications/calls/" + pCall
	evs := []*cassette.Event{
		{Kind: cassette.KindGraph, Request: cassette.Request{Method: "GET", URL: base},
			Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"999"}},
				Body: []byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#calls/$entity","id":"` + pCall + `"}`)}},
		{Kind: cassette.KindGraph, Request: cassette.Request{Method: "GET", URL: base + "/participants"},
			Error: "read tcp: connection reset by peer"},
		{Kind: cassette.KindGraph, Request: cassette.Request{Method: "GET", URL: base + "/operations"},
			Response: cassette.Response{Status: 502, Body: []byte("upstream timeout")}, Error: "timeout awaiting response headers"},
	}
	return cassettetest.WriteTemp(t, cassette.Meta{Upstream: proxy.DefaultUpstream}, evs, pCall)
}

func TestReplayEndpoints(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		name := "http"
		if useTLS {
			name = "tls"
		}
		t.Run(name, func(t *testing.T) {
			rd, err := cassette.Open(smallCassette(t))
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			cfg := proxy.ReplayConfig{Cassette: rd, TLS: useTLS}
			tr := replayTransport(t, &cfg)
			tr.ForceAttemptHTTP2 = useTLS // a custom TLS config turns HTTP/2 off unless forced
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr}
			rep, err := proxy.StartReplayer(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer rep.Close(context.Background())
			wantProto := 1
			if useTLS {
				wantProto = 2
			}
			do := func(t *testing.T, method, path, body string) (*http.Response, []byte, error) {
				t.Helper()
				req, err := http.NewRequestWithContext(t.Context(), method, rep.URL()+path, strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if method == "POST" {
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				}
				resp, err := client.Do(req)
				if err != nil {
					return nil, nil, err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return resp, b, err
			}
			const tenant = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
			tests := []struct {
				name, method, path, body string
				wantStatus               int
				check                    func(t *testing.T, resp *http.Response, body []byte)
			}{
				{name: "health", method: "GET", path: "/__graphvcr/health", wantStatus: 200},
				{name: "recorded get, ids bound, urls on the replayer", method: "GET", path: "/v1.0/communications/calls/" + liveID, wantStatus: 200,
					check: func(t *testing.T, resp *http.Response, body []byte) {
						if !strings.Contains(string(body), `"id":"`+liveID+`"`) || !strings.Contains(string(body), rep.URL()+"/v1.0/$metadata") {
							t.Errorf("body %s: want the live id and the replayer's URL", body)
						}
						if resp.ContentLength != int64(len(body)) {
							t.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(body))
						}
						if resp.ProtoMajor != wantProto {
							t.Errorf("protocol %s, want HTTP/%d", resp.Proto, wantProto)
						}
					}},
				{name: "recorded 502 after an upstream timeout", method: "GET", path: "/v1.0/communications/calls/" + liveID + "/operations", wantStatus: 502},
				{name: "openid configuration", method: "GET", path: "/" + tenant + "/v2.0/.well-known/openid-configuration", wantStatus: 200,
					check: func(t *testing.T, _ *http.Response, body []byte) {
						var doc struct {
							TokenEndpoint string `json:"token_endpoint"`
						}
						if err := json.Unmarshal(body, &doc); err != nil || doc.TokenEndpoint != rep.URL()+"/"+tenant+"/oauth2/v2.0/token" {
							t.Errorf("token_endpoint %q (%v), want it on the replayer", doc.TokenEndpoint, err)
						}
					}},
				{name: "instance discovery", method: "GET", path: "/common/discovery/instance?api-version=1.1&authorization_endpoint=x", wantStatus: 200,
					check: func(t *testing.T, _ *http.Response, body []byte) {
						if !strings.Contains(string(body), rep.URL()+"/common/v2.0/.well-known/openid-configuration") {
							t.Errorf("instance discovery %s does not point at the replayer", body)
						}
					}},
				{name: "token", method: "POST", path: "/" + tenant + "/oauth2/v2.0/token",
					body:       url.Values{"client_id": {"app-1"}, "client_secret": {"s"}, "grant_type": {"client_credentials"}, "scope": {"https://graph.microsoft.com/.default"}}.Encode(),
					wantStatus: 200,
					check: func(t *testing.T, _ *http.Response, body []byte) {
						var tok struct {
							AccessToken string `json:"access_token"`
							ExpiresIn   int    `json:"expires_in"`
						}
						if err := json.Unmarshal(body, &tok); err != nil || tok.ExpiresIn <= 0 {
							t.Fatalf("token answer %s: %v", body, err)
						}
						parts := strings.Split(tok.AccessToken, ".")
						if len(parts) != 3 {
							t.Fatalf("token %q is not a JWT", tok.AccessToken)
						}
						claims, err := base64.RawURLEncoding.DecodeString(parts[1])
						if err != nil || !strings.Contains(string(claims), `"tid":"`+tenant+`"`) || !strings.Contains(string(claims), `"appid":"app-1"`) {
							t.Errorf("claims %s (%v): want tid and appid of the request", claims, err)
						}
					}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					resp, body, err := do(t, tt.method, tt.path, tt.body)
					if err != nil {
						t.Fatal(err)
					}
					if resp.StatusCode != tt.wantStatus {
						t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
					}
					if tt.check != nil {
						tt.check(t, resp, body)
					}
				})
			}
			t.Run("recorded reset closes the connection", func(t *testing.T) {
				if resp, body, err := do(t, "GET", "/v1.0/communications/calls/"+liveID+"/participants", ""); err == nil {
					t.Errorf("got %d %s, want the connection closed", resp.StatusCode, body)
				}
			})
			select {
			case <-rep.Done():
			case <-time.After(10 * time.Second):
				t.Fatalf("not done: %+v", rep.Report())
			}
			r := rep.Report()
			if len(r.Matched) != 3 || r.Diverged() {
				t.Errorf("report: %d matched, diverged %v", len(r.Matched), r.Diverged())
			}
			// The report endpoint serves the same.
			resp, body, err := do(t, "GET", "/__graphvcr/report", "")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("report endpoint: %v %v", resp, err)
			}
			var served proxy.Report
			if err := json.Unmarshal(body, &served); err != nil || len(served.Matched) != 3 || !served.Done {
				t.Errorf("report endpoint %s: %v", body, err)
			}
		})
	}
}

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
	rp, stop := startReplayer(t, proxy.ReplayConfig{Listen: "127.0.0.1:0", CA: ca, Cassette: r})
	defer stop()
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

// TestFaultResetProtocols: a reset closes an HTTP/1.1 connection, or
// resets an HTTP/2 stream, with no answer; the retry gets the recorded
// answer, which the report then lists as matched (not unused).
func TestFaultResetProtocols(t *testing.T) {
	rd := cassettetest.Open(t, cassettetest.WriteTemp(t, cassette.Meta{Upstream: proxy.DefaultUpstream}, []*cassette.Event{{
		Kind: cassette.KindGraph, Offset: time.Millisecond, Latency: time.Millisecond,
		Request:  cassette.Request{Method: "GET", URL: "https://graph.microsoft.com/v1.0/communications/calls/" + pCall},
		Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":"` + pCall + `"}`)},
	}}, pCall))
	spec, err := fault.Parse("reset:match=GET */calls/*,nth=1")
	if err != nil {
		t.Fatal(err)
	}
	for _, h2 := range []bool{false, true} {
		cfg := proxy.ReplayConfig{Cassette: rd, Faults: []fault.Spec{spec}, Seed: 1, TLS: h2}
		tr := replayTransport(t, &cfg)
		tr.ForceAttemptHTTP2 = h2
		rep, stop := startReplayer(t, cfg)
		client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		get := func() (*http.Response, error) {
			return client.Get(rep.URL() + "/v1.0/communications/calls/" + liveID)
		}
		if resp, err := get(); err == nil {
			resp.Body.Close()
			t.Errorf("h2=%v: the reset request got an answer: %s", h2, resp.Status)
		}
		resp, err := get()
		if err != nil {
			t.Fatalf("h2=%v: retry: %v", h2, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != `{"id":"`+liveID+`"}` {
			t.Errorf("h2=%v: retry got %s %s, want the recorded answer", h2, resp.Status, body)
		}
		if h2 && resp.ProtoMajor != 2 {
			t.Errorf("answered over %s, want HTTP/2", resp.Proto)
		}
		tr.CloseIdleConnections()
		stop()
		r := rep.Report()
		if len(r.Faults) != 1 || r.Faults[0].Action != fault.Reset || len(r.Matched) != 1 || len(r.Unused) != 0 || r.Diverged() {
			t.Errorf("h2=%v: report faults %+v, matched %+v, unused %+v", h2, r.Faults, r.Matched, r.Unused)
		}
	}
}
