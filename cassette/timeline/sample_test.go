package timeline_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/cassette/cassettetest"
)

// Pseudonyms as redaction issues them: the ids of the seeds' invite
// scenario, numbered by first appearance.
const (
	tenant     = "c0ffee00-0000-4000-8000-000000000001"
	appID      = "c0ffee00-0000-4000-8000-000000000002"
	groupCall  = "c0ffee00-0000-4000-8000-000000000003"
	inviteOp   = "c0ffee00-0000-4000-8000-000000000004"
	p2pCall    = "c0ffee00-0000-4000-8000-000000000005"
	userID     = "c0ffee00-0000-4000-8000-000000000006"
	clientCtx  = "c0ffee00-0000-4000-8000-000000000007"
	groupCallU = "C0FFEE00000040008000000000000003" // the group call, undashed upper (legacy /app path)
	failedOpU  = "C0FFEE00000040008000000000000008"
	phone      = "+15550000001"
	botHost    = "https://bot1.example.invalid"
	graphHost  = "https://graph.microsoft.com"
)

func jsonHeader(extra ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	for i := 0; i+1 < len(extra); i += 2 {
		h.Add(extra[i], extra[i+1])
	}
	return h
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// notification is a commsNotifications POST to the bot's callback.
func notification(offset, latency time.Duration, trigger uint64, body string) *cassette.Event {
	return &cassette.Event{
		Kind:    cassette.KindNotification,
		Offset:  offset,
		Latency: latency,
		Trigger: trigger,
		Request: cassette.Request{
			Method: "POST",
			URL:    botHost + "/api/calls",
			Header: jsonHeader("Authorization", "Bearer REDACTED", "Client-Request-Id", "c0ffee00-0000-4000-8000-000000000009"),
			Body:   []byte(body),
		},
		Response: cassette.Response{Status: http.StatusAccepted, Header: http.Header{"Content-Length": {"0"}}},
		Bearer: &cassette.Bearer{
			Header:   map[string]string{"alg": "RS256", "kid": "c0ffee00-0000-4000-8000-000000000010", "typ": "JWT"},
			Claims:   map[string]string{"iss": "https://graph.microsoft.com", "aud": appID, "tid": tenant},
			Lifetime: time.Hour,
		},
	}
}

// sampleEvents is a redacted session of the seeds: a token exchange, a call
// created and established, an invite replacing a peer-to-peer call with
// its operation polled, completed, the roster updated and the replaced
// call terminated and deleted; then a PSTN invite on the legacy /app path
// that fails (the notification's body is invalid JSON, as in the seed), and
// a hang-up that meets a transport error.
func sampleEvents() []*cassette.Event {
	return []*cassette.Event{
		{ // 1
			Kind: cassette.KindToken, Offset: 0, Latency: ms(182),
			Request: cassette.Request{
				Method: "POST",
				URL:    "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token",
				Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
				Body:   []byte("client_id=" + appID + "&client_secret=REDACTED&grant_type=client_credentials&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default"),
			},
			Response: cassette.Response{
				Status: 200, Header: jsonHeader(),
				Body: []byte(`{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"REDACTED"}`),
			},
		},
		{ // 2
			Kind: cassette.KindGraph, Offset: ms(310), Latency: ms(412),
			Request: cassette.Request{
				Method: "POST", URL: graphHost + "/v1.0/communications/calls",
				Header: jsonHeader("Authorization", "Bearer REDACTED"),
				Body:   []byte(`{"@odata.type":"#microsoft.graph.call","callbackUri":"` + botHost + `/api/calls","requestedModalities":["audio"],"mediaConfig":{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig"},"tenantId":"` + tenant + `"}`),
			},
			Response: cassette.Response{
				Status: 201, Header: jsonHeader("Location", graphHost+"/v1.0/communications/calls/"+groupCall),
				Body: []byte(`{"@odata.type":"#microsoft.graph.call","id":"` + groupCall + `","state":"establishing","callbackUri":"` + botHost + `/api/calls"}`),
			},
		},
		notification(ms(1204), ms(4), 2, `{"@odata.type":"#microsoft.graph.commsNotifications","value":[{"@odata.type":"#microsoft.graph.commsNotification","changeType":"updated","resource":"/app/calls/`+groupCall+`","resourceUrl":"/communications/calls/`+groupCall+`","resourceData":{"@odata.type":"#microsoft.graph.call","state":"established"}}]}`), // 3
		{ // 4
			Kind: cassette.KindGraph, Offset: ms(2050), Latency: ms(298),
			Request: cassette.Request{
				Method: "POST", URL: graphHost + "/v1.0/communications/calls/" + groupCall + "/participants/invite",
				Header: jsonHeader("Authorization", "Bearer REDACTED"),
				Body:   []byte(`{"participants":[{"@odata.type":"#microsoft.graph.invitationParticipantInfo","replacesCallId":"` + p2pCall + `","identity":{"@odata.type":"#microsoft.graph.identitySet","user":{"@odata.type":"#microsoft.graph.identity","id":"` + userID + `","identityProvider":"AAD"}}}],"clientContext":"` + clientCtx + `"}`),
			},
			Response: cassette.Response{
				Status: 200, Header: jsonHeader("Location", graphHost+"/v1.0/communications/calls/"+groupCall+"/operations/"+inviteOp),
				Body: []byte(`{"@odata.type":"#microsoft.graph.inviteParticipantsOperation","id":"` + inviteOp + `","status":"Running","clientContext":"` + clientCtx + `","resultInfo":null}`),
			},
		},
		{ // 5
			Kind: cassette.KindGraph, Offset: ms(2600), Latency: ms(95),
			Request: cassette.Request{
				Method: "GET", URL: graphHost + "/v1.0/communications/calls/" + groupCall + "/operations/" + inviteOp,
				Header: http.Header{"Authorization": {"Bearer REDACTED"}},
			},
			Response: cassette.Response{
				Status: 200, Header: jsonHeader(),
				Body: []byte(`{"@odata.type":"#microsoft.graph.inviteParticipantsOperation","id":"` + inviteOp + `","status":"running"}`),
			},
		},
		notification(ms(3870), ms(6), 4, `{"@odata.type":"#microsoft.graph.commsNotifications","value":[{"@odata.type":"#microsoft.graph.commsNotification","changeType":"deleted","resource":"/app/calls/`+groupCall+`/operations/`+inviteOp+`","resourceUrl":"/communications/calls/`+groupCall+`/operations/`+inviteOp+`","resourceData":{"@odata.type":"#microsoft.graph.inviteParticipantsOperation","status":"completed","clientContext":"`+clientCtx+`","id":"`+inviteOp+`"}}]}`),                                                                                                                       // 6
		notification(ms(3910), ms(5), 4, `{"@odata.type":"#microsoft.graph.commsNotifications","value":[{"@odata.type":"#microsoft.graph.commsNotification","changeType":"updated","resource":"/app/calls/`+groupCall+`/participants","resourceUrl":"/communications/calls/`+groupCall+`/participants","resourceData":[{"@odata.type":"#microsoft.graph.participant","info":{"@odata.type":"#microsoft.graph.participantInfo","identity":{"@odata.type":"#microsoft.graph.identitySet","user":{"id":"`+userID+`","displayName":"Person 1"}},"endpointType":"default"},"isMuted":false,"isInLobby":false}]}]}`), // 7
		notification(ms(4400), ms(5), 4, `{"@odata.type":"#microsoft.graph.commsNotifications","value":[{"@odata.type":"#microsoft.graph.commsNotification","changeType":"updated","resource":"/communications/calls/`+p2pCall+`","resourceUrl":"/communications/calls/`+p2pCall+`","resourceData":{"@odata.type":"#microsoft.graph.call","state":"terminated","resultInfo":{"code":200,"subcode":7015,"message":"The call was transferred."}}}]}`),                                                                                                                                                            // 8
		notification(ms(4520), ms(4), 4, `{"@odata.type":"#microsoft.graph.commsNotifications","value":[{"@odata.type":"#microsoft.graph.commsNotification","changeType":"deleted","resource":"/communications/calls/`+p2pCall+`","resourceUrl":"/communications/calls/`+p2pCall+`","resourceData":{"@odata.type":"#microsoft.graph.call","state":"terminated"}}]}`),                                                                                                                                                                                                                                           // 9
		{ // 10
			Kind: cassette.KindGraph, Offset: ms(6000), Latency: ms(310),
			Request: cassette.Request{
				Method: "POST", URL: graphHost + "/beta/app/calls/" + groupCallU + "/participants/invite",
				Header: jsonHeader("Authorization", "Bearer REDACTED"),
				Body:   []byte(`{"participants":[{"@odata.type":"#microsoft.graph.invitationParticipantInfo","identity":{"@odata.type":"#microsoft.graph.identitySet","phone":{"@odata.type":"#microsoft.graph.identity","id":"` + phone + `"}}}],"clientContext":"` + clientCtx + `"}`),
			},
			Response: cassette.Response{
				Status: 200, Header: jsonHeader("Location", graphHost+"/beta/app/calls/"+groupCallU+"/operations/"+failedOpU),
				Body: []byte(`{"@odata.type":"#microsoft.graph.inviteParticipantsOperation","id":"` + failedOpU + `","status":"Running","clientContext":"` + clientCtx + `"}`),
			},
		},
		// 11: the seed's failure notification, trailing comma and all.
		notification(ms(9214), ms(7), 10, `{
  "@odata.type": "microsoft.graph.commsNotifications",
  "value": [
    {
      "@odata.type": "microsoft.graph.commsNotification",
      "changeType": "deleted",
      "resource": "/app/calls/`+groupCallU+`/operations/`+failedOpU+`",
      "resourceData": {
        "@odata.type": "#microsoft.graph.inviteParticipantsOperation",
        "clientContext": "`+clientCtx+`",
        "status": "failed",
        "resultInfo": {
          "@odata.type": "#microsoft.graph.resultInfo",
          "code": 500,
          "subCode": 0,
          "message": "addParticipantsfailed for participants: 4:`+phone+` reason: Audio-video modality controller could not invite participant to this conversation., code=580 subcode=5201"
        },
      }
    }
  ]
}`),
		{ // 12
			Kind: cassette.KindGraph, Offset: ms(9800), Latency: ms(1500),
			Request: cassette.Request{
				Method: "DELETE", URL: graphHost + "/v1.0/communications/calls/" + groupCall,
				Header: http.Header{"Authorization": {"Bearer REDACTED"}},
			},
			Response: cassette.Response{Status: http.StatusBadGateway},
			Error:    "read tcp 127.0.0.1:53211->192.0.2.7:443: read: connection reset by peer",
		},
	}
}

// abandonedEvents are two exchanges the bot abandoned: one recorded with
// Graph's answer, one by an older recorder as a 502 "canceled".
func abandonedEvents() []*cassette.Event {
	return []*cassette.Event{
		{
			Kind: cassette.KindGraph, Offset: 310 * time.Millisecond, Latency: 1500 * time.Millisecond,
			Abandoned: 400 * time.Millisecond,
			Request:   cassette.Request{Method: "POST", URL: "https://graph.microsoft.com/v1.0/communications/calls"},
			Response: cassette.Response{Status: http.StatusCreated, Header: http.Header{"Content-Type": {"application/json"}},
				Body: []byte(`{"@odata.type":"#microsoft.graph.call","id":"` + groupCall + `"}`)},
		},
		{
			Kind: cassette.KindGraph, Offset: 2 * time.Second, Latency: 300 * time.Millisecond,
			Request:  cassette.Request{Method: "GET", URL: "https://graph.microsoft.com/v1.0/communications/calls/" + groupCall},
			Response: cassette.Response{Status: http.StatusBadGateway, Body: []byte("graphvcr: canceled")},
			Error:    "canceled",
		},
	}
}

// sampleReader is the sample session, open for reading.
func sampleReader(t *testing.T) *cassette.Reader {
	t.Helper()
	return openEvents(t, sampleEvents()...)
}

// openEvents writes events to a cassette of their own, with the fixed meta
// the goldens show, and opens it for reading until the test ends.
func openEvents(t *testing.T, events ...*cassette.Event) *cassette.Reader {
	t.Helper()
	return cassettetest.Open(t, cassettetest.WriteTemp(t, cassettetest.Meta, events))
}
