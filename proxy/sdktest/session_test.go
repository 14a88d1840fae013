package sdktest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/recordtest"
)

// The tenant's values a bot is configured with or sends. None of them may
// reach a cassette; replay needs none of the secrets.
const (
	tenantID      = "3f2a9c1e-5b7d-4e8a-9c6f-1d2e3f4a5b6c"
	clientID      = "b7e4d2a1-9c3f-4a6b-8e5d-2f1a0c9b8d7e"
	clientSecret  = "Qx8~Vw.sdk+secret/value=ok" // characters a form body must escape
	targetID      = "6d5c4b3a-2e1f-4a9b-8c7d-6e5f4a3b2c1d"
	inviteeID     = "9a8b7c6d-5e4f-4321-8fed-cba987654321"
	clientContext = "c4d3e2f1-a0b9-4c8d-9e7f-6a5b4c3d2e1f"
	callbackURL   = "https://calls.contoso-bot.example/api/calls" // the bot's tunnel
	callbackHost  = "calls.contoso-bot.example"
	bogusSecret   = "not-the-secret" // what replay runs with
	targetName    = "Adele Vance"    // display names the clients send
	inviteeName   = "Megan Bowen"
)

// notificationsPerSession is what the simulator sends for one create-call
// (establishing, established) and one invite (operation completed, roster).
const notificationsPerSession = 4

// clientTimeout bounds one run of an SDK client, child process included.
const clientTimeout = 90 * time.Second

// sharedKey is one RSA key for every simulator of the run: generating one
// per session would dominate the test time under -race.
var sharedKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// sdk names an official SDK and how its client is started.
type sdk string

const (
	goSDK sdk = "msgraph-sdk-go"
	jsSDK sdk = "microsoft-graph-client"
)

// route says how the client reaches graphvcr.
type route int

const (
	// reverse: the SDK's Graph base URL and token authority are graphvcr's
	// --tls listener, which it trusts through its CA file.
	reverse route = iota
	// forward: the SDK keeps graph.microsoft.com and login.microsoftonline.com
	// and reaches them through HTTPS_PROXY=graphvcr, trusting its CA.
	forward
)

func (r route) String() string {
	if r == forward {
		return "forward"
	}
	return "reverse"
}

// webhook is the bot's notification endpoint: it answers 202 and keeps what
// it was sent.
type webhook struct {
	srv *httptest.Server

	mu       sync.Mutex // guards received
	received []received
	arrived  chan struct{} // one value per notification, never blocks the handler
}

type received struct {
	path string
	body []byte
}

func newWebhook(t *testing.T) *webhook {
	t.Helper()
	w := &webhook{arrived: make(chan struct{}, 64)}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.received = append(w.received, received{path: r.URL.Path, body: body})
		w.mu.Unlock()
		select {
		case w.arrived <- struct{}{}:
		default:
		}
		rw.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) all() []received {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]received(nil), w.received...)
}

// waitFor blocks until n notifications arrived, or fails the test.
func (w *webhook) waitFor(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for len(w.all()) < n {
		select {
		case <-w.arrived:
		case <-deadline.C:
			t.Fatalf("bot received %d notifications within %s, want %d", len(w.all()), within, n)
		}
	}
}

// sessionConfig is what the client is configured with in record and in
// replay: the tenant's ids and the bot's values, with secret as its client
// secret.
func sessionConfig(secret string) clientConfig {
	return clientConfig{
		TenantID:      tenantID,
		ClientID:      clientID,
		ClientSecret:  secret,
		CallbackURI:   callbackURL,
		TargetID:      targetID,
		InviteeID:     inviteeID,
		ClientContext: clientContext,
	}
}

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

// recording is what a record session left: the cassette and what the SDK
// client saw.
type recording struct {
	path   string
	result *clientResult
	tap    *tap
}

