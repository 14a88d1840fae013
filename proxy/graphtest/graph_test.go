package graphtest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/tidwall/gjson"
)

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	g := startGraph(t, GraphOptions{})
	c := &client{t: t, g: g, http: &http.Client{Transport: &http.Transport{Proxy: nil}}}
	t.Cleanup(c.http.CloseIdleConnections)
	form := func(mod func(url.Values)) io.Reader {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {g.ClientID()}, "client_secret": {testSecret}, "scope": {"https://graph.microsoft.com/.default"}}
		mod(v)
		return strings.NewReader(v.Encode())
	}
	formHeader := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	tests := []struct {
		name    string
		tenant  string
		mod     func(url.Values)
		status  int
		aadsts  string
		errCode string
	}{
		{name: "valid", mod: func(url.Values) {}, status: 200},
		{name: "wrong secret", mod: func(v url.Values) { v.Set("client_secret", "nope") }, status: 401, aadsts: "AADSTS7000215", errCode: "invalid_client"},
		{name: "no secret", mod: func(v url.Values) { v.Del("client_secret") }, status: 401, aadsts: "AADSTS7000215", errCode: "invalid_client"},
		{name: "unknown client", mod: func(v url.Values) { v.Set("client_id", "00000000-1111-4222-8333-444444444444") }, status: 400, aadsts: "AADSTS700016", errCode: "unauthorized_client"},
		{name: "other tenant", tenant: "11111111-2222-4333-8444-555555555555", mod: func(url.Values) {}, status: 400, aadsts: "AADSTS90002", errCode: "invalid_request"},
		{name: "wrong grant", mod: func(v url.Values) { v.Set("grant_type", "password") }, status: 400, aadsts: "AADSTS70003", errCode: "unsupported_grant_type"},
		{name: "scope without .default", mod: func(v url.Values) { v.Set("scope", "https://graph.microsoft.com/Calls.Initiate.All") }, status: 400, aadsts: "AADSTS1002012", errCode: "invalid_scope"},
		// What msal-go (azidentity) sends for client credentials; Azure AD accepts it.
		{name: "msal openid scopes", mod: func(v url.Values) {
			v.Set("scope", "https://graph.microsoft.com/.default openid offline_access profile")
		}, status: 200},
		{name: "two resources", mod: func(v url.Values) {
			v.Set("scope", "https://graph.microsoft.com/.default https://example.invalid/.default")
		}, status: 400, aadsts: "AADSTS1002012", errCode: "invalid_scope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := c.do(http.MethodPost, g.TokenURL(tt.tenant), form(tt.mod), formHeader)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				r := gjson.ParseBytes(body)
				if r.Get("error").String() != tt.errCode || !strings.HasPrefix(r.Get("error_description").String(), tt.aadsts+": ") ||
					fmt.Sprint("AADSTS", r.Get("error_codes.0").Int()) != tt.aadsts || r.Get("trace_id").String() == "" || r.Get("correlation_id").String() == "" {
					t.Errorf("error body not Azure AD's: %s", body)
				}
				return
			}
			tok := gjson.GetBytes(body, "access_token").String()
			claims := jwt.MapClaims{}
			parsed, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return g.SigningKey(), nil }, jwt.WithValidMethods([]string{"RS256"}))
			if err != nil {
				t.Fatalf("token does not verify with the simulator's key: %v", err)
			}
			if len(strings.Split(tok, ".")) != 3 || parsed.Header["kid"] == nil {
				t.Errorf("token is not a three-part JWT with a kid")
			}
			want := map[string]string{"aud": "https://graph.microsoft.com", "iss": "https://sts.windows.net/" + g.TenantID() + "/", "tid": g.TenantID(), "appid": g.ClientID()}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("claim %s = %v, want %s", k, claims[k], v)
				}
			}
			for _, k := range []string{"iat", "nbf", "exp", "oid"} {
				if claims[k] == nil {
					t.Errorf("claim %s missing", k)
				}
			}
			if gjson.GetBytes(body, "token_type").String() != "Bearer" || gjson.GetBytes(body, "expires_in").Int() < 3000 {
				t.Errorf("token answer: %s", body)
			}
		})
	}

	t.Run("openid configuration points at the token endpoint", func(t *testing.T) {
		resp, body := c.do(http.MethodGet, g.AuthorityURL("")+"/v2.0/.well-known/openid-configuration", nil, nil)
		if resp.StatusCode != 200 || gjson.GetBytes(body, "token_endpoint").String() != g.TokenURL("") {
			t.Fatalf("status %d, token_endpoint %s, want %s", resp.StatusCode, gjson.GetBytes(body, "token_endpoint"), g.TokenURL(""))
		}
		resp, body = c.do(http.MethodPost, gjson.GetBytes(body, "token_endpoint").String(), form(func(url.Values) {}), formHeader)
		if resp.StatusCode != 200 {
			t.Errorf("token from discovered endpoint: %d %s", resp.StatusCode, body)
		}
	})
	t.Run("notification metadata serves the signing key", func(t *testing.T) {
		ks := &keySet{configURL: g.NotificationOpenIDConfigURL(), client: c.http, audience: g.ClientID()}
		tok, err := g.notificationToken()
		if err != nil {
			t.Fatal(err)
		}
		if err := ks.verify(t.Context(), "Bearer "+tok); err != nil {
			t.Errorf("notification token does not verify through the metadata: %v", err)
		}
	})
}

