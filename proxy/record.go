package proxy

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elazarl/goproxy"
	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/redact"
)

// Defaults of RecordConfig.
const (
	// DefaultUpstream is where Graph requests go when RecordConfig.Upstream is empty.
	DefaultUpstream = "https://graph.microsoft.com"
	// DefaultTokenUpstream is where token and OpenID discovery requests go
	// when RecordConfig.TokenUpstream is empty.
	DefaultTokenUpstream = "https://login.microsoftonline.com"
	// DefaultMaxBody bounds a request or response body when RecordConfig.MaxBody is zero.
	DefaultMaxBody = 64 << 20
)

// Timeouts of the default transports. Graph answers within seconds; a
// longer silence is recorded as a timeout instead of hanging the bot.
const (
	upstreamHeaderTimeout = 100 * time.Second
	botHeaderTimeout      = 60 * time.Second
	idleConnsPerHost      = 64
)

// RecordConfig configures a Recorder. The zero value of each field is
// documented; Bot, Cassette and, for --tls and forward mode, CA are needed.
type RecordConfig struct {
	// Listen is the graph listener's address; "" means 127.0.0.1 on a free port.
	Listen string
	// NotifyListen is the notification listener's address; "" means 127.0.0.1 on a free port.
	NotifyListen string
	// Upstream is the Graph base URL requests are sent to; "" means DefaultUpstream.
	// In forward mode it also receives what the bot sent to graph.microsoft.com.
	Upstream string
	// TokenUpstream is the token endpoint's base URL; "" means DefaultTokenUpstream.
	// In forward mode it also receives what the bot sent to login.microsoftonline.com.
	TokenUpstream string
	// Bot is the base URL notifications are relayed to: one that arrived at
	// /api/calls goes to Bot + "/api/calls". Required.
	Bot string
	// TLS makes the graph listener serve HTTPS (h2 and HTTP/1.1) with a leaf from CA.
	TLS bool
	// CA signs the --tls listener's certificate and the intercepted hosts'
	// certificates in forward mode. Nil disables both: TLS is then an error
	// and CONNECTs to intercepted hosts are refused.
	CA *CA
	// Cassette receives every exchange. Required. The Recorder never closes it.
	Cassette *cassette.Writer
	// Redactor redacts everything before it is stored; nil means redact.New(nil),
	// the default policy. Use the one whose URL produced the cassette's Meta (see RecordMeta).
	Redactor *redact.Redactor
	// MaxBody bounds each request and response body (and each decoded body);
	// zero or less means DefaultMaxBody. A larger body is refused and the
	// refusal recorded.
	MaxBody int64
	// Logger receives warnings and errors; nil discards. Nothing unredacted is logged.
	Logger *slog.Logger
	// Progress receives one line per recorded exchange; nil prints nothing.
	Progress io.Writer
	// DecryptKey is the app's private key (changes.LoadKey) that decrypts
	// the encryptedContent of rich change notifications, stored decrypted
	// and redacted; nil means they are stored without it (and a warning is
	// logged at the first one). The encrypted content is never stored.
	DecryptKey crypto.Decrypter
	// Transport sends requests upstream; nil means a transport like
	// http.DefaultTransport (system roots, proxy from the environment) with a
	// 100 s response header timeout. Its timeouts are the recorded timeouts.
	Transport http.RoundTripper
}

// RecordSummary tells what a recording session captured.
type RecordSummary struct {
	// Events is the number of events appended to the cassette.
	Events int
	// ByKind counts events per kind.
	ByKind map[cassette.Kind]int
	// Notifications is the number of notifications relayed (or attempted) to the bot.
	Notifications int
	// Errors counts events that recorded a failure instead of an answer.
	Errors int
	// Abandoned counts exchanges the bot gave up on before the answer came.
	Abandoned int
	// Calls is the number of distinct call ids seen in URLs and notifications.
	Calls int
	// Duration is how long the session lasted, until Close (or now, before Close).
	Duration time.Duration
}

// String formats the summary as one line for people.
func (s RecordSummary) String() string {
	abandoned := ""
	if s.Abandoned > 0 {
		abandoned = fmt.Sprintf(", %d abandoned by the bot", s.Abandoned)
	}
	return fmt.Sprintf("recorded %d events (%d graph, %d token, %d notifications), %d calls, %d errors%s, in %s",
		s.Events, s.ByKind[cassette.KindGraph], s.ByKind[cassette.KindToken], s.Notifications,
		s.Calls, s.Errors, abandoned, s.Duration.Round(time.Millisecond))
}

