package graphtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
)

// BotOptions configures a sample bot.
type BotOptions struct {
	// GraphURL is Graph's base URL, scheme and host (e.g.
	// https://graph.microsoft.com or a simulator's or proxy's URL); the bot
	// appends /v1.0 or /beta as the SDKs do.
	GraphURL string
	// TokenURL is the client-credentials endpoint,
	// e.g. https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token.
	TokenURL string
	// TenantID goes into created calls. "" takes it from TokenURL's path.
	TenantID string
	// ClientID and ClientSecret are the application's credentials.
	ClientID, ClientSecret string
	// CallbackURL is what the bot puts in callbackUri (in record mode the
	// recorder's notification listener). "" uses the bot's own listener,
	// URL + "/api/calls".
	CallbackURL string
	// Seed derives the clientContext, invitee user ids, phone number and
	// replaced-call id of each scenario; another seed gives fresh ids.
	Seed int64
	// HTTPClient sends the bot's requests. nil uses a client of the bot's
	// own (closed by Close). Its transport should not decompress by itself:
	// the bot asks for gzip and decodes it.
	HTTPClient *http.Client
	// GzipRequests compresses request bodies (Content-Encoding: gzip), as
	// the Graph Go SDK does.
	GzipRequests bool
	// OpenIDConfigURL, when set, makes the bot validate each notification's
	// bearer token as the Graph calling docs describe: signed (RS256) by a
	// key of the JWKS that configuration's jwks_uri names, issuer
	// https://graph.microsoft.com or https://api.botframework.com, audience
	// ClientID, not expired; it answers 401 to notifications that fail. ""
	// accepts every notification.
	OpenIDConfigURL string
	// WaitTimeout bounds each wait for a notification when the context
	// has no earlier deadline. 0 means 30 seconds.
	WaitTimeout time.Duration
	// Logger receives one line per request and notification. nil discards.
	Logger *slog.Logger
	// Retry bounds the retries of a request that Graph throttled (429),
	// could not serve (503, 504) or whose connection was reset. The zero
	// value retries up to 4 tries in all, backing off from 250ms to 8s.
	Retry Retry
	// Naive makes a bot that copes with none of Graph's faults: it acts on
	// every notification entry as it arrives (a duplicate twice, a stale
	// state over a newer one), relies on arrival order, and gives up on the
	// first 429, 503, 504 or reset. It exists to show that a test with
	// faults catches these bugs. false is the sample bot that copes.
	Naive bool
}

// Bot is a sample calling bot: it gets a token, creates calls, invites
// participants and listens for notifications on 127.0.0.1, at /api/calls.
type Bot struct {
	// URL is the webhook listener's base URL, e.g. http://127.0.0.1:41235.
	URL string

	opts    BotOptions
	client  *http.Client
	ownHTTP *http.Transport
	logger  *slog.Logger
	srv     *http.Server
	wg      sync.WaitGroup
	keys    *keySet

	tokens tokenCache

	mu      sync.Mutex // guards inbox, changed, seen, views
	inbox   []inbound
	changed chan struct{}        // closed and replaced when inbox grows
	seen    map[[32]byte]bool    // entryKey of every entry handled (not with Naive)
	views   map[string]*callView // by canonical call id
	// actionsFrom is the first inbox entry of the latest Run.
	actionsFrom int
}

// inbound is one notification post as the bot received it.
type inbound struct {
	at     time.Time
	path   string
	header http.Header
	body   []byte
	status int
	items  []gjson.Result // the value array's entries
	// handling and actions say, for each item, what the bot did with it
	// (handledApplied, handledDuplicate, handledStale) and the change made.
	handling []string
	actions  []Action
}

// NewBot starts the bot's webhook listener on 127.0.0.1. It panics only if
// it cannot listen on the loopback interface; StartBot returns that error.
func NewBot(opts BotOptions) *Bot {
	return mustStart(StartBot(opts))
}

