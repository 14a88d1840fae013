package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphvcr/graphvcr/cassette"
)

// TestScanPlantedKinds plants each kind the redactor learned to find (a
// phone in a written form, a thread id, the values of identifier fields)
// in a copy of a clean sample cassette, and checks that scan names each
// one, while the sample cassettes themselves scan clean, with no warning.
func TestScanPlantedKinds(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join("..", "..", "cassettes", "*.bolt"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no sample cassettes: %v", err)
	}
	r := graphvcr(t, nil, append([]string{"scan"}, samples...)...)
	wantSuccess(t, r)
	if strings.Contains(r.stdout, "warning") || strings.Count(r.stdout, ": clean, ") != len(samples) {
		t.Errorf("sample cassettes do not all scan clean and swept:\n%s", r.stdout)
	}

	planted := []struct{ name, body, kind string }{
		{"written phone", `{"tollNumber":"+1 206-485-3005"}`, "phone"},
		{"phone without plus", `{"message":"call 1-425-555-0100"}`, "phone"},
		{"thread id", `{"threadId":"19:meeting_MjQ5NmUyZTktNTU5Ni00ZDA4@thread.v2"}`, "thread"},
		{"chat id", `{"chatId":"19:aa_bb@unq.gbl.spaces"}`, "thread"},
		{"conference id", `{"conferenceId":"6544573"}`, "id"},
		{"passcode", `{"passcode":"Vs8hT3"}`, "id"},
		{"mac address", `{"macAddress":"00-1A-2B-3C-4D-5E"}`, "id"},
		{"subnet", `{"subnet":"10.0.12.0"}`, "ip"},
		{"device name", `{"captureDeviceName":"Jabra Evolve 75"}`, "name"},
		{"guid after a malformed escape", `{"joinWebUrl":"https://teams.microsoft.com/l/x?context=%7b%22Tid%22%3a%aa67bd4c-8475-432d-bd41-39f255720e0a%22%7d"}`, "guid"},
		{"thread id with a doubled colon", `{"chatId":"19::meeting_NTg0NmQ3NTctZDVkZDZk@thread.v2"}`, "thread"},
		{"dial string conference id", `{"text":"tel:+55500000001,,11160000#"}`, "id"},
		{"dial-in page id", `{"text":"https://dialin.teams.microsoft.com/x?id=11160000"}`, "id"},
		{"eui-64 mac address", `{"macAddress":"3C-52-82-11-22-33-44-55"}`, "id"},
	}
	for _, tc := range planted {
		t.Run(tc.name, func(t *testing.T) {
			path := plant(t, samples[0], &cassette.Event{Kind: cassette.KindGraph, Request: cassette.Request{Method: "GET", URL: "https://graph.microsoft.com/v1.0/x"},
				Response: cassette.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tc.body)}})
			r := graphvcr(t, nil, "scan", path)
			wantFailure(t, r, 1, "scan: 1 finding")
			if want := " response.body: " + tc.kind + " "; !strings.Contains(r.stdout, want) {
				t.Errorf("scan does not report the planted %s as %q:\n%s", tc.name, tc.kind, r.stdout)
			}
		})
	}
}

// TestScanPlantedChangeSecrets plants, one at a time, each secret a change
// notification carries in a copy of a clean sample cassette: scan names it.
// The recorder stores none of them (a Redacted marker at most); a cassette
// edited by hand, or written by another tool, may.
func TestScanPlantedChangeSecrets(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join("..", "..", "cassettes", "*.bolt"))
	if err != nil || len(samples) == 0 {
		t.Fatalf("no sample cassettes: %v", err)
	}
	jwt := "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl"
	planted := []struct{ name, url, body, where, kind string }{
		{"clientState", "", `{"value":[{"subscriptionId":"x","clientState":"secretClientValue"}]}`, "request.body", "secret"},
		{"subscription clientState", "", `{"notificationUrl":"https://example.com/n","clientState":"hunter2"}`, "request.body", "secret"},
		{"validation token in the URL", "https://example.com/api/notifications?validationToken=Validation%3A+Testing+client", "", "request.url", "secret"},
		{"validationTokens", "", `{"value":[{"subscriptionId":"x"}],"validationTokens":["` + jwt + `"]}`, "request.body", "jwt"},
		{"encryptedContent dataKey", "", `{"value":[{"encryptedContent":{"data":"q1w2e3","dataKey":"c2VjcmV0a2V5","dataSignature":"","encryptionCertificateId":"c"}}]}`, "request.body", "secret"},
		{"encryptedContent dataSignature", "", `{"value":[{"encryptedContent":{"data":"q1w2e3","dataSignature":"c2lnbmF0dXJl"}}]}`, "request.body", "secret"},
	}
	for _, tc := range planted {
		t.Run(tc.name, func(t *testing.T) {
			u := tc.url
			if u == "" {
				u = "https://example.com/api/notifications"
			}
			path := plant(t, samples[0], &cassette.Event{Kind: cassette.KindNotification,
				Request:  cassette.Request{Method: "POST", URL: u, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(tc.body)},
				Response: cassette.Response{Status: 202}})
			r := graphvcr(t, nil, "scan", path)
			wantFailure(t, r, 1, "scan: ")
			if want := " " + tc.where + ": " + tc.kind + " "; !strings.Contains(r.stdout, want) {
				t.Errorf("scan does not report the planted %s as %q:\n%s", tc.name, want, r.stdout)
			}
		})
	}
}

// plant copies the cassette at sample into a temp dir, appends ev to the
// copy, marks it swept (as a recorder's clean close would) and returns the
// copy's path.
func plant(t *testing.T, sample string, ev *cassette.Event) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "planted.bolt")
	copyFile(t, sample, path)
	w, err := cassette.Create(path, cassette.CreateOptions{Append: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(t.Context(), ev); err != nil {
		w.Close()
		t.Fatal(err)
	}
	if err := w.MarkSwept(); err != nil {
		w.Close()
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
