package proxy

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// freshConns tracks the connections of a server that have not sent a request
// yet. http.Server.Shutdown counts such a connection as busy for up to five
// seconds, and bots' HTTP clients open them ahead of need (a second
// connection while the first is in use, a keep-alive dial that is never
// used), so closing graphvcr would stall on them. They carry nothing:
// shutdown closes them at once, and closes any that arrive afterwards.
type freshConns struct {
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	shutting bool
}

// track is the server's ConnState hook.
func (f *freshConns) track(c net.Conn, state http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if state != http.StateNew {
		delete(f.conns, c)
		return
	}
	if f.shutting {
		c.Close()
		return
	}
	if f.conns == nil {
		f.conns = map[net.Conn]struct{}{}
	}
	f.conns[c] = struct{}{}
}

// closeAll closes the fresh connections and every later one.
func (f *freshConns) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shutting = true
	for c := range f.conns {
		c.Close()
	}
	clear(f.conns)
}

// shutdown stops srv gracefully (bounded by ctx), closing the connections
// that never sent a request at once; past ctx it closes srv outright and
// returns ctx's error.
func shutdown(ctx context.Context, srv *http.Server, fresh *freshConns) error {
	fresh.closeAll()
	if err := srv.Shutdown(ctx); err != nil {
		srv.Close()
		return err
	}
	return nil
}

// newServer returns the http.Server of one of graphvcr's listeners: h
// answers, slow headers are cut off, net/http's own errors go to log at
// debug level, and fresh tracks the connections shutdown may close at once.
func newServer(h http.Handler, log *slog.Logger, fresh *freshConns) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnState:         fresh.track,
	}
}
