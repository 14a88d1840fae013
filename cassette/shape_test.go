package cassette

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"
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

// TestIndexBucket checks the index bucket's contract (see the package doc):
// a new cassette has it, empty, so that older readers, which require it,
// open it; a cassette written before, with entries in it, still opens and
// reads the same.
func TestIndexBucket(t *testing.T) {
	w := newCassette(t, Meta{})
	for i := range 3 {
		if err := w.Append(t.Context(), sampleEvent(i, 10)); err != nil {
			t.Fatal(err)
		}
	}
	path := w.Path()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	boltFile(t, path, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketIndex)
		if b == nil {
			return errors.New("a new cassette has no index bucket: older readers refuse it")
		}
		if k, _ := b.Cursor().First(); k != nil {
			return fmt.Errorf("index bucket holds %q: it is no longer written", k)
		}
		// An entry as cassettes written before hold.
		key := binary.BigEndian.AppendUint64([]byte("POST /v1.0/communications/calls\x00"), 1)
		return b.Put(key, nil)
	})
	r := openReader(t, path)
	if r.Len() != 3 {
		t.Errorf("Len = %d with an old index entry, want 3", r.Len())
	}
	n := 0
	if err := r.EachHead(func(*Event) error { n++; return nil }); err != nil || n != 3 {
		t.Errorf("EachHead read %d heads (%v), want 3", n, err)
	}
}
