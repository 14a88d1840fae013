package proxy_test

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/proxy/recordtest"
	"github.com/graphvcr/graphvcr/redact"
)

const (
	// callbackURL is the public callback the bot registers, as behind a
	// tunnel; its host is personal data the cassette must not hold.
	callbackURL  = "https://calls.contoso-bot.example/api/calls"
	callbackHost = "calls.contoso-bot.example"
	clientSecret = "Ab7~Q8.secret_value-for-tests"
	// delayScale 0 makes the simulator notify at once: notifications
	// arrive while their cause is still being committed, the hardest case
	// for triggers (see callTracker), and the tests run fast.
	delayScale = 0
)

// sharedKey is one RSA key for every simulator of the run: generating one
// per test would dominate the test time.
var sharedKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// rigOptions selects how the bot reaches Graph.
type rigOptions struct {
	forward bool // HTTPS_PROXY with MITM; else the bot's base URL is the listener
	tls     bool // reverse mode over HTTPS (h2)
	gzip    bool // the bot gzips request bodies, as the Graph Go SDK does
	seed    int64
	maxBody int64
}

// rig is a recording session: simulator, sample bot, recorder, cassette.
type rig struct {
	t        *testing.T
	graph    *graphtest.Graph
	bot      *graphtest.Bot
	rec      *proxy.Recorder
	ca       *proxy.CA
	path     string
	session  *recordtest.Session
	progress *lockedBuffer
	graphURL string // the base URL the bot uses
	closed   bool
	closers  []func()
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	key, err := sharedKey()
	if err != nil {
		t.Fatal(err)
	}
	ca, err := proxy.LoadCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rg := &rig{t: t, ca: ca, progress: &lockedBuffer{}}
	// The bot and the simulator are made before the recorder they reach;
	// recAddr and notifyAddr get its addresses once it listens.
	var recAddr, notifyAddr graphtest.LateDialer

	notifyTr := &http.Transport{DialContext: notifyAddr.DialContext}
	rg.closers = append(rg.closers, notifyTr.CloseIdleConnections)
	rg.graph = graphtest.NewGraph(graphtest.GraphOptions{
		Seed:         o.seed,
		ClientSecret: clientSecret,
		CallbackBase: "http://notify.graphvcr.test",
		DelayScale:   delayScale,
		SigningKey:   key,
		NotifyClient: &http.Client{Transport: notifyTr, Timeout: 10 * time.Second},
	})

	botTr := &http.Transport{DisableCompression: true, ForceAttemptHTTP2: true}
	rg.closers = append(rg.closers, botTr.CloseIdleConnections)
	var tokenURL string
	switch {
	case o.forward:
		rg.graphURL = "https://graph.microsoft.com"
		tokenURL = "https://login.microsoftonline.com/" + rg.graph.TenantID() + "/oauth2/v2.0/token"
		// Asked at the first request, once the recorder listens.
		botTr.Proxy = func(*http.Request) (*url.URL, error) { return url.Parse(rg.rec.URL()) }
		botTr.TLSClientConfig = &tls.Config{RootCAs: ca.CertPool()}
	case o.tls:
		rg.graphURL = "https://graphvcr.test:8443"
		botTr.DialContext = recAddr.DialContext
		botTr.TLSClientConfig = &tls.Config{RootCAs: ca.CertPool(), ServerName: "localhost"}
	default:
		rg.graphURL = "http://graphvcr.test:8080"
		botTr.DialContext = recAddr.DialContext
	}
	if tokenURL == "" {
		tokenURL = rg.graphURL + "/" + rg.graph.TenantID() + "/oauth2/v2.0/token"
	}
	rg.bot = graphtest.NewBot(graphtest.BotOptions{
		GraphURL:     rg.graphURL,
		TokenURL:     tokenURL,
		ClientID:     rg.graph.ClientID(),
		ClientSecret: clientSecret,
		CallbackURL:  callbackURL,
		Seed:         o.seed + 1,
		HTTPClient:   &http.Client{Transport: botTr, Timeout: 20 * time.Second},
		GzipRequests: o.gzip,
		WaitTimeout:  10 * time.Second,
	})

	rg.path = filepath.Join(t.TempDir(), "session.bolt")
	rg.session = recordtest.Start(t, rg.path, proxy.RecordConfig{
		Upstream:      rg.graph.URL,
		TokenUpstream: rg.graph.URL,
		Bot:           rg.bot.URL,
		TLS:           o.tls,
		CA:            ca,
		MaxBody:       o.maxBody,
		Progress:      rg.progress,
	})
	rg.rec = rg.session.Recorder
	recAddr.Set(rg.rec.URL())
	notifyAddr.Set(rg.rec.NotifyURL())
	t.Cleanup(rg.close)
	return rg
}

// close stops everything in order: the recorder first (it finishes what is
// in flight while the simulator and bot still answer), then the doubles,
// then the cassette.
func (rg *rig) close() {
	if rg.closed {
		return
	}
	rg.closed = true
	rg.session.Close()
	rg.bot.Close()
	rg.graph.Close()
	for _, c := range rg.closers {
		c()
	}
}

// events closes the session and returns every recorded event.
func (rg *rig) events() []*cassette.Event {
	rg.t.Helper()
	rg.close()
	return readEvents(rg.t, rg.path)
}

func readEvents(t *testing.T, path string) []*cassette.Event {
	t.Helper()
	r, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var evs []*cassette.Event
	if err := r.Each(func(e *cassette.Event) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return evs
}

// lockedBuffer is a bytes.Buffer safe for concurrent writes: the progress
// output and the loggers of a session are written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var (
	guidRE        = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b`)
	phoneRE       = regexp.MustCompile(`\+\d{8,15}`)
	displayNameRE = regexp.MustCompile(`"displayName"\s*:\s*"([^"]+)"`)
	jwtRE         = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)
)

