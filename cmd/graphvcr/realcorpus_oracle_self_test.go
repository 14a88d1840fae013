package main

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"net/url"
	"testing"
)

// TestCorpusOracle checks the corpus test's judge on its own: each
// identifier is listed from a body and then found again in every written
// and encoded form a cassette or an export could hold it in, and not found
// where only something like it is.
func TestCorpusOracle(t *testing.T) {
	body := `{"audioConferencing": {"tollNumber": "+1 206-485-3005", "conferenceId": "2425999"},
		"chatInfo": {"threadId": "19:meeting_Win6Ydo4wsMijFjZS00ZGVjLTk5MGUtOTRjNWY2NmNkYTFm@thread.v2"},
		"identity": {"user": {"displayName": "Bob", "id": "8A34A46B-3D17-4D4B-B1D3-5E4F2C7B8A90", "tenantId": "aa67bd4c-8475-432d-bd41-39f255720e0a"}},
		"callerNetwork": {"ipAddress": "10.150.0.2", "macAddress": "3C-52-82-11-22-33"}, "upn": "test1@contoso.com",
		"callbackUri": "https://bot.contoso.com/api/calls", "nil": "00000000-0000-0000-0000-000000000000", "loop": {"ipAddress": "127.0.0.2"}}`
	ids := corpusIDs([]corpusText{{file: "planted", data: []byte(body)}})
	byKind := map[idKind]string{}
	for _, id := range ids {
		byKind[id.kind] = id.value
	}
	want := map[idKind]string{
		kindPhone: "12064853005", kindMeeting: "2425999", kindName: "Bob", kindTenant: "aa67bd4c8475432dbd4139f255720e0a",
		kindGUID: "8a34a46b3d174d4bb1d35e4f2c7b8a90", kindIP: "10.150.0.2", kindMAC: "3C-52-82-11-22-33",
		kindEmail: "test1@contoso.com", kindHost: "bot.contoso.com",
		kindThread: "19:meeting_Win6Ydo4wsMijFjZS00ZGVjLTk5MGUtOTRjNWY2NmNkYTFm@thread.v2",
	}
	for k, v := range want {
		if byKind[k] != v {
			t.Errorf("kind %s: listed %q, want %q", k, byKind[k], v)
		}
	}
	for _, id := range ids {
		if id.value == nilGUIDHex || id.value == "127.0.0.2" {
			t.Errorf("%s %q listed, but redact documents keeping it", id.kind, id.value)
		}
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"note":"call 1-206-485-3005"}`))
	zw.Close()
	tests := []struct {
		name  string
		id    corpusID
		hay   string
		found bool
	}{
		{"phone, other separators", corpusID{kind: kindPhone, value: "12064853005"}, `"+1 (206) 485.3005"`, true},
		{"phone, E.164 in a URL", corpusID{kind: kindPhone, value: "12064853005"}, `/users/tel:+12064853005`, true},
		{"phone, gzip in base64", corpusID{kind: kindPhone, value: "12064853005"}, base64.StdEncoding.EncodeToString(gz.Bytes()), true},
		{"phone, another number", corpusID{kind: kindPhone, value: "12064853005"}, `"+1 206-485-3006"`, false},
		{"guid, undashed upper", corpusID{kind: kindGUID, value: "8a34a46b3d174d4bb1d35e4f2c7b8a90"}, `28:8A34A46B3D174D4BB1D35E4F2C7B8A90`, true},
		{"guid, braces in base64", corpusID{kind: kindGUID, value: "8a34a46b3d174d4bb1d35e4f2c7b8a90"}, base64.StdEncoding.EncodeToString([]byte(`{"id":"{8a34a46b-3d17-4d4b-b1d3-5e4f2c7b8a90}"}`)), true},
		{"thread, %-encoded twice", corpusID{kind: kindThread, value: "19:meeting_abc@thread.v2"}, url.QueryEscape(url.QueryEscape("19:meeting_abc@thread.v2")), true},
		{"thread, JSON-escaped", corpusID{kind: kindThread, value: "19:meeting_abc@thread.v2"}, `19:meeting_abc\u0040thread.v2`, true},
		{"name, glued", corpusID{kind: kindName, value: "Bob"}, `"Bobby"`, false},
		{"name, alone", corpusID{kind: kindName, value: "Bob"}, `"Hi Bob, "`, true},
		{"ip, inside a longer one", corpusID{kind: kindIP, value: "10.150.0.2"}, `"10.150.0.20"`, false},
		{"host, upper case", corpusID{kind: kindHost, value: "bot.contoso.com"}, `https://BOT.CONTOSO.COM/x`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHaystack()
			h.add("x", []byte(tt.hay))
			if got := len(h.find(tt.id)) > 0; got != tt.found {
				t.Errorf("found %v in %q, want %v", got, tt.hay, tt.found)
			}
		})
	}
}
