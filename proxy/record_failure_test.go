package proxy_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy"
	"github.com/tidwall/gjson"
)

const callGUID = "8a34a46b-0a4f-4e2b-9f3e-2d4c6b8e1f00"

func TestRecordUpstreamFailures(t *testing.T) {
	tests := []struct {
		name      string
		upstream  func(t *testing.T) string
		transport http.RoundTripper
		want      string
	}{
		{"refused", refusedURL, nil, "connection refused"},
		{"reset mid-response", func(t *testing.T) string {
			return startRawServer(t, func(c net.Conn) {
				http.ReadRequest(bufio.NewReader(c))
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"id\":")
				c.(*net.TCPConn).SetLinger(0) // close with RST
				c.Close()
			})
		}, nil, ""},
		{"timeout", func(t *testing.T) string {
			return startRawServer(t, func(c net.Conn) {
				http.ReadRequest(bufio.NewReader(c))
				io.Copy(io.Discard, c) // never answers; ends when the test closes it
			})
		}, &http.Transport{ResponseHeaderTimeout: 100 * time.Millisecond}, "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t, sessionOptions{upstream: tt.upstream(t), transport: tt.transport})
			if tr, ok := tt.transport.(*http.Transport); ok {
				t.Cleanup(tr.CloseIdleConnections)
			}
			resp, err := s.client.Get(s.rec.URL() + "/v1.0/communications/calls/" + callGUID)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("status %d, want 502: %s", resp.StatusCode, body)
			}
			evs := s.events()
			if len(evs) != 1 {
				t.Fatalf("%d events, want 1", len(evs))
			}
			e := evs[0]
			if e.Error == "" || !strings.Contains(e.Error, tt.want) {
				t.Errorf("recorded error %q, want %q", e.Error, tt.want)
			}
			if e.Response.Status != http.StatusBadGateway || e.Kind != cassette.KindGraph {
				t.Errorf("recorded status %d kind %s, want 502 graph", e.Response.Status, e.Kind)
			}
			if strings.Contains(e.Request.URL, callGUID) || strings.Contains(e.Error, callGUID) {
				t.Error("original call id stored")
			}
			if !strings.Contains(string(body), e.Error) {
				t.Errorf("bot was told %q, recorded %q", body, e.Error)
			}
		})
	}
}

// TestRecordRewritesURLs checks, in both modes, that a gzipped answer whose
// Location and body name the upstream is relayed naming the base the bot
// used (still gzipped, right length), and stored as upstream wrote it.
func TestRecordRewritesURLs(t *testing.T) {
	var upstream string
	up := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := `{"@odata.context":"` + upstream + `/v1.0/$metadata#commsOperation","resourceUrl":"` + upstream +
			`/v1.0/communications/calls/` + callGUID + `/operations/1","other":"` + upstream + `0/x"}`
		w.Header().Set("Location", upstream+"/v1.0/communications/calls/"+callGUID+"/operations/1")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusAccepted)
		zw := gzip.NewWriter(w)
		io.WriteString(zw, body)
		zw.Close()
	}))
	upstream = up
	tests := []struct {
		name    string
		forward bool
		base    func(s *session) string
	}{
		{"reverse", false, func(s *session) string { return s.rec.URL() }},
		{"forward", true, func(*session) string { return "https://graph.microsoft.com" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t, sessionOptions{upstream: up, forward: tt.forward})
			base := tt.base(s)
			req, _ := http.NewRequest(http.MethodPost, base+"/v1.0/communications/calls/"+callGUID+"/participants/invite", strings.NewReader(`{}`))
			req.Header.Set("Accept-Encoding", "gzip, zstd")
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Content-Encoding") != "gzip" {
				t.Fatalf("status %d encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
			}
			if resp.ContentLength != int64(len(raw)) {
				t.Errorf("Content-Length %d for %d bytes", resp.ContentLength, len(raw))
			}
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			plain, _ := io.ReadAll(zr)
			if got := gjson.GetBytes(plain, "@odata\\.context").String(); got != base+"/v1.0/$metadata#commsOperation" {
				t.Errorf("relayed @odata.context %q", got)
			}
			if got := gjson.GetBytes(plain, "resourceUrl").String(); !strings.HasPrefix(got, base+"/v1.0/") {
				t.Errorf("relayed resourceUrl %q", got)
			}
			if got := gjson.GetBytes(plain, "other").String(); got != up+"0/x" {
				t.Errorf("a longer URL was rewritten: %q", got)
			}
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, base+"/v1.0/communications/calls/"+callGUID) {
				t.Errorf("relayed Location %q", loc)
			}
			evs := s.events()
			if len(evs) != 1 {
				t.Fatalf("%d events", len(evs))
			}
			e := evs[0]
			meta := readMeta(t, s.path)
			if ctx := gjson.GetBytes(e.Response.Body, "@odata\\.context").String(); !strings.HasPrefix(ctx, meta.Upstream+"/v1.0/") {
				t.Errorf("stored @odata.context %q, want the upstream %q as written", ctx, meta.Upstream)
			}
			if loc := e.Response.Header.Get("Location"); !strings.HasPrefix(loc, meta.Upstream+"/v1.0/") {
				t.Errorf("stored Location %q", loc)
			}
			if ae := e.Request.Header.Get("Accept-Encoding"); ae != "gzip" {
				t.Errorf("upstream was asked for %q, want only what graphvcr decodes", ae)
			}
		})
	}
}