// StartBot starts the bot's webhook listener on 127.0.0.1.
func StartBot(opts BotOptions) (*Bot, error) {
	b := &Bot{opts: opts, logger: opts.Logger, client: opts.HTTPClient, changed: make(chan struct{}),
		seen: make(map[[32]byte]bool), views: make(map[string]*callView)}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	if b.client == nil {
		// DisableCompression: the bot sets Accept-Encoding itself and
		// decodes, as SDKs with their own compression handler do.
		b.ownHTTP = &http.Transport{Proxy: http.ProxyFromEnvironment, DisableCompression: true, ForceAttemptHTTP2: true, IdleConnTimeout: 30 * time.Second}
		b.client = &http.Client{Transport: b.ownHTTP, Timeout: 30 * time.Second}
	}
	if opts.OpenIDConfigURL != "" {
		b.keys = &keySet{configURL: opts.OpenIDConfigURL, client: b.client, audience: opts.ClientID}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	b.URL = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/calls", b.handleNotification)
	b.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(b.logger.Handler(), slog.LevelDebug)}
	serve(&b.wg, b.srv, ln, b.logger, "bot webhook serve")
	return b, nil
}

// Close stops the webhook listener and waits for its goroutines; it closes
// the idle connections of the bot's own HTTP client.
func (b *Bot) Close() {
	stop(&b.wg, b.srv, b.ownHTTP)
}

// callbackURL is what goes into callbackUri.
func (b *Bot) callbackURL() string {
	if b.opts.CallbackURL != "" {
		return b.opts.CallbackURL
	}
	return b.URL + "/api/calls"
}

// handleNotification accepts a notification post: 202 at once, as Graph
// expects a quick answer; the scenario correlates it later.
func (b *Bot) handleNotification(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	status := http.StatusAccepted
	if b.keys != nil {
		if err := b.keys.verify(r.Context(), r.Header.Get("Authorization")); err != nil {
			b.logger.Warn("notification rejected", "path", r.URL.Path, "err", err)
			status = http.StatusUnauthorized
		}
	}
	in := inbound{at: time.Now(), path: r.URL.Path, header: r.Header.Clone(), body: body, status: status}
	if status == http.StatusAccepted {
		// gjson reads the documented failure body despite its trailing comma.
		in.items = gjson.GetBytes(body, "value").Array()
	}
	b.mu.Lock()
	for _, it := range in.items {
		h, a := b.handle(it)
		in.handling = append(in.handling, h)
		in.actions = append(in.actions, a)
		if h != handledApplied {
			b.logger.Debug("notification entry ignored", "path", r.URL.Path, "why", h)
		}
	}
	b.inbox = append(b.inbox, in)
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
	b.logger.Debug("notification received", "path", r.URL.Path, "status", status)
	w.WriteHeader(status)
}

// accessToken returns a cached token or gets one with the client
// credentials grant.
func (b *Bot) accessToken(ctx context.Context, rs *runState) (string, error) {
	if tok := b.tokens.get(); tok != "" {
		return tok, nil
	}
	req, err := clientCredentialsRequest(ctx, b.opts.TokenURL, b.opts.ClientID, b.opts.ClientSecret)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("client-request-id", rs.ids.guid())
	status, _, body, err := rs.send(req, nil)
	if err != nil {
		return "", fmt.Errorf("get token: %w", err)
	}
	if status != http.StatusOK {
		return "", fmt.Errorf("get token: status %d: %s", status, gjson.GetBytes(body, "error_description").String())
	}
	tok := gjson.GetBytes(body, "access_token").String()
	if tok == "" {
		return "", errors.New("get token: no access_token in answer")
	}
	b.tokens.set(tok, gjson.GetBytes(body, "expires_in").Int())
	return tok, nil
}

// tokenCache holds the access token a client got, for reuse until a
// minute before it expires. The zero value is empty.
type tokenCache struct {
	mu  sync.Mutex // guards tok and exp
	tok string
	exp time.Time
}

// get returns the cached token, or "" when there is none or it expires
// within a minute.
func (c *tokenCache) get() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tok != "" && time.Until(c.exp) > time.Minute {
		return c.tok
	}
	return ""
}

// set caches tok for expiresIn seconds (a token answer's expires_in) from
// now; an empty tok empties the cache.
func (c *tokenCache) set(tok string, expiresIn int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tok, c.exp = tok, time.Now().Add(time.Duration(expiresIn)*time.Second)
}

