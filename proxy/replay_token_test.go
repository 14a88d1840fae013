package proxy_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/proxy"
)

// The offline token answer keeps the fields the identity provider really
// sent (MSAL reads refresh_in, for instance), with a fresh synthetic token in
// place of the removed one and the other removed secrets dropped; without a
// recorded answer it is a minimal client-credentials answer.
func TestReplayTokenAnswer(t *testing.T) {
	recorded := `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"refresh_in":1799,` +
		`"access_token":"REDACTED","refresh_token":"REDACTED","foci":"1"}`
	tests := []struct {
		name     string
		recorded string // "" = no token exchange in the cassette
		want     map[string]string
		absent   []string
	}{
		{"from the recorded answer", recorded,
			map[string]string{"token_type": "Bearer", "expires_in": "3600", "ext_expires_in": "3600", "refresh_in": "1800", "foci": "1"},
			[]string{"refresh_token", "id_token"}},
		{"minimal without one", "",
			map[string]string{"token_type": "Bearer", "expires_in": "3600", "ext_expires_in": "3600"},
			[]string{"refresh_in", "refresh_token", "foci"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var evs []*cassette.Event
			if tt.recorded != "" {
				evs = append(evs, &cassette.Event{Kind: cassette.KindToken,
					Request: cassette.Request{Method: "POST", URL: "https://login.microsoftonline.com/" + pCall + "/oauth2/v2.0/token",
						Body: []byte("grant_type=client_credentials&client_id=" + pCall + "&client_secret=REDACTED")},
					Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tt.recorded)}})
			}
			r := cassettetest.Open(t, cassettetest.WriteTemp(t, cassette.Meta{Upstream: proxy.DefaultUpstream, TokenUpstream: proxy.DefaultTokenUpstream}, evs, pCall))
			rep, err := proxy.StartReplayer(t.Context(), proxy.ReplayConfig{Listen: "127.0.0.1:0", Bot: "http://127.0.0.1:9", Speed: 0, Cassette: r})
			if err != nil {
				t.Fatal(err)
			}
			defer rep.Close(t.Context())

			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {liveID}, "client_secret": {"anything"},
				"scope": {"https://graph.microsoft.com/.default"}}
			resp, err := http.PostForm(rep.URL()+"/"+liveID+"/oauth2/v2.0/token", form)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !gjson.ValidBytes(body) {
				t.Fatalf("token answer %d %s", resp.StatusCode, body)
			}
			if tok := gjson.GetBytes(body, "access_token").String(); strings.Count(tok, ".") != 2 || strings.Contains(tok, "REDACTED") {
				t.Errorf("access_token %q is not a synthetic JWT", tok)
			}
			for k, v := range tt.want {
				if got := gjson.GetBytes(body, k).String(); got != v {
					t.Errorf("%s = %q, want %q (body %s)", k, got, v, body)
				}
			}
			for _, k := range tt.absent {
				if gjson.GetBytes(body, k).Exists() {
					t.Errorf("%s present in %s", k, body)
				}
			}
		})
	}
}