func TestGraphRequiresToken(t *testing.T) {
	t.Parallel()
	g := startGraph(t, GraphOptions{})
	c := newClient(t, g)
	sign := func(claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(testKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	now := time.Now()
	good := jwt.MapClaims{"aud": graphResource, "iss": "https://sts.windows.net/" + g.TenantID() + "/", "exp": now.Add(time.Hour).Unix()}
	with := func(k string, v any) jwt.MapClaims {
		m := jwt.MapClaims{}
		for kk, vv := range good {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name   string
		authz  string
		status int
	}{
		{"missing", "", 401},
		{"not bearer", "Basic Zm9vOmJhcg==", 401},
		{"garbage", "Bearer not.a.jwt", 401},
		{"tampered", "Bearer " + c.token[:len(c.token)-4] + "AAAA", 401},
		{"expired", "Bearer " + sign(with("exp", now.Add(-time.Minute).Unix())), 401},
		{"other audience", "Bearer " + sign(with("aud", "https://management.azure.com")), 401},
		{"other issuer", "Bearer " + sign(with("iss", "https://sts.windows.net/00000000-0000-0000-0000-000000000000/")), 401},
		{"issued token", "Bearer " + c.token, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.authz != "" {
				h.Set("Authorization", tt.authz)
			} else {
				h.Set("Authorization", "")
			}
			cc := *c
			cc.token = ""
			resp, body := cc.do(http.MethodGet, "/v1.0/communications/calls/"+strings.Repeat("0", 32)+"/participants", nil, h)
			if tt.status == 200 {
				// Authenticated: the call is unknown, so Graph's 404.
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("status %d, want 404 past authentication: %s", resp.StatusCode, body)
				}
				return
			}
			if resp.StatusCode != tt.status || gjson.GetBytes(body, "error.code").String() != "InvalidAuthenticationToken" {
				t.Errorf("status %d body %s, want 401 InvalidAuthenticationToken", resp.StatusCode, body)
			}
			if gjson.GetBytes(body, "error.innerError.request-id").String() != resp.Header.Get("request-id") {
				t.Errorf("innerError request-id does not match the header")
			}
		})
	}
}

func TestGraphHeadersAndGzip(t *testing.T) {
	t.Parallel()
	g := startGraph(t, GraphOptions{})
	sk := newSink(t)
	c := newClient(t, g)
	createBody := `{"callbackUri":"` + sk.URL + `","requestedModalities":["audio"]}`
	tests := []struct {
		name      string
		reqGzip   bool
		accept    string
		wantGzip  bool
		wantState int
	}{
		{name: "plain both ways", accept: "", wantState: 201},
		{name: "gzip answer", accept: "gzip", wantGzip: true, wantState: 201},
		{name: "gzip among encodings", accept: "deflate, gzip;q=0.8, br", wantGzip: true, wantState: 201},
		{name: "gzip refused", accept: "gzip;q=0", wantState: 201},
		{name: "gzip request body", reqGzip: true, accept: "gzip", wantGzip: true, wantState: 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(createBody)
			h := http.Header{"Content-Type": {"application/json"}, "Client-Request-Id": {"11111111-2222-4333-8444-555555555555"}}
			if tt.reqGzip {
				var buf bytes.Buffer
				zw := gzip.NewWriter(&buf)
				zw.Write([]byte(createBody))
				zw.Close()
				body = &buf
				h.Set("Content-Encoding", "gzip")
			}
			if tt.accept != "" {
				h.Set("Accept-Encoding", tt.accept)
			}
			resp, raw := c.do(http.MethodPost, "/v1.0/communications/calls", body, h)
			if resp.StatusCode != tt.wantState {
				t.Fatalf("status %d: %s", resp.StatusCode, raw)
			}
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tt.wantGzip {
				t.Fatalf("gzip answer = %v, want %v", got, tt.wantGzip)
			}
			if tt.wantGzip {
				zr, err := gzip.NewReader(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				raw, err = io.ReadAll(zr)
				if err != nil {
					t.Fatal(err)
				}
			}
			if gjson.GetBytes(raw, "state").String() != "establishing" {
				t.Errorf("body: %s", raw)
			}
			want := map[string]string{
				"Content-Type":              "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8",
				"client-request-id":         "11111111-2222-4333-8444-555555555555",
				"Strict-Transport-Security": "max-age=31536000",
			}
			for k, v := range want {
				if resp.Header.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, resp.Header.Get(k), v)
				}
			}
			for _, k := range []string{"request-id", "x-ms-ags-diagnostic", "Date", "Location"} {
				if resp.Header.Get(k) == "" {
					t.Errorf("header %s missing", k)
				}
			}
		})
	}
	t.Run("broken gzip request body", func(t *testing.T) {
		resp, body := c.do(http.MethodPost, "/v1.0/communications/calls", strings.NewReader("not gzip"), http.Header{"Content-Encoding": {"gzip"}})
		if resp.StatusCode != http.StatusBadRequest || gjson.GetBytes(body, "error.code").String() != "BadRequest" {
			t.Errorf("status %d %s, want 400 BadRequest", resp.StatusCode, body)
		}
	})
}

