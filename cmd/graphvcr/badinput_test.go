package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// TestBadCassettesEveryCommand runs every command that reads a cassette
// (and record --append, which adds to one) on files that are not usable
// cassettes: each exits 2 with one line naming the file and the reason, and
// none changes the file.
func TestBadCassettesEveryCommand(t *testing.T) {
	dir := t.TempDir()
	valid := fixture(t)
	raw, err := os.ReadFile(valid)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	junk := make([]byte, 48<<10)
	rand.Read(junk)
	newer := filepath.Join(dir, "newer.bolt")
	writeCassette(t, newer, fixtureEvents())
	setFormatVersion(t, newer, cassette.FormatVersion+1)
	// bbolt files end in free pages: a cut there loses nothing and the
	// cassette stays usable. The cuts below go into its data.
	used := len(raw)
	for used > 0 && raw[used-1] == 0 {
		used--
	}
	bad := []struct{ name, path, want string }{
		{"zero length", write("zero.bolt", nil), "file is empty (0 bytes)"},
		{"truncated to one page", write("page.bolt", raw[:4096]), "not a graphvcr cassette, or damaged"},
		{"truncated to the meta pages", write("meta.bolt", raw[:8192]), "not a graphvcr cassette, or damaged"},
		{"truncated to half its data", write("half.bolt", raw[:used/2]), "not a graphvcr cassette, or damaged"},
		{"last data cut short", write("short.bolt", raw[:used-100]), "not a graphvcr cassette, or damaged"},
		{"random bytes", write("random.bolt", junk), "not a graphvcr cassette, or damaged"},
		{"text", write("text.bolt", []byte("{\"seq\":1}\n")), "not a graphvcr cassette, or damaged"},
		{"newer version", newer, "newer graphvcr"},
		{"a directory", dir, ""},
	}
	contents := map[string][]byte{}
	commands := []struct {
		name string
		op   string // what the one line starts with after "graphvcr: "
		args func(path string) []string
	}{
		{"show", "open", func(p string) []string { return []string{"show", p} }},
		{"show html", "open", func(p string) []string { return []string{"show", p, "--format", "html"} }},
		{"export har", "open", func(p string) []string { return []string{"export", p, "--format", "har"} }},
		{"export jsonl to file", "open", func(p string) []string {
			return []string{"export", p, "--format", "jsonl", "--output", filepath.Join(dir, "out-"+filepath.Base(p)+".jsonl")}
		}},
		{"scan", "open", func(p string) []string { return []string{"scan", p} }},
		{"replay", "open", func(p string) []string {
			return []string{"replay", "--cassette", p, "--bot", "http://127.0.0.1:9", "--listen", "127.0.0.1:0"}
		}},
		{"record --append", "create", func(p string) []string {
			return []string{"record", "--append", "--cassette", p, "--ca-dir", filepath.Join(dir, "ca"), "--bot", "http://127.0.0.1:9",
				"--listen", "127.0.0.1:0", "--notify-listen", "127.0.0.1:0"}
		}},
	}
	// Checked once every command below has run (they are parallel
	// subtests, which end before the parent's cleanups run).
	t.Cleanup(func() {
		for _, b := range bad {
			if b.want == "" {
				continue // the directory
			}
			if after, _ := os.ReadFile(b.path); !bytes.Equal(after, contents[b.path]) {
				t.Errorf("%s (%s) was changed by a command that refused it", b.path, b.name)
			}
		}
		matches, _ := filepath.Glob(filepath.Join(dir, "out-*"))
		for _, m := range matches {
			if fi, err := os.Stat(m); err == nil && fi.Size() > 0 {
				t.Errorf("export left %s behind for a bad cassette", m)
			}
		}
	})
	for _, b := range bad {
		contents[b.path], _ = os.ReadFile(b.path)
		for _, c := range commands {
			t.Run(b.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				r := graphvcr(t, nil, c.args(b.path)...)
				wants := []string{c.op + " " + b.path + ": "}
				if b.want != "" {
					wants = append(wants, b.want)
				}
				wantFailure(t, r, 2, wants...)
				if r.stdout != "" && !strings.HasPrefix(c.name, "show") {
					t.Errorf("stdout %.100q; want nothing", r.stdout)
				}
			})
		}
	}
}

