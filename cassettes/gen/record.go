package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/proxy/graphtest"
	"github.com/graphvcr/graphvcr/redact"
)

// The names the recorded session uses. The simulator stands in for Graph
// and Azure AD at their real addresses and the bot's callback is a public
// https URL, as in a real tenant session; redirects connect them to the
// listeners on 127.0.0.1.
const (
	graphURL    = "https://graph.microsoft.com"
	loginURL    = "https://login.microsoftonline.com"
	callbackURL = "https://bot.contoso.com/api/calls"
	secret      = "sample-client-secret"
	seed        = 1
	delayScale  = 1 // Graph's realistic notification delays: the cassettes show real timing
	stopTimeout = 10 * time.Second
	// version goes into each cassette's meta as the recording graphvcr's.
	version = "cassettes/gen"
)

// record plays scenario s between the sample bot and the simulator through
// a recorder writing the cassette at path, which is replaced only once the
// recording is complete and the bot's checks all passed.
func record(ctx context.Context, path string, s graphtest.Scenario) (proxy.RecordSummary, error) {
	toRecorder, toNotify, toGraph := newRedirect(), newRedirect(), newRedirect()
	defer toRecorder.close()
	defer toNotify.close()
	defer toGraph.close()

	g, err := graphtest.StartGraph(graphtest.GraphOptions{
		Seed: seed, ClientSecret: secret, DelayScale: delayScale,
		NotifyClient: &http.Client{Transport: toNotify, Timeout: time.Minute},
	})
	if err != nil {
		return proxy.RecordSummary{}, fmt.Errorf("%s: start the simulator: %w", s, err)
	}
	defer g.Close()
	toGraph.set(g.URL)
	bot, err := graphtest.StartBot(graphtest.BotOptions{
		GraphURL: graphURL, TokenURL: loginURL + "/" + g.TenantID() + "/oauth2/v2.0/token",
		ClientID: g.ClientID(), ClientSecret: secret, CallbackURL: callbackURL, Seed: seed,
		HTTPClient: &http.Client{Transport: toRecorder, Timeout: time.Minute},
	})
	if err != nil {
		return proxy.RecordSummary{}, fmt.Errorf("%s: start the sample bot: %w", s, err)
	}
	defer bot.Close()

	cfg := proxy.RecordConfig{Upstream: graphURL, TokenUpstream: loginURL, Bot: bot.URL, Transport: toGraph}
	return recordSession(ctx, string(s), path, cfg, toRecorder, toNotify, func() error {
		res, err := bot.Run(ctx, s)
		if err == nil {
			err = res.Err()
		}
		if err == nil {
			// The recorder relays each notification only after it is
			// recorded, so once the simulator's notifications are answered
			// they are stored.
			err = g.Flush(ctx)
		}
		return err
	})
}

// recordSession records one session of the generator: it starts a
// recorder with cfg (its Cassette and Redactor set here) on a temporary
// cassette beside path, points toRecorder and toNotify at its listeners,
// runs the session, stops the recorder and replaces the cassette at path
// only if run and the recording both succeeded. name prefixes its errors.
func recordSession(ctx context.Context, name, path string, cfg proxy.RecordConfig, toRecorder, toNotify *redirect, run func() error) (proxy.RecordSummary, error) {
	tmp := path + ".tmp"
	red := redact.New(nil)
	meta := proxy.RecordMeta(cfg.Upstream, cfg.TokenUpstream, red)
	meta.Version = version
	w, err := cassette.Create(tmp, cassette.CreateOptions{Force: true, Meta: meta})
	if err != nil {
		return proxy.RecordSummary{}, fmt.Errorf("%s: %w", name, err)
	}
	defer os.Remove(tmp) // after a failure; gone by then on success
	cfg.Cassette, cfg.Redactor = w, red
	rec, err := proxy.StartRecorder(ctx, cfg)
	if err != nil {
		w.Close()
		return proxy.RecordSummary{}, fmt.Errorf("%s: start the recorder: %w", name, err)
	}
	toRecorder.set(rec.URL())
	toNotify.set(rec.NotifyURL())

	runErr := run()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
	defer cancel()
	// Idle connections to the recorder would hold its shutdown until they
	// time out.
	toRecorder.close()
	toNotify.close()
	closeErr := rec.Close(sctx)
	sum := rec.Summary()
	if err := errors.Join(runErr, closeErr, w.Close()); err != nil {
		return sum, fmt.Errorf("%s: record: %w", name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return sum, fmt.Errorf("%s: %w", name, err)
	}
	return sum, nil
}

// redirect is a RoundTripper sending every request to one base URL, set
// once known, whatever its URL says, and keeping the Host header the URL
// named. The generator needs it because the bot, the recorder and the
// simulator each must exist before the others learn their addresses, and
// because the session addresses Graph, Azure AD and the bot by their public
// names while all three listen on 127.0.0.1.
type redirect struct {
	base atomic.Pointer[url.URL]
	tr   *http.Transport
}

// newRedirect returns a redirect going nowhere until set. Compression is
// left to the two ends: the bot and the recorder set Accept-Encoding and
// decode themselves.
func newRedirect() *redirect {
	return &redirect{tr: &http.Transport{DisableCompression: true, IdleConnTimeout: 30 * time.Second}}
}

// set points r at base, a listener's URL.
func (r *redirect) set(base string) {
	u, err := url.Parse(base)
	if err != nil {
		panic("gen: a listener's URL does not parse: " + base) // a broken invariant
	}
	r.base.Store(u)
}

// RoundTrip sends req to r's base.
func (r *redirect) RoundTrip(req *http.Request) (*http.Response, error) {
	base := r.base.Load()
	if base == nil {
		return nil, errors.New("redirect " + req.URL.Host + ": not listening yet")
	}
	out := req.Clone(req.Context())
	if out.Host == "" {
		out.Host = req.URL.Host
	}
	out.URL.Scheme, out.URL.Host = base.Scheme, base.Host
	return r.tr.RoundTrip(out)
}

func (r *redirect) close() { r.tr.CloseIdleConnections() }
