package cassette

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestEventJSON(t *testing.T) {
	ev := &Event{
		Seq: 7, Kind: KindNotification, Offset: 1500 * time.Millisecond, Latency: 3 * time.Millisecond, Trigger: 2,
		Request: Request{Method: "POST", URL: "https://bot/api/calls?a=1&b=<2>",
			Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"value":[]}`)},
		Response: Response{Status: 202, Body: []byte{0xff, 0x00, 'a'}},
		Error:    "",
		Bearer:   &Bearer{Header: map[string]string{"alg": "RS256"}, Claims: map[string]string{"iss": "https://graph.microsoft.com"}, Lifetime: time.Hour},
	}
	b, err := EventJSON(ev)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasSuffix(b, []byte("\n")) || !strings.Contains(string(b), "b=<2>") {
		t.Errorf("EventJSON = %s: want no newline and no HTML escaping", b)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"seq": 7.0, "kind": "notification", "offset_ns": 1.5e9, "offset": "1.5s", "latency_ns": 3e6, "trigger": 2.0,
		"request": map[string]any{"method": "POST", "url": "https://bot/api/calls?a=1&b=<2>",
			"headers": map[string]any{"Content-Type": []any{"application/json"}}, "body": `{"value":[]}`},
		"response": map[string]any{"status": 202.0, "body": "/wBh", "bodyEncoding": "base64"},
		"bearer": map[string]any{"header": map[string]any{"alg": "RS256"}, "claims": map[string]any{"iss": "https://graph.microsoft.com"},
			"lifetime_ns": 3.6e12, "lifetime": "1h0m0s"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("EventJSON =\n%v\nwant\n%v", got, want)
	}

	ev.Error, ev.Bearer = "timeout", nil
	b, _ = EventJSON(ev)
	got = nil
	json.Unmarshal(b, &got)
	if got["error"] != "timeout" || got["bearer"] != nil || got["abandoned"] != nil || got["abandoned_ns"] != nil {
		t.Errorf("error/bearer/abandoned: %s", b)
	}

	ev.Error, ev.Abandoned = "", 400*time.Millisecond
	b, _ = EventJSON(ev)
	got = nil
	json.Unmarshal(b, &got)
	if got["abandoned"] != "400ms" || got["abandoned_ns"] != float64(4e8) {
		t.Errorf("abandoned: %s", b)
	}
}

func TestWriteJSONL(t *testing.T) {
	w := newCassette(t, Meta{})
	for i := range 3 {
		if err := w.Append(t.Context(), sampleEvent(i, 20)); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	r := openReader(t, w.Path())
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	for i, line := range lines {
		ev, _ := r.Event(uint64(i + 1))
		want, _ := EventJSON(ev)
		if line != string(want) {
			t.Errorf("line %d = %s, want EventJSON %s", i+1, line, want)
		}
	}
}
