package cassette

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"
)

// jsonEvent is the JSON form of an Event (EventJSON). Field order is the
// order keys appear in the output.
type jsonEvent struct {
	Seq       uint64       `json:"seq"`
	Kind      string       `json:"kind"`
	OffsetNS  int64        `json:"offset_ns"`
	Offset    string       `json:"offset"`
	LatencyNS int64        `json:"latency_ns"`
	Trigger   uint64       `json:"trigger"`
	Request   jsonRequest  `json:"request"`
	Response  jsonResponse `json:"response"`
	Error     string       `json:"error,omitempty"`
	// AbandonedNS and Abandoned are Event.Abandoned, left out when zero.
	AbandonedNS int64       `json:"abandoned_ns,omitempty"`
	Abandoned   string      `json:"abandoned,omitempty"`
	Bearer      *jsonBearer `json:"bearer,omitempty"`
}

type jsonRequest struct {
	Method       string      `json:"method"`
	URL          string      `json:"url"`
	Headers      http.Header `json:"headers,omitempty"`
	Body         string      `json:"body,omitempty"`
	BodyEncoding string      `json:"bodyEncoding,omitempty"`
}

type jsonResponse struct {
	Status       int         `json:"status"`
	Headers      http.Header `json:"headers,omitempty"`
	Body         string      `json:"body,omitempty"`
	BodyEncoding string      `json:"bodyEncoding,omitempty"`
}

type jsonBearer struct {
	Header     map[string]string `json:"header,omitempty"`
	Claims     map[string]string `json:"claims,omitempty"`
	LifetimeNS int64             `json:"lifetime_ns"`
	Lifetime   string            `json:"lifetime"`
	Malformed  bool              `json:"malformed,omitempty"`
}

// jsonBody returns a body as text when it is valid UTF-8, else as base64
// with the encoding "base64".
func jsonBody(b []byte) (body, encoding string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	return base64.StdEncoding.EncodeToString(b), "base64"
}

// EventJSON returns e as one JSON object (no trailing newline): seq, kind,
// offset_ns, offset (e.g. "1.5s"), latency_ns, trigger, request {method, url,
// headers, body, bodyEncoding}, response {status, headers, body,
// bodyEncoding}, error, abandoned_ns and abandoned (e.g. "400ms": when the
// bot gave up, from the request's arrival) and bearer {header, claims,
// lifetime_ns, lifetime, malformed}. A body is text when valid UTF-8, else base64 with
// "bodyEncoding":"base64". Empty headers, bodies, error, a zero abandoned
// and a nil bearer are left out. HTML characters are not escaped.
func EventJSON(e *Event) ([]byte, error) {
	var buf bytes.Buffer
	if err := encodeEventJSON(&buf, e); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// encodeEventJSON writes e's JSON object and a newline.
func encodeEventJSON(w io.Writer, e *Event) error {
	j := jsonEvent{
		Seq:       e.Seq,
		Kind:      e.Kind.String(),
		OffsetNS:  int64(e.Offset),
		Offset:    e.Offset.String(),
		LatencyNS: int64(e.Latency),
		Trigger:   e.Trigger,
		Request: jsonRequest{
			Method:  e.Request.Method,
			URL:     e.Request.URL,
			Headers: e.Request.Header,
		},
		Response: jsonResponse{
			Status:  e.Response.Status,
			Headers: e.Response.Header,
		},
		Error: e.Error,
	}
	if e.Abandoned > 0 {
		j.AbandonedNS, j.Abandoned = int64(e.Abandoned), e.Abandoned.String()
	}
	j.Request.Body, j.Request.BodyEncoding = jsonBody(e.Request.Body)
	j.Response.Body, j.Response.BodyEncoding = jsonBody(e.Response.Body)
	if b := e.Bearer; b != nil {
		j.Bearer = &jsonBearer{
			Header:     b.Header,
			Claims:     b.Claims,
			LifetimeNS: int64(b.Lifetime),
			Lifetime:   b.Lifetime.String(),
			Malformed:  b.Malformed,
		}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&j); err != nil {
		return fmt.Errorf("encode event %d: %w", e.Seq, err)
	}
	return nil
}

// WriteJSONL writes every event of r, in Seq order, as one EventJSON object
// per line. It streams: memory does not grow with the cassette.
func WriteJSONL(w io.Writer, r *Reader) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	err := r.Each(func(e *Event) error {
		return encodeEventJSON(bw, e)
	})
	if err != nil {
		return fmt.Errorf("write jsonl: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write jsonl: %w", err)
	}
	return nil
}