// TestRecordBodyLimits relays a 16 MiB body intact and refuses, with a
// recorded error, bodies over MaxBody.
func TestRecordBodyLimits(t *testing.T) {
	big := bytes.Repeat([]byte("qrstuvwxyz ghijk"), 1<<20) // 16 MiB
	up := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n, _ := strconv.Atoi(r.URL.Query().Get("size"))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(big[:n])
	}))
	t.Run("16 MiB relayed and stored", func(t *testing.T) {
		s := newSession(t, sessionOptions{upstream: up})
		resp, err := s.client.Get(s.rec.URL() + "/v1.0/big?size=" + strconv.Itoa(len(big)))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || sha256.Sum256(got) != sha256.Sum256(big) {
			t.Fatalf("status %d, %d bytes relayed, want %d intact", resp.StatusCode, len(got), len(big))
		}
		evs := s.events()
		if len(evs) != 1 || len(evs[0].Response.Body) != len(big) {
			t.Fatalf("stored %d events", len(evs))
		}
	})
	t.Run("over MaxBody", func(t *testing.T) {
		s := newSession(t, sessionOptions{upstream: up, maxBody: 1 << 20})
		overs := []struct {
			what   string
			method string
			query  string
			body   []byte // sent as application/octet-stream when not nil
			want   int
		}{
			{"response over MaxBody", http.MethodGet, "size=" + strconv.Itoa(2<<20), nil, http.StatusBadGateway},
			{"request over MaxBody", http.MethodPost, "size=1", big[:2<<20], http.StatusRequestEntityTooLarge},
		}
		for _, o := range overs {
			req, err := http.NewRequest(o.method, s.rec.URL()+"/v1.0/big?"+o.query, bytes.NewReader(o.body))
			if err != nil {
				t.Fatal(err)
			}
			if o.body != nil {
				req.Header.Set("Content-Type", "application/octet-stream")
			}
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != o.want {
				t.Errorf("%s: status %d, want %d", o.what, resp.StatusCode, o.want)
			}
		}
		evs := s.events()
		if len(evs) != len(overs) {
			t.Fatalf("%d events, want %d", len(evs), len(overs))
		}
		for i, o := range overs {
			if evs[i].Response.Status != o.want || !strings.Contains(evs[i].Error, "exceeds") {
				t.Errorf("event %d (%s): status %d error %q", i, o.what, evs[i].Response.Status, evs[i].Error)
			}
		}
	})
}

// TestRecordNotificationBotDown answers Graph 502 and records the failure
// when the bot cannot be reached, keeping only the bearer's claims.
func TestRecordNotificationBotDown(t *testing.T) {
	tests := []struct {
		name          string
		authorization string
		malformed     bool
	}{
		{"jwt", "Bearer " + testJWT(t), false},
		{"malformed", "Bearer not-a-jwt", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSession(t, sessionOptions{upstream: refusedURL(t), bot: refusedURL(t)})
			body := `{"value":[{"changeType":"deleted","resource":"/app/calls/` + callGUID + `/operations/x"}]}`
			req, _ := http.NewRequest(http.MethodPost, s.rec.NotifyURL()+"/api/calls?x=1", strings.NewReader(body))
			req.Header.Set("Authorization", tt.authorization)
			req.Header.Set("Content-Type", "application/json")
			resp, err := s.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadGateway {
				t.Errorf("Graph was answered %d, want 502", resp.StatusCode)
			}
			evs := s.events()
			if len(evs) != 1 {
				t.Fatalf("%d events", len(evs))
			}
			e := evs[0]
			if e.Kind != cassette.KindNotification || !strings.Contains(e.Error, "connection refused") || e.Response.Status != http.StatusBadGateway {
				t.Errorf("event kind %s error %q status %d", e.Kind, e.Error, e.Response.Status)
			}
			if !strings.HasSuffix(e.Request.URL, "/api/calls?x=1") {
				t.Errorf("URL %q, want the bot's path and query", e.Request.URL)
			}
			if e.Bearer == nil || e.Bearer.Malformed != tt.malformed {
				t.Errorf("bearer %+v, malformed want %v", e.Bearer, tt.malformed)
			}
			if auth := e.Request.Header.Get("Authorization"); strings.Contains(auth, "eyJ") || strings.Contains(auth, "not-a-jwt") {
				t.Errorf("stored Authorization %q", auth)
			}
			raw, _ := readFileString(s.path)
			if strings.Contains(raw, "eyJ") || strings.Contains(raw, callGUID) {
				t.Error("cassette holds the token or the call id")
			}
		})
	}
}

// TestRecordForwardTunnelsOtherHosts checks that a CONNECT to a host that
// is not intercepted is tunnelled untouched and not recorded.
func TestRecordForwardTunnelsOtherHosts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other, err := proxy.LoadCA(t.TempDir()) // a server certificate graphvcr never saw
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := other.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: cfg, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "direct") })}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close(); <-done })

	s := newSession(t, sessionOptions{upstream: refusedURL(t), forward: true})
	s.client.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: other.CertPool()}
	resp, err := s.client.Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "direct" {
		t.Errorf("tunnelled answer %q", b)
	}
	if evs := s.events(); len(evs) != 0 {
		t.Errorf("a tunnelled exchange was recorded: %d events", len(evs))
	}
}

func TestRecordHealth(t *testing.T) {
	s := newSession(t, sessionOptions{upstream: refusedURL(t)})
	resp, err := s.client.Get(s.rec.URL() + "/__graphvcr/health")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || gjson.GetBytes(b, "status").String() != "ok" {
		t.Errorf("health %d %s", resp.StatusCode, b)
	}
	resp, err = s.client.Get(s.rec.URL() + "/__graphvcr/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown admin path: %d", resp.StatusCode)
	}
	if evs := s.events(); len(evs) != 0 {
		t.Errorf("admin requests were recorded: %d events", len(evs))
	}
}
