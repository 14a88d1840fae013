package graphtest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LateDialer connects every connection of the clients that use it to one
// address, set once it is known, whatever host the request named (as name
// resolution pointing every host at one listener would). Tests and the demo
// need it because the parts of a session each need another's address before
// it exists: the simulator must be the recorder's upstream yet post its
// notifications to the recorder's listener; the sample bot must be given to
// graphvcr as its --bot yet be told where graphvcr listens.
//
// The zero value is ready to use and dials nothing: DialContext fails until
// Set is called. A LateDialer may be used from several goroutines.
type LateDialer struct {
	addr atomic.Pointer[string]
	d    net.Dialer

	mu         sync.Mutex
	transports []*http.Transport // made by Client, for CloseIdleConnections
}

// Set points l at addr, a host:port or a base URL (http://127.0.0.1:8080)
// whose host and port are taken. Connections dialled before keep their
// address.
func (l *LateDialer) Set(addr string) {
	if strings.Contains(addr, "://") {
		if u, err := url.Parse(addr); err == nil {
			addr = u.Host
		}
	}
	l.addr.Store(&addr)
}

// DialContext connects to the address last given to Set, ignoring addr. It
// has the signature of http.Transport.DialContext.
func (l *LateDialer) DialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	addr := l.addr.Load()
	if addr == nil {
		return nil, errors.New("late dialer: no address set yet")
	}
	return l.d.DialContext(ctx, network, *addr)
}

// Client returns an HTTP client dialling through l, with the given timeout
// (zero: none). Its transport leaves compression to the caller
// (DisableCompression): the sample bot and graphvcr ask for gzip and decode
// it themselves, and what they receive is what was sent.
func (l *LateDialer) Client(timeout time.Duration) *http.Client {
	tr := &http.Transport{DialContext: l.DialContext, DisableCompression: true, IdleConnTimeout: 30 * time.Second}
	l.mu.Lock()
	l.transports = append(l.transports, tr)
	l.mu.Unlock()
	return &http.Client{Transport: tr, Timeout: timeout}
}

// CloseIdleConnections closes the idle connections of every client Client
// returned, so that none outlives the session it served.
func (l *LateDialer) CloseIdleConnections() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, tr := range l.transports {
		tr.CloseIdleConnections()
	}
}
