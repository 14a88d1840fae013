package cassette

import (
	"encoding/binary"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	events := []struct {
		name string
		ev   Event
	}{
		{"full graph exchange", Event{
			Kind: KindGraph, Offset: 1500 * time.Millisecond, Latency: 230 * time.Millisecond,
			Request: Request{Method: "POST", URL: "https://graph.microsoft.com/v1.0/communications/calls/c0ffee00-0000-4000-8000-000000000001/participants/invite",
				Header: http.Header{"Content-Type": {"application/json"}, "X-Multi": {"a", "b", ""}},
				Body:   []byte(`{"participants":[]}`)},
			Response: Response{Status: 200, Header: http.Header{"Location": {"https://graph.microsoft.com/v1.0/x"}},
				Body: []byte(`{"status":"running"}`)},
		}},
		{"binary and non-UTF-8 bodies", Event{
			Kind:     KindGraph,
			Request:  Request{Method: "PUT", URL: "https://h/x", Body: []byte{0, 0xff, 0xfe, '\n', 0x80}},
			Response: Response{Status: 201, Body: []byte{0xc3, 0x28, 0, 1, 2}},
		}},
		{"nil headers and bodies", Event{
			Kind:     KindGraph,
			Request:  Request{Method: "GET", URL: "https://h/nil"},
			Response: Response{Status: 204},
		}},
		{"empty non-nil headers and bodies", Event{
			Kind:     KindGraph,
			Request:  Request{Method: "GET", URL: "https://h/empty", Header: http.Header{}, Body: []byte{}},
			Response: Response{Status: 200, Header: http.Header{}, Body: []byte{}},
		}},
		{"header with nil and empty values", Event{
			Kind:    KindGraph,
			Request: Request{Method: "GET", URL: "https://h/v", Header: http.Header{"A": nil, "B": {}}},
		}},
		{"notification with bearer and trigger", Event{
			Kind: KindNotification, Offset: 3 * time.Second, Latency: 5 * time.Millisecond, Trigger: 1,
			Request: Request{Method: "POST", URL: "https://bot1.example.invalid/api/calls",
				Header: http.Header{"Authorization": {"Bearer REDACTED"}}, Body: []byte(`{"value":[]}`)},
			Response: Response{Status: 202},
			Bearer: &Bearer{Header: map[string]string{"alg": "RS256", "kid": "k1"},
				Claims:   map[string]string{"iss": "https://graph.microsoft.com", "aud": "c0ffee00-0000-4000-8000-000000000002"},
				Lifetime: time.Hour},
		}},
		{"malformed bearer with nil maps", Event{
			Kind: KindNotification, Request: Request{Method: "POST", URL: "https://bot/api"},
			Bearer: &Bearer{Malformed: true},
		}},
		{"transport error", Event{
			Kind: KindToken, Request: Request{Method: "POST", URL: "https://login.microsoftonline.com/x/oauth2/v2.0/token"},
			Response: Response{Status: 502}, Error: "connection reset by peer",
		}},
		{"abandoned by the bot, with Graph's answer", Event{
			Kind: KindGraph, Offset: 2 * time.Second, Latency: 1500 * time.Millisecond, Abandoned: 400 * time.Millisecond,
			Request:  Request{Method: "POST", URL: "https://graph.microsoft.com/v1.0/communications/calls"},
			Response: Response{Status: 201, Body: []byte(`{"id":"x"}`)},
		}},
		{"abandoned by the bot, then the upstream failed", Event{
			Kind: KindToken, Latency: 2 * time.Second, Abandoned: time.Second,
			Request:  Request{Method: "POST", URL: "https://login.microsoftonline.com/x/oauth2/v2.0/token"},
			Response: Response{Status: 502}, Error: "timeout",
		}},
		{"negative offset and huge values", Event{
			Kind: KindGraph, Offset: -time.Second, Latency: 1<<63 - 1, Trigger: 1<<64 - 1,
			Response: Response{Status: -1},
		}},
	}
	w := newCassette(t, Meta{Version: "v0.1.0", Upstream: "graph.microsoft.com", TokenUpstream: "login.microsoftonline.com",
		Created: time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)})
	for i, tc := range events {
		ev := tc.ev
		if err := w.Append(t.Context(), &ev, "c0ffee00-0000-4000-8000-000000000001", "Person 1"); err != nil {
			t.Fatal(err)
		}
		if ev.Seq != uint64(i+1) {
			t.Fatalf("%s: Seq = %d, want %d", tc.name, ev.Seq, i+1)
		}
		events[i].ev.Seq = ev.Seq
	}
	if w.Len() != len(events) {
		t.Fatalf("Writer.Len = %d, want %d", w.Len(), len(events))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := openReader(t, w.Path())

	if got, want := r.Meta(), (Meta{FormatVersion: 1, Version: "v0.1.0", Upstream: "graph.microsoft.com",
		TokenUpstream: "login.microsoftonline.com", Created: time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC), Swept: SweepPending}); !reflect.DeepEqual(got, want) {
		t.Errorf("Meta = %+v, want %+v", got, want)
	}
	if got, want := r.Pseudonyms(), []string{"Person 1", "c0ffee00-0000-4000-8000-000000000001"}; !slices.Equal(got, want) {
		t.Errorf("Pseudonyms = %q, want %q", got, want)
	}
	if r.Len() != len(events) || r.RequireEvents() != nil {
		t.Fatalf("Len = %d, RequireEvents = %v", r.Len(), r.RequireEvents())
	}

	for _, tc := range events {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Event(tc.ev.Seq)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tc.ev) {
				t.Errorf("Event(%d) =\n%#v\nwant\n%#v", tc.ev.Seq, *got, tc.ev)
			}
		})
	}

	t.Run("Each", func(t *testing.T) {
		var i int
		err := r.Each(func(e *Event) error {
			if !reflect.DeepEqual(*e, events[i].ev) {
				t.Errorf("Each #%d =\n%#v\nwant\n%#v", i, *e, events[i].ev)
			}
			i++
			return nil
		})
		if err != nil || i != len(events) {
			t.Fatalf("Each: %v after %d events", err, i)
		}
	})
	t.Run("EachHead leaves bodies nil", func(t *testing.T) {
		var i int
		err := r.EachHead(func(e *Event) error {
			want := events[i].ev
			want.Response.Body = nil
			if !reflect.DeepEqual(*e, want) {
				t.Errorf("EachHead #%d =\n%#v\nwant\n%#v", i, *e, want)
			}
			i++
			return nil
		})
		if err != nil || i != len(events) {
			t.Fatalf("EachHead: %v after %d events", err, i)
		}
	})
	t.Run("Each stops at fn's error", func(t *testing.T) {
		stop := errors.New("stop")
		var n int
		err := r.Each(func(*Event) error { n++; return stop })
		if err != stop || n != 1 {
			t.Fatalf("Each = %v after %d calls, want stop after 1", err, n)
		}
	})
	t.Run("unknown seq", func(t *testing.T) {
		for _, seq := range []uint64{0, uint64(len(events) + 1)} {
			if _, err := r.Event(seq); !errors.Is(err, ErrNotFound) {
				t.Errorf("Event(%d) = %v, want ErrNotFound", seq, err)
			}
		}
	})
	t.Run("events are copies", func(t *testing.T) {
		a, _ := r.Event(1)
		a.Response.Body[0] = 'X'
		a.Request.Header["Content-Type"][0] = "changed"
		b, _ := r.Event(1)
		if !reflect.DeepEqual(*b, events[0].ev) {
			t.Errorf("changing one Event changed the next read")
		}
	})
}

