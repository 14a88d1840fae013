package redact

import (
	"net/http"
	"slices"
	"testing"
)

// TestHeaderQuietMatchesText checks that the shortcut Header takes for a
// value with nothing to find gives what Text gives, on values either side
// of the shortcut, including after the Redactor learned a host.
func TestHeaderQuietMatchesText(t *testing.T) {
	values := []string{
		"", "application/json", "application/json; charset=utf-8", "Mon, 30 Nov 2026 12:00:00 GMT",
		"kiota-go/1.0 graph-sdk-go/1.0", "gzip, deflate, br", "2048", "no-cache",
		"6c4e1b90-3d5f-4071-acbd-2e3f4a5b6c7d", "https://graph.microsoft.com/v1.0/communications/calls/57dab8b1-894c-409a-b240-bd8beae78896",
		"+12345678901", "heidi@contoso.com", "10.1.2.3", "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ4In0.c2ln",
		"VGhpcyBpcyBhIGJhc2U2NCBzdHJpbmcgb2YgYSBndWlk", "a%20b", "bot.contoso.example", "see bot.contoso.example/api",
	}
	tests := []struct {
		name  string
		learn string // a body redacted first, teaching the Redactor a host and a name
	}{
		{"fresh", ""},
		{"learned", `{"callbackUri":"https://bot.contoso.example/api/calls","displayName":"Heidi Steen"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			viaHeader, viaText := New(nil), New(nil)
			if tc.learn != "" {
				viaHeader.Body("application/json", []byte(tc.learn))
				viaText.Body("application/json", []byte(tc.learn))
			}
			for _, v := range values {
				got := viaHeader.Header(http.Header{"X-Value": {v}}).Get("X-Value")
				if want := viaText.Text(v); got != want {
					t.Errorf("Header value %q = %q, Text gives %q", v, got, want)
				}
			}
		})
	}
}

// TestHeaderValuesIndependent checks that the value lists of the copy Header
// returns do not share room: appending to one leaves the next intact.
func TestHeaderValuesIndependent(t *testing.T) {
	r := New(nil)
	got := r.Header(http.Header{"A": {"1"}, "B": {"2", "3"}, "C": {"4"}, "D": nil})
	got["A"] = append(got["A"], "x")
	got["B"] = append(got["B"], "y")
	if !slices.Equal(got["B"], []string{"2", "3", "y"}) || !slices.Equal(got["C"], []string{"4"}) {
		t.Fatalf("appending to one header changed another: %q", got)
	}
	if d, ok := got["D"]; !ok || d == nil || len(d) != 0 {
		t.Fatalf("nil value list: got %#v (present %v), want an empty list", d, ok)
	}
}
