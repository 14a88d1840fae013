package redact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestIdentifierFields checks that values of the field table are replaced
// in their own format, consistently, and idempotently, and that Scanner
// reports them before redaction and not after.
func TestIdentifierFields(t *testing.T) {
	body := `{"audioConferencing":{"conferenceId":"6544573","tollNumber":"14255550100","tollFreeNumbers":["+1 800-555-0199"]},` +
		`"joinMeetingIdSettings":{"joinMeetingId":"12345678901234","passcode":"Vs8hT3"},"videoTeleconferenceId":"1234567890",` +
		`"callerNetwork":{"ipAddress":"10.0.12.7","subnet":"10.0.12.0","macAddress":"00-1A-2B-3C-4D-5E","bssid":"aa:bb:cc:dd:ee:ff",` +
		`"reflexiveIPAddress":"52.114.32.18","wifiSsid":"ContosoGuest","dnsSuffix":"corp.contoso.local"},` +
		`"callerDevice":{"captureDeviceName":"Jabra Evolve 75","renderDeviceName":"Speakers (Realtek)"},` +
		`"source":{"identity":{"phone":{"id":"14255550100"}}},"again":{"conferenceId":"6544573"}}`
	r := New(nil)
	out := r.Body("application/json", []byte(body))
	for path, check := range map[string]func(string) bool{
		"audioConferencing.conferenceId": func(v string) bool { return len(v) == 7 && isDigitsPseudonym([]byte(v)) },
		"audioConferencing.tollNumber":   func(v string) bool { return len(v) == 11 && isPseudonymPhoneDigits([]byte(v)) },
		"audioConferencing.tollFreeNumbers.0": func(v string) bool {
			return strings.HasPrefix(v, "+") && v[2] == ' ' && v[6] == '-' && isPseudonymPhoneText([]byte(v))
		},
		"joinMeetingIdSettings.joinMeetingId": func(v string) bool { return len(v) == 14 && isDigitsPseudonym([]byte(v)) },
		"joinMeetingIdSettings.passcode":      func(v string) bool { return len(v) == 6 && isOpaquePseudonym([]byte(v)) },
		"callerNetwork.ipAddress":             func(v string) bool { return IsPseudonym(v) && !strings.Contains(v, ":") },
		"callerNetwork.subnet":                func(v string) bool { return IsPseudonym(v) },
		"callerNetwork.macAddress":            func(v string) bool { return strings.HasPrefix(v, "00-00-5E-00-53-") },
		"callerNetwork.bssid":                 func(v string) bool { return strings.HasPrefix(v, "00:00:5e:00:53:") },
		"callerNetwork.wifiSsid":              func(v string) bool { return strings.HasPrefix(v, namePrefix) },
		"callerNetwork.dnsSuffix":             func(v string) bool { return strings.HasPrefix(v, namePrefix) },
		"callerDevice.captureDeviceName":      func(v string) bool { return strings.HasPrefix(v, namePrefix) },
		"callerDevice.renderDeviceName":       func(v string) bool { return strings.HasPrefix(v, namePrefix) },
		"source.identity.phone.id":            func(v string) bool { return len(v) == 11 && isPseudonymPhoneDigits([]byte(v)) },
	} {
		if v := gjson.GetBytes(out, path).String(); !check(v) {
			t.Errorf("%s = %q, not a pseudonym of its format", path, v)
		}
	}
	if a, b := gjson.GetBytes(out, "audioConferencing.conferenceId").String(), gjson.GetBytes(out, "again.conferenceId").String(); a != b {
		t.Errorf("one conference id became %q and %q", a, b)
	}
	if a, b := gjson.GetBytes(out, "audioConferencing.tollNumber").String(), gjson.GetBytes(out, "source.identity.phone.id").String(); a != b {
		t.Errorf("one number became %q and %q", a, b)
	}
	if again := r.Body("application/json", out); string(again) != string(out) {
		t.Errorf("not idempotent:\n%s\n%s", out, again)
	}
	if f := NewScanner(nil).Scan("body", out); len(f) > 0 {
		t.Errorf("scanner finds %v in the redacted body %s", f, out)
	}
	for _, leak := range []string{`{"conferenceId":"6544573"}`, `{"passcode":"Vs8hT3"}`, `{"macAddress":"00-1A-2B-3C-4D-5E"}`, `{"tollNumber":"14255550100"}`} {
		if f := NewScanner(nil).Scan("body", []byte(leak)); len(f) == 0 {
			t.Errorf("scanner finds nothing in %s", leak)
		}
	}
}

// TestPolicyFields checks that --policy fields extend and override the table.
func TestPolicyFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(`{"fields": {"roomNumber": "id", "subnet": "keep"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPolicy(path)
	if err != nil {
		t.Fatal(err)
	}
	out := New(p).Body("application/json", []byte(`{"roomNumber":"B-2041","subnet":"10.0.12.0","ipAddress":"10.0.12.7"}`))
	if v := gjson.GetBytes(out, "roomNumber").String(); !isOpaquePseudonym([]byte(v)) {
		t.Errorf("roomNumber = %q, want an id pseudonym", v)
	}
	if v := gjson.GetBytes(out, "subnet").String(); v != "10.0.12.0" {
		t.Errorf("kept subnet = %q", v)
	}
	if err := os.WriteFile(path, []byte(`{"fields": {"x": "nonsense"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPolicy(path); err == nil || !strings.Contains(err.Error(), "unknown class") {
		t.Errorf("bad class: err = %v", err)
	}
}

// TestFieldValuesRecur checks that an identifier field's value is replaced
// where it recurs outside its field: a dialinUrl query, a meeting's
// joinInformation text, whichever comes first.
func TestFieldValuesRecur(t *testing.T) {
	body := `{"joinInformation":{"content":"data:text/html,Conference%20ID%3A%209876543%20Passcode%3A%20Vs8hT3%20Meeting%20ID%3A%20230%20885%20931%20470"},` +
		`"joinMeetingIdSettings":{"joinMeetingId":"230885931470"},` +
		`"audioConferencing":{"dialinUrl":"https://dialin.teams.microsoft.com/x?id=9876543","conferenceId":"9876543"},` +
		`"joinMeetingIdSettings":{"passcode":"Vs8hT3"}}`
	r := New(nil)
	out := string(r.Body("application/json", []byte(body)))
	for _, v := range []string{"9876543", "Vs8hT3", "230885931470", "230%20885%20931%20470"} {
		if strings.Contains(out, v) {
			t.Errorf("%q survives in %s", v, out)
		}
	}
	conf := gjson.Get(out, "audioConferencing.conferenceId").String()
	if !strings.HasSuffix(gjson.Get(out, "audioConferencing.dialinUrl").String(), "?id="+conf) {
		t.Errorf("the dialinUrl does not carry the conference id's pseudonym %q: %s", conf, out)
	}
	if again := string(r.Body("application/json", []byte(out))); again != out {
		t.Errorf("not idempotent:\n%s\n%s", out, again)
	}
}