func TestEmptyCassette(t *testing.T) {
	w := newCassette(t, Meta{})
	w.Close()
	r := openReader(t, w.Path())
	if err := r.RequireEvents(); !errors.Is(err, ErrEmpty) {
		t.Errorf("RequireEvents = %v, want ErrEmpty", err)
	}
	if r.Meta().Created.IsZero() {
		t.Errorf("zero Meta.Created was not set to the creation time")
	}
	n := 0
	if err := r.Each(func(*Event) error { n++; return nil }); err != nil || n != 0 || r.Len() != 0 {
		t.Errorf("Each on empty = %v, %d calls, Len %d", err, n, r.Len())
	}
	if p := r.Pseudonyms(); len(p) != 0 {
		t.Errorf("Pseudonyms = %q", p)
	}
}

// TestDecodeTruncated checks that every prefix of a head fails to decode
// with an error rather than a panic or a wrong event, but the one that ends
// where heads of the first layout ended (before Abandoned): that is an
// event with Abandoned zero.
func TestDecodeTruncated(t *testing.T) {
	ev := sampleEvent(3, 10)
	ev.Bearer = &Bearer{Header: map[string]string{"alg": "RS256"}, Lifetime: time.Minute}
	ev.Abandoned = 1500 * time.Millisecond
	head := encodeHead(nil, ev)
	firstLayout := len(head) - len(binary.AppendVarint(nil, int64(ev.Abandoned)))
	for n := range len(head) {
		var got Event
		_, err := decodeHead(head[:n], &got)
		if n == firstLayout {
			if err != nil || got.Abandoned != 0 || got.Request.URL != ev.Request.URL {
				t.Fatalf("first-layout head: %v, Abandoned %s", err, got.Abandoned)
			}
			continue
		}
		if err == nil {
			t.Fatalf("decode of %d of %d bytes succeeded", n, len(head))
		}
	}
	var got Event
	if _, err := decodeHead(head, &got); err != nil {
		t.Fatal(err)
	}
	// Newer encodings are refused with ErrNewerVersion.
	head[0] = encodingVersion + 1
	if _, err := decodeHead(head, &got); !errors.Is(err, ErrNewerVersion) {
		t.Fatalf("newer encoding: %v, want ErrNewerVersion", err)
	}
}