func TestInviteRequests(t *testing.T) {
	t.Parallel()
	g := startGraph(t, GraphOptions{FailInvitees: []string{"DEADBEEF-0000-4000-8000-00000000DEAD"}})
	sk := newSink(t)
	c := newClient(t, g)
	callID := c.createCall(sk.URL)
	sk.next(t)
	sk.next(t)
	user := func(id string) string { return `{"identity":{"user":{"id":"` + id + `"}}}` }
	tests := []struct {
		name         string
		path         string
		participants []string
		status       int
		wantNotes    []string // classify of each notification that follows
	}{
		{"upper-case dashed user", "/v1.0/communications/calls/" + callID, []string{user("6A6DE88A-B61D-49BF-97EB-93D7B3BC1555")}, 200, []string{"completed", "roster"}},
		{"five users", "/v1.0/communications/calls/" + callID, []string{user("a1000000-0000-4000-8000-000000000001"), user("a1000000-0000-4000-8000-000000000002"), user("a1000000-0000-4000-8000-000000000003"), user("a1000000-0000-4000-8000-000000000004"), user("a1000000-0000-4000-8000-000000000005")}, 200, []string{"completed", "roster"}},
		{"six users", "/v1.0/communications/calls/" + callID, slicesRepeat(user("a1000000-0000-4000-8000-000000000001"), 6), 400, nil},
		{"no participants", "/v1.0/communications/calls/" + callID, nil, 400, nil},
		{"failing user id, any form", "/beta/communications/calls/" + callID, []string{user("deadbeef-0000-4000-8000-00000000dead")}, 200, []string{"failed"}},
		{"unknown call", "/v1.0/communications/calls/c0ffee00-0000-4000-8000-000000000001", []string{user("a1000000-0000-4000-8000-000000000001")}, 404, nil},
		{"unknown version", "/v2.0/communications/calls/" + callID, []string{user("a1000000-0000-4000-8000-000000000001")}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := c.json(http.MethodPost, tt.path+"/participants/invite", `{"participants":[`+strings.Join(tt.participants, ",")+`],"clientContext":"cc-`+strings.ReplaceAll(tt.name, " ", "-")+`"}`)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.status != 200 {
				if gjson.GetBytes(body, "error.code").String() == "" {
					t.Errorf("error body: %s", body)
				}
				return
			}
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, g.URL+tt.path+"/operations/") {
				t.Errorf("Location %q, want absolute under %s%s/operations/", loc, g.URL, tt.path)
			}
			for _, want := range tt.wantNotes {
				b := sk.next(t)
				if got := classify(b); got != want {
					t.Fatalf("notification %s, want %s: %s", got, want, b)
				}
				if want == "roster" {
					for _, p := range tt.participants {
						id := gjson.Get(p, "identity.user.id").String()
						if !bytes.Contains(b, []byte(`"`+id+`"`)) {
							t.Errorf("roster lacks %s as invited", id)
						}
					}
				}
				if want == "failed" && !bytes.Contains(b, []byte("28:DEADBEEF-0000-4000-8000-00000000DEAD")) {
					t.Errorf("failure message does not name the participant: %s", b)
				}
			}
		})
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestOperationStatus checks that an operation reads "running" until its
// end is notified, then its final status.
func TestOperationStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		phone  string
		status string
	}{
		{"completed", "+14255550100", "completed"},
		{"failed", FailPhone, "failed"},
	}
	invite := func(t *testing.T, g *Graph, sk *sink, phone string) (*client, string) {
		t.Helper()
		c := newClient(t, g)
		callID := c.createCall(sk.URL)
		resp, body := c.json(http.MethodPost, "/v1.0/communications/calls/"+callID+"/participants/invite", `{"participants":[{"identity":{"phone":{"id":"`+phone+`"}}}],"clientContext":"x"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("invite: %d %s", resp.StatusCode, body)
		}
		return c, resp.Header.Get("Location")
	}
	for _, tt := range tests {
		t.Run(tt.name+" before notification", func(t *testing.T) {
			// Notifications minutes away: the operation is still running.
			g := startGraph(t, GraphOptions{DelayScale: 1000})
			c, loc := invite(t, g, newSink(t), tt.phone)
			_, op := c.json(http.MethodGet, loc, "")
			if st := gjson.GetBytes(op, "status").String(); st != "running" {
				t.Errorf("status %q, want running", st)
			}
		})
		t.Run(tt.name+" after notification", func(t *testing.T) {
			g := startGraph(t, GraphOptions{})
			sk := newSink(t)
			c, loc := invite(t, g, sk, tt.phone)
			sk.next(t)
			sk.next(t)
			if got := classify(sk.next(t)); got != tt.status {
				t.Fatalf("notification %s, want %s", got, tt.status)
			}
			_, op := c.json(http.MethodGet, loc, "")
			if st := gjson.GetBytes(op, "status").String(); st != tt.status {
				t.Errorf("status %q, want %s", st, tt.status)
			}
			if tt.status == "failed" && gjson.GetBytes(op, "resultInfo.code").Int() != 500 {
				t.Errorf("failed operation without resultInfo: %s", op)
			}
		})
	}
}

// TestCloseCancelsPending closes a simulator whose notifications are
// minutes away: Close must not wait for them (goleak checks that nothing
// is left running).
func TestCloseCancelsPending(t *testing.T) {
	t.Parallel()
	g, err := StartGraph(GraphOptions{DelayScale: 1000, SigningKey: testKey, ClientSecret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	sk := newSink(t)
	c := newClient(t, g)
	c.createCall(sk.URL)
	closed := make(chan struct{})
	go func() {
		g.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for pending notifications")
	}
	if n := len(g.Sent()); n != 0 {
		t.Errorf("%d notifications sent after Close", n)
	}
	g.Close() // idempotent
}

// TestLocationFollowsHost checks that absolute URLs are built from the
// Host the client used, so that they lead back through a proxy.
func TestLocationFollowsHost(t *testing.T) {
	t.Parallel()
	g := startGraph(t, GraphOptions{DelayScale: 1000})
	c := newClient(t, g)
	tests := []struct {
		name   string
		host   string
		proto  string
		prefix string
	}{
		{"own address", "", "", g.URL + "/v1.0/"},
		{"proxy with port", "127.0.0.1:8080", "", "http://127.0.0.1:8080/v1.0/"},
		{"forwarded graph host", "graph.microsoft.com", "", "https://graph.microsoft.com/v1.0/"},
		{"forwarded proto", "graphvcr.test:8443", "https", "https://graphvcr.test:8443/v1.0/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, g.URL+"/v1.0/communications/calls", strings.NewReader(`{"callbackUri":"https://bot.contoso.invalid/api/calls"}`))
			if err != nil {
				t.Fatal(err)
			}
			if tt.host != "" {
				req.Host = tt.host
			}
			if tt.proto != "" {
				req.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			req.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, tt.prefix) {
				t.Errorf("Location %q, want prefix %q", loc, tt.prefix)
			}
			if ctx := gjson.GetBytes(body, `@odata\.context`).String(); !strings.HasPrefix(ctx, tt.prefix) {
				t.Errorf("@odata.context %q, want prefix %q", ctx, tt.prefix)
			}
		})
	}
}

// TestAnswerDelay: a delayed answer comes after the delay with the work
// already done (the call exists, its notifications go out); a client that
// gives up first gets nothing, and the call it asked for exists anyway.
func TestAnswerDelay(t *testing.T) {
	const slow = 600 * time.Millisecond
	var delayed sync.Map // paths already delayed once
	g := startGraph(t, GraphOptions{AnswerDelay: func(r *http.Request) time.Duration {
		if _, done := delayed.LoadOrStore(r.Method+" "+r.URL.Path, true); r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1.0/") && !done {
			return slow
		}
		return 0
	}})
	sink := newSink(t)
	c := newClient(t, g)

	// The first create-call is held; a client that waits gets it.
	start := time.Now()
	id := c.createCall(sink.URL)
	if took := time.Since(start); took < slow {
		t.Errorf("answer after %s, want at least %s", took, slow)
	}
	if id == "" {
		t.Fatal("no call id")
	}

	// A client giving up before the answer: the call is created and
	// notified about all the same.
	delayed.Delete(http.MethodPost + " /v1.0/communications/calls")
	impatient := &http.Client{Transport: c.http.Transport, Timeout: slow / 3}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, g.URL+"/v1.0/communications/calls",
		strings.NewReader(`{"callbackUri":"`+sink.URL+`","requestedModalities":["audio"]}`))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := impatient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the impatient client got %d, want its timeout", resp.StatusCode)
	}
	calls := map[string]int{}
	for range 4 { // establishing and established, for each call
		calls[gjson.GetBytes(sink.next(t), "value.0.resourceData.id").String()]++
	}
	if len(calls) != 2 || calls[id] != 2 {
		t.Errorf("notifications per call %v; want two for each of the two calls", calls)
	}
}
