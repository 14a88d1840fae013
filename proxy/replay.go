package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/fault"
	"github.com/graphvcr/graphvcr/proxy/internal/match"
)

// ReplayConfig configures a Replayer.
type ReplayConfig struct {
	// Listen is the graph listener's address; "" means 127.0.0.1:0 (a free port).
	Listen string
	// Bot is the bot's base URL: a notification recorded at /api/calls is
	// posted to Bot + "/api/calls". It may be "" only when the cassette holds
	// no notification.
	Bot string
	// Speed scales recorded time: 1 replays latencies and notification gaps
	// as recorded, 2 twice as fast; 0 (the zero value) drops every delay but
	// keeps the order of notifications. Negative values are an error.
	Speed float64
	// Strict makes any divergence fail the replay (Report.Failed).
	Strict bool
	// TLS serves the graph listener over HTTPS (h2 and HTTP/1.1) with a leaf
	// certificate from CA, which is then required.
	TLS bool
	// CA signs the listener's certificate when TLS is set.
	CA *CA
	// AppID is the bot's application id, for signing notifications; "" means
	// the client_id of the bot's token request.
	AppID string
	// Cassette is the recording to replay. The Replayer only reads it and
	// does not close it; it must stay open until Close returns.
	Cassette *cassette.Reader
	// Logger receives divergences and delivery failures; nil discards.
	Logger *slog.Logger
	// Transport carries notifications to the bot; nil means a transport of
	// the Replayer's own (no proxy from the environment), closed by Close.
	Transport http.RoundTripper
	// Signer signs each notification's bearer token (unless Sign is set)
	// and publishes its key: the graph listener then serves the OpenID
	// configuration at OpenIDConfigURL, its JWKS, and the metadata a bot
	// asks api.aps.skype.com or login.botframework.com for. Nil publishes no
	// keys (those documents answer 404) and, with Sign nil, sends
	// notifications without Authorization. The Replayer does not close it.
	Signer *Signer
	// Sign returns the Authorization header value of a notification, given
	// its recorded event (whose Bearer holds the recorded header and claims,
	// pseudonyms already replaced by the live values bound so far) and what
	// the bot's token request said; "" sends no Authorization. Nil means
	// Signer.Sign when Signer is set, else no Authorization. The recorded
	// header is never sent: it is "Bearer REDACTED".
	Sign func(ev *cassette.Event, tok TokenRequest) (string, error)
	// Actual, when set, receives what the bot actually did (replay
	// --record-actual): every request it sent to the graph listener, matched
	// or not, with graphvcr's answer, and every notification delivered, with
	// the bot's answer, timed from Start and redacted so that it compares
	// with Cassette id for id (see replay_actual.go). Create it with the
	// Meta of ActualMeta. The Replayer appends to it from one goroutine of
	// its own, done when Close returns, and does not close it. Nil records
	// nothing.
	Actual *cassette.Writer
	// Faults are the faults to inject (fault.Parse of each --fault), on
	// the events the plan built from them and Seed chooses; nil replays as
	// recorded. The report lists each fault applied (Report.Faults).
	Faults []fault.Spec
	// Seed makes the fault plan's draws: the same seed, specs and cassette
	// give the same faults. Callers that have none draw one
	// (fault.RandomSeed) and print it (fault.SeedLine).
	Seed int64
}

// TokenRequest is what the bot's last request to the offline token endpoint said.
type TokenRequest struct {
	// Tenant is the tenant segment of the token endpoint's path.
	Tenant string
	// ClientID is the client_id form field.
	ClientID string
	// AppID is ReplayConfig.AppID when set, else ClientID.
	AppID string
}