func FuzzDecodeHead(f *testing.F) {
	f.Add(encodeHead(nil, sampleEvent(1, 5)))
	f.Add([]byte{1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev Event
		if _, err := decodeHead(b, &ev); err != nil {
			return
		}
		// A head that decodes re-encodes to a prefix of itself (trailing bytes are ignored).
		var re Event
		if _, err := decodeHead(encodeHead(nil, &ev), &re); err != nil {
			t.Fatalf("re-encoded head does not decode: %v", err)
		}
	})
}

// TestLegacyCanceledReadsAbandoned: recorders before Event.Abandoned stored
// an exchange the bot gave up on as a 502 with Error "canceled"; such an
// event, in the first head layout or not, reads as abandoned after its
// latency. Other failures and notifications read as stored.
func TestLegacyCanceledReadsAbandoned(t *testing.T) {
	canceled := func(kind Kind, status int, errText string, latency time.Duration) *Event {
		return &Event{Kind: kind, Latency: latency, Error: errText,
			Request:  Request{Method: "POST", URL: "https://graph.microsoft.com/v1.0/communications/calls"},
			Response: Response{Status: status, Body: []byte("graphvcr: " + errText)}}
	}
	tests := []struct {
		name string
		ev   *Event
		want time.Duration
	}{
		{"graph 502 canceled", canceled(KindGraph, 502, "canceled", 300*time.Millisecond), 300 * time.Millisecond},
		{"token 502 canceled, no latency", canceled(KindToken, 502, "canceled", 0), 1},
		{"graph reset", canceled(KindGraph, 502, "connection reset by peer", time.Second), 0},
		{"closed by graphvcr", canceled(KindGraph, 502, "canceled: graphvcr closed before the upstream answered", time.Second), 0},
		{"notification canceled", canceled(KindNotification, 502, "canceled", time.Second), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := encodeHead(nil, tt.ev)
			old := head[:len(head)-1] // Abandoned 0 is one byte: the first layout
			for _, h := range [][]byte{head, old} {
				var got Event
				if _, err := decodeHead(h, &got); err != nil {
					t.Fatal(err)
				}
				if got.Abandoned != tt.want || got.Error != tt.ev.Error || got.Response.Status != tt.ev.Response.Status {
					t.Errorf("%d-byte head: Abandoned %s error %q status %d; want Abandoned %s, the rest as stored",
						len(h), got.Abandoned, got.Error, got.Response.Status, tt.want)
				}
			}
		})
	}
}
