// Package har exports a cassette as a HAR 1.2 archive (HTTP Archive), the
// format browser developer tools, Charles and Fiddler open.
//
// HAR has no notion of a webhook: a notification Graph sent to the bot is
// an entry like any other (its request is Graph's POST, its response the
// bot's answer), with the comment "inbound notification (Graph → bot)".
// Fields HAR does not define carry a leading underscore, as the format
// asks: _seq, _kind, _trigger, _error, _abandoned and _bearer.
//
// HAR has no status for a request the client gave up on either. An
// exchange the bot abandoned is exported with the answer Graph gave (which
// the bot never saw), _abandoned set to when the bot gave up (milliseconds
// after the request, like HAR's times) and a comment saying so; when no
// answer was recorded (the upstream failed, or an older recorder stored a
// 502 of its own), the response is HAR's "no response": status 0.
//
// The martian/v3/har types are not used: that module is dormant and not a
// dependency of graphvcr; the few types below are what the format needs.
package har

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/graphvcr/graphvcr/cassette"
)

// notificationComment is the comment of every entry that is a notification.
const notificationComment = "inbound notification (Graph → bot)"

// httpVersion is what every entry claims: a cassette does not record the
// protocol version, and HAR viewers require one.
const httpVersion = "HTTP/1.1"

// startedLayout is ISO 8601 with milliseconds, as HAR 1.2 asks.
const startedLayout = "2006-01-02T15:04:05.000Z07:00"

// Write writes r as a HAR 1.2 log to w: one entry per event in sequence
// order, startedDateTime being when recording started plus the event's
// offset and time its latency (all of it spent waiting: a cassette does not
// split send and receive). Bodies are text when valid UTF-8; a binary
// response body is base64 with content.encoding "base64", a binary request
// body base64 with a comment saying so. Entries are written as they are
// read, so memory stays bounded however long the cassette.
func Write(w io.Writer, r *cassette.Reader) error {
	m := r.Meta()
	bw := bufio.NewWriter(w)
	version := m.Version
	if version == "" {
		version = "unknown"
	}
	creator, err := encode(creator{Name: "graphvcr", Version: version}, "    ")
	if err != nil {
		return fmt.Errorf("har: encode creator: %w", err)
	}
	// DevTools' importer iterates log.pages without checking that it
	// exists: the optional list is written, empty.
	fmt.Fprintf(bw, "{\n  \"log\": {\n    \"version\": \"1.2\",\n    \"creator\": %s,\n    \"pages\": [],\n    \"entries\": [", creator)
	n := 0
	err = r.Each(func(e *cassette.Event) error {
		b, err := encode(newEntry(m.Created, e), "      ")
		if err != nil {
			return fmt.Errorf("encode event %d: %w", e.Seq, err)
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString("\n      ")
		bw.Write(b)
		n++
		return nil
	})
	if err != nil {
		return fmt.Errorf("har: %w", err)
	}
	if n > 0 {
		bw.WriteString("\n    ")
	}
	bw.WriteString("]\n  }\n}\n")
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("har: write: %w", err)
	}
	return nil
}

