package redact

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestThreadForms checks that one thread id gets one pseudonym wherever it
// is written: plain, in a URL path, percent-encoded in a joinWebUrl, and
// inside base64.
func TestThreadForms(t *testing.T) {
	const id = "19:meeting_MjQ5NmUyZTktNTU5Ni00ZDA4LWI1ZTAtZjc3MDA1NWM0OTRl@thread.v2"
	enc := strings.NewReplacer(":", "%3a", "@", "%40").Replace(id)
	b64 := base64.StdEncoding.EncodeToString([]byte(`{"threadId":"` + id + `"}`))
	r := New(nil)
	plain := r.Text(id)
	path := r.URL("https://graph.microsoft.com/v1.0/chats/" + id + "/messages")
	join := r.Text("https://teams.microsoft.com/l/meetup-join/" + enc + "/0?context=%7b%7d")
	inB64 := r.Text(b64)
	if plain != "19:meeting_c0ffee1@thread.v2" {
		t.Fatalf("plain: %q", plain)
	}
	if !strings.Contains(path, "/chats/"+plain+"/messages") {
		t.Errorf("path: %q, want it to hold %q", path, plain)
	}
	if want := strings.NewReplacer(":", "%3a", "@", "%40").Replace(plain); !strings.Contains(join, "/meetup-join/"+want+"/0") {
		t.Errorf("joinWebUrl: %q, want it to hold %q", join, want)
	}
	// An unpadded run is re-encoded unpadded, whatever its new length.
	dec, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(inB64, "="))
	if err != nil || !strings.Contains(string(dec), plain) {
		t.Errorf("base64: %q (%v), want it to hold %q", dec, err, plain)
	}
	for _, out := range []string{plain, path, join, inB64} {
		if again := r.Text(out); again != out {
			t.Errorf("not idempotent: %q -> %q", out, again)
		}
	}
}
