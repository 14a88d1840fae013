package proxy

import (
	"net/http"
	"testing"
)

func TestURLRewriter(t *testing.T) {
	rw := newURLRewriter(
		"http://127.0.0.1:80", "http://127.0.0.1:9000",
		"https://login.microsoftonline.com/", "https://127.0.0.1:9000",
		"https://same", "https://same",
	)
	tests := []struct {
		name, in, want string
	}{
		{"context", `{"@odata.context":"http://127.0.0.1:80/v1.0/$metadata#calls/$entity"}`,
			`{"@odata.context":"http://127.0.0.1:9000/v1.0/$metadata#calls/$entity"}`},
		{"longer port untouched", `"http://127.0.0.1:8080/v1.0"`, `"http://127.0.0.1:8080/v1.0"`},
		{"longer host untouched", `https://login.microsoftonline.com.evil/x`, `https://login.microsoftonline.com.evil/x`},
		{"escaped solidus", `{"token_endpoint":"https:\/\/login.microsoftonline.com\/t\/oauth2\/v2.0\/token"}`,
			`{"token_endpoint":"https:\/\/127.0.0.1:9000\/t\/oauth2\/v2.0\/token"}`},
		{"end of text", `http://127.0.0.1:80`, `http://127.0.0.1:9000`},
		{"several", `a http://127.0.0.1:80/x b http://127.0.0.1:80?y`, `a http://127.0.0.1:9000/x b http://127.0.0.1:9000?y`},
		{"nothing", `{"id":"1"}`, `{"id":"1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			got, changed := rw.Bytes(in)
			if string(got) != tt.want {
				t.Errorf("Bytes = %s, want %s", got, tt.want)
			}
			if changed != (tt.in != tt.want) {
				t.Errorf("changed = %v", changed)
			}
			if string(in) != tt.in {
				t.Error("input modified")
			}
			if s := rw.String(tt.in); s != tt.want {
				t.Errorf("String = %s", s)
			}
		})
	}
}

func TestURLRewriterHeader(t *testing.T) {
	rw := newURLRewriter("http://up:1", "https://graph.microsoft.com")
	h := http.Header{"Location": {"http://up:1/v1.0/communications/calls/abc/operations/def"}, "Other": {"http://up:1"}}
	rw.Header(h)
	if got := h.Get("Location"); got != "https://graph.microsoft.com/v1.0/communications/calls/abc/operations/def" {
		t.Errorf("Location = %q", got)
	}
	if got := h.Get("Other"); got != "http://up:1" {
		t.Errorf("non-URL header rewritten: %q", got)
	}
	var zero urlRewriter
	if got, changed := zero.Bytes([]byte("http://up:1")); changed || string(got) != "http://up:1" {
		t.Error("zero rewriter changed something")
	}
}