// vmHWM returns the peak resident set of process pid, from /proc.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("peak RSS needs /proc: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmHWM in /proc status")
	return 0
}

// repeatReader yields n bytes of a repeated pattern without holding them.
type repeatReader struct{ n int64 }

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// TestRecordHugeBodies sends a 100 MB request body (with and without a
// Content-Length) and asks for a 100 MB response through record with
// --max-body 16 MiB: each is refused with a clear message, recorded as an
// error, and the recorder's peak memory stays well below one such body.
func TestRecordHugeBodies(t *testing.T) {
	const huge = 100 << 20
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if strings.HasSuffix(r.URL.Path, "/huge-response") {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(huge))
			io.Copy(w, &repeatReader{n: huge})
			return
		}
		io.WriteString(w, upstreamBody)
	}))
	defer up.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "huge.bolt")
	gl, nl := freeAddr(t), freeAddr(t)
	p := start(t, nil, "record", "--cassette", path, "--ca-dir", filepath.Join(dir, "ca"), "--listen", gl, "--notify-listen", nl,
		"--upstream", up.URL, "--token-upstream", up.URL, "--bot", "http://127.0.0.1:9", "--max-body", strconv.Itoa(16<<20))
	base := "http://" + gl
	waitHealthy(t, p, base)
	client := &http.Client{Transport: &http.Transport{}, Timeout: time.Minute}
	defer client.CloseIdleConnections()

	type answer struct {
		status int
		body   string
		err    error
	}
	send := func(method, path string, body io.Reader, size int64) answer {
		req, _ := http.NewRequestWithContext(t.Context(), method, base+path, body)
		req.ContentLength = size
		resp, err := client.Do(req)
		if err != nil {
			return answer{err: err}
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return answer{status: resp.StatusCode, body: string(b)}
	}
	answers := map[string]answer{
		"huge-response":        send(http.MethodGet, "/v1.0/huge-response", nil, 0),
		"huge-request":         send(http.MethodPost, "/v1.0/huge-request", &repeatReader{n: huge}, huge),
		"huge-request-chunked": send(http.MethodPost, "/v1.0/huge-request-chunked", &repeatReader{n: huge}, -1),
		"small-after-the-huge": send(http.MethodPost, "/v1.0/small-after-the-huge", strings.NewReader(`{}`), 2),
	}
	peak := vmHWM(t, p.cmd.Process.Pid)
	r := p.interrupt()
	wantSuccess(t, r)
	t.Logf("peak RSS of the recorder: %d MiB", peak>>20)
	if peak > huge {
		t.Errorf("the recorder's peak RSS was %d MiB for 100 MiB bodies over a 16 MiB limit: bodies are held whole", peak>>20)
	}
	for name, want := range map[string]int{"huge-response": http.StatusBadGateway, "huge-request": http.StatusRequestEntityTooLarge, "huge-request-chunked": http.StatusRequestEntityTooLarge} {
		a := answers[name]
		if a.err != nil && want == http.StatusRequestEntityTooLarge {
			// The recorder may stop reading and close before the client
			// finished sending: the refusal is then in the cassette only.
			t.Logf("%s: the client saw %v", name, a.err)
			continue
		}
		if a.status != want || !strings.Contains(a.body, "exceeds the 16777216-byte limit") {
			t.Errorf("%s: status %d %q (err %v); want %d saying what the limit is", name, a.status, a.body, a.err, want)
		}
	}
	if a := answers["small-after-the-huge"]; a.status != http.StatusOK {
		t.Errorf("a small request after the huge ones: %d %v", a.status, a.err)
	}
	evs := map[string]*cassette.Event{}
	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	rd.EachHead(func(e *cassette.Event) error {
		evs[e.Request.URL[strings.LastIndexByte(e.Request.URL, '/')+1:]] = e
		return nil
	})
	for _, name := range []string{"huge-response", "huge-request", "huge-request-chunked"} {
		e := evs[name]
		if e == nil || !strings.Contains(e.Error, "exceeds") {
			t.Errorf("%s: recorded %+v; want an event with the refusal as its error", name, e)
		}
	}
	t.Run("message names --max-body", func(t *testing.T) {
		if a := answers["huge-response"]; !strings.Contains(a.body, "--max-body") {
			t.Errorf("refusal %q does not name --max-body", a.body)
		}
	})
}

