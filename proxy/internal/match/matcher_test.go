package match

import (
	"bytes"
	"net/http"
	"slices"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
)

// TestMatcherAPI covers what the replayer asks a Matcher through its
// exported methods: Match binds, Generation moves only when a binding is
// new, Render applies the bindings after pre, MarkUsed marks once, and All
// lists matchable and offline exchanges in load order.
func TestMatcherAPI(t *testing.T) {
	m := New([]string{p1, p3})
	get := &Candidate{Seq: 1, Kind: cassette.KindGraph, Method: "GET", URL: "/v1.0/communications/calls/" + p1, Status: 200}
	token := &Candidate{Seq: 2, Kind: cassette.KindToken, Method: "POST", URL: "/tenant/oauth2/v2.0/token", Status: 200}
	m.Prepare(get, nil)
	m.Offline(token)
	m.Index(get)
	if got := m.All(); !slices.Equal(got, []*Candidate{get, token}) {
		t.Fatalf("All = %v, want the GET then the token exchange", got)
	}

	gen0 := m.Generation()
	c, first, _ := m.Match("GET", "/v1.0/communications/calls/"+live1, nil)
	if c != get || !first {
		t.Fatalf("Match = %v first %v, want seq 1 first", c, first)
	}
	gen1 := m.Generation()
	if gen1 == gen0 {
		t.Error("Generation did not move when p1 was bound")
	}
	if c, first, _ := m.Match("GET", "/v1.0/communications/calls/"+live1, nil); c != get || first {
		t.Errorf("second Match = %v first %v, want seq 1 served again", c, first)
	}
	if m.Generation() != gen1 {
		t.Error("Generation moved although no binding was new")
	}
	if c, _, key := m.Match("DELETE", "/v1.0/communications/calls/"+live1, nil); c != nil || key == "" {
		t.Errorf("unrecorded DELETE: %v, key %q; want no match and a key", c, key)
	}

	pre := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("https://up"), []byte("http://here")) }
	var body []byte
	var header http.Header
	gen := m.Render(pre, func(r Renderer) {
		body = r.Body([]byte(`{"@odata.context":"https://up/v1.0","id":"` + p1 + `","other":"` + p3 + `"}`))
		header = r.Header(http.Header{"Location": {"https://up/v1.0/communications/calls/" + p1}})
	})
	if want := `{"@odata.context":"http://here/v1.0","id":"` + live1 + `","other":"` + p3 + `"}`; string(body) != want {
		t.Errorf("rendered body\n%s, want\n%s", body, want)
	}
	if got, want := header.Get("Location"), "http://here/v1.0/communications/calls/"+live1; got != want {
		t.Errorf("rendered Location %q, want %q", got, want)
	}
	if gen != gen1 {
		t.Errorf("Render returned generation %d, want %d", gen, gen1)
	}

	if !m.MarkUsed(token) || m.MarkUsed(token) {
		t.Error("MarkUsed must report the first use only")
	}
}