// RecordMeta returns the cassette Meta for a recording to upstream and
// tokenUpstream ("" means the defaults), with both URLs in the redacted form
// red gives them, so that the replayer can find and rewrite them in stored
// bodies. Version is left for the caller. Pass the same redactor to the Recorder.
func RecordMeta(upstream, tokenUpstream string, red *redact.Redactor) cassette.Meta {
	if upstream == "" {
		upstream = DefaultUpstream
	}
	if tokenUpstream == "" {
		tokenUpstream = DefaultTokenUpstream
	}
	return cassette.Meta{
		FormatVersion: cassette.FormatVersion,
		Created:       time.Now(),
		Upstream:      red.URL(strings.TrimRight(upstream, "/")),
		TokenUpstream: red.URL(strings.TrimRight(tokenUpstream, "/")),
	}
}

// Recorder is graphvcr in record mode: a graph listener (reverse proxy and
// HTTPS forward proxy) and a notification listener, writing every exchange,
// redacted, to a cassette before relaying it. Start it with StartRecorder
// and stop it with Close.
type Recorder struct {
	cfg       RecordConfig
	log       *slog.Logger
	red       *redact.Redactor
	start     time.Time // monotonic origin of every Offset
	upstream  *url.URL
	tokenUp   *url.URL
	bot       *url.URL
	transport http.RoundTripper
	botClient *http.Client
	tunnelTr  *http.Transport // goproxy's transport, for plain-http forward requests to other hosts

	// upstreamStr and tokenUpStr are upstream and tokenUp as strings, made
	// once: every relayed response is rewritten from them.
	upstreamStr, tokenUpStr string

	gp        *goproxy.ProxyHttpServer
	admin     *adminHandler
	ready     atomic.Bool
	graphLn   *trackingListener
	notifyLn  *trackingListener
	graphSrv  *http.Server
	notifySrv *http.Server
	// graphFresh and notifyFresh let Close drop connections that never
	// sent a request instead of waiting for them.
	graphFresh, notifyFresh freshConns
	graphURL                string
	notifyURL               string
	serveWG                 sync.WaitGroup

	abortCtx context.Context    // cancelled when Close gives up waiting: in-flight work stops
	abort    context.CancelFunc // cancels abortCtx
	// closingCtx is cancelled as soon as Close begins: upstream requests
	// the bot has abandoned stop then, as nobody waits for their answer.
	closingCtx context.Context
	closeNow   context.CancelFunc // cancels closingCtx

	mu       sync.Mutex // guards closing, inflight.Add, stopped
	closing  bool
	stopped  time.Time
	inflight sync.WaitGroup

	sweepLog sweepLog

	progMu sync.Mutex // serialises Progress lines
	calls  callTracker
	stats  recordStats
	// warnedEncrypted is set once a rich notification was stored without
	// its resource data for want of DecryptKey: the warning is given once.
	warnedEncrypted atomic.Bool
}

// StartRecorder starts both listeners and returns once they accept
// connections (GET /__graphvcr/health then answers 200). ctx bounds the
// start only; stop the Recorder with Close.
func StartRecorder(ctx context.Context, cfg RecordConfig) (*Recorder, error) {
	r, err := newRecorder(cfg)
	if err != nil {
		return nil, err
	}
	if err := r.listen(ctx); err != nil {
		r.abort()
		return nil, err
	}
	return r, nil
}

