package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/elazarl/goproxy"
	"github.com/graphvcr/graphvcr/cassette"
)

// route says where an exchange goes and how it is recorded.
type route struct {
	kind cassette.Kind
	base *url.URL // upstream base the request path is appended to
	// clientBase is the URL base the bot used (the listener in reverse mode,
	// the intercepted host in forward mode); absolute upstream URLs are
	// rewritten to it in what is relayed.
	clientBase string
	// forward is true for a request that came through a CONNECT or as an
	// absolute URL (HTTPS_PROXY), false for the reverse listener.
	forward bool
}

type routeKey struct{}

// newGoproxy builds the goproxy server of the graph listener: relative URLs
// (reverse mode) go to serveReverse, CONNECTs to intercepted hosts are
// MITM'd with our CA, and every recorded request, whatever way it came in,
// passes the one OnRequest hook that records it.
func (r *Recorder) newGoproxy() *goproxy.ProxyHttpServer {
	gp := goproxy.NewProxyHttpServer()
	gp.Logger = goproxyLogger{r}
	gp.AllowHTTP2 = true
	gp.KeepAcceptEncoding = true
	// Tunnels and plain-http requests to hosts that are not intercepted go
	// direct: not through a proxy from the environment (which goproxy would
	// otherwise read), and verifying certificates (which goproxy skips).
	r.tunnelTr = &http.Transport{
		DialContext:           (&net.Dialer{}).DialContext,
		ResponseHeaderTimeout: upstreamHeaderTimeout,
	}
	gp.Tr = r.tunnelTr
	gp.ConnectDial = nil
	gp.NonproxyHandler = http.HandlerFunc(r.serveReverse)
	gp.OnRequest().HandleConnectFunc(r.onConnect)
	gp.OnRequest().DoFunc(r.onRequest)
	return gp
}

// serveReverse handles requests with a relative URL: admin endpoints, and
// otherwise the bot using the listener as its Graph or token base URL. The
// request is made absolute (upstream scheme and host) and fed back through
// goproxy, so it takes the same path as an intercepted one.
func (r *Recorder) serveReverse(w http.ResponseWriter, req *http.Request) {
	if isAdminPath(req.URL.Path) {
		r.admin.ServeHTTP(w, req)
		return
	}
	rt := route{kind: cassette.KindGraph, base: r.upstream}
	if _, _, login := loginPath(req.URL.Path); login {
		rt = route{kind: cassette.KindToken, base: r.tokenUp}
	}
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	rt.clientBase = scheme + "://" + req.Host
	req = req.WithContext(context.WithValue(req.Context(), routeKey{}, rt))
	req.URL.Scheme = rt.base.Scheme
	req.URL.Host = rt.base.Host
	r.gp.ServeHTTP(w, req)
}

// onConnect decides what a CONNECT becomes: a MITM'd, recorded connection
// for the intercepted hosts, a plain tunnel for every other host.
func (r *Recorder) onConnect(host string, _ *goproxy.ProxyCtx) (*goproxy.ConnectAction, string) {
	if _, ok := r.interceptRoute(host); !ok {
		return &goproxy.ConnectAction{Action: goproxy.ConnectAccept}, host
	}
	if r.cfg.CA == nil {
		r.log.Warn("refusing CONNECT to an intercepted host: no CA to sign its certificate", "host", host)
		return &goproxy.ConnectAction{Action: goproxy.ConnectReject}, host
	}
	return &goproxy.ConnectAction{Action: goproxy.ConnectMitm, TLSConfig: r.mitmTLSConfig}, host
}

// mitmTLSConfig presents a leaf from our CA for the intercepted host; it
// replaces goproxy's TLSConfigFromCA(&GoproxyCa), whose key is public.
func (r *Recorder) mitmTLSConfig(host string, _ *goproxy.ProxyCtx) (*tls.Config, error) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return r.cfg.CA.TLSConfig(host)
}

// interceptRoute maps an intercepted host (forward mode: a known host with
// a kind, see knownHosts) to its upstream.
func (r *Recorder) interceptRoute(hostport string) (route, bool) {
	switch h, _ := lookupHost(hostport); h.kind {
	case 0:
		return route{}, false
	case cassette.KindToken:
		return route{kind: h.kind, base: r.tokenUp}, true
	default:
		return route{kind: h.kind, base: r.upstream}, true
	}
}

// onRequest is the recording hook: every request reaching Graph or the
// token endpoint through graphvcr, in reverse or forward mode, over
// HTTP/1.1 or h2, is answered here, and goproxy relays the answer.
// Requests to other hosts (plain-http forward proxying) pass untouched.
func (r *Recorder) onRequest(req *http.Request, _ *goproxy.ProxyCtx) (*http.Request, *http.Response) {
	rt, ok := req.Context().Value(routeKey{}).(route)
	if !ok {
		if rt, ok = r.interceptRoute(req.URL.Host); !ok {
			return req, nil
		}
		host := req.Host
		if host == "" {
			host = req.URL.Host
		}
		rt.clientBase = req.URL.Scheme + "://" + host
		rt.forward = true
	}
	return req, r.exchange(req, rt)
}

// goproxyLogger sends goproxy's messages to the Recorder's logger at debug
// level; they can name URLs, so they are redacted first.
type goproxyLogger struct{ r *Recorder }

// Printf logs one goproxy message.
func (l goproxyLogger) Printf(format string, v ...any) {
	if !l.r.log.Enabled(context.Background(), -4) {
		return
	}
	l.r.log.Debug("goproxy", "msg", l.r.red.Text(strings.TrimSpace(fmt.Sprintf(format, v...))))
}

// trackingListener remembers every accepted connection until it is closed,
// so that Close can end those that net/http no longer manages: hijacked
// CONNECT tunnels and MITM'd connections, served by goproxy's own goroutines.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

func newTrackingListener(l net.Listener) *trackingListener {
	return &trackingListener{Listener: l, conns: map[*trackedConn]struct{}{}}
}

// Accept returns the next connection, tracked.
func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// closeAll closes every connection still open.
func (l *trackingListener) closeAll() {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
	err  error
}

// Close closes the connection once and forgets it.
func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.err = c.Conn.Close()
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.err
}

// CloseWrite half-closes, as goproxy's tunnels do when the peer allows it.
func (c *trackedConn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return c.Close()
}

// CloseRead half-closes, as goproxy's tunnels do when the peer allows it.
func (c *trackedConn) CloseRead() error {
	if hc, ok := c.Conn.(interface{ CloseRead() error }); ok {
		return hc.CloseRead()
	}
	return nil
}
