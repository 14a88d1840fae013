package diff_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
	"github.com/graphvcr/graphvcr/cassette/diff"
)

const (
	graphHost = "https://graph.microsoft.com"
	botHost   = "https://bot1.example.invalid"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// pid is pseudonym number n, as redaction writes it.
func pid(n int) string { return fmt.Sprintf("c0ffee00-0000-4000-8000-%012d", n) }

func jsonHeader() http.Header { return http.Header{"Content-Type": {"application/json"}} }

func graph(offset time.Duration, method, path, body string, status int, resp string) *cassette.Event {
	ev := &cassette.Event{
		Kind: cassette.KindGraph, Offset: offset, Latency: ms(5),
		Request:  cassette.Request{Method: method, URL: graphHost + path, Header: jsonHeader()},
		Response: cassette.Response{Status: status, Header: jsonHeader(), Body: []byte(resp)},
	}
	if body != "" {
		ev.Request.Body = []byte(body)
	}
	return ev
}

func notification(offset time.Duration, trigger uint64, body string) *cassette.Event {
	return &cassette.Event{
		Kind: cassette.KindNotification, Offset: offset, Latency: ms(1), Trigger: trigger,
		Request:  cassette.Request{Method: "POST", URL: botHost + "/api/calls", Header: jsonHeader(), Body: []byte(body)},
		Response: cassette.Response{Status: 202},
	}
}

// session is a redacted invite session whose ids are numbered by first
// appearance from first: the tenant, the app, the call, the user, the
// operation.
func session(first int) []*cassette.Event {
	tenant, app, call, user, op := pid(first), pid(first+1), pid(first+2), pid(first+3), pid(first+4)
	callURL := "/v1.0/communications/calls/" + call
	return []*cassette.Event{
		{
			Kind: cassette.KindToken, Offset: ms(1), Latency: ms(40),
			Request: cassette.Request{Method: "POST", URL: "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token",
				Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
				Body:   []byte("client_id=" + app + "&client_secret=REDACTED&grant_type=client_credentials")},
			Response: cassette.Response{Status: 200, Header: jsonHeader(), Body: []byte(`{"token_type":"Bearer","access_token":"REDACTED"}`)},
		},
		graph(ms(50), "POST", "/v1.0/communications/calls",
			`{"callbackUri":"`+botHost+`/api/calls","tenantId":"`+tenant+`","source":{"identity":{"application":{"id":"`+app+`"}}}}`,
			201, `{"@odata.type":"#microsoft.graph.call","id":"`+call+`","state":"establishing"}`),
		notification(ms(400), 2, `{"value":[{"changeType":"updated","resource":"/communications/calls/`+call+`","resourceData":{"@odata.type":"#microsoft.graph.call","state":"established"}}]}`),
		graph(ms(450), "POST", callURL+"/participants/invite",
			`{"participants":[{"endpointType":"default","identity":{"user":{"id":"`+user+`","displayName":"Person 1"}}}],"clientContext":"ctx-1"}`,
			200, `{"@odata.type":"#microsoft.graph.inviteParticipantsOperation","id":"`+op+`","status":"running"}`),
		notification(ms(900), 4, `{"value":[{"changeType":"deleted","resource":"/communications/calls/`+call+`/operations/`+op+`","resourceData":{"@odata.type":"#microsoft.graph.inviteParticipantsOperation","status":"completed"}}]}`),
		notification(ms(1000), 4, `{"value":[{"changeType":"updated","resource":"/communications/calls/`+call+`/participants","resourceData":[{"@odata.type":"#microsoft.graph.participant","id":"`+user+`"}]}]}`),
		graph(ms(1200), "GET", callURL+"/participants?$top=10", "", 200, `{"value":[{"id":"`+user+`"}]}`),
		graph(ms(1500), "DELETE", callURL, "", 204, ""),
	}
}

// meta is the meta of every session the tests compare.
var meta = cassette.Meta{Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Version: "test", Upstream: graphHost}

// write stores events in a new cassette in the test's temp dir.
func write(t testing.TB, events []*cassette.Event) string {
	t.Helper()
	return cassettetest.WriteTemp(t, meta, events)
}

// compare writes both sessions and compares them.
func compare(t *testing.T, a, b []*cassette.Event, opts diff.Options) *diff.Result {
	t.Helper()
	res, err := diff.Files(write(t, a), write(t, b), opts)
	if err != nil {
		t.Fatalf("compare: %v", err)
	}
	return res
}

// found is a difference with the seqs of its row, as a test states it.
type found struct {
	seqA, seqB uint64 // 0 where the row has no event
	diff.Difference
}

func (f found) String() string {
	return fmt.Sprintf("A#%d B#%d %s %s %s: %q → %q", f.seqA, f.seqB, f.Kind, f.Where, f.Field, f.A, f.B)
}

// differences lists every difference of res in the order of the session.
func differences(res *diff.Result) []found {
	var out []found
	for _, c := range res.Calls {
		for _, row := range c.Rows {
			for _, d := range row.Differences {
				f := found{Difference: d}
				if row.A != nil {
					f.seqA = row.A.Seq
				}
				if row.B != nil {
					f.seqB = row.B.Seq
				}
				out = append(out, f)
			}
		}
	}
	return out
}

func dump(fs []found) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("\n  " + f.String())
	}
	return b.String()
}

// clone copies events deeply enough to change one without the other.
func clone(events []*cassette.Event) []*cassette.Event {
	out := make([]*cassette.Event, len(events))
	for i, e := range events {
		c := *e
		c.Request.Body = append([]byte(nil), e.Request.Body...)
		c.Response.Body = append([]byte(nil), e.Response.Body...)
		out[i] = &c
	}
	return out
}

// arriveSwapped makes events i and j of a session arrive in the other
// order: they trade places and arrival times, so the later one now comes
// first both in the cassette and on the clock.
func arriveSwapped(events []*cassette.Event, i, j int) {
	events[i], events[j] = events[j], events[i]
	events[i].Offset, events[j].Offset = events[j].Offset, events[i].Offset
}
