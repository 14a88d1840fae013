package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
)

// realCorpusDir holds bodies of real Graph cloud-communications traffic
// written by others (see its README.md).
const realCorpusDir = "../../redact/testdata/real"

// corpusBody is one file of the real corpus: a header of "key: value"
// lines, an empty line, then the body exactly as published.
type corpusBody struct {
	file      string
	source    string
	direction string // "graph" or "notification"
	method    string
	url       string // as written in the source: absolute, or a path
	which     string // "request" or "response"
	status    int    // the documented status of a graph exchange; 0 if none
	exchange  string
	body      []byte
}

// corpusExchange is what the test sends: a graph exchange (request body,
// answer from the upstream) or one notification.
type corpusExchange struct {
	name      string
	direction string
	method    string
	url       string
	status    int
	req, resp *corpusBody
}

// loadCorpus reads every body of dir and groups them into exchanges, in
// file-name order; a malformed file fails the test (a harness error, not a
// leak).
func loadCorpus(t *testing.T, dir string) ([]*corpusBody, []*corpusExchange) {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.re[qs]*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var bodies []*corpusBody
	byName := map[string]*corpusExchange{}
	var order []*corpusExchange
	for _, n := range names {
		b, err := parseCorpusBody(n)
		if err != nil {
			t.Fatalf("corpus: %v", err)
		}
		bodies = append(bodies, b)
		ex := byName[b.exchange]
		if ex == nil {
			ex = &corpusExchange{name: b.exchange, direction: b.direction, method: b.method, url: b.url, status: b.status}
			byName[b.exchange] = ex
			order = append(order, ex)
		}
		if ex.direction != b.direction || ex.method != b.method || ex.url != b.url {
			t.Fatalf("corpus: %s: exchange %s has bodies that disagree on direction, method or url", n, b.exchange)
		}
		switch b.which {
		case "request":
			ex.req = b
		case "response":
			if b.direction != "graph" {
				t.Fatalf("corpus: %s: a notification's response body is not part of the corpus format", n)
			}
			ex.resp = b
		}
	}
	return bodies, order
}

// parseCorpusBody reads one corpus file.
func parseCorpusBody(path string) (*corpusBody, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	head, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return nil, fmt.Errorf("%s: no empty line after the header", path)
	}
	b := &corpusBody{file: filepath.Base(path), body: bytes.TrimSuffix(body, []byte("\n"))}
	for _, line := range strings.Split(string(head), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			return nil, fmt.Errorf("%s: header line %q is not \"key: value\"", path, line)
		}
		switch k {
		case "source":
			b.source = v
		case "direction":
			b.direction = v
		case "method":
			b.method = v
		case "url":
			b.url = v
		case "body":
			b.which = v
		case "status":
			if b.status, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("%s: status %q is not a number", path, v)
			}
		case "exchange":
			b.exchange = v
		default:
			return nil, fmt.Errorf("%s: unknown header key %q", path, k)
		}
	}
	switch {
	case b.source == "" || b.exchange == "" || b.method == "" || b.url == "":
		return nil, fmt.Errorf("%s: source, exchange, method and url are required", path)
	case b.direction != "graph" && b.direction != "notification":
		return nil, fmt.Errorf("%s: direction %q, want graph or notification", path, b.direction)
	case b.which != "request" && b.which != "response":
		return nil, fmt.Errorf("%s: body %q, want request or response", path, b.which)
	case len(bytes.TrimSpace(b.body)) == 0:
		return nil, fmt.Errorf("%s: empty body", path)
	}
	return b, nil
}

