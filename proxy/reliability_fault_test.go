package proxy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/graphvcr/graphvcr/redact"
)

// timeoutTransport bounds a whole upstream exchange, body included:
// http.Transport's ResponseHeaderTimeout does not cover a body that stalls
// after the headers. It is how a user sets a short upstream timeout through
// RecordConfig.Transport.
type timeoutTransport struct {
	base    *http.Transport
	timeout time.Duration
}

func (t timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.timeout)
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

func (t timeoutTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error { err := c.ReadCloser.Close(); c.cancel(); return err }

// hang returns a channel closed when the test ends, for http.Handlers that
// must block "forever"; they also watch their request's context, which the
// server's Close cancels, since cleanups run in reverse order.
func hang(t *testing.T) <-chan struct{} {
	t.Helper()
	c := make(chan struct{})
	t.Cleanup(func() { close(c) })
	return c
}

// TestRecordUpstreamFaults covers upstreams that fail after the request was
// sent: the bot gets a 502 naming the failure within the configured bound,
// and the exchange is recorded as that error.
func TestRecordUpstreamFaults(t *testing.T) {
	tests := []struct {
		name string
		// serve handles one upstream connection after reading the request.
		serve     func(t *testing.T, c net.Conn)
		timeout   time.Duration // 0: the default transport
		wantError string
	}{
		{"closed before answering", func(t *testing.T, c net.Conn) {
			c.Close()
		}, 0, "EOF"},
		{"reset before answering", func(t *testing.T, c net.Conn) {
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}, 0, ""},
		{"reset mid-body, chunked", func(t *testing.T, c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{\"id\":\r\n")
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}, 0, ""},
		{"hangs before the headers", func(t *testing.T, c net.Conn) {
			io.Copy(io.Discard, c) // until the recorder or the test closes it
		}, 300 * time.Millisecond, "timeout"},
		{"hangs mid-body", func(t *testing.T, c net.Conn) {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":")
			io.Copy(io.Discard, c)
		}, 300 * time.Millisecond, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := startRawServer(t, func(c net.Conn) {
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				tt.serve(t, c)
			})
			var rt http.RoundTripper
			if tt.timeout > 0 {
				tr := &http.Transport{}
				t.Cleanup(tr.CloseIdleConnections)
				rt = timeoutTransport{base: tr, timeout: tt.timeout}
			}
			s := newSession(t, sessionOptions{upstream: up, transport: rt})
			start := time.Now()
			resp, err := s.client.Get(s.rec.URL() + "/v1.0/communications/calls/" + callGUID)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			took := time.Since(start)
			if resp.StatusCode != http.StatusBadGateway || !strings.HasPrefix(string(body), "graphvcr: ") {
				t.Fatalf("status %d %q, want 502 with graphvcr's message", resp.StatusCode, body)
			}
			if tt.timeout > 0 && took > tt.timeout+5*time.Second {
				t.Errorf("answered after %s, the upstream timeout is %s", took, tt.timeout)
			}
			evs := s.events()
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1", len(evs))
			}
			if e := evs[0]; e.Error == "" || !strings.Contains(e.Error, tt.wantError) || e.Response.Status != http.StatusBadGateway {
				t.Errorf("recorded error %q status %d, want an error naming %q and 502", e.Error, e.Response.Status, tt.wantError)
			}
		})
	}
}

// TestRecordBotGivesUpOnHungUpstream: with no upstream timeout, a bot that
// stops waiting leaves the upstream request running; Close stops it at once
// (nobody waits for its answer) and the exchange is recorded as abandoned,
// with the reason it has no answer.
func TestRecordBotGivesUpOnHungUpstream(t *testing.T) {
	up := startRawServer(t, func(c net.Conn) {
		http.ReadRequest(bufio.NewReader(c))
		io.Copy(io.Discard, c) // hangs until the recorder gives up or the test ends
	})
	s := newSession(t, sessionOptions{upstream: up})
	s.client.Timeout = 300 * time.Millisecond
	if _, err := s.client.Get(s.rec.URL() + "/v1.0/communications/calls/" + callGUID); err == nil {
		t.Fatal("the bot got an answer from a hung upstream")
	}
	start := time.Now()
	evs := s.events() // closes the recorder
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Close took %s with a hung upstream whose bot gave up", took)
	}
	if len(evs) != 1 || evs[0].Abandoned < 200*time.Millisecond ||
		evs[0].Error != "canceled: graphvcr closed before the upstream answered" {
		t.Fatalf("events %d (%+v): want the exchange recorded as abandoned, ended by Close", len(evs), evs)
	}
}

