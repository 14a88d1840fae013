package graphtest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// GraphOptions configures a simulator. The zero value is usable: ids are
// drawn from seed 0, tenant and client ids are derived from the seed, any
// non-empty client secret is accepted and notifications are sent at once.
type GraphOptions struct {
	// Seed fixes every id the simulator issues and every notification delay
	// for the same sequence of requests.
	Seed int64
	// TenantID is the tenant the token endpoint accepts (in its path) and
	// puts in tokens and notifications. "" derives a GUID from Seed.
	TenantID string
	// ClientID is the application id whose client-credentials requests are
	// accepted; notification tokens are addressed to it. "" derives a GUID
	// from Seed.
	ClientID string
	// ClientSecret is the only secret accepted for ClientID. "" accepts any
	// non-empty secret.
	ClientSecret string
	// CallbackBase, when set, replaces the scheme and host of every call's
	// callbackUri when notifications are sent (the path is kept), e.g. to
	// send them to a recording proxy's notification listener. "" sends them
	// to callbackUri as given.
	CallbackBase string
	// DelayScale multiplies the realistic notification delays (hundreds of
	// milliseconds). 1 is realistic, 0.01 fast for tests, 0 sends at once
	// (still in order).
	DelayScale float64
	// AnswerDelay, when set, is asked for every request how long to hold
	// its answer: the simulator does the work at once (a call is created,
	// its notifications go out on their usual schedule) and answers after
	// the delay, like a Graph slow to reply. A client that gives up before
	// gets nothing. nil (or a zero delay) answers at once.
	AnswerDelay func(r *http.Request) time.Duration
	// TLS serves HTTPS with a self-signed certificate for the loopback
	// names; Client and Certificate trust it.
	TLS bool
	// SigningKey signs the access tokens and the notification tokens. nil
	// generates a 2048-bit RSA key (tests may share one to save time).
	SigningKey *rsa.PrivateKey
	// FailInvitees lists extra user ids (any GUID form) and phone numbers
	// whose invitation fails like FailPhone's. nil means only FailPhone.
	FailInvitees []string
	// NotifyClient sends the notifications. nil uses a client of the
	// simulator's own, closed by Close.
	NotifyClient *http.Client
	// Logger receives one line per request and notification. nil discards.
	Logger *slog.Logger
	// RequestFaults answer chosen requests with a throttling or error
	// status, or a reset connection, instead of serving them. nil serves
	// every request.
	RequestFaults []RequestFault
	// NotificationFaults deliver chosen notifications twice, late or out
	// of order. nil delivers each once, in order, when due.
	NotificationFaults []NotificationFault
}

// FailPhone is the phone number whose invitation always fails: the operation
// ends "failed" with the resultInfo of the documentation's failure example,
// in a notification body that carries the example's trailing comma.
const FailPhone = "+10000000000"

// Graph is a Microsoft Graph calling simulator listening on 127.0.0.1. It
// serves the Azure AD token endpoint and its OpenID discovery documents, the
// cloud-communications calls API (v1.0 and beta, and the deprecated beta
// /app/calls paths), and pushes commsNotifications to each call's callbackUri.
type Graph struct {
	// URL is the base URL, scheme and host with no version, e.g.
	// http://127.0.0.1:41234. Graph requests go to URL + "/v1.0/...".
	URL string

	opts     GraphOptions
	tenantID string
	clientID string
	key      *rsa.PrivateKey
	kid      string
	ids      *idSource
	faultIDs *idSource // request ids of faulted answers (misbehave.go)
	logger   *slog.Logger
	start    time.Time
	cert     *x509.Certificate

	srv      *http.Server
	notifier *http.Client
	ownHTTP  *http.Transport // notifier's transport when the simulator made it

	ctx    context.Context // cancelled by Close: stops pending notifications
	cancel context.CancelFunc
	wg     sync.WaitGroup // serve loop and notification goroutines

	mu       sync.Mutex // guards calls, ops, sent, requests, reqHits, noteHits, closed, pending, changed
	calls    map[string]*call
	ops      map[string]*operation
	sent     []Sent
	requests []Request
	reqHits  []int // by RequestFaults index: requests selected so far
	noteHits []int // by NotificationFaults index: notifications selected so far
	closed   bool
	pending  int           // notification sequences not yet finished
	changed  chan struct{} // closed and replaced when pending drops

	subs subscriptionState // the subscriptions API (subscriptions.go)
}

// NewGraph starts a simulator on 127.0.0.1, like httptest.NewServer, and
// panics only if it cannot listen on the loopback interface or make its
// keys; StartGraph returns that error instead.
func NewGraph(opts GraphOptions) *Graph {
	return mustStart(StartGraph(opts))
}

