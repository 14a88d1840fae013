package har_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/cassette/har"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with the current output")

const (
	tenant    = "c0ffee00-0000-4000-8000-000000000001"
	appID     = "c0ffee00-0000-4000-8000-000000000002"
	call      = "c0ffee00-0000-4000-8000-000000000003"
	op        = "c0ffee00-0000-4000-8000-000000000004"
	callU     = "C0FFEE00000040008000000000000003"
	failedOpU = "C0FFEE00000040008000000000000008"
	graph     = "https://graph.microsoft.com"
	bot       = "https://bot1.example.invalid"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func jsonHeader(kv ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// sampleEvents is a redacted session: a token exchange (a form body), a
// call created and established, an invite and its operation polled (a
// query string), the invite completing, a PSTN invite that fails (the
// notification's body invalid JSON, as in the seed), a binary answer, and a
// transport error.
func sampleEvents() []*cassette.Event {
	notify := func(offset time.Duration, trigger uint64, body string) *cassette.Event {
		return &cassette.Event{
			Kind: cassette.KindNotification, Offset: offset, Latency: ms(5), Trigger: trigger,
			Request: cassette.Request{
				Method: "POST", URL: bot + "/api/calls",
				Header: jsonHeader("Authorization", "Bearer REDACTED"),
				Body:   []byte(body),
			},
			Response: cassette.Response{Status: 202, Header: http.Header{"Content-Length": {"0"}}},
			Bearer: &cassette.Bearer{
				Header:   map[string]string{"alg": "RS256", "typ": "JWT"},
				Claims:   map[string]string{"iss": "https://graph.microsoft.com", "aud": appID, "tid": tenant},
				Lifetime: time.Hour,
			},
		}
	}
	return []*cassette.Event{
		{
			Kind: cassette.KindToken, Latency: ms(182),
			Request: cassette.Request{
				Method: "POST", URL: "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token",
				Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
				Body:   []byte("client_id=" + appID + "&client_secret=REDACTED&grant_type=client_credentials&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
			},
			Response: cassette.Response{Status: 200, Header: jsonHeader(), Body: []byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"REDACTED"}`)},
		},
		{
			Kind: cassette.KindGraph, Offset: ms(310), Latency: ms(412),
			Request: cassette.Request{
				Method: "POST", URL: graph + "/v1.0/communications/calls",
				Header: jsonHeader("Authorization", "Bearer REDACTED"),
				Body:   []byte(`{"@odata.type":"#microsoft.graph.call","callbackUri":"` + bot + `/api/calls","requestedModalities":["audio"]}`),
			},
			Response: cassette.Response{Status: 201, Header: jsonHeader("Location", graph+"/v1.0/communications/calls/"+call),
				Body: []byte(`{"@odata.type":"#microsoft.graph.call","id":"` + call + `","state":"establishing"}`)},
		},
		notify(ms(1204), 2, `{"value":[{"changeType":"updated","resource":"/app/calls/`+call+`","resourceData":{"@odata.type":"#microsoft.graph.call","state":"established"}}]}`),
		{
			Kind: cassette.KindGraph, Offset: ms(2050), Latency: ms(298),
			Request: cassette.Request{
				Method: "POST", URL: graph + "/v1.0/communications/calls/" + call + "/participants/invite",
				Header: jsonHeader("Authorization", "Bearer REDACTED"),
				Body:   []byte(`{"participants":[{"@odata.type":"#microsoft.graph.invitationParticipantInfo","identity":{"user":{"id":"c0ffee00-0000-4000-8000-000000000006"}}}],"clientContext":"c0ffee00-0000-4000-8000-000000000007"}`),
			},
			Response: cassette.Response{Status: 200, Header: jsonHeader("Location", graph+"/v1.0/communications/calls/"+call+"/operations/"+op),
				Body: []byte(`{"@odata.type":"#microsoft.graph.inviteParticipantsOperation","id":"` + op + `","status":"Running"}`)},
		},
		{
			Kind: cassette.KindGraph, Offset: ms(2600), Latency: ms(95),
			Request: cassette.Request{
				Method: "GET", URL: graph + "/v1.0/communications/calls/" + call + "/operations/" + op + "?$select=status,resultInfo&x=a%20b",
				Header: http.Header{"Authorization": {"Bearer REDACTED"}},
			},
			Response: cassette.Response{Status: 200, Header: jsonHeader(), Body: []byte(`{"id":"` + op + `","status":"running"}`)},
		},
		notify(ms(3870), 4, `{"value":[{"changeType":"deleted","resource":"/app/calls/`+call+`/operations/`+op+`","resourceData":{"@odata.type":"#microsoft.graph.inviteParticipantsOperation","status":"completed"}}]}`),
		{
			Kind: cassette.KindGraph, Offset: ms(6000), Latency: ms(310),
			Request: cassette.Request{
				Method: "POST", URL: graph + "/beta/app/calls/" + callU + "/participants/invite",
				Header: jsonHeader("Authorization", "Bearer REDACTED"),
				Body:   []byte(`{"participants":[{"identity":{"phone":{"id":"+15550000001"}}}],"clientContext":"c0ffee00-0000-4000-8000-000000000007"}`),
			},
			Response: cassette.Response{Status: 200, Header: jsonHeader(), Body: []byte(`{"id":"` + failedOpU + `","status":"Running"}`)},
		},
		notify(ms(9214), 7, "{\n  \"value\": [\n    {\n      \"changeType\": \"deleted\",\n      \"resource\": \"/app/calls/"+callU+"/operations/"+failedOpU+"\",\n      \"resourceData\": {\n        \"status\": \"failed\",\n        \"resultInfo\": {\"code\": 500, \"subCode\": 0},\n      }\n    }\n  ]\n}"),
		{
			Kind: cassette.KindGraph, Offset: ms(9500), Latency: ms(40),
			Request:  cassette.Request{Method: "GET", URL: graph + "/v1.0/communications/calls/" + call + "/audio"},
			Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/octet-stream"}}, Body: []byte{0xff, 0x00, 0xfe, 'a'}},
		},
		{
			Kind: cassette.KindGraph, Offset: ms(9800), Latency: ms(1500),
			Request:  cassette.Request{Method: "DELETE", URL: graph + "/v1.0/communications/calls/" + call, Header: http.Header{"Authorization": {"Bearer REDACTED"}}},
			Response: cassette.Response{Status: 502},
			Error:    "read tcp 127.0.0.1:53211->192.0.2.7:443: read: connection reset by peer",
		},
	}
}

// writeCassette records events into a new cassette and opens it.
func writeCassette(t *testing.T, events []*cassette.Event) *cassette.Reader {
	t.Helper()
	meta := cassettetest.Meta
	meta.TokenUpstream = "" // the sample session was recorded without one
	return cassettetest.Open(t, cassettetest.WriteTemp(t, meta, events))
}

func writeHAR(t *testing.T, r *cassette.Reader) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := har.Write(&b, r); err != nil {
		t.Fatalf("har.Write: %v", err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	got := writeHAR(t, writeCassette(t, sampleEvents()))
	cassettetest.Golden(t, filepath.Join("testdata", "session.har.golden"), got, *update)
}

func TestValidHAR(t *testing.T) {
	tests := []struct {
		name   string
		events []*cassette.Event
	}{
		{"sample session", sampleEvents()},
		{"empty cassette", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := writeCassette(t, tt.events)
			out := writeHAR(t, r)
			var doc any
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatalf("HAR is not JSON: %v\n%s", err, out)
			}
			for _, p := range validateHAR(doc) {
				t.Error(p)
			}
			entries := doc.(map[string]any)["log"].(map[string]any)["entries"].([]any)
			if len(entries) != r.Len() {
				t.Errorf("%d entries, cassette holds %d events", len(entries), r.Len())
			}
		})
	}
}

func TestEntries(t *testing.T) {
	r := writeCassette(t, sampleEvents())
	var doc struct {
		Log struct {
			Version string
			Creator struct{ Name, Version string }
			Entries []struct {
				StartedDateTime string
				Time            float64
				Comment         string
				Seq             uint64 `json:"_seq"`
				Trigger         uint64 `json:"_trigger"`
				Error           string `json:"_error"`
				Bearer          *struct {
					Claims map[string]string
				} `json:"_bearer"`
				Request struct {
					Method, URL string
					QueryString []struct{ Name, Value string }
					PostData    *struct{ MimeType, Text string }
				}
				Response struct {
					Status  int
					Content struct {
						Size           int
						MimeType, Text string
						Encoding       string
					}
				}
				Timings struct{ Send, Wait, Receive float64 }
			}
		}
	}
	if err := json.Unmarshal(writeHAR(t, r), &doc); err != nil {
		t.Fatal(err)
	}
	e := doc.Log.Entries
	checks := []struct {
		name string
		got  any
		want any
	}{
		{"version", doc.Log.Version, "1.2"},
		{"creator", doc.Log.Creator.Name + " " + doc.Log.Creator.Version, "graphvcr v0.0.0-test"},
		{"started = created + offset, ms", e[2].StartedDateTime, "2025-03-04T09:30:01.204Z"},
		{"time = latency in ms", e[1].Time, 412.0},
		{"wait = latency", e[1].Timings.Wait, 412.0},
		{"notification comment", e[2].Comment, "inbound notification (Graph → bot)"},
		{"exchange has no comment", e[1].Comment, ""},
		{"trigger", e[5].Trigger, uint64(4)},
		{"seq", e[5].Seq, uint64(6)},
		{"bearer claims kept", e[2].Bearer.Claims["aud"], appID},
		{"form body as postData", e[0].Request.PostData.MimeType, "application/x-www-form-urlencoded"},
		{"query string decoded", fmt.Sprint(e[4].Request.QueryString), "[{$select status,resultInfo} {x a b}]"},
		{"invalid JSON body as recorded", e[7].Request.PostData != nil && bytes.Contains([]byte(e[7].Request.PostData.Text), []byte("},\n      }")), true},
		{"binary body base64", e[8].Response.Content.Encoding + " " + e[8].Response.Content.Text, "base64 " + base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0xfe, 'a'})},
		{"binary body size", e[8].Response.Content.Size, 4},
		{"GET has no postData", e[4].Request.PostData == nil, true},
		{"error kept", e[9].Error, "read tcp 127.0.0.1:53211->192.0.2.7:443: read: connection reset by peer"},
		{"error status", e[9].Response.Status, 502},
		{"no body: mimeType x-unknown", e[9].Response.Content.MimeType, "x-unknown"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %v, want %v", c.got, c.want)
			}
		})
	}
}

// validateHAR checks doc against the HAR 1.2 specification: every
// required field present with its type, times consistent. It returns the
// problems found.
func validateHAR(doc any) []string {
	v := &validator{}
	root := v.object(doc, "$")
	log := v.object(root["log"], "log")
	v.str(log, "log", "version")
	if log["version"] != "1.2" {
		v.fail("log.version = %v, want 1.2", log["version"])
	}
	creator := v.object(log["creator"], "log.creator")
	v.str(creator, "log.creator", "name")
	v.str(creator, "log.creator", "version")
	// Optional in HAR 1.2, but DevTools' importer needs the list.
	v.array(log["pages"], "log.pages")
	for i, raw := range v.array(log["entries"], "log.entries") {
		at := fmt.Sprintf("log.entries[%d]", i)
		e := v.object(raw, at)
		if s := v.str(e, at, "startedDateTime"); s != "" {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				v.fail("%s.startedDateTime %q is not ISO 8601: %v", at, s, err)
			}
		}
		total := v.num(e, at, "time")
		v.object(e["cache"], at+".cache")
		timings := v.object(e["timings"], at+".timings")
		sum := 0.0
		for _, k := range []string{"send", "wait", "receive"} {
			if n := v.num(timings, at+".timings", k); n >= 0 {
				sum += n
			} else {
				v.fail("%s.timings.%s = %v: must not be -1", at, k, n)
			}
		}
		for _, k := range []string{"blocked", "dns", "connect", "ssl"} {
			if _, ok := timings[k]; ok {
				if n := v.num(timings, at+".timings", k); n >= 0 {
					sum += n
				}
			}
		}
		if math.Abs(sum-total) > 1e-6 {
			v.fail("%s.time %v is not the sum of its timings %v", at, total, sum)
		}

		req := v.object(e["request"], at+".request")
		for _, k := range []string{"method", "url", "httpVersion"} {
			v.str(req, at+".request", k)
		}
		v.pairs(req["cookies"], at+".request.cookies")
		v.pairs(req["headers"], at+".request.headers")
		v.pairs(req["queryString"], at+".request.queryString")
		v.num(req, at+".request", "headersSize")
		v.num(req, at+".request", "bodySize")
		if pd, ok := req["postData"]; ok {
			p := v.object(pd, at+".request.postData")
			v.str(p, at+".request.postData", "mimeType")
			v.str(p, at+".request.postData", "text")
			for j, prm := range v.array(p["params"], at+".request.postData.params") {
				v.str(v.object(prm, fmt.Sprintf("%s.request.postData.params[%d]", at, j)), at+".request.postData.params", "name")
			}
		}

		res := v.object(e["response"], at+".response")
		v.num(res, at+".response", "status")
		for _, k := range []string{"statusText", "httpVersion", "redirectURL"} {
			v.str(res, at+".response", k)
		}
		v.pairs(res["cookies"], at+".response.cookies")
		v.pairs(res["headers"], at+".response.headers")
		v.num(res, at+".response", "headersSize")
		v.num(res, at+".response", "bodySize")
		c := v.object(res["content"], at+".response.content")
		v.num(c, at+".response.content", "size")
		v.str(c, at+".response.content", "mimeType")
		for _, k := range []string{"text", "encoding", "comment"} {
			if _, ok := c[k]; ok {
				v.str(c, at+".response.content", k)
			}
		}
		for k := range e {
			switch k {
			case "pageref", "startedDateTime", "time", "request", "response", "cache", "timings", "serverIPAddress", "connection", "comment":
			default:
				if k[0] != '_' {
					v.fail("%s.%s: custom fields must start with an underscore", at, k)
				}
			}
		}
	}
	return v.problems
}

type validator struct{ problems []string }

func (v *validator) fail(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

func (v *validator) object(x any, at string) map[string]any {
	m, ok := x.(map[string]any)
	if !ok {
		v.fail("%s: want an object, got %T", at, x)
		return map[string]any{}
	}
	return m
}

func (v *validator) array(x any, at string) []any {
	a, ok := x.([]any)
	if !ok {
		v.fail("%s: want an array, got %T", at, x)
	}
	return a
}

func (v *validator) str(m map[string]any, at, key string) string {
	s, ok := m[key].(string)
	if !ok {
		v.fail("%s.%s: want a string, got %T", at, key, m[key])
	}
	return s
}

func (v *validator) num(m map[string]any, at, key string) float64 {
	n, ok := m[key].(float64)
	if !ok {
		v.fail("%s.%s: want a number, got %T", at, key, m[key])
	}
	return n
}

// pairs checks a list of name/value objects (headers, cookies, query).
func (v *validator) pairs(x any, at string) {
	for i, raw := range v.array(x, at) {
		p := v.object(raw, fmt.Sprintf("%s[%d]", at, i))
		v.str(p, at, "name")
		v.str(p, at, "value")
	}
}

// TestAbandoned: an exchange the bot abandoned is exported with Graph's
// answer, _abandoned and a comment; one recorded by an older recorder as a
// 502 "canceled" has no response (status 0), never a 502.
func TestAbandoned(t *testing.T) {
	r := writeCassette(t, []*cassette.Event{
		{
			Kind: cassette.KindGraph, Offset: ms(310), Latency: ms(1500), Abandoned: ms(400),
			Request:  cassette.Request{Method: "POST", URL: graph + "/v1.0/communications/calls"},
			Response: cassette.Response{Status: 201, Header: jsonHeader(), Body: []byte(`{"id":"` + call + `"}`)},
		},
		{
			Kind: cassette.KindGraph, Offset: ms(2000), Latency: ms(300),
			Request:  cassette.Request{Method: "GET", URL: graph + "/v1.0/communications/calls/" + call},
			Response: cassette.Response{Status: 502, Body: []byte("graphvcr: canceled")},
			Error:    "canceled",
		},
	})
	var doc struct {
		Log struct {
			Entries []struct {
				Comment   string
				Abandoned float64 `json:"_abandoned"`
				Error     string  `json:"_error"`
				Response  struct {
					Status  int
					Content struct{ Text string }
				}
			}
		}
	}
	if err := json.Unmarshal(writeHAR(t, r), &doc); err != nil {
		t.Fatal(err)
	}
	e := doc.Log.Entries
	if len(e) != 2 {
		t.Fatalf("%d entries, want 2", len(e))
	}
	if e[0].Response.Status != 201 || e[0].Abandoned != 400 || e[0].Response.Content.Text == "" ||
		e[0].Comment != "abandoned by the bot after 400ms; the response is what Graph answered after, which the bot never saw" {
		t.Errorf("abandoned with an answer: %+v", e[0])
	}
	if e[1].Response.Status != 0 || e[1].Abandoned != 300 || e[1].Error != "canceled" || e[1].Response.Content.Text != "" ||
		e[1].Comment != "abandoned by the bot after 300ms; no answer was recorded" {
		t.Errorf("legacy abandoned: %+v", e[1])
	}
}