// TestRecordCloseBoundedByHungUpstream: Close with an exchange stuck
// upstream returns once its context ends, says it abandoned it, and what was
// acknowledged before is in the cassette.
func TestRecordCloseBoundedByHungUpstream(t *testing.T) {
	arrived := make(chan struct{}, 1)
	up := startRawServer(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		if strings.HasSuffix(req.URL.Path, "/hang") {
			arrived <- struct{}{}
			io.Copy(io.Discard, c)
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
		c.Close()
	})
	s := newSession(t, sessionOptions{upstream: up})
	if _, err := ack(s.client, mustRequest(t, http.MethodGet, s.rec.URL()+"/v1.0/first", ""), http.StatusOK); err != nil {
		t.Fatal(err)
	}
	inFlight := make(chan error, 1)
	go func() {
		resp, err := s.client.Get(s.rec.URL() + "/v1.0/hang")
		if err == nil {
			resp.Body.Close()
		}
		inFlight <- err
	}()
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck request never reached the upstream")
	}

	// Closed here, with a short bound.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.rec.Close(ctx)
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Close took %s, bounded by 300ms", took)
	}
	if err == nil || !strings.Contains(err.Error(), "abandoned") {
		t.Errorf("Close returned %v, want it to say the exchange in flight was abandoned", err)
	}
	<-inFlight
	s.client.CloseIdleConnections()
	s.rs.Close() // the recorder is closed already: this closes the cassette
	evs := readEvents(t, s.path)
	if len(evs) == 0 || !strings.HasSuffix(evs[0].Request.URL, "/v1.0/first") || evs[0].Error != "" {
		t.Fatalf("the acknowledged exchange is not the cassette's first event: %d events", len(evs))
	}
}

func mustRequest(t *testing.T, method, url, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// notifyBody is a notification about call id.
func notifyBody(id string) string {
	return `{"value":[{"changeType":"updated","resource":"/communications/calls/` + id + `","resourceData":{"state":"established"}}]}`
}

// TestRecordNotificationBotSlowOrHung: a slow bot's answer is relayed to
// Graph and recorded with its latency; a bot that never answers is recorded
// as such once Graph gives up, and does not hold up Close.
func TestRecordNotificationBotSlowOrHung(t *testing.T) {
	const slow = 200 * time.Millisecond
	stuck := hang(t)
	bot := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if strings.HasSuffix(r.URL.Path, "/hung") {
			select {
			case <-stuck:
			case <-r.Context().Done():
			}
			return
		}
		<-time.After(slow) // the bot is slow: that is the fault under test, not synchronisation
		w.WriteHeader(http.StatusAccepted)
	}))
	s := newSession(t, sessionOptions{upstream: refusedURL(t), bot: bot})

	if _, err := ack(s.client, mustRequest(t, http.MethodPost, s.rec.NotifyURL()+"/api/calls/slow", notifyBody(callGUID)), http.StatusAccepted); err != nil {
		t.Fatalf("slow bot: %v", err)
	}
	graph := &http.Client{Timeout: 300 * time.Millisecond}
	if resp, err := graph.Do(mustRequest(t, http.MethodPost, s.rec.NotifyURL()+"/api/calls/hung", notifyBody(callGUID))); err == nil {
		resp.Body.Close()
		t.Fatalf("Graph got %d from a bot that never answers", resp.StatusCode)
	}
	start := time.Now()
	evs := s.events()
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Close took %s with a hung bot", took)
	}
	if len(evs) != 2 {
		t.Fatalf("%d events, want the slow and the hung notification", len(evs))
	}
	if e := evs[0]; e.Kind != cassette.KindNotification || e.Response.Status != http.StatusAccepted || e.Latency < slow || e.Error != "" {
		t.Errorf("slow bot: kind %s status %d latency %s error %q; want notification 202 after %s", e.Kind, e.Response.Status, e.Latency, e.Error, slow)
	}
	if e := evs[1]; e.Kind != cassette.KindNotification || !strings.Contains(e.Error, "canceled") {
		t.Errorf("hung bot: kind %s error %q; want the notification recorded as canceled", e.Kind, e.Error)
	}
}