// graphPath turns a request line's URL as documented ("https://graph.microsoft.com/beta/...",
// "/communications/calls/{id}", with spaces in $filter) into a path and
// query a client can send; version is used when the URL names none.
func graphPath(raw, version string) string {
	p := raw
	if i := strings.Index(p, "://"); i >= 0 {
		p = p[i+3:]
		if j := strings.IndexByte(p, '/'); j >= 0 {
			p = p[j:]
		} else {
			p = "/"
		}
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	if !strings.HasPrefix(p, "/v1.0/") && !strings.HasPrefix(p, "/beta/") {
		p = "/" + version + p
	}
	return strings.ReplaceAll(p, " ", "%20")
}

// corpusUpstream answers each Graph request with its exchange's corpus
// response, found by the X-Corpus-Exchange header the test sets (a file
// name: nothing to redact in it). It remembers which exchanges it saw, so
// the test knows every request really went through the recorder.
type corpusUpstream struct {
	byName map[string]*corpusExchange
	mu     sync.Mutex
	seen   map[string]bool
}

func (u *corpusUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	ex := u.byName[r.Header.Get("X-Corpus-Exchange")]
	if ex == nil {
		http.Error(w, "no such corpus exchange", http.StatusTeapot)
		return
	}
	u.mu.Lock()
	u.seen[ex.name] = true
	u.mu.Unlock()
	status := ex.status
	if status == 0 {
		status = http.StatusOK
	}
	if ex.resp != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	if ex.resp != nil && status != http.StatusNoContent && status != http.StatusNotModified {
		w.Write(ex.resp.body)
	}
}

// TestRealCorpus records every body of the real corpus through "graphvcr
// record" (an upstream and a bot on loopback, requests through the graph
// listener, notifications through the notify listener), exports the
// cassette as HAR and jsonl, and fails for every identifier of the corpus
// that survives anywhere in the cassette or the exports. What counts as an
// identifier is decided here, by corpusIDs, independently of package
// redact. Run it alone with
//
//	go test ./cmd/graphvcr -run TestRealCorpus -v
func TestRealCorpus(t *testing.T) {
	bodies, exchanges := loadCorpus(t, realCorpusDir)
	if len(bodies) < 150 {
		t.Fatalf("corpus has %d bodies, want at least 150", len(bodies))
	}

	// The oracle: every identifier of the corpus, by kind. Graph request
	// URLs carry identifiers too (call ids, $filter on joinWebUrl).
	var texts []corpusText
	for _, b := range bodies {
		texts = append(texts, corpusText{file: b.file, data: b.body})
		texts = append(texts, corpusText{file: b.file, data: []byte(b.url)})
	}
	ids := corpusIDs(texts)
	counts := map[idKind]int{}
	for _, id := range ids {
		counts[id.kind]++
	}
	var table strings.Builder
	fmt.Fprintf(&table, "identifiers in %d corpus bodies (%d exchanges), by kind:", len(bodies), len(exchanges))
	for _, k := range allKinds {
		fmt.Fprintf(&table, "\n  %-12s %4d", k, counts[k])
	}
	t.Log(table.String())

	// The oracle must find every identifier in the corpus itself: a finder
	// that cannot see them in the originals proves nothing about the cassette.
	original := newHaystack()
	for _, tx := range texts {
		original.add(tx.file, tx.data)
	}
	for _, id := range ids {
		if len(original.find(id)) == 0 {
			t.Fatalf("harness: %s %s (from %s) not found in the corpus it came from", id.kind, mask(id.value), id.file)
		}
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "real.bolt")
	up := &corpusUpstream{byName: map[string]*corpusExchange{}, seen: map[string]bool{}}
	for _, ex := range exchanges {
		up.byName[ex.name] = ex
	}
	upstream := httptest.NewServer(up)
	t.Cleanup(upstream.Close)
	var botMu sync.Mutex
	botGot := map[string]bool{}
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		botMu.Lock()
		botGot[r.Header.Get("X-Corpus-Exchange")] = true
		botMu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(bot.Close)

	p, graph, notify := startRecordTo(t, upstream.URL, bot.URL, path, nil)

	client := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var graphSent, notifySent int
	for _, ex := range exchanges {
		var body io.Reader = http.NoBody
		if ex.req != nil {
			body = bytes.NewReader(ex.req.body)
		}
		var target string
		if ex.direction == "graph" {
			version := "v1.0"
			if strings.Contains(ex.name, "-beta-") {
				version = "beta"
			}
			target = graph + graphPath(ex.url, version)
			graphSent++
		} else {
			u, err := url.Parse(ex.url)
			if err != nil {
				t.Fatalf("harness: %s: notification url %q: %v", ex.name, ex.url, err)
			}
			target = notify + u.EscapedPath()
			notifySent++
		}
		req, err := http.NewRequestWithContext(t.Context(), ex.method, target, body)
		if err != nil {
			t.Fatalf("harness: %s: %v", ex.name, err)
		}
		req.Header.Set("X-Corpus-Exchange", ex.name)
		if ex.req != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("harness: %s %s: %v", ex.method, target, err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := http.StatusAccepted
		if ex.direction == "graph" {
			if want = ex.status; want == 0 {
				want = http.StatusOK
			}
		}
		if resp.StatusCode != want {
			t.Fatalf("harness: %s: status %d, want %d: %.200s", ex.name, resp.StatusCode, want, got)
		}
		if ex.direction == "graph" && ex.resp != nil && want != http.StatusNoContent && !bytes.Equal(got, ex.resp.body) {
			t.Fatalf("harness: %s: the bot was not relayed the upstream's answer", ex.name)
		}
	}
	if r := p.interrupt(); r.code != 0 {
		t.Fatalf("harness: record exited %d: %s", r.code, r.stderr)
	}
	up.mu.Lock()
	botMu.Lock()
	defer up.mu.Unlock()
	defer botMu.Unlock()
	for _, ex := range exchanges {
		if ex.direction == "graph" && !up.seen[ex.name] {
			t.Fatalf("harness: upstream never received %s", ex.name)
		}
		if ex.direction == "notification" && !botGot[ex.name] {
			t.Fatalf("harness: bot never received %s", ex.name)
		}
	}

	// Everything the cassette and its exports hold.
	stored := newHaystack()
	r, err := cassette.Open(path)
	if err != nil {
		t.Fatalf("harness: open cassette: %v", err)
	}
	n := 0
	err = r.Each(func(e *cassette.Event) error {
		n++
		addEvent(stored, "cassette", e)
		return nil
	})
	meta := r.Meta()
	stored.add("cassette meta", []byte(fmt.Sprintf("%+v", meta)))
	r.Close()
	if err != nil {
		t.Fatalf("harness: read cassette: %v", err)
	}
	if n != graphSent+notifySent {
		t.Fatalf("harness: cassette holds %d events, want %d (%d graph, %d notifications)", n, graphSent+notifySent, graphSent, notifySent)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stored.add("cassette file (raw bytes)", raw)
	for _, format := range []string{"har", "jsonl"} {
		out := filepath.Join(dir, "export."+format)
		if r := graphvcr(t, nil, "export", path, "--format", format, "--output", out); r.code != 0 {
			t.Fatalf("harness: export --format %s exited %d: %s", format, r.code, r.stderr)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range bytes.Split(data, []byte("\n")) {
			if format == "jsonl" {
				stored.add(fmt.Sprintf("export jsonl line %d", i+1), line)
			}
		}
		if format == "har" {
			var doc struct {
				Log struct{ Entries []json.RawMessage }
			}
			if err := json.Unmarshal(data, &doc); err != nil || len(doc.Log.Entries) != n {
				t.Fatalf("harness: export har: %d entries for %d events (%v)", len(doc.Log.Entries), n, err)
			}
			for i, e := range doc.Log.Entries {
				stored.add(fmt.Sprintf("export har entry %d", i+1), e)
			}
			stored.add("export har (whole file)", data)
		}
	}

	// Each surviving identifier, once, with where it was seen.
	leaks := map[idKind][]string{}
	for _, id := range ids {
		where := stored.find(id)
		if len(where) == 0 {
			continue
		}
		more := ""
		if len(where) > 3 {
			more = fmt.Sprintf(" and %d more places", len(where)-3)
			where = where[:3]
		}
		leaks[id.kind] = append(leaks[id.kind], fmt.Sprintf("%s %q (corpus %s) survives in %s%s", id.kind, mask(id.value), id.file, strings.Join(where, "; "), more))
	}
	var summary strings.Builder
	total := 0
	for _, k := range allKinds {
		total += len(leaks[k])
		if len(leaks[k]) > 0 {
			fmt.Fprintf(&summary, "\n  %-12s %d of %d survive", k, len(leaks[k]), counts[k])
		}
	}
	for _, k := range allKinds {
		for _, l := range leaks[k] {
			t.Errorf("leak: %s", l)
		}
	}
	if total > 0 {
		t.Errorf("%d of %d corpus identifiers survive recording and export:%s", total, len(ids), summary.String())
	}
}

// addEvent adds every field of e to h, each under a name saying where it is.
func addEvent(h *haystack, file string, e *cassette.Event) {
	at := func(field string) string { return fmt.Sprintf("%s event %d %s", file, e.Seq, field) }
	h.add(at("request.url"), []byte(e.Request.URL))
	h.add(at("request.method"), []byte(e.Request.Method))
	for k, vs := range e.Request.Header {
		h.add(at("request.header "+k), []byte(k+": "+strings.Join(vs, ", ")))
	}
	h.add(at("request.body"), e.Request.Body)
	for k, vs := range e.Response.Header {
		h.add(at("response.header "+k), []byte(k+": "+strings.Join(vs, ", ")))
	}
	h.add(at("response.body"), e.Response.Body)
	h.add(at("error"), []byte(e.Error))
	if b := e.Bearer; b != nil {
		for k, v := range b.Header {
			h.add(at("bearer.header "+k), []byte(v))
		}
		for k, v := range b.Claims {
			h.add(at("bearer.claim "+k), []byte(v))
		}
	}
}