func newRecorder(cfg RecordConfig) (*Recorder, error) {
	if cfg.Cassette == nil {
		return nil, errors.New("start recorder: no cassette")
	}
	if cfg.Bot == "" {
		return nil, errors.New("start recorder: no bot URL")
	}
	if cfg.TLS && cfg.CA == nil {
		return nil, errors.New("start recorder: tls needs a CA")
	}
	if cfg.Upstream == "" {
		cfg.Upstream = DefaultUpstream
	}
	if cfg.TokenUpstream == "" {
		cfg.TokenUpstream = DefaultTokenUpstream
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.NotifyListen == "" {
		cfg.NotifyListen = "127.0.0.1:0"
	}
	r := &Recorder{cfg: cfg, log: cfg.Logger, red: cfg.Redactor, start: time.Now()}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.red == nil {
		r.red = redact.New(nil)
	}
	var err error
	if r.upstream, err = parseBase("upstream", cfg.Upstream); err != nil {
		return nil, err
	}
	if r.tokenUp, err = parseBase("token upstream", cfg.TokenUpstream); err != nil {
		return nil, err
	}
	r.upstreamStr, r.tokenUpStr = r.upstream.String(), r.tokenUp.String()
	if r.bot, err = parseBase("bot", cfg.Bot); err != nil {
		return nil, err
	}
	r.transport = cfg.Transport
	if r.transport == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.ResponseHeaderTimeout = upstreamHeaderTimeout
		// A bot (or an SDK's retry handler) may have dozens of requests in
		// flight; keeping only the default two idle connections would
		// re-dial upstream for most of them.
		tr.MaxIdleConnsPerHost = idleConnsPerHost
		r.transport = tr
	}
	botTr := http.DefaultTransport.(*http.Transport).Clone()
	botTr.ResponseHeaderTimeout = botHeaderTimeout
	botTr.MaxIdleConnsPerHost = idleConnsPerHost
	r.botClient = &http.Client{
		Transport: botTr,
		// A bot's redirect is its answer to Graph, relayed as is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	r.abortCtx, r.abort = context.WithCancel(context.Background())
	r.closingCtx, r.closeNow = context.WithCancel(r.abortCtx)
	r.calls.init()
	r.stats.byKind = map[cassette.Kind]int{}
	r.admin = &adminHandler{mode: "record", ready: &r.ready}
	r.gp = r.newGoproxy()
	// The cassette stores, with each commit, every pseudonym issued before
	// it: all that the events it holds use (see cassette.StorePseudonymsFrom).
	cfg.Cassette.StorePseudonymsFrom(r.red.TakeNew)
	return r, nil
}

// parseBase parses an absolute http(s) base URL.
func parseBase(what, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("start recorder: %s url: %w", what, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("start recorder: %s url %q: want http(s)://host", what, raw)
	}
	u.RawQuery, u.Fragment = "", ""
	return u, nil
}

// listen binds both listeners, then serves them.
func (r *Recorder) listen(ctx context.Context) error {
	var lc net.ListenConfig
	gl, err := lc.Listen(ctx, "tcp", r.cfg.Listen)
	if err != nil {
		return fmt.Errorf("start recorder: graph listener: %w", err)
	}
	nl, err := lc.Listen(ctx, "tcp", r.cfg.NotifyListen)
	if err != nil {
		gl.Close()
		return fmt.Errorf("start recorder: notify listener: %w", err)
	}
	for _, a := range []struct{ name, addr string }{{"graph", r.cfg.Listen}, {"notify", r.cfg.NotifyListen}} {
		if !IsLoopbackAddr(a.addr) {
			r.log.Warn("listener binds a non-loopback address: anyone who can reach it can use it",
				"listener", a.name, "addr", a.addr)
		}
	}
	r.graphLn = newTrackingListener(gl)
	r.notifyLn = newTrackingListener(nl)
	r.graphSrv = newServer(r.gp, r.log, &r.graphFresh)
	r.notifySrv = newServer(http.HandlerFunc(r.serveNotify), r.log, &r.notifyFresh)

	scheme := "http"
	if r.cfg.TLS {
		host, _, _ := net.SplitHostPort(r.cfg.Listen)
		tc, err := r.cfg.CA.TLSConfig(host)
		if err != nil {
			gl.Close()
			nl.Close()
			return fmt.Errorf("start recorder: %w", err)
		}
		r.graphSrv.TLSConfig = tc
		scheme = "https"
	}
	r.graphURL = scheme + "://" + gl.Addr().String()
	r.notifyURL = "http://" + nl.Addr().String()

	r.serveWG.Add(2)
	go func() {
		defer r.serveWG.Done()
		var err error
		if r.cfg.TLS {
			err = r.graphSrv.ServeTLS(r.graphLn, "", "")
		} else {
			err = r.graphSrv.Serve(r.graphLn)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("graph listener stopped", "err", err)
		}
	}()
	go func() {
		defer r.serveWG.Done()
		if err := r.notifySrv.Serve(r.notifyLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("notify listener stopped", "err", err)
		}
	}()
	r.ready.Store(true)
	r.log.Info("recording", "graph", r.graphURL, "notify", r.notifyURL, "cassette", r.cfg.Cassette.Path())
	return nil
}

// URL returns the graph listener's base URL, e.g. http://127.0.0.1:8080:
// the bot's Graph and token base URL in reverse mode, its HTTPS_PROXY in forward mode.
func (r *Recorder) URL() string { return r.graphURL }

// NotifyURL returns the notification listener's base URL, where Graph's
// webhooks (through a tunnel) must arrive.
func (r *Recorder) NotifyURL() string { return r.notifyURL }

// Close stops accepting connections, lets the exchanges in flight finish and
// be recorded (bounded by ctx; past it they are abandoned and ctx's error is
// returned), and releases every connection. It does not close the cassette.
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return nil
	}
	r.closing = true
	r.mu.Unlock()
	r.ready.Store(false)
	r.closeNow()

	var errs []error
	var wg sync.WaitGroup
	for i, srv := range []*http.Server{r.graphSrv, r.notifySrv} {
		fresh := []*freshConns{&r.graphFresh, &r.notifyFresh}[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = shutdown(ctx, srv, fresh) // in-flight exchanges are accounted for below
		}()
	}
	wg.Wait()

	// Exchanges on hijacked (MITM) connections are not seen by Shutdown.
	done := make(chan struct{})
	go func() { r.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("close recorder: in-flight exchanges abandoned: %w", ctx.Err()))
		r.abort()
		<-done // upstream calls and appends see abortCtx and return promptly
	}
	r.abort()
	r.graphLn.closeAll()
	r.notifyLn.closeAll()
	r.graphSrv.Close()
	r.notifySrv.Close()
	r.serveWG.Wait()
	if ci, ok := r.transport.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
	r.botClient.CloseIdleConnections()
	r.gp.Tr.CloseIdleConnections()

	if len(errs) == 0 {
		// A clean close: every exchange is in the cassette.
		if err := r.sweep(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	r.mu.Lock()
	r.stopped = time.Now()
	r.mu.Unlock()
	return errors.Join(errs...)
}

// Summary returns what has been recorded so far.
func (r *Recorder) Summary() RecordSummary {
	r.mu.Lock()
	end := r.stopped
	r.mu.Unlock()
	if end.IsZero() {
		end = time.Now()
	}
	s := r.stats.summary()
	s.Calls = r.calls.count()
	s.Duration = end.Sub(r.start)
	return s
}

// beginExchange registers an exchange in flight; false once Close has begun.
func (r *Recorder) beginExchange() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return false
	}
	r.inflight.Add(1)
	return true
}