// syntheticCassette writes a cassette of graph GETs /v1.0/load/item{k}
// and notifications to /api/calls/note{k}, each triggered by item{k}.
func syntheticCassette(t *testing.T, exchanges, notifications int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "synthetic.bolt")
	var events []*cassette.Event
	add := func(ev *cassette.Event) { events = append(events, ev) }
	for k := range exchanges {
		add(&cassette.Event{
			Kind: cassette.KindGraph, Offset: time.Duration(k) * time.Millisecond, Latency: time.Millisecond,
			Request:  cassette.Request{Method: "GET", URL: fmt.Sprintf("https://graph.microsoft.com/v1.0/load/item%d", k), Header: http.Header{}},
			Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: fmt.Appendf(nil, `{"k":%d,"padding":"%s"}`, k, strings.Repeat("y", 2000))},
		})
	}
	for k := range notifications {
		add(&cassette.Event{
			Kind: cassette.KindNotification, Offset: time.Duration(exchanges+k) * time.Millisecond, Trigger: uint64(k%max(exchanges, 1) + 1),
			Request: cassette.Request{Method: "POST", URL: fmt.Sprintf("https://bot1.example.invalid/api/calls/note%d", k),
				Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(notifyBody(fmt.Sprintf("note%d", k)))},
			Response: cassette.Response{Status: 202},
		})
	}
	cassettetest.Write(t, path, cassette.Meta{Upstream: proxy.DefaultUpstream, TokenUpstream: proxy.DefaultTokenUpstream}, events)
	return path
}

// TestReplayBotFaults: notifications to a bot that is down are retried,
// then reported undelivered (a divergence); to a slow bot they are all
// delivered, in order; to a hung bot they do not hold up Close.
func TestReplayBotFaults(t *testing.T) {
	tests := []struct {
		name  string
		notes int // each retried for about 1.5 s when the bot is down
		bot   func(t *testing.T, got chan<- string) string
		// check looks at the report once Done (or Close, for a hung bot).
		check   func(t *testing.T, rep proxy.Report, got []string)
		waitFor bool // wait for Done before closing
	}{
		{"bot down", 1, func(t *testing.T, _ chan<- string) string { return refusedURL(t) },
			func(t *testing.T, rep proxy.Report, got []string) {
				const notes = 1
				if len(rep.Notifications) != notes || !rep.Failed() {
					t.Errorf("%d notifications reported, failed %v; want %d undelivered and a failed strict replay", len(rep.Notifications), rep.Failed(), notes)
				}
				for _, d := range rep.Notifications {
					if d.Error == "" || !strings.Contains(d.Error, "refused") {
						t.Errorf("notification %d: error %q, want connection refused", d.Seq, d.Error)
					}
				}
			}, true},
		{"bot slow", 3, func(t *testing.T, got chan<- string) string {
			return startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				<-time.After(150 * time.Millisecond) // the fault under test
				got <- r.URL.Path
				w.WriteHeader(http.StatusAccepted)
			}))
		}, func(t *testing.T, rep proxy.Report, got []string) {
			want := []string{"/api/calls/note0", "/api/calls/note1", "/api/calls/note2"}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("bot got %v, want %v in order", got, want)
			}
			if rep.Failed() || len(rep.Notifications) != len(want) {
				t.Errorf("report failed %v with %d notifications: %+v", rep.Failed(), len(rep.Notifications), rep.Notifications)
			}
		}, true},
		{"bot hung", 2, func(t *testing.T, got chan<- string) string {
			stuck := hang(t)
			return startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got <- r.URL.Path
				select {
				case <-stuck:
				case <-r.Context().Done():
				}
			}))
		}, func(t *testing.T, rep proxy.Report, got []string) {
			if len(got) != 1 || len(rep.Pending)+len(rep.Notifications) != 2 {
				t.Errorf("bot got %v; report %d delivered + %d pending, want 1 attempt and 2 accounted for", got, len(rep.Notifications), len(rep.Pending))
			}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := syntheticCassette(t, tt.notes, tt.notes)
			got := make(chan string, 10)
			bot := tt.bot(t, got)
			rd, err := cassette.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			rep, err := proxy.StartReplayer(t.Context(), proxy.ReplayConfig{Bot: bot, Speed: 0, Strict: true, Cassette: rd})
			if err != nil {
				t.Fatal(err)
			}
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			for k := range tt.notes {
				if _, err := ack(client, mustRequest(t, http.MethodGet, fmt.Sprintf("%s/v1.0/load/item%d", rep.URL(), k), ""), http.StatusOK); err != nil {
					t.Fatal(err)
				}
			}
			if tt.waitFor {
				select {
				case <-rep.Done():
				case <-time.After(15 * time.Second):
					t.Fatalf("not done: %+v", rep.Report())
				}
			} else {
				select {
				case <-got: // the hung bot holds the first notification
				case <-time.After(10 * time.Second):
					t.Fatal("the bot never got a notification")
				}
				got <- "/api/calls/note0"
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			start := time.Now()
			if err := rep.Close(ctx); err != nil && tt.waitFor {
				t.Errorf("close: %v", err)
			}
			if took := time.Since(start); took > 3*time.Second {
				t.Errorf("Close took %s", took)
			}
			close(got)
			var paths []string
			for p := range got {
				paths = append(paths, p)
			}
			tt.check(t, rep.Report(), paths)
		})
	}
}