// encode indents v as JSON at the given depth, leaving <, > and & as they
// are: a HAR file is read by tools, not embedded in HTML.
func encode(v any, prefix string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

type creator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type entry struct {
	StartedDateTime string   `json:"startedDateTime"`
	Time            float64  `json:"time"`
	Request         request  `json:"request"`
	Response        response `json:"response"`
	Cache           struct{} `json:"cache"`
	Timings         timings  `json:"timings"`
	Comment         string   `json:"comment,omitempty"`
	Seq             uint64   `json:"_seq"`
	Kind            string   `json:"_kind"`
	Trigger         uint64   `json:"_trigger,omitempty"`
	Error           string   `json:"_error,omitempty"`
	Abandoned       float64  `json:"_abandoned,omitempty"` // ms after the request; 0 when not abandoned
	Bearer          *bearer  `json:"_bearer,omitempty"`
}

type request struct {
	Method      string    `json:"method"`
	URL         string    `json:"url"`
	HTTPVersion string    `json:"httpVersion"`
	Cookies     []cookie  `json:"cookies"`
	Headers     []nameVal `json:"headers"`
	QueryString []nameVal `json:"queryString"`
	PostData    *postData `json:"postData,omitempty"`
	HeadersSize int       `json:"headersSize"`
	BodySize    int       `json:"bodySize"`
}

type response struct {
	Status      int       `json:"status"`
	StatusText  string    `json:"statusText"`
	HTTPVersion string    `json:"httpVersion"`
	Cookies     []cookie  `json:"cookies"`
	Headers     []nameVal `json:"headers"`
	Content     content   `json:"content"`
	RedirectURL string    `json:"redirectURL"`
	HeadersSize int       `json:"headersSize"`
	BodySize    int       `json:"bodySize"`
}

// cookie is never filled: redaction removes cookies before they are
// stored. HAR requires the (empty) list.
type cookie struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type nameVal struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type postData struct {
	MimeType string    `json:"mimeType"`
	Params   []nameVal `json:"params"`
	Text     string    `json:"text"`
	Comment  string    `json:"comment,omitempty"`
}

type content struct {
	Size     int    `json:"size"`
	MimeType string `json:"mimeType"`
	Text     string `json:"text,omitempty"`
	Encoding string `json:"encoding,omitempty"`
}

type timings struct {
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
}

type bearer struct {
	Header   map[string]string `json:"header,omitempty"`
	Claims   map[string]string `json:"claims,omitempty"`
	Lifetime string            `json:"lifetime,omitempty"`
	// Malformed is set when the Authorization header held no JWT.
	Malformed bool `json:"malformed,omitempty"`
}

func newEntry(created time.Time, e *cassette.Event) entry {
	ms := float64(e.Latency) / float64(time.Millisecond)
	en := entry{
		StartedDateTime: created.Add(e.Offset).Format(startedLayout),
		Time:            ms,
		Request:         newRequest(&e.Request),
		Response:        newResponse(&e.Response),
		Timings:         timings{Wait: ms},
		Seq:             e.Seq,
		Kind:            e.Kind.String(),
		Error:           e.Error,
	}
	if e.Kind == cassette.KindNotification {
		en.Comment = notificationComment
		en.Trigger = e.Trigger
	}
	if e.Abandoned > 0 {
		en.Abandoned = float64(e.Abandoned) / float64(time.Millisecond)
		abandoned := e.Abandoned.Round(time.Millisecond).String()
		if e.Error != "" {
			en.Response = newResponse(&cassette.Response{})
			en.Comment = "abandoned by the bot after " + abandoned + "; no answer was recorded"
		} else {
			en.Comment = "abandoned by the bot after " + abandoned + "; the response is what Graph answered after, which the bot never saw"
		}
	}
	if b := e.Bearer; b != nil {
		en.Bearer = &bearer{Header: b.Header, Claims: b.Claims, Malformed: b.Malformed}
		if b.Lifetime != 0 {
			en.Bearer.Lifetime = b.Lifetime.String()
		}
	}
	return en
}

func newRequest(r *cassette.Request) request {
	hr := request{
		Method:      r.Method,
		URL:         r.URL,
		HTTPVersion: httpVersion,
		Cookies:     []cookie{},
		Headers:     headers(r.Header),
		QueryString: []nameVal{},
		HeadersSize: -1,
		BodySize:    len(r.Body),
	}
	if u, err := url.Parse(r.URL); err == nil {
		// Pairs in the order they were sent, as viewers show them.
		for _, kv := range strings.Split(u.RawQuery, "&") {
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			hr.QueryString = append(hr.QueryString, nameVal{Name: unescape(k), Value: unescape(v)})
		}
	}
	if len(r.Body) > 0 {
		pd := &postData{MimeType: r.Header.Get("Content-Type"), Params: []nameVal{}}
		if utf8.Valid(r.Body) {
			pd.Text = string(r.Body)
		} else {
			pd.Text = base64.StdEncoding.EncodeToString(r.Body)
			pd.Comment = "binary body: text is base64"
		}
		hr.PostData = pd
	}
	return hr
}

func newResponse(r *cassette.Response) response {
	hr := response{
		Status:      r.Status,
		StatusText:  http.StatusText(r.Status),
		HTTPVersion: httpVersion,
		Cookies:     []cookie{},
		Headers:     headers(r.Header),
		HeadersSize: -1,
		BodySize:    len(r.Body),
		Content: content{
			Size:     len(r.Body),
			MimeType: r.Header.Get("Content-Type"),
		},
	}
	if r.Status == 0 {
		// No response arrived: HAR's convention for "no size known".
		hr.BodySize = -1
		hr.HTTPVersion = ""
	}
	if hr.Content.MimeType == "" {
		hr.Content.MimeType = "x-unknown"
	}
	if r.Status >= 300 && r.Status < 400 {
		hr.RedirectURL = r.Header.Get("Location")
	}
	if len(r.Body) > 0 {
		if utf8.Valid(r.Body) {
			hr.Content.Text = string(r.Body)
		} else {
			hr.Content.Text = base64.StdEncoding.EncodeToString(r.Body)
			hr.Content.Encoding = "base64"
		}
	}
	return hr
}

// headers lists h in name order (a map has none), values in recorded order.
func headers(h http.Header) []nameVal {
	out := []nameVal{}
	for _, k := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[k] {
			out = append(out, nameVal{Name: k, Value: v})
		}
	}
	return out
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
