package graphtest

import (
	"cmp"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"
)

const (
	testTenant = "9f3c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
	testClient = "2b7e1516-28ae-42d2-a6ab-f7158809cf4f"
	testSecret = "s3cr3t~value"
)

// startGraph starts a simulator closed at the end of the test.
func startGraph(t testing.TB, opts GraphOptions) *Graph {
	t.Helper()
	opts.TenantID = cmp.Or(opts.TenantID, testTenant)
	opts.ClientID = cmp.Or(opts.ClientID, testClient)
	opts.ClientSecret = cmp.Or(opts.ClientSecret, testSecret)
	opts.SigningKey = cmp.Or(opts.SigningKey, testKey)
	return startClosed(t, StartGraph, opts)
}

// startBot starts a bot wired to g, closed at the end of the test.
func startBot(t testing.TB, g *Graph, opts BotOptions) *Bot {
	t.Helper()
	opts.GraphURL = cmp.Or(opts.GraphURL, g.URL)
	opts.TokenURL = cmp.Or(opts.TokenURL, g.TokenURL(""))
	opts.ClientID = cmp.Or(opts.ClientID, g.ClientID())
	opts.ClientSecret = cmp.Or(opts.ClientSecret, testSecret)
	return startClosed(t, StartBot, opts)
}

// startClosed starts a double with start(opts), failing the test if it
// cannot, and closes it when the test ends.
func startClosed[O any, T interface{ Close() }](t testing.TB, start func(O) (T, error), opts O) T {
	t.Helper()
	v, err := start(opts)
	if err != nil {
		t.Fatalf("start %T: %v", v, err)
	}
	t.Cleanup(v.Close)
	return v
}

// client talks to a simulator directly, for what the sample bot never does.
type client struct {
	t     testing.TB
	g     *Graph
	http  *http.Client
	token string
}

// newClient gets a token from g.
func newClient(t testing.TB, g *Graph) *client {
	t.Helper()
	tr := &http.Transport{Proxy: nil, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	c := &client{t: t, g: g, http: &http.Client{Transport: tr}}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {g.ClientID()}, "client_secret": {testSecret}, "scope": {"https://graph.microsoft.com/.default"}}
	resp, body := c.do(http.MethodPost, g.TokenURL(""), strings.NewReader(form.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: status %d: %s", resp.StatusCode, body)
	}
	c.token = gjson.GetBytes(body, "access_token").String()
	return c
}

// do sends a request (URL relative to g.URL unless absolute) and returns
// the answer with its body read.
func (c *client) do(method, target string, body io.Reader, h http.Header) (*http.Response, []byte) {
	c.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = c.g.URL + target
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, target, body)
	if err != nil {
		c.t.Fatalf("build request: %v", err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if c.token != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read answer: %v", err)
	}
	return resp, b
}

// json posts or gets JSON.
func (c *client) json(method, target, body string) (*http.Response, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	return c.do(method, target, rd, http.Header{"Content-Type": {"application/json"}})
}

// createCall creates a call whose notifications go to callback.
func (c *client) createCall(callback string) string {
	c.t.Helper()
	resp, body := c.json(http.MethodPost, "/v1.0/communications/calls", `{"callbackUri":"`+callback+`","requestedModalities":["audio"]}`)
	if resp.StatusCode != http.StatusCreated {
		c.t.Fatalf("create call: status %d: %s", resp.StatusCode, body)
	}
	return gjson.GetBytes(body, "id").String()
}

// sink collects notification posts.
type sink struct {
	URL   string
	posts chan []byte
}

// newSink starts a webhook listener that answers 202.
func newSink(t testing.TB) *sink {
	t.Helper()
	s := &sink{posts: make(chan []byte, 64)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.posts <- b
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/api/calls"
	return s
}

// next returns the next post, failing the test when none comes.
func (s *sink) next(t testing.TB) []byte {
	t.Helper()
	select {
	case b := <-s.posts:
		return b
	case <-t.Context().Done():
		t.Fatal("no notification before the test ended")
	case <-time.After(10 * time.Second):
		t.Fatal("no notification within 10s")
	}
	return nil
}

// until polls cond until it holds or the deadline passes.
func until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond) // polling interval, not synchronisation
	}
}