// Replayer is graphvcr in replay mode: a graph listener answering the bot
// from a cassette and a scheduler posting the recorded notifications to the
// bot. Build it with NewReplayer and Start it, or do both with
// StartReplayer; stop it with Close.
type Replayer struct {
	cfg   ReplayConfig
	log   *slog.Logger
	speed float64
	start time.Time

	srv       *http.Server
	url       string
	admin     *adminHandler
	transport *http.Transport // ours to close; nil when cfg.Transport was given
	client    *http.Client

	m       *match.Matcher
	urls    urlRewriter // recorded upstream bases -> the listener's base URL
	origins []string    // scheme://host of the recorded exchanges (redacted)
	tokens  tokenEndpoint
	openid  openIDEndpoint
	sched   *scheduler
	changes changeState // live subscriptions (replay_changes.go)
	cache   renderCache
	tun     tunnels    // CONNECT tunnels: the listener as the bot's HTTPS_PROXY
	actual  *actualLog // nil unless cfg.Actual is set
	fresh   freshConns // lets Close drop connections that never sent a request
	faults  faultState // the fault plan and the faults applied (replay_faults.go)

	ctx    context.Context // cancelled by Close: stops delays and the scheduler
	cancel context.CancelFunc
	wg     sync.WaitGroup

	done        chan struct{}
	outstanding atomic.Int64 // exchanges not yet matched + notifications not yet delivered

	mu          sync.Mutex // guards the report state below
	matched     map[uint64]Match
	servedAgain map[uint64]*ServedAgain
	unmatched   map[string]*Unmatched
	abandoned   []Abandonment // holds of abandoned exchanges, as they ended

	started   atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// StartReplayer builds a Replayer (NewReplayer) and starts it (Start): the
// one call most callers need. ctx bounds the start only; the Replayer runs
// until Close.
func StartReplayer(ctx context.Context, cfg ReplayConfig) (*Replayer, error) {
	r, err := NewReplayer(cfg)
	if err != nil {
		return nil, err
	}
	if err := r.Start(ctx); err != nil {
		_ = r.Close(context.WithoutCancel(ctx)) // nothing served yet: returns at once
		return nil, err
	}
	return r, nil
}

// NewReplayer checks cfg, loads the cassette's index (never its response
// bodies) and builds the Replayer with its scheduler, without listening:
// Start binds the listener and starts delivering, as httptest's
// NewUnstartedServer and Start do. Close releases an unstarted Replayer.
func NewReplayer(cfg ReplayConfig) (*Replayer, error) {
	if cfg.Cassette == nil {
		return nil, errors.New("start replayer: no cassette")
	}
	if cfg.Speed < 0 || math.IsNaN(cfg.Speed) || math.IsInf(cfg.Speed, 0) {
		return nil, fmt.Errorf("start replayer: invalid speed %v", cfg.Speed)
	}
	if cfg.TLS && cfg.CA == nil {
		return nil, errors.New("start replayer: tls needs a CA")
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	r := &Replayer{
		cfg:         cfg,
		log:         cfg.Logger,
		speed:       cfg.Speed,
		done:        make(chan struct{}),
		matched:     map[uint64]Match{},
		servedAgain: map[uint64]*ServedAgain{},
		unmatched:   map[string]*Unmatched{},
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	// The one place the cassette is read whole: a plan built from its heads
	// (faults) belongs here too.
	notifs, err := r.load()
	if err != nil {
		return nil, fmt.Errorf("start replayer: %w", err)
	}
	if len(notifs) > 0 && cfg.Bot == "" {
		return nil, errors.New("start replayer: the cassette holds notifications but no bot URL was given")
	}
	if err := r.tokens.init(); err != nil {
		return nil, fmt.Errorf("start replayer: %w", err)
	}
	if err := r.initOpenID(); err != nil {
		return nil, fmt.Errorf("start replayer: %w", err)
	}
	r.initChangeKeys()
	r.admin = &adminHandler{mode: "replay", routes: map[string]http.Handler{
		adminPrefix + "report": http.HandlerFunc(r.serveReport),
		openIDConfigDoc:        r.openIDHandler("config"),
		openIDKeysDoc:          r.openIDHandler("keys"),
	}}
	if cfg.Transport != nil {
		r.client = &http.Client{Transport: cfg.Transport}
	} else {
		r.transport = &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
		}
		r.client = &http.Client{Transport: r.transport}
	}
	r.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.sched = newScheduler(notifs, r.speed, schedulerHooks{
		deliver: r.deliver,
		prepare: r.prepareNotification,
		onDone:  func(*notification) { r.finishOne() },
		fault:   r.notificationFault,
		faulted: r.notificationFaulted,
	})
	r.outstanding.Add(int64(len(r.m.All()) + len(notifs)))
	if r.outstanding.Load() == 0 {
		close(r.done)
	}
	r.actual = newActualLog(r)
	r.srv = newServer(http.HandlerFunc(r.serveHTTP), r.log, &r.fresh)
	r.tun.srv = newServer(http.HandlerFunc(r.serveHTTP), r.log, &r.tun.fresh)
	return r, nil
}

// Start binds the graph listener (ReplayConfig.Listen), starts serving it
// and the notification scheduler, and returns once the listener accepts
// connections. ctx bounds the start only. Start may be called once.
func (r *Replayer) Start(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("start replayer: already started")
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", r.cfg.Listen)
	if err != nil {
		return fmt.Errorf("start replayer: listen: %w", err)
	}
	scheme := "http"
	if r.cfg.TLS {
		// The publishers' names too, for a bot that resolves them to graphvcr.
		tc, err := r.cfg.CA.TLSConfig(apsHost, botFwHost)
		if err != nil {
			ln.Close()
			return fmt.Errorf("start replayer: %w", err)
		}
		r.srv.TLSConfig = tc
		scheme = "https"
	}
	r.url = scheme + "://" + ln.Addr().String()
	r.urls = newURLRewriter(r.upstreamBases()...)

	r.start = time.Now()
	r.startTunnels()
	if r.actual != nil {
		r.actual.start, r.actual.listener = r.start, r.url
		go r.actual.run(r.m) // stopped by Close, after the listener and the scheduler
	}
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		var err error
		if r.cfg.TLS {
			err = r.srv.ServeTLS(ln, "", "")
		} else {
			err = r.srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("graph listener stopped", "err", err)
		}
	}()
	go func() {
		defer r.wg.Done()
		r.sched.run(r.ctx)
	}()
	r.sched.arm(0, r.start)
	r.log.Info("replaying", "cassette", r.cfg.Cassette.Path(), "url", r.url, "events", r.cfg.Cassette.Len(), "notifications", len(r.sched.all))
	return nil
}

// upstreamBases returns from, to pairs for the URL rewriter: every recorded
// upstream base (as stored, redacted) to the replay listener.
func (r *Replayer) upstreamBases() []string {
	meta := r.cfg.Cassette.Meta()
	var pairs []string
	seen := map[string]bool{}
	for _, up := range []string{meta.Upstream, meta.TokenUpstream} {
		for _, o := range originsOf(up) {
			if !seen[o] {
				seen[o] = true
				pairs = append(pairs, o, r.url)
			}
		}
	}
	for _, o := range r.origins {
		if !seen[o] {
			seen[o] = true
			pairs = append(pairs, o, r.url)
		}
	}
	return pairs
}

// originsOf returns the absolute origins an upstream named in the cassette
// may appear as: the value itself when it is a URL, else https and http.
func originsOf(upstream string) []string {
	upstream = strings.TrimRight(strings.TrimSpace(upstream), "/")
	if upstream == "" {
		return nil
	}
	if strings.Contains(upstream, "://") {
		return []string{upstream}
	}
	return []string{"https://" + upstream, "http://" + upstream}
}

// rewriteURLs points the recorded upstream origins in b at the listener.
func (r *Replayer) rewriteURLs(b []byte) []byte {
	out, _ := r.urls.Bytes(b)
	return out
}

// URL returns the graph listener's base URL (http://127.0.0.1:PORT, or https
// with TLS): what the bot uses as its Graph base and token authority.
func (r *Replayer) URL() string { return r.url }

// Done returns a channel closed once every recorded Graph and token exchange
// was matched at least once and every notification was delivered (or given
// up on after retries).
func (r *Replayer) Done() <-chan struct{} { return r.done }

// finishOne counts one recorded exchange matched or notification delivered.
func (r *Replayer) finishOne() {
	if r.outstanding.Add(-1) == 0 {
		close(r.done)
	}
}

// Close stops the listener (waiting for requests in flight, bounded by ctx)
// and the scheduler, and cancels replayed delays. It does not close the
// cassette. Calling it again returns the first result.
func (r *Replayer) Close(ctx context.Context) error {
	r.closeOnce.Do(func() {
		r.cancel()
		if err := shutdown(ctx, r.srv, &r.fresh); err != nil {
			r.closeErr = fmt.Errorf("close replayer: %w", err)
		}
		_ = shutdown(ctx, r.tun.srv, &r.tun.fresh) // its requests are the listener's too
		r.wg.Wait()
		r.actual.close() // nothing more can arrive: write what is left
		if r.transport != nil {
			r.transport.CloseIdleConnections()
		}
	})
	return r.closeErr
}

// serveHTTP answers one request of the bot: admin endpoints (with
// graphvcr's OpenID documents), Microsoft's notification metadata, the
// offline token endpoint, else the recorded exchange matching it.
func (r *Replayer) serveHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.Method == http.MethodConnect:
		r.serveConnect(w, req)
	case isAdminPath(req.URL.Path):
		r.admin.ServeHTTP(w, req)
	case r.serveMetadata(w, req):
	case r.serveChangeKeys(w, req):
	default:
		if r.actual != nil {
			x := r.actual.begin(w, req)
			w, req = x, x.req
			defer func() {
				p := recover()
				x.end(p != nil)
				if p != nil {
					panic(p)
				}
			}()
		}
		if !r.tokens.serve(r, w, req) {
			r.serveGraph(w, req)
		}
	}
}