// upstreamLog remembers what a test upstream received, by the last path segment.
type upstreamLog struct {
	mu  sync.Mutex
	got map[string]received
}

type received struct {
	body     []byte
	encoding string
	proto    string
}

func (l *upstreamLog) get(key string) (received, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.got[key]
	return r, ok
}

func (l *upstreamLog) handler(status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		l.got[r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]] = received{body: b, encoding: r.Header.Get("Content-Encoding"), proto: r.Proto}
		l.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, upstreamBody)
	})
}

// rawExchange writes raw to a new TLS connection to addr (HTTP/1.1 only),
// half-closes it when eof is set (net/http takes that for a client gone,
// so only a body cut short is sent so), and returns the response read back
// (status 0 when the recorder closed the connection without one).
func rawExchange(t *testing.T, addr string, tc *tls.Config, raw string, eof bool) (int, string) {
	t.Helper()
	cfg := tc.Clone()
	cfg.NextProtos = []string{"http/1.1"}
	cfg.ServerName = "localhost"
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	if eof {
		c.CloseWrite()
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRecordOddRequests sends requests a careless or unusual client sends
// through record --tls: each is relayed as received (or refused with a
// clear answer) and recorded; the recorder keeps serving.
func TestRecordOddRequests(t *testing.T) {
	var ups upstreamLog
	ups.got = map[string]received{}
	up := httptest.NewServer(ups.handler(http.StatusOK))
	defer up.Close()
	var bots upstreamLog
	bots.got = map[string]received{}
	bot := httptest.NewServer(bots.handler(http.StatusAccepted))
	defer bot.Close()

	dir := t.TempDir()
	caDir := filepath.Join(dir, "ca")
	wantSuccess(t, graphvcr(t, nil, "ca", "--ca-dir", caDir))
	tc := caPool(t, caDir)
	path := filepath.Join(dir, "odd.bolt")
	gl, nl := freeAddr(t), freeAddr(t)
	p := start(t, nil, "record", "--quiet", "--tls", "--cassette", path, "--ca-dir", caDir, "--listen", gl, "--notify-listen", nl,
		"--upstream", up.URL, "--token-upstream", up.URL, "--bot", bot.URL, "--max-body", strconv.Itoa(1<<20))
	h2 := &http.Transport{TLSClientConfig: tc.Clone(), ForceAttemptHTTP2: true}
	defer h2.CloseIdleConnections()
	client := &http.Client{Transport: h2, Timeout: 20 * time.Second}
	base := "https://localhost:" + gl[strings.LastIndexByte(gl, ':')+1:]
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(base + "/__graphvcr/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("record --tls not healthy: %v", err)
		}
		select {
		case <-p.exited:
			t.Fatalf("record exited: %s", p.stderr)
		case <-time.After(20 * time.Millisecond): // polling with a deadline
		}
	}

	type check struct {
		name       string
		send       func() (int, string)
		wantStatus int    // 0: the connection may be closed without an answer
		relayed    []byte // what the upstream must have received; nil: nothing
		stored     func(e *cassette.Event) string
	}
	post := func(key, headers, body string) func() (int, string) {
		return func() (int, string) {
			return rawExchange(t, gl, tc, "POST /v1.0/odd/"+key+" HTTP/1.1\r\nHost: localhost\r\n"+headers+"\r\n"+body, key == "shortbody")
		}
	}
	storedBody := func(want string) func(e *cassette.Event) string {
		return func(e *cassette.Event) string {
			if !strings.HasPrefix(string(e.Request.Body), want) || e.Error != "" {
				return fmt.Sprintf("stored body %.60q error %q, want %q", e.Request.Body, e.Error, want)
			}
			return ""
		}
	}
	checks := []check{
		{"invalidjson", post("invalidjson", "Content-Type: application/json\r\nContent-Length: 5\r\n", `{"a":`), 200, []byte(`{"a":`), storedBody(`{"a":`)},
		{"badgzip", post("badgzip", "Content-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 12\r\n", "not gzip at!"), 200, []byte("not gzip at!"),
			storedBody("graphvcr: body not stored")},
		{"shortbody", post("shortbody", "Content-Type: application/json\r\nContent-Length: 100\r\n", `{"a":1}`), 0, nil,
			func(e *cassette.Event) string {
				if e.Error == "" {
					return "recorded without an error, the body was cut short"
				}
				return ""
			}},
		{"longbody", post("longbody", "Content-Type: application/json\r\nContent-Length: 5\r\n", `{"a":1}garbage`), 200, []byte(`{"a":`), storedBody(`{"a":`)},
		{"chunked", post("chunked", "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", "4\r\n{\"a\"\r\n3\r\n:12\r\n1\r\n}\r\n0\r\n\r\n"), 200,
			[]byte(`{"a":12}`), storedBody(`{"a":12}`)},
		{"http10", func() (int, string) {
			return rawExchange(t, gl, tc, "GET /v1.0/odd/http10 HTTP/1.0\r\n\r\n", false)
		}, 200, []byte{}, storedBody("")},
		{"http2", func() (int, string) {
			resp, err := client.Post(base+"/v1.0/odd/http2", "application/json", strings.NewReader(`{"h2":true}`))
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.ProtoMajor != 2 {
				return -1, "not HTTP/2: " + resp.Proto
			}
			return resp.StatusCode, string(b)
		}, 200, []byte(`{"h2":true}`), storedBody(`{"h2":true}`)},
	}
	for _, c := range checks {
		status, body := c.send()
		if c.wantStatus != 0 && (status != c.wantStatus || body != upstreamBody) {
			t.Errorf("%s: answered %d %q, want %d and the upstream's answer", c.name, status, body, c.wantStatus)
		}
		if c.wantStatus == 0 && status != 0 && (status < 400 || !strings.HasPrefix(body, "graphvcr: ")) {
			t.Errorf("%s: answered %d %q, want a graphvcr error or no answer", c.name, status, body)
		}
		got, ok := ups.get(c.name)
		switch {
		case c.relayed == nil && ok:
			t.Errorf("%s: the upstream got %q, want nothing relayed", c.name, got.body)
		case c.relayed != nil && (!ok || !bytes.Equal(got.body, c.relayed)):
			t.Errorf("%s: the upstream got %q (%v), want %q", c.name, got.body, ok, c.relayed)
		}
	}
	if got, _ := ups.get("badgzip"); got.encoding != "gzip" {
		t.Errorf("badgzip: relayed with Content-Encoding %q, want it as received", got.encoding)
	}

	// Garbage on the notification listener: relayed to the bot byte for
	// byte, or refused over --max-body, and always recorded.
	junk := make([]byte, 4096)
	rand.Read(junk)
	notes := []struct {
		key, ctype string
		body       []byte
		auth       string
		want       int
	}{
		{"notjson", "application/json", []byte("<xml>not json</xml>"), "", http.StatusAccepted},
		{"empty", "application/json", nil, "", http.StatusAccepted},
		{"binary", "application/octet-stream", junk, "", http.StatusAccepted},
		{"wrongtypes", "application/json", []byte(`{"value":5,"resource":[1,{"x":null}]}`), "", http.StatusAccepted},
		{"valuejunk", "application/json", []byte(`{"value":[null,1,"x",{"resource":7}]}`), "Bearer eyJ.broken", http.StatusAccepted},
		{"badauth", "application/json", []byte(`{"value":[]}`), "Basic Zm9vOmJhcg==", http.StatusAccepted},
		{"huge", "application/json", bytes.Repeat([]byte(" "), 2<<20), "", http.StatusRequestEntityTooLarge},
	}
	plain := &http.Client{Transport: &http.Transport{}, Timeout: 20 * time.Second}
	defer plain.CloseIdleConnections()
	for _, n := range notes {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+nl+"/api/calls/"+n.key, bytes.NewReader(n.body))
		req.Header.Set("Content-Type", n.ctype)
		if n.auth != "" {
			req.Header.Set("Authorization", n.auth)
		}
		resp, err := plain.Do(req)
		if err != nil {
			t.Errorf("notification %s: %v", n.key, err)
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != n.want {
			t.Errorf("notification %s: Graph got %d, want %d", n.key, resp.StatusCode, n.want)
		}
		got, ok := bots.get(n.key)
		if n.want == http.StatusAccepted && (!ok || !bytes.Equal(got.body, n.body)) {
			t.Errorf("notification %s: the bot got %d bytes (%v), want the %d sent", n.key, len(got.body), ok, len(n.body))
		}
		if n.want != http.StatusAccepted && ok {
			t.Errorf("notification %s: relayed to the bot although refused", n.key)
		}
	}

	r := p.interrupt()
	wantSuccess(t, r)
	rd, err := cassette.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	evs := map[string]*cassette.Event{}
	rd.Each(func(e *cassette.Event) error {
		evs[e.Request.URL[strings.LastIndexByte(e.Request.URL, '/')+1:]] = e
		return nil
	})
	for _, c := range checks {
		e := evs[c.name]
		if e == nil {
			t.Errorf("%s: not recorded", c.name)
			continue
		}
		if msg := c.stored(e); msg != "" {
			t.Errorf("%s: %s", c.name, msg)
		}
	}
	for _, n := range notes {
		e := evs[n.key]
		if e == nil || e.Kind != cassette.KindNotification {
			t.Errorf("notification %s: not recorded", n.key)
			continue
		}
		if (n.want == http.StatusAccepted) != (e.Error == "") {
			t.Errorf("notification %s: recorded error %q", n.key, e.Error)
		}
		if strings.Contains(string(e.Request.Header.Get("Authorization")), "Zm9v") {
			t.Errorf("notification %s: Authorization stored", n.key)
		}
	}
	if b, err := json.Marshal(len(evs)); err == nil {
		t.Logf("%s events recorded", b)
	}
}

// TestMalformedFlagsAndEnv: every malformed flag or GRAPHVCR_ variable
// exits 2 with one line naming it, before anything is created.
func TestMalformedFlagsAndEnv(t *testing.T) {
	dir := t.TempDir()
	path := fixture(t)
	notJSON := filepath.Join(dir, "policy.json")
	os.WriteFile(notJSON, []byte("{keepPaths:"), 0o600)
	aFile := filepath.Join(dir, "file")
	os.WriteFile(aFile, []byte("x"), 0o600)
	// The app's key files of the change-notification tests.
	appPFX := filepath.Join("..", "..", "proxy", "changes", "testdata", "app.pfx")
	appCert := filepath.Join("..", "..", "proxy", "changes", "testdata", "app-cert.pem")
	inUse, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inUse.Close() }) // not defer: the parallel subtests run after this function returns
	made := 0
	rec := func(extra ...string) []string {
		made++
		return append([]string{"record", "--cassette", filepath.Join(dir, fmt.Sprintf("new-%d.bolt", made)), "--ca-dir", filepath.Join(dir, "ca"),
			"--bot", "http://127.0.0.1:9", "--listen", "127.0.0.1:0", "--notify-listen", "127.0.0.1:0"}, extra...)
	}
	rep := func(extra ...string) []string {
		return append([]string{"replay", "--cassette", path, "--bot", "http://127.0.0.1:9", "--listen", "127.0.0.1:0"}, extra...)
	}
	tests := []struct {
		name  string
		env   []string
		args  []string
		wants []string
	}{
		{"listen without port", nil, rec("--listen", "127.0.0.1"), []string{`--listen "127.0.0.1"`, "HOST:PORT"}},
		{"listen nonsense", nil, rec("--listen", "nonsense"), []string{`--listen "nonsense"`}},
		{"notify-listen port out of range", nil, rec("--notify-listen", "127.0.0.1:70000"), []string{`--notify-listen "127.0.0.1:70000"`}},
		{"listen from environment", []string{"GRAPHVCR_LISTEN=::::"}, []string{"record", "--cassette", filepath.Join(dir, "x.bolt"), "--bot", "http://127.0.0.1:9"}, []string{`--listen "::::"`}},
		{"listen address in use", nil, rec("--listen", inUse.Addr().String()), []string{inUse.Addr().String(), "address already in use"}},
		{"max-body not a number", nil, rec("--max-body", "1.5"), []string{"--max-body"}},
		{"max-body negative from environment", []string{"GRAPHVCR_MAX_BODY=-5"}, rec(), []string{"--max-body -5"}},
		{"bot without host", nil, rec("--bot", "http://"), []string{`--bot "http://"`}},
		{"bot not http", nil, rec("--bot", "ftp://127.0.0.1"), []string{`--bot "ftp://127.0.0.1"`}},
		{"token-upstream not a URL", nil, rec("--token-upstream", "%zz"), []string{"--token-upstream"}},
		{"policy missing", nil, rec("--policy", filepath.Join(dir, "missing.json")), []string{"missing.json", "no such file"}},
		{"policy not JSON", nil, rec("--policy", notJSON), []string{"read policy " + notJSON}},
		{"ca-dir is a file", nil, append(rec(), "--ca-dir", aFile), []string{aFile}},
		{"decrypt-key missing", nil, rec("--decrypt-key", filepath.Join(dir, "missing.pem")), []string{"--decrypt-key", "missing.pem", "no such file"}},
		{"decrypt-key not a key", nil, rec("--decrypt-key", aFile), []string{"read --decrypt-key " + aFile, "PEM"}},
		{"decrypt-key from environment not a key", []string{"GRAPHVCR_DECRYPT_KEY=" + notJSON}, rec(), []string{"--decrypt-key " + notJSON}},
		{"decrypt-key PKCS#12 wrong password", nil, rec("--decrypt-key", appPFX, "--decrypt-key-password", "wrong"), []string{"--decrypt-key " + appPFX}},
		{"decrypt-key certificate only", nil, rec("--decrypt-key", appCert), []string{"--decrypt-key " + appCert}},
		{"quiet not a bool in environment", []string{"GRAPHVCR_QUIET=2"}, rec(), []string{`GRAPHVCR_QUIET="2"`, "true or false"}},
		{"append not a bool in environment", []string{"GRAPHVCR_APPEND=yes please"}, rec(), []string{`GRAPHVCR_APPEND="yes please"`}},
		{"speed out of range in environment", []string{"GRAPHVCR_SPEED=1e999"}, rep(), []string{`GRAPHVCR_SPEED="1e999"`}},
		{"strict not a bool in environment", []string{"GRAPHVCR_STRICT=yes"}, rep(), []string{`GRAPHVCR_STRICT="yes"`}},
		{"speed NaN", nil, rep("--speed", "NaN"), []string{"--speed NaN"}},
		{"speed infinite", nil, rep("--speed", "Inf"), []string{"--speed +Inf"}},
		{"replay bot not a URL", nil, rep("--bot", "localhost:9442"), []string{`--bot "localhost:9442"`}},
		{"unknown global flag", nil, []string{"--verbose", "show", path}, []string{"unknown flag --verbose"}},
		{"global flag without value", nil, []string{"show", path, "--log-level"}, []string{"--log-level"}},
		{"ca-dir from environment is a file", []string{"GRAPHVCR_CA_DIR=" + aFile}, []string{"ca"}, []string{aFile}},
	}
	t.Cleanup(func() {
		if left, _ := filepath.Glob(filepath.Join(dir, "new-*.bolt")); len(left) > 0 {
			t.Errorf("refused commands left cassettes behind: %v", left)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: the environment of an in-process run is the
			// process's.
			r := graphvcr(t, tt.env, tt.args...)
			wantFailure(t, r, 2, tt.wants...)
		})
	}
}