// recordStats counts what was appended.
type recordStats struct {
	mu        sync.Mutex
	events    int
	byKind    map[cassette.Kind]int
	errors    int
	abandoned int
}

func (s *recordStats) add(ev *cassette.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events++
	s.byKind[ev.Kind]++
	if ev.Error != "" {
		s.errors++
	}
	if ev.Abandoned > 0 {
		s.abandoned++
	}
}

func (s *recordStats) summary() RecordSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	by := make(map[cassette.Kind]int, len(s.byKind))
	for k, v := range s.byKind {
		by[k] = v
	}
	return RecordSummary{Events: s.events, ByKind: by, Errors: s.errors, Abandoned: s.abandoned, Notifications: by[cassette.KindNotification]}
}

// commit redacts nothing itself: ev is already redacted. It appends ev with
// the pseudonyms from redactInto, durable on return, then counts it and
// prints its progress line. The Append context survives the client going
// away (the exchange happened and must be kept) but not an abandoned Close.
func (r *Recorder) commit(ev *cassette.Event, learnGen uint64) error {
	if err := r.cfg.Cassette.Append(r.abortCtx, ev); err != nil {
		r.log.Error("record exchange", "kind", ev.Kind.String(), "err", err)
		return fmt.Errorf("record exchange: %w", err)
	}
	r.sweepLog.add(ev.Seq, learnGen)
	r.stats.add(ev)
	r.progress(ev)
	return nil
}

// progress prints `+1.204s  POST /v1.0/communications/calls/…/participants/invite  200  83ms`,
// built from the stored (redacted) event only, identifiers elided.
func (r *Recorder) progress(ev *cassette.Event) {
	if r.cfg.Progress == nil {
		return
	}
	path := ev.Request.URL
	if u, err := url.Parse(path); err == nil {
		path = u.EscapedPath()
	}
	path = elideIDs(path)
	var b strings.Builder
	fmt.Fprintf(&b, "+%.3fs  ", ev.Offset.Seconds())
	if ev.Kind == cassette.KindNotification {
		b.WriteString("notification ")
	}
	lat := ev.Latency.Round(time.Millisecond)
	if ev.Latency < 10*time.Millisecond {
		lat = ev.Latency.Round(10 * time.Microsecond)
	}
	fmt.Fprintf(&b, "%s %s  %d  %s", ev.Request.Method, path, ev.Response.Status, lat)
	if ev.Abandoned > 0 {
		fmt.Fprintf(&b, "  abandoned by the bot after %s", ev.Abandoned.Round(time.Millisecond))
	}
	if ev.Error != "" {
		fmt.Fprintf(&b, "  error: %s", ev.Error)
	}
	b.WriteByte('\n')
	r.progMu.Lock()
	defer r.progMu.Unlock()
	_, _ = io.WriteString(r.cfg.Progress, b.String())
}

// elideIDs replaces each identifier in an (already redacted) path with "…",
// keeping progress lines short and their shape readable.
func elideIDs(path string) string {
	spans := redact.FindIDs(path)
	if len(spans) == 0 {
		return path
	}
	var b strings.Builder
	last := 0
	for _, s := range spans {
		if s.Start < last {
			continue
		}
		b.WriteString(path[last:s.Start])
		b.WriteString("…")
		last = s.End
	}
	b.WriteString(path[last:])
	return b.String()
}
