package redact

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestScanCleanCorpus redacts every fixture and scans the result: a
// redacted corpus must scan clean (no false positives on pseudonyms,
// timestamps, Removed, Microsoft hosts).
func TestScanCleanCorpus(t *testing.T) {
	r := New(nil)
	var red [][]byte
	for _, path := range fixturePaths(t) {
		red = append(red, redactFixture(r, readFixture(t, path)).render())
	}
	s := NewScanner(r.Pseudonyms())
	for i, b := range red {
		if f := s.Scan("fixture", b); len(f) != 0 {
			t.Errorf("fixture %d: findings in redacted data: %+v", i, f)
		}
	}
	// And the originals are full of findings.
	raw := readFixture(t, filepath.Join("testdata", "realistic", "notification_established.http")).render()
	if f := NewScanner(nil).Scan("raw", raw); len(f) < 10 {
		t.Errorf("only %d findings in an unredacted notification: %+v", len(f), f)
	}
}

func TestScanPlantedLeaks(t *testing.T) {
	jwt := fixtureJWTs["JWT_ACCESS"]
	tests := []struct {
		name, data, kind string
	}{
		{"jwt in header", "Authorization: Bearer " + jwt, "jwt"},
		{"jwt in body", `{"note":"` + jwt + `"}`, "jwt"},
		{"jwt in query", "/cb?x=" + jwt + "&y=1", "jwt"},
		{"jwt in form", "grant_type=x&client_assertion=" + jwt, "jwt"},
		{"bearer token", "Authorization: Bearer EwBwA8l6BAAU7p9QDpi1D", "secret"},
		{"client secret json", `{"client_secret":"ab~cd"}`, "secret"},
		{"client secret form", "client_secret=ab%7Ecd&grant_type=client_credentials", "secret"},
		{"client secret query", "/token?client_secret=ab%7Ecd", "secret"},
		{"access token", `{"access_token":"0.AXwAv4j5cvGG"}`, "secret"},
		{"real guid", `{"id":"57dab8b1-894c-409a-b240-bd8beae78896"}`, "guid"},
		{"undashed guid", "/app/calls/57DAB8B1894C409AB240BD8BEAE78896", "guid"},
		{"phone", `{"id":"+12345678901"}`, "phone"},
		{"email", `{"upn":"adele@contoso.com"}`, "email"},
		{"ip", "X-Forwarded-For: 52.114.32.18", "ip"},
		{"host", `{"callbackUri":"https://bot.contoso.com/api/calls"}`, "host"},
		{"name", `{"displayName":"Heidi Steen"}`, "name"},
		{"tenant in join url", "https://teams.microsoft.com/l/meetup-join/x/0?context=%7b%22Tid%22%3a%2272f988bf-86f1-41af-91ab-2d7cd011db47%22%7d", "guid"},
		{"guid with encoded dashes", "id=72f988bf%2D86f1%2D41af%2D91ab%2D2d7cd011db47", "guid"},
		{"guid in base64 thread id", "19:meeting_NjkxYWY2ZDYtZmRhNC00YzZhLWJjMTQtZDE0NDQyMGE2MjZi@thread.v2", "thread"},
		{"thread id with any inside", "19:meeting_MjQ5NmUyZTktNTU5Ni00ZDA4@thread.v2", "thread"},
		{"skype thread id", "19:7b3bd2d6d3cc4b2b9b6c1a8b6b1a2b3c@thread.skype", "thread"},
		{"tacv2 thread id", "19:abcDEF_123-xyz@thread.tacv2", "thread"},
		{"one-to-one chat id", "19:aa_bb@unq.gbl.spaces", "thread"},
		{"48 MRI", "see 48:notifications now", "thread"},
		{"1: chat id", "1:abc123@contoso.com", "thread"},
		{"thread id in a URL path", "/v1.0/chats/19:meeting_abcdefgh@thread.v2/messages", "thread"},
		{"thread id percent-encoded", "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abcdefgh%40thread.v2/0", "thread"},
		{"written phone", "dial +1 206-485-3005", "phone"},
		{"phone in parentheses", "+1 (425) 555-0100", "phone"},
		{"phone with dots", "+1.425.555.0100", "phone"},
		{"phone without plus", "1-425-555-0100", "phone"},
		{"UK phone", "+44 20 7946 0958", "phone"},
		{"conference id", `{"conferenceId":"6544573"}`, "id"},
		{"join meeting id", `{"joinMeetingId":"1234567890"}`, "id"},
		{"passcode", `{"passcode":"Vs8hT3"}`, "id"},
		{"video teleconference id", `{"videoTeleconferenceId":"123456789"}`, "id"},
		{"mac address", `{"macAddress":"00-1A-2B-3C-4D-5E"}`, "id"},
		{"bssid", `{"bssid":"aa:bb:cc:dd:ee:ff"}`, "id"},
		{"subnet", `{"subnet":"10.0.12.0"}`, "ip"},
		{"relay ip", `{"relayIPAddress":"52.114.32.18"}`, "ip"},
		{"toll number without plus", `{"tollNumber":"14255550100"}`, "phone"},
		{"wifi ssid", `{"wifiSsid":"ContosoGuest"}`, "name"},
		{"device name", `{"captureDeviceName":"Jabra Evolve 75"}`, "name"},
	}
	s := NewScanner(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := s.Scan("seq 1 request", []byte(tt.data))
			found := false
			for _, x := range f {
				if x.Kind == tt.kind {
					found = true
				}
				if x.Where != "seq 1 request" {
					t.Errorf("Where = %q", x.Where)
				}
				if len(x.Masked) > 40 || strings.Contains(tt.data, strings.SplitN(x.Masked, " (", 2)[0]) && len(x.Masked) > 20 {
					t.Errorf("Masked %q is not masked", x.Masked)
				}
			}
			if !found {
				t.Errorf("no %s finding in %q: %+v", tt.kind, tt.data, f)
			}
			// Redacting removes the leak.
			r := New(nil)
			if f := s.Scan("after", r.Body("", []byte(tt.data))); len(f) != 0 {
				t.Errorf("still found after redaction: %+v", f)
			}
		})
	}
}

func TestScanNoFalsePositives(t *testing.T) {
	clean := []string{
		`{"createdDateTime":"2018-09-06T15:58:41.1234567Z","status":"running"}`,
		`Authorization: Bearer REDACTED`,
		`{"client_secret":"REDACTED","access_token":"","token":null}`,
		"client_secret=REDACTED&grant_type=client_credentials",
		`{"id":"c0ffee00-0000-4000-8000-000000000001","upn":"user1@example.invalid","phone":"+55500000001","ip":"192.0.2.1","displayName":"Person 2"}`,
		`{"request-id":"C0FFEE00000040008000000000000003","callbackUri":"https://bot1.example.invalid/api/calls"}`,
		`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#communications/calls/$entity","x":"00000000-0000-0000-0000-000000000000"}`,
		`{"threadId":"19:meeting_YzBmZmVlMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAx@thread.v2","host":"http://127.0.0.1:8080/x"}`,
	}
	s := NewScanner([]string{"c0ffee00-0000-4000-8000-000000000001"})
	for _, c := range clean {
		if f := s.Scan("x", []byte(c)); len(f) != 0 {
			t.Errorf("findings in clean %q: %+v", c, f)
		}
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"short":                    "… (5 chars)",
		"eyJhbGciOiJSUzI1NiJ9xxAw": "eyJh…Aw (24 chars)",
	} {
		if got := mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}