// clientCredentialsRequest builds a client credentials token request for
// Graph's scope, as the sample bot and the subscriber send it.
func clientCredentialsRequest(ctx context.Context, tokenURL, clientID, clientSecret string) (*http.Request, error) {
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {clientSecret},
		"scope":         {"https://graph.microsoft.com/.default"},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("build token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

// graph sends a Graph request with the bot's token; body (if not nil) is
// marshalled to JSON and gzipped with GzipRequests.
func (b *Bot) graph(ctx context.Context, rs *runState, method, target string, body any) (int, http.Header, []byte, error) {
	tok, err := b.accessToken(ctx, rs)
	if err != nil {
		return 0, nil, nil, err
	}
	var rd io.Reader
	var plain []byte
	if body != nil {
		plain, err = json.Marshal(body)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("marshal %s body: %w", method, err)
		}
		payload := plain
		if b.opts.GzipRequests {
			payload = gzipBytes(plain)
		}
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("build %s request: %w", method, err)
	}
	h := req.Header
	h.Set("Authorization", "Bearer "+tok)
	h.Set("Accept", "application/json")
	h.Set("Accept-Encoding", "gzip")
	h.Set("client-request-id", rs.ids.guid())
	h.Set("SdkVersion", "graphtest-bot/1.0")
	h.Set("User-Agent", "graphtest-bot/1.0")
	if body != nil {
		h.Set("Content-Type", "application/json")
		if b.opts.GzipRequests {
			h.Set("Content-Encoding", "gzip")
		}
	}
	return rs.send(req, plain)
}

// send performs req, retrying as BotOptions.Retry allows (see retry.go),
// and returns the last answer.
func (rs *runState) send(req *http.Request, reqBody []byte) (int, http.Header, []byte, error) {
	for try := 1; ; try++ {
		status, h, body, err := rs.sendOnce(req, reqBody, try)
		wait, again := rs.bot.retryAfter(try, status, h, err)
		if !again || req.Context().Err() != nil {
			return status, h, body, err
		}
		if err := sleepCtx(req.Context(), wait); err != nil {
			if status != 0 {
				return status, h, body, nil
			}
			return 0, nil, nil, fmt.Errorf("%s %s: retry after %v: %w", req.Method, req.URL.Path, wait, err)
		}
		rs.bot.logger.Debug("graph request retried", "method", req.Method, "path", req.URL.Path, "try", try+1, "after", wait)
		next := req.Clone(req.Context())
		if req.GetBody != nil {
			rd, err := req.GetBody()
			if err != nil {
				return 0, nil, nil, fmt.Errorf("%s %s: rewind body for retry: %w", req.Method, req.URL.Path, err)
			}
			next.Body = rd
		}
		// As the Graph SDKs' retry handler does: same client-request-id,
		// and the attempt number.
		next.Header.Set("Retry-Attempt", strconv.Itoa(try))
		req = next
	}
}

// sendOnce performs req once, decompresses the answer and records the
// exchange.
func (rs *runState) sendOnce(req *http.Request, reqBody []byte, try int) (int, http.Header, []byte, error) {
	ex := Exchange{Offset: time.Since(rs.start), Method: req.Method, URL: req.URL.String(), RequestBody: reqBody, Try: try}
	began := time.Now()
	resp, err := rs.bot.client.Do(req)
	if err != nil {
		ex.Latency = time.Since(began)
		rs.res.Requests = append(rs.res.Requests, ex)
		return 0, nil, nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	var rd io.Reader = resp.Body
	if strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("%s %s: read gzip answer: %w", req.Method, req.URL.Path, err)
		}
		defer zr.Close()
		rd = zr
	}
	body, err := io.ReadAll(io.LimitReader(rd, 16<<20))
	ex.Latency, ex.Status, ex.Header, ex.Body = time.Since(began), resp.StatusCode, resp.Header, body
	rs.res.Requests = append(rs.res.Requests, ex)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%s %s: read answer: %w", req.Method, req.URL.Path, err)
	}
	rs.bot.logger.Debug("graph answered", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode)
	return resp.StatusCode, resp.Header, body, nil
}
