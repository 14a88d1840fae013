package proxy

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/fault"
)

// TestFaultResetProtocols: a reset closes an HTTP/1.1 connection, or
// resets an HTTP/2 stream, with no answer; the retry gets the recorded
// answer, which the report then lists as matched (not unused).
func TestFaultResetProtocols(t *testing.T) {
	path := filepath.Join(t.TempDir(), "get.bolt")
	writeEvents(t, path, 1, []*cassette.Event{{
		Kind: cassette.KindGraph, Offset: time.Millisecond, Latency: time.Millisecond,
		Request:  cassette.Request{Method: "GET", URL: "https://graph.microsoft.com/v1.0/communications/calls/" + pseudoGUID(2)},
		Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"id":"` + pseudoGUID(2) + `"}`)},
	}}, []string{pseudoGUID(2)})
	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	spec, err := fault.Parse("reset:match=GET */calls/*,nth=1")
	if err != nil {
		t.Fatal(err)
	}
	for _, h2 := range []bool{false, true} {
		cfg := ReplayConfig{Cassette: rd, Faults: []fault.Spec{spec}, Seed: 1}
		tr := &http.Transport{DisableKeepAlives: false}
		if h2 {
			ca, err := LoadCA(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			cfg.TLS, cfg.CA = true, ca
			tr.TLSClientConfig = &tls.Config{RootCAs: ca.CertPool()}
			tr.ForceAttemptHTTP2 = true
		}
		rep, err := StartReplayer(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		get := func() (*http.Response, error) {
			return client.Get(rep.URL() + "/v1.0/communications/calls/" + liveGUID(2))
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
		if resp.StatusCode != 200 || string(body) != `{"id":"`+liveGUID(2)+`"}` {
			t.Errorf("h2=%v: retry got %s %s, want the recorded answer", h2, resp.Status, body)
		}
		if h2 && resp.ProtoMajor != 2 {
			t.Errorf("answered over %s, want HTTP/2", resp.Proto)
		}
		tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := rep.Close(ctx); err != nil {
			t.Error(err)
		}
		cancel()
		r := rep.Report()
		if len(r.Faults) != 1 || r.Faults[0].Action != fault.Reset || len(r.Matched) != 1 || len(r.Unused) != 0 || r.Diverged() {
			t.Errorf("h2=%v: report faults %+v, matched %+v, unused %+v", h2, r.Faults, r.Matched, r.Unused)
		}
	}
}
