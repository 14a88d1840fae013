package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// A connection that never sent a request does not hold up shutdown:
// http.Server alone would wait for it until ctx expired (it counts a new
// connection as busy for five seconds), which is what bots' spare
// keep-alive connections made Close do.
func TestShutdownClosesFreshConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var fresh freshConns
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }),
		ConnState: fresh.track,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	// One connection used once (idle afterwards) and one never used.
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	spare, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer spare.Close()
	waitFor(t, func() bool {
		fresh.mu.Lock()
		defer fresh.mu.Unlock()
		return len(fresh.conns) == 1
	})

	// Well under the five seconds Shutdown would wait for the spare one.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if err := shutdown(ctx, srv, &fresh); err != nil {
		t.Fatalf("shutdown waited for a connection that never sent a request: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	spare.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := spare.Read(make([]byte, 1)); err == nil {
		t.Error("the spare connection is still open")
	}

	// A connection arriving during shutdown is closed at once too.
	var late freshConns
	late.closeAll()
	a, b := net.Pipe()
	defer b.Close()
	late.track(a, http.StateNew)
	if _, err := a.Write([]byte("x")); err == nil {
		t.Error("a connection made after shutdown began was kept")
	}
}

// waitFor polls cond until it holds or the test's deadline nears.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closeBounded closes a Recorder or a Replayer at the end of a test,
// letting what is in flight finish for at most five seconds: a stuck
// exchange must not hang the test.
func closeBounded(c interface{ Close(context.Context) error }) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.Close(ctx)
}
