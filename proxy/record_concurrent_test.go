package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/graphvcr/graphvcr/redact"
)

// TestRecordConcurrentPseudonyms records exchanges from many clients at
// once, each with fresh ids in its URL, headers and bodies and ids shared
// with the others, and checks that every pseudonym any stored event holds
// is in the cassette's pseudonym set, however the concurrent redactions and
// group commits interleaved.
func TestRecordConcurrentPseudonyms(t *testing.T) {
	const clients, each = 16, 8
	// Distinct n, distinct GUID: ranges keep each kind of id apart.
	guid := func(n int64) string { return fmt.Sprintf("5a1e%04x-1b2c-4d3e-8f40-%012x", n%0x10000, n) }
	var ops atomic.Int64
	up := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		op := guid(1_000_000 + ops.Add(1))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "http://"+r.Host+r.URL.Path+"/operations/"+op)
		fmt.Fprintf(w, `{"id":%q,"shared":%q,"echo":%s}`, op, guid(10_007), body)
	}))
	s := newSession(t, sessionOptions{upstream: up})

	var wg sync.WaitGroup
	var n atomic.Int64
	for range clients {
		wg.Go(func() {
			for range each {
				i := n.Add(1)
				body := fmt.Sprintf(`{"clientContext":%q,"shared":%q}`, guid(i), guid(10_008))
				req, err := http.NewRequest(http.MethodPost,
					s.rec.URL()+"/v1.0/communications/calls/"+guid(20_000+i%3)+"/participants/invite", strings.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("client-request-id", guid(30_000+i))
				resp, err := s.client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d", resp.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	evs := s.events()
	if len(evs) != clients*each {
		t.Fatalf("%d events stored, want %d", len(evs), clients*each)
	}

	set := pseudonymSet(t, s.path)
	used := map[string]bool{}
	for _, ev := range evs {
		texts := []string{ev.Request.URL, string(ev.Request.Body), string(ev.Response.Body)}
		for _, h := range []http.Header{ev.Request.Header, ev.Response.Header} {
			for _, vs := range h {
				texts = append(texts, vs...)
			}
		}
		for _, text := range texts {
			for _, sp := range redact.FindIDs(text) {
				if sp.Form.IsGUID() && redact.IsPseudonym(text[sp.Start:sp.End]) {
					used[sp.Key] = true
				}
			}
		}
	}
	// 128 client contexts, 128 request ids, 128 operations, 3 calls, 2 shared.
	if want := clients*each*3 + 3 + 2; len(used) != want {
		t.Fatalf("events use %d distinct pseudonyms, want %d", len(used), want)
	}
	for p := range used {
		if !set[p] {
			t.Errorf("pseudonym %s is used by a stored event but missing from the cassette's set", p)
		}
	}
}