// readBody reads and decodes a live request body.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
		return nil, nil // most requests (GETs): no buffer to allocate
	}
	b, err := readBounded(req.Body, maxReplayBody)
	if err != nil {
		return nil, fmt.Errorf("read request body: %w", err)
	}
	if ce := req.Header.Get("Content-Encoding"); ce != "" {
		if b, err = decodeBody(ce, b, maxReplayBody); err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
	}
	return b, nil
}

// maxReplayBody bounds a live request body.
const maxReplayBody = 64 << 20

// wait sleeps for a recorded duration scaled by the speed, returning early
// (false) when the request or the Replayer is done.
func (r *Replayer) wait(ctx context.Context, recorded time.Duration) bool {
	return r.pause(ctx, r.sched.scale(recorded))
}

// since returns the time from replay start.
func (r *Replayer) since(t time.Time) time.Duration { return t.Sub(r.start) }

// discard drains a response body so its connection can be reused.
func discard(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(rc, 1<<20))
	rc.Close()
}

// pathOf returns the path and query of a URL as sent by a client.
func pathOf(req *http.Request) string {
	return req.URL.RequestURI()
}

// trimBase strips the upstream base path from a recorded URL path, so that
// "https://host/graph/v1.0/x" recorded through a base "https://host/graph"
// matches a live "/v1.0/x".
func trimBase(path, basePath string) string {
	if basePath == "" || basePath == "/" {
		return path
	}
	if rest, ok := strings.CutPrefix(path, basePath); ok && (rest == "" || rest[0] == '/') {
		return rest
	}
	return path
}