// originals collects every value from the live session that must not reach
// the cassette: ids, phone numbers, display names, tokens.
type originals map[string]string // value -> what it is

func (o originals) scan(what string, b []byte) {
	for _, m := range guidRE.FindAll(b, -1) {
		s := strings.ToLower(strings.ReplaceAll(string(m), "-", ""))
		if !redact.IsPseudonym(string(m)) {
			o[s] = what + " guid"
		}
	}
	for _, m := range phoneRE.FindAll(b, -1) {
		if !redact.IsPseudonym(string(m)) {
			o[string(m)] = what + " phone"
		}
	}
	for _, m := range displayNameRE.FindAllSubmatch(b, -1) {
		if !redact.IsPseudonym(string(m[1])) {
			o[string(m[1])] = what + " display name"
		}
	}
	for _, m := range jwtRE.FindAll(b, -1) {
		o[string(m)] = what + " jwt"
	}
}

func (o originals) scanHeader(what string, h http.Header) {
	for k, vs := range h {
		for _, v := range vs {
			o.scan(what+" header "+k, []byte(v))
		}
	}
}

// assertNoOriginals fails when any original appears in the raw bytes of the
// cassette file, or inside anything gzip-compressed in it, in any GUID form.
func assertNoOriginals(t *testing.T, path string, o originals) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hay := [][]byte{raw}
	for i := 0; ; {
		j := bytes.Index(raw[i:], []byte{0x1f, 0x8b, 0x08})
		if j < 0 {
			break
		}
		zr, err := gzip.NewReader(bytes.NewReader(raw[i+j:]))
		if err == nil {
			zr.Multistream(false)
			if b, _ := io.ReadAll(zr); len(b) > 0 {
				hay = append(hay, b)
			}
		}
		i += j + 1
	}
	joined := bytes.Join(hay, []byte{0})
	all := bytes.ToLower(joined)
	undashed := bytes.ReplaceAll(all, []byte("-"), nil)
	for v, what := range o {
		if len(v) < 4 {
			continue
		}
		needle := []byte(strings.ToLower(v))
		if bytes.Contains(all, needle) || (strings.HasSuffix(what, "guid") && bytes.Contains(undashed, needle)) {
			t.Errorf("cassette holds an original %s: %q", what, v)
		}
	}
	if m := jwtRE.Find(joined); m != nil {
		t.Errorf("cassette holds something JWT-shaped: %.20s…", m)
	}
}

// pseudonymSet returns the cassette's set of the pseudonyms its recording
// issued.
func pseudonymSet(t *testing.T, path string) map[string]bool {
	t.Helper()
	r, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	set := map[string]bool{}
	for _, p := range r.Pseudonyms() {
		set[p] = true
	}
	return set
}

// session is a recorder in front of an arbitrary upstream, for the tests
// that need an upstream misbehaving in a particular way.
type session struct {
	t      *testing.T
	rec    *proxy.Recorder
	ca     *proxy.CA
	path   string
	rs     *recordtest.Session
	client *http.Client // through the recorder (reverse, or forward when asked)
}

// sessionOptions says what a session records from and how its client
// reaches the recorder.
type sessionOptions struct {
	upstream  string
	bot       string
	transport http.RoundTripper
	maxBody   int64
	forward   bool
}

// newSession starts a recorder in front of o.upstream (and o.bot, or a
// port nothing answers on) and a client that reaches it; both stop when the
// test ends.
func newSession(t *testing.T, o sessionOptions) *session {
	t.Helper()
	ca, err := proxy.LoadCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := &session{t: t, ca: ca, path: filepath.Join(t.TempDir(), "s.bolt")}
	if o.bot == "" {
		o.bot = "http://127.0.0.1:9"
	}
	s.rs = recordtest.Start(t, s.path, proxy.RecordConfig{
		Upstream: o.upstream, TokenUpstream: o.upstream, Bot: o.bot, CA: ca,
		MaxBody: o.maxBody, Transport: o.transport,
	})
	s.rec = s.rs.Recorder
	tr := &http.Transport{DisableCompression: true}
	if o.forward {
		tr.Proxy = http.ProxyURL(mustURL(t, s.rec.URL()))
		tr.TLSClientConfig = &tls.Config{RootCAs: ca.CertPool()}
		tr.ForceAttemptHTTP2 = true
	}
	s.client = &http.Client{Transport: tr, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	t.Cleanup(s.close)
	return s
}

// close stops the session; calling it again does nothing (the recorder
// session closes once, and the client then has no idle connection left).
func (s *session) close() {
	s.client.CloseIdleConnections()
	s.rs.Close()
}

// events closes the session and returns every recorded event.
func (s *session) events() []*cassette.Event {
	s.t.Helper()
	s.close()
	return readEvents(s.t, s.path)
}

// mustURL parses raw or fails the test.
func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// startServer serves h on 127.0.0.1 until the test or benchmark ends.
func startServer(t testing.TB, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return "http://" + ln.Addr().String()
}

// startRawServer accepts connections on 127.0.0.1 and hands each to fn.
func startRawServer(t *testing.T, fn func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); fn(c) }()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "http://" + ln.Addr().String()
}

// refusedURL returns a loopback URL nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// readMeta returns the meta of the closed cassette at path.
func readMeta(t *testing.T, path string) cassette.Meta {
	t.Helper()
	r, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Meta()
}
