package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
)

// Pseudonyms as the redactor issues them, and live ids, for the fuzz seeds.
const (
	p1         = "c0ffee00-0000-4000-8000-000000000001"
	p3         = "c0ffee00-0000-4000-8000-000000000003"
	live1      = "57dab8b1-894c-409a-b240-bd8beae78896"
	live1Upper = "57DAB8B1-894C-409A-B240-BD8BEAE78896"
	live3      = "0e7a3f1c-2b4d-4e6f-8a9b-0c1d2e3f4a5b"
)

// FuzzNotificationCallIDs feeds arbitrary notification bodies to the
// parser the recorder uses for triggers: it never panics, every id it
// returns is canonical, and a resource naming a call in a valid JSON body
// is always found.
func FuzzNotificationCallIDs(f *testing.F) {
	f.Add([]byte(`{"value":[{"changeType":"deleted","resource":"/communications/calls/`+live1+`/operations/x","resourceData":{}}]}`), "57DAB8B1894C409AB240BD8BEAE78896")
	f.Add([]byte(`{"value":[{"resourceUrl":"/app/calls/{`+live1Upper+`}"},],}`), "abc")
	f.Add([]byte(`{"resource":5,"value":"calls/x"}`), "")
	f.Add([]byte("calls/\x00calls/{}calls/-"), "{{x}}")
	f.Fuzz(func(t *testing.T, body []byte, seg string) {
		for _, id := range notificationCallIDs(body) {
			if id == "" || canonicalCallID(id) != id {
				t.Fatalf("id %q is not canonical (%q)", id, canonicalCallID(id))
			}
		}
		_ = callIDsOf("POST", string(body), 201, body)

		want := callIDOf("/communications/calls/" + seg)
		if want == "" {
			return
		}
		b, err := json.Marshal(map[string]any{"value": []any{map[string]string{"resource": "/communications/calls/" + seg}}})
		if err != nil {
			return
		}
		if got := notificationCallIDs(b); !slices.Contains(got, want) {
			t.Fatalf("body %s: ids %q, want %q among them", b, got, want)
		}
	})
}

// FuzzReplayServe sends arbitrary requests to a replayer's handler (the
// matcher, the nearest-request report, body decoding, the token endpoint,
// the admin endpoints): it never panics and always answers with a valid
// status; an answer 200 from a recorded exchange is its recorded body.
func FuzzReplayServe(f *testing.F) {
	path := filepath.Join(f.TempDir(), "fuzz.bolt")
	recorded := []byte(`{"id":"` + p3 + `","state":"established"}`)
	events := []*cassette.Event{
		{Kind: cassette.KindToken, Request: cassette.Request{Method: "POST", URL: "https://login.microsoftonline.com/" + p1 + "/oauth2/v2.0/token", Body: []byte("client_id=" + p3 + "&client_secret=REDACTED")},
			Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"access_token":"REDACTED","expires_in":3599}`)}},
		{Kind: cassette.KindGraph, Request: cassette.Request{Method: "POST", URL: "https://graph.microsoft.com/v1.0/communications/calls", Body: []byte(`{"tenantId":"` + p1 + `","callbackUri":"https://bot1.example.invalid/api/calls"}`)},
			Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: recorded}},
		{Kind: cassette.KindGraph, Request: cassette.Request{Method: "GET", URL: "https://graph.microsoft.com/v1.0/communications/calls/" + p3},
			Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: recorded}},
	}
	cassettetest.Write(f, path, cassette.Meta{Upstream: DefaultUpstream, TokenUpstream: DefaultTokenUpstream}, events, p1, p3)
	rd, err := cassette.Open(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rd.Close() })
	rep, err := StartReplayer(context.Background(), ReplayConfig{Cassette: rd, Speed: 0})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { closeBounded(rep) })

	f.Add("GET", "/v1.0/communications/calls/"+live1, "", "", "")
	f.Add("POST", "/v1.0/communications/calls", `{"tenantId":"`+live3+`","callbackUri":"https://x.example/cb"}`, "application/json", "")
	f.Add("POST", "/"+live3+"/oauth2/v2.0/token", "client_id=abc&grant_type=client_credentials&client_secret=s", "application/x-www-form-urlencoded", "")
	f.Add("POST", "/v1.0/communications/calls", "\x1f\x8b\x08garbage", "application/json", "gzip")
	f.Add("GET", "/__graphvcr/report", "", "", "br, deflate")
	f.Add("DELETE", "/v1.0/communications/calls/"+live1+"?x=%zz", "", "", "identity")
	f.Fuzz(func(t *testing.T, method, target, body, ctype, encoding string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || method == "" || strings.ContainsAny(method, " \r\n") {
			return
		}
		req := &http.Request{
			Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)),
			Host: "127.0.0.1", RemoteAddr: "127.0.0.1:5555",
		}
		req = req.WithContext(t.Context())
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if encoding != "" {
			req.Header.Set("Content-Encoding", encoding)
		}
		rec := httptest.NewRecorder()
		rep.serveHTTP(rec, req)
		if rec.Code < 100 || rec.Code > 599 {
			t.Fatalf("%s %s: status %d", method, target, rec.Code)
		}
		if rec.Code == 200 && (u.Path == "/v1.0/communications/calls" || strings.HasPrefix(u.Path, "/v1.0/communications/calls/")) {
			// The recorded body with its pseudonyms bound to live values: same length class and shape.
			if !bytes.Contains(rec.Body.Bytes(), []byte(`"state":"established"`)) {
				t.Fatalf("%s %s: 200 with %q, not the recorded answer", method, target, rec.Body.Bytes())
			}
		}
	})
}
