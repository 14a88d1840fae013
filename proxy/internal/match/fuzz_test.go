package match

import (
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
)

// FuzzMatchTemplate feeds arbitrary requests to the matcher: reducing one
// to a template is deterministic and never panics, a request always matches
// its own recording (first, then served again), and a request with another
// method never does.
func FuzzMatchTemplate(f *testing.F) {
	f.Add("POST", "/v1.0/communications/calls/"+p1+"/participants/invite", `{"participants":[{"identity":{"user":{"id":"`+live1+`"}}}],"clientContext":"abc"}`)
	f.Add("GET", "/beta/app/calls/"+p2Undash+"?$select=id&x="+livePhone, "")
	f.Add("POST", "/v1.0/x", `{"upn":"`+pEmail+`","n":1e400,"b":[true,null,{"\u0000":"\u0000i"}]}`)
	f.Add("PATCH", "%zz/?a=%", "not json {")
	f.Add("get", "/v1.0/communications/calls/{"+live1+"}/operations/28:"+live1Upper, `[1,2,"28:`+p1+`"]`)
	f.Fuzz(func(t *testing.T, method, rawURL, body string) {
		if method == "" {
			return
		}
		a := newTemplate(method, rawURL, []byte(body), nil)
		b := newTemplate(method, rawURL, []byte(body), nil)
		if a.key != b.key || len(a.values) != len(b.values) {
			t.Fatalf("two reductions of one request differ: %q vs %q", a.key, b.key)
		}
		for i := range a.values {
			if a.values[i] != b.values[i] {
				t.Fatalf("value %d differs: %+v vs %+v", i, a.values[i], b.values[i])
			}
		}

		m := newMatcher(pseudonymSet{})
		m.add(&Candidate{Seq: 1, Kind: cassette.KindGraph, Method: method, URL: rawURL, Status: 200}, []byte(body))
		shape := cassette.Shape(method, rawURL)
		for i, wantFirst := range []bool{true, false} {
			live := newTemplate(method, rawURL, []byte(body), nil)
			c, first := m.match(shape, &live, nil)
			if c == nil || c.Seq != 1 || first != wantFirst {
				t.Fatalf("match %d of the recorded request itself: candidate %v first %v, want seq 1 first %v (key %q)", i+1, c, first, wantFirst, live.key)
			}
		}
		other := method + "X"
		live := newTemplate(other, rawURL, []byte(body), nil)
		if c, _ := m.match(cassette.Shape(other, rawURL), &live, nil); c != nil {
			t.Fatalf("a %s request matched the recorded %s", other, method)
		}
	})
}
