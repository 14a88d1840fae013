package redact

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// TestREADMEPolicy checks that the policy example of the top-level README
// loads, and that the rows of its table of what is redacted hold: each
// example, redacted by a fresh Redactor, no longer holds its original.
func TestREADMEPolicy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	_, after, ok := strings.Cut(readme, "### Redaction policy")
	if !ok {
		t.Fatal("README has no Redaction policy section")
	}
	m := regexp.MustCompile("(?s)```json\n(.*?)```").FindStringSubmatch(after)
	if m == nil {
		t.Fatal("no JSON example in the Redaction policy section")
	}
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(m[1]), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPolicy(path)
	if err != nil {
		t.Fatalf("README's policy example: %v", err)
	}
	if len(p.Fields) == 0 || !gjson.Valid(m[1]) {
		t.Errorf("README's policy example shows no fields")
	}
	for _, v := range []string{"+1 206-485-3005", "52.114.32.18", "00-1A-2B-3C-4D-5E", "6544573", "Vs8hT3", "Adele Vance"} {
		if !strings.Contains(readme, v) {
			t.Errorf("README's table lost its example %q", v)
		}
	}
	r := New(nil)
	body := `{"tollNumber": "+1 206-485-3005","ipAddress": "52.114.32.18","macAddress": "00-1A-2B-3C-4D-5E",` +
		`"conferenceId": "6544573","passcode": "Vs8hT3","displayName": "Adele Vance","renderDeviceName": "Speakers (Realtek)"}`
	out := string(r.Body("application/json", []byte(body)))
	for _, want := range []string{`"tollNumber":"+5 550-000-0001"`, `"ipAddress":"192.0.2.1"`, `"macAddress":"00-00-5E-00-53-01"`, `"passcode":"id0001"`, `"displayName":"Person 1"`,
		`"conferenceId":"5550002"`, `"renderDeviceName":"Person 2"`} {
		if !strings.Contains(strings.ReplaceAll(out, " ", ""), strings.ReplaceAll(want, " ", "")) {
			t.Errorf("redacted %s lacks %s (the README's table says so)", out, want)
		}
	}
}