// tmpfs mounts a tmpfs of size bytes in a temp dir, for disk-full tests;
// it skips the test when that is not possible (not root, no mount).
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk full needs a small tmpfs: not running as root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("disk full needs a small tmpfs: mount: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// TestRecordDiskFull records into a cassette on a tiny file system until it
// is full: the exchange that cannot be stored is not relayed (the bot gets a
// 500 naming the cause), every exchange acknowledged before is in the
// cassette, and the cassette still opens.
func TestRecordDiskFull(t *testing.T) {
	dir := tmpfs(t, "512k")
	big := strings.Repeat("z", 16<<10)
	up := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, big)
	}))
	path := filepath.Join(dir, "full.bolt")
	red := redact.New(nil)
	cw, err := cassette.Create(path, cassette.CreateOptions{Meta: proxy.RecordMeta(up, up, red)})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := proxy.StartRecorder(t.Context(), proxy.RecordConfig{Upstream: up, TokenUpstream: up, Bot: refusedURL(t), Cassette: cw, Redactor: red})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	var acked []string
	refused := 0
	for i := 0; i < 200 && refused < 3; i++ {
		key := fmt.Sprintf("n%dk", i)
		resp, err := client.Do(mustRequest(t, http.MethodPost, rec.URL()+"/v1.0/fill/"+key, `{"pad":"`+big+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			if refused > 0 {
				t.Logf("%s stored after a refusal (bbolt freed pages)", key)
			}
			acked = append(acked, key)
		case http.StatusInternalServerError:
			refused++
			if !strings.Contains(string(body), "could not record") || !strings.Contains(string(body), "no space left on device") {
				t.Errorf("refusal %q does not say the exchange was not recorded for lack of space", body)
			}
		default:
			t.Fatalf("%s: status %d %s", key, resp.StatusCode, body)
		}
	}
	if refused == 0 {
		t.Fatalf("the file system never filled up (%d exchanges)", len(acked))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rec.Close(ctx); err != nil {
		t.Errorf("close recorder: %v", err)
	}
	client.CloseIdleConnections()
	if err := cw.Close(); err != nil {
		t.Logf("close cassette on a full disk: %v", err)
	}
	evs := readEvents(t, path)
	stored := map[string]bool{}
	for _, e := range evs {
		stored[e.Request.URL[strings.LastIndexByte(e.Request.URL, '/')+1:]] = true
	}
	for _, k := range acked {
		if !stored[k] {
			t.Errorf("acknowledged exchange %s lost when the disk filled up", k)
		}
	}
	t.Logf("%d exchanges acknowledged, %d refused, %d events in the cassette", len(acked), refused, len(evs))
}
