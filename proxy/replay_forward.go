package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
)

// tunnels serves the requests inside CONNECT tunnels (HTTPS_PROXY) with the
// Replayer's own handler: TLS is terminated with a leaf from the CA for the
// host the bot asked for, and h2 or HTTP/1.1 served as negotiated.
type tunnels struct {
	srv   *http.Server
	ln    *connListener
	fresh freshConns
}

// startTunnels starts the server of the tunnels' requests (built with the
// Replayer); Close shuts it down.
func (r *Replayer) startTunnels() {
	r.tun.ln = &connListener{conns: make(chan net.Conn), done: make(chan struct{})}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := r.tun.srv.Serve(r.tun.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.log.Error("tunnel server stopped", "err", err)
		}
	}()
}

// serveConnect answers a CONNECT to one of knownHosts and hands the
// connection, TLS-wrapped, to the tunnel server.
func (r *Replayer) serveConnect(w http.ResponseWriter, req *http.Request) {
	host := req.Host
	name := hostName(host)
	if _, ok := knownHosts[name]; !ok {
		http.Error(w, "graphvcr replay is offline: no tunnel to "+host, http.StatusForbidden)
		return
	}
	if r.cfg.CA == nil {
		http.Error(w, "graphvcr replay: serving HTTPS_PROXY traffic needs a CA", http.StatusBadGateway)
		return
	}
	tc, err := r.cfg.CA.TLSConfig(name)
	if err != nil {
		http.Error(w, "graphvcr replay: "+err.Error(), http.StatusInternalServerError)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "graphvcr replay: CONNECT needs HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		r.log.Warn("take over CONNECT", "err", err)
		return
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		conn.Close()
		return
	}
	r.tun.ln.add(tls.Server(conn, tc))
}

// connListener is a net.Listener of connections handed over by serveConnect.
type connListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// add hands c to the tunnel server, or closes it once the listener is closed.
func (l *connListener) add(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr is a placeholder: the connections come from the graph listener.
func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