// StartGraph starts a simulator on 127.0.0.1 and returns once it accepts
// connections.
func StartGraph(opts GraphOptions) (*Graph, error) {
	g := &Graph{
		opts:     opts,
		ids:      newIDSource(opts.Seed, 0x4752415048),
		faultIDs: newIDSource(opts.Seed, 0x4641554c54),
		logger:   opts.Logger,
		calls:    make(map[string]*call),
		ops:      make(map[string]*operation),
		changed:  make(chan struct{}),

		reqHits:  make([]int, len(opts.RequestFaults)),
		noteHits: make([]int, len(opts.NotificationFaults)),
	}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	// Tenant and client ids come first from the source so that they do not
	// depend on which of them the caller fixed.
	tid, cid := g.ids.guid(), g.ids.guid()
	g.tenantID, g.clientID = opts.TenantID, opts.ClientID
	if g.tenantID == "" {
		g.tenantID = tid
	}
	if g.clientID == "" {
		g.clientID = cid
	}
	g.key = opts.SigningKey
	if g.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generate signing key: %w", err)
		}
		g.key = k
	}
	g.kid = keyID(&g.key.PublicKey)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	scheme := "http"
	g.srv = &http.Server{Handler: g.routes(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(g.logger.Handler(), slog.LevelDebug)}
	if opts.TLS {
		cert, leaf, err := selfSignedCert()
		if err != nil {
			ln.Close()
			return nil, err
		}
		g.cert = leaf
		g.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
		ln = tls.NewListener(ln, g.srv.TLSConfig)
		scheme = "https"
	}
	g.URL = scheme + "://" + ln.Addr().String()

	g.notifier = opts.NotifyClient
	if g.notifier == nil {
		g.ownHTTP = &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}
		g.notifier = &http.Client{Transport: g.ownHTTP, Timeout: 15 * time.Second}
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.start = time.Now()
	serve(&g.wg, g.srv, ln, g.logger, "graph simulator serve")
	return g, nil
}

// Close stops the listener, cancels notifications not yet sent (and any
// being posted), lets requests in flight finish, closes connections and
// waits until every goroutine of the simulator has ended. It may be called
// more than once.
func (g *Graph) Close() {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return
	}
	g.closed = true
	g.mu.Unlock()
	g.cancel()
	stop(&g.wg, g.srv, g.ownHTTP)
}

// TokenURL returns the client-credentials token endpoint for tenant
// ("" means the simulator's own tenant).
func (g *Graph) TokenURL(tenant string) string {
	if tenant == "" {
		tenant = g.tenantID
	}
	return g.URL + "/" + tenant + "/oauth2/v2.0/token"
}

// AuthorityURL returns the authority MSAL and azidentity are given
// (URL + "/" + tenant); they fetch AuthorityURL + "/v2.0/.well-known/openid-configuration".
func (g *Graph) AuthorityURL(tenant string) string {
	if tenant == "" {
		tenant = g.tenantID
	}
	return g.URL + "/" + tenant
}

// NotificationOpenIDConfigURL returns the OpenID configuration describing
// the keys that sign notification tokens, the simulator's stand-in for
// https://api.aps.skype.com/v1/.well-known/OpenIdConfiguration.
func (g *Graph) NotificationOpenIDConfigURL() string {
	return g.URL + "/v1/.well-known/OpenIdConfiguration"
}

// TenantID returns the tenant id in use (GraphOptions.TenantID or derived).
func (g *Graph) TenantID() string { return g.tenantID }

// ClientID returns the application id in use (GraphOptions.ClientID or derived).
func (g *Graph) ClientID() string { return g.clientID }

// SigningKey returns the public key that signs tokens and notifications.
func (g *Graph) SigningKey() *rsa.PublicKey { return &g.key.PublicKey }

// Certificate returns the TLS certificate, or nil without GraphOptions.TLS.
func (g *Graph) Certificate() *x509.Certificate { return g.cert }

// Client returns a new HTTP client that trusts the simulator's certificate
// (a plain client without TLS). The caller closes its idle connections.
func (g *Graph) Client() *http.Client {
	tr := &http.Transport{Proxy: nil, ForceAttemptHTTP2: true}
	if g.cert != nil {
		pool := x509.NewCertPool()
		pool.AddCert(g.cert)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr}
}

// Sent returns a copy of the notifications sent so far, in the order their
// sending started.
func (g *Graph) Sent() []Sent {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Sent, len(g.sent))
	copy(out, g.sent)
	return out
}

// Flush waits until every notification scheduled so far has been sent and
// answered (or has failed), or ctx ends.
func (g *Graph) Flush(ctx context.Context) error {
	for {
		g.mu.Lock()
		n, ch := g.pending, g.changed
		g.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("flush notifications: %w", ctx.Err())
		}
	}
}

// since is the offset from the simulator's start.
func (g *Graph) since() time.Duration { return time.Since(g.start) }

// scaled applies DelayScale to a drawn delay.
func (g *Graph) scaled(d time.Duration) time.Duration {
	if g.opts.DelayScale <= 0 {
		return 0
	}
	return time.Duration(float64(d) * g.opts.DelayScale)
}

// readBody reads a request body, decompressing Content-Encoding gzip the way
// Graph accepts the Go SDK's compressed bodies.
func readBody(r *http.Request) ([]byte, error) {
	var rd io.Reader = io.LimitReader(r.Body, 8<<20)
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
	case "gzip":
		zr, err := newGzipReader(rd)
		if err != nil {
			return nil, fmt.Errorf("read gzip request body: %w", err)
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, fmt.Errorf("unsupported content encoding %q", r.Header.Get("Content-Encoding"))
	}
	b, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	return b, nil
}
