package cassette

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
)

func TestShape(t *testing.T) {
	tests := []struct {
		method, url, want string
	}{
		{"POST", "https://graph.microsoft.com/beta/app/calls/57DAB8B1894C409AB240BD8BEAE78896/participants/invite",
			"POST /beta/app/calls/{id}/participants/invite"},
		{"GET", "https://graph.microsoft.com/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896/operations/0fe0623f-d628-42ed-b4bd-8ac290072cc5",
			"GET /v1.0/communications/calls/{id}/operations/{id}"},
		{"post", "/v1.0/communications/calls/{57DAB8B1-894C-409A-B240-BD8BEAE78896}/participants/invite?$select=id",
			"POST /v1.0/communications/calls/{id}/participants/invite"},
		{"GET", "https://graph.microsoft.com/v1.0/communications/calls/c0ffee00-0000-4000-8000-000000000001/participants/28:8A34A46B-3D17-4AB6-8ECA-4EAFF4E8D8C5",
			"GET /v1.0/communications/calls/{id}/participants/{id}"},
		{"GET", "https://graph.microsoft.com/v1.0/users/8:orgid:8a34a46b-3d17-4ab6-8eca-4eaff4e8d8c5/presence",
			"GET /v1.0/users/{id}/presence"},
		{"GET", "https://graph.microsoft.com/v1.0/users/28%3A8a34a46b-3d17-4ab6-8eca-4eaff4e8d8c5",
			"GET /v1.0/users/{id}"},
		{"DELETE", "https://graph.microsoft.com/v1.0/communications/calls/12345/participants/678", "DELETE /v1.0/communications/calls/{id}/participants/{id}"},
		{"GET", "https://h/v1.0/phones/+12345678901/x", "GET /v1.0/phones/{id}/x"},
		{"GET", "https://h/v1.0/phones/4:+12345678901", "GET /v1.0/phones/{id}"},
		{"GET", "https://h/v1.0/chats/19:meeting_NjQ0@thread.v2/messages", "GET /v1.0/chats/{id}/messages"},
		{"POST", "https://login.microsoftonline.com/c0ffee00-0000-4000-8000-000000000003/oauth2/v2.0/token",
			"POST /{id}/oauth2/v2.0/token"},
		{"GET", "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
			"GET /common/v2.0/.well-known/openid-configuration"},
		{"POST", "https://bot1.example.invalid/api/calls", "POST /api/calls"},
		{"GET", "https://h", "GET /"},
		{"GET", "https://h/", "GET /"},
		{"GET", "https://h/a/?x=1#f", "GET /a/"},
		{"GET", "https://h/v1.0/me", "GET /v1.0/me"},
		{"GET", "https://h/v1.0/deadbeef", "GET /v1.0/deadbeef"}, // 8 hex letters are a word, not an id
		{"GET", "%zz/a/123?q", "GET %zz/a/{id}"},                 // unparsable URL: still shaped
		// Segments an id pattern matches although they start with a letter
		// or an escape: the pre-check before the patterns must let them through.
		{"GET", "https://h/v1.0/calls/abcdefab-abcd-4bcd-abcd-abcdefabcdef/x", "GET /v1.0/calls/{id}/x"},
		{"GET", "https://h/v1.0/users('8a34a46b-3d17-4ab6-8eca-4eaff4e8d8c5')", "GET /v1.0/{id}"},
		{"GET", "https://h/v1.0/phones/tel:+12345678901", "GET /v1.0/phones/{id}"},
		{"GET", "https://h/v1.0/phones/%2B12345678901", "GET /v1.0/phones/{id}"},
		{"GET", "https://h/v1.0/threads/tabcdefabcdefabcdefabcdefabcdef", "GET /v1.0/threads/tabcdefabcdefabcdefabcdefabcdef"},
	}
	for _, tc := range tests {
		t.Run(tc.method+" "+tc.url, func(t *testing.T) {
			if got := Shape(tc.method, tc.url); got != tc.want {
				t.Errorf("Shape = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCandidates(t *testing.T) {
	w := newCassette(t, Meta{})
	urls := []string{
		"https://graph.microsoft.com/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896/participants/invite",
		"https://graph.microsoft.com/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896",
		"https://graph.microsoft.com/v1.0/communications/calls/0fe0623f-d628-42ed-b4bd-8ac290072cc5/participants/invite",
		"https://graph.microsoft.com/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896/participants/inviteX",
		"https://graph.microsoft.com/v1.0/communications/calls/1/participants/invite?x=1",
	}
	for _, u := range urls {
		ev := sampleEvent(0, 1)
		ev.Request.URL = u
		if err := w.Append(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	get := sampleEvent(0, 1)
	get.Request.Method = "GET"
	get.Request.URL = urls[0]
	if err := w.Append(t.Context(), get); err != nil {
		t.Fatal(err)
	}
	w.Close()
	r := openReader(t, w.Path())
	tests := []struct {
		shape string
		want  []uint64
	}{
		{"POST /v1.0/communications/calls/{id}/participants/invite", []uint64{1, 3, 5}},
		{"POST /v1.0/communications/calls/{id}", []uint64{2}},
		{"POST /v1.0/communications/calls/{id}/participants/inviteX", []uint64{4}},
		{"GET /v1.0/communications/calls/{id}/participants/invite", []uint64{6}},
		{"POST /v1.0/communications/calls/{id}/participants", nil},
		{"POST /v1.0/communications/calls/{id}/participants/invit", nil},
		{"", nil},
	}
	for _, tc := range tests {
		t.Run(tc.shape, func(t *testing.T) {
			got, err := r.Candidates(tc.shape)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Candidates = %v, want %v", got, tc.want)
			}
		})
	}
	// Every event is a candidate of its own shape.
	if err := r.EachHead(func(e *Event) error {
		c, err := r.Candidates(Shape(e.Request.Method, e.Request.URL))
		if err != nil || !slices.Contains(c, e.Seq) {
			return fmt.Errorf("seq %d missing from its shape's candidates %v (%v)", e.Seq, c, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestIsIDSegmentPrecheck compares isIDSegment with the patterns alone on
// segments around the pre-check's edges (first byte, 32 bytes), so the
// shortcut never changes a Shape.
func TestIsIDSegmentPrecheck(t *testing.T) {
	patternsOnly := func(seg string) bool {
		if s, err := url.PathUnescape(seg); err == nil {
			seg = s
		}
		for _, re := range idSegment {
			if re.MatchString(seg) {
				return true
			}
		}
		return false
	}
	var segs []string
	for _, first := range []string{"a", "t", "tel:", "+", "0", "9", "%2B", "%30", "x", "(", "28:", "{"} {
		for _, rest := range []string{
			"", "1", "12345678901", "bcdefab-abcd-4bcd-abcd-abcdefabcdef", "abcdefabcdefabcdefabcdefabcdef",
			"abcdefabcdefabcdefabcdefabcdefab", "a34a46b-3d17-4ab6-8eca-4eaff4e8d8c5", "el:+12345678901",
			":meeting_NjQ0@thread.v2", "9:meeting_NjQ0@thread.v2", " (555) 123-4567",
		} {
			segs = append(segs, first+rest)
		}
	}
	for _, seg := range segs {
		if got, want := isIDSegment(seg), patternsOnly(seg); got != want {
			t.Errorf("isIDSegment(%q) = %v, the patterns say %v", seg, got, want)
		}
	}
}