// record runs one SDK client through graphvcr record against the simulator
// and returns the closed cassette, written in dir. The simulator is closed
// on return.
func record(t *testing.T, dir string, ca *proxy.CA, s sdk, via route) recording {
	t.Helper()
	key, err := sharedKey()
	if err != nil {
		t.Fatal(err)
	}
	// The simulator must exist first (it is the recorder's upstream), so its
	// notification client dials an address known only once the recorder
	// started.
	var notify graphtest.LateDialer
	notifyTr := &http.Transport{DialContext: notify.DialContext}
	defer notifyTr.CloseIdleConnections()
	g := graphtest.NewGraph(graphtest.GraphOptions{
		Seed:         1,
		TenantID:     tenantID,
		ClientID:     clientID,
		ClientSecret: clientSecret,
		// The simulator posts to the callbackUri's path on graphvcr's
		// notification listener, as a tunnel would.
		CallbackBase: "http://notify.graphvcr.test",
		NotifyClient: &http.Client{Transport: notifyTr, Timeout: 10 * time.Second},
		SigningKey:   key,
	})
	defer g.Close()
	bot := newWebhook(t)

	tp := newTap(t, g.URL)
	upstream := tp.URL

	path := filepath.Join(dir, fmt.Sprintf("%s-%s.bolt", s, via))
	rec := recordtest.Start(t, path, proxy.RecordConfig{
		Upstream:      upstream,
		TokenUpstream: upstream,
		Bot:           bot.srv.URL,
		TLS:           via == reverse,
		CA:            ca,
	})
	notify.Set(rec.NotifyURL())

	res, runErr := runClient(t, s, via, rec.URL(), ca, sessionConfig(clientSecret))
	if runErr == nil {
		bot.waitFor(t, notificationsPerSession, 20*time.Second)
	}

	rec.Close()
	if runErr != nil {
		t.Fatalf("record through %s mode: %v", via, runErr)
	}
	t.Logf("record %s: %s", via, rec.Summary())
	return recording{path: path, result: res, tap: tp}
}

// replayed is what a replay session left.
type replayed struct {
	result   *clientResult
	report   proxy.Report
	received []received
}

// replay runs the SDK client against graphvcr replay of rec, with no
// simulator, no upstream and a bogus client secret.
func replay(t *testing.T, ca *proxy.CA, s sdk, via route, rec recording) replayed {
	t.Helper()
	r, err := cassette.Open(rec.path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bot := newWebhook(t)
	rp, err := proxy.StartReplayer(t.Context(), proxy.ReplayConfig{
		Listen:   "127.0.0.1:0",
		Bot:      bot.srv.URL,
		TLS:      via == reverse,
		CA:       ca,
		Cassette: r,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 10*time.Second)
		defer cancel()
		if err := rp.Close(ctx); err != nil {
			t.Errorf("close replayer: %v", err)
		}
	}()

	res, err := runClient(t, s, via, rp.URL(), ca, sessionConfig(bogusSecret))
	if err != nil {
		t.Fatalf("replay through %s mode: %v\nreport: %+v", via, err, rp.Report())
	}
	select {
	case <-rp.Done():
	case <-time.After(20 * time.Second):
		t.Fatalf("replay not done within 20s: %+v", rp.Report())
	}
	bot.waitFor(t, notificationsPerSession, 20*time.Second)
	return replayed{result: res, report: rp.Report(), received: bot.all()}
}

// runClient runs one SDK client configured for route via to graphvcr at
// base, as a child process with nothing of this process's proxy or CA
// settings.
func runClient(t *testing.T, s sdk, via route, base string, ca *proxy.CA, cfg clientConfig) (*clientResult, error) {
	t.Helper()
	env := cleanEnv()
	switch via {
	case reverse:
		cfg.GraphOrigin = base
		cfg.AllowedHost = "127.0.0.1"
		cfg.Authority = base + "/"
		// Anything sent to a host other than graphvcr's loopback listener
		// goes to a proxy that refuses connections, and fails (for the
		// clients that read HTTPS_PROXY: Go's, azidentity's and
		// @azure/identity's; Node's fetch ignores it).
		env = append(env, "HTTPS_PROXY=http://127.0.0.1:9", "HTTP_PROXY=http://127.0.0.1:9", "NO_PROXY=127.0.0.1,localhost,::1")
	case forward:
		env = append(env, "HTTPS_PROXY="+base)
	}
	env = append(env, cfg.env()...)

	ctx, cancel := context.WithTimeout(t.Context(), clientTimeout)
	defer cancel()
	var cmd *exec.Cmd
	switch s {
	case goSDK:
		cmd = exec.CommandContext(ctx, os.Args[0])
		env = append(env, childEnv+"=go-sdk", "SSL_CERT_FILE="+ca.CertPath())
	case jsSDK:
		cmd = exec.CommandContext(ctx, "node", "call.js")
		cmd.Dir = "js"
		env = append(env, "NODE_EXTRA_CA_CERTS="+ca.CertPath())
	}
	cmd.Env = env
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s client: %w\nstderr: %s", s, err, stderr.String())
	}
	return parseClientResult([]byte(stdout.String()))
}

// cleanEnv is this process's environment without what would change how a
// client reaches Graph or whom it trusts.
func cleanEnv() []string {
	drop := []string{"HTTPS_PROXY=", "HTTP_PROXY=", "ALL_PROXY=", "NO_PROXY=", "SSL_CERT_FILE=", "SSL_CERT_DIR=",
		"NODE_EXTRA_CA_CERTS=", "AZURE_", "SDKTEST_", childEnv + "="}
	var out []string
next:
	for _, kv := range os.Environ() {
		for _, d := range drop {
			if strings.HasPrefix(strings.ToUpper(kv), d) {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}
