package changes

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// realExample returns the body of a documentation example in the
// redaction corpus (header lines, a blank line, the body).
func realExample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "redact", "testdata", "real", name))
	if err != nil {
		t.Fatal(err)
	}
	_, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		t.Fatalf("%s: no blank line before the body", name)
	}
	return bytes.TrimSpace(body)
}

// richExample is the documentation's rich presence notification with a
// real encryptedContent for testCert and a real validation token.
func richExample(t *testing.T) (body, plain []byte) {
	t.Helper()
	body = realExample(t, "913-contrib-v1-presence-notification-rich.req")
	plain = []byte(`{"@odata.type":"#Microsoft.Graph.presence","id":"66825e03-7ef5-42da-9069-4082c9041a0b","availability":"Busy","activity":"InACall"}`)
	ec, err := Encrypt(testCert, "cert-1", plain)
	if err != nil {
		t.Fatal(err)
	}
	if body, err = sjson.SetRawBytes(body, "value.0.encryptedContent", ec.JSON()); err != nil {
		t.Fatal(err)
	}
	tok, err := SignValidationToken(testKey, "k1", map[string]any{"aud": "app", "iss": ValidationIssuer("t")}, 0, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if body, err = SetValidationTokens(body, []string{tok}); err != nil {
		t.Fatal(err)
	}
	return body, plain
}

func TestStripOnDocExamples(t *testing.T) {
	for _, name := range []string{
		"909-contrib-v1-callrecords-notification.req",
		"912-contrib-v1-presence-notification.req", // trailing comma, as published
		"913-contrib-v1-presence-notification-rich.req",
	} {
		t.Run(name, func(t *testing.T) {
			body := realExample(t, name)
			secret := gjson.GetBytes(body, "value.0.clientState").String()
			if secret == "" {
				t.Fatal("example has no clientState")
			}
			out, err := StripClientState(body)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out, []byte(secret)) || bytes.Contains(out, []byte("clientState")) {
				t.Fatalf("clientState survived: %s", out)
			}
			out, n, err := StripEncrypted(out)
			if err != nil {
				t.Fatal(err)
			}
			wantN := 0
			if strings.Contains(name, "rich") {
				wantN = 1
			}
			if n != wantN || bytes.Contains(out, []byte("encryptedContent")) || bytes.Contains(out, []byte("{Encrypted content}")) {
				t.Fatalf("stripped %d encryptedContent (want %d): %s", n, wantN, out)
			}
			out, err = RedactValidationTokens(out)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out, []byte("{Validation Tokens}")) {
				t.Fatalf("validation token survived: %s", out)
			}
			// What is not a secret stays.
			for _, f := range []string{"subscriptionId", "changeType", "resource", "resourceData.id", "tenantId"} {
				if got, want := gjson.GetBytes(out, "value.0."+f).String(), gjson.GetBytes(body, "value.0."+f).String(); got != want {
					t.Errorf("%s = %q, want %q", f, got, want)
				}
			}
		})
	}
}

func TestRedactValidationTokensKeepsCount(t *testing.T) {
	body, _ := richExample(t)
	toks := ValidationTokens(body)
	if len(toks) != 1 || strings.Count(toks[0], ".") != 2 {
		t.Fatalf("tokens %q, want one JWT", toks)
	}
	body, _ = SetValidationTokens(body, []string{toks[0], toks[0]})
	out, err := RedactValidationTokens(body)
	if err != nil {
		t.Fatal(err)
	}
	if got := ValidationTokens(out); len(got) != 2 || got[0] != Redacted || got[1] != Redacted {
		t.Fatalf("tokens after redaction %q, want two %q", got, Redacted)
	}
	if bytes.Contains(out, []byte(toks[0])) {
		t.Fatal("a token survived")
	}
	out, err = SetValidationTokens(out, nil)
	if err != nil || gjson.GetBytes(out, "validationTokens").Exists() {
		t.Fatalf("nil tokens kept the array: %s, %v", out, err)
	}
}

func TestDecryptedReencrypt(t *testing.T) {
	body, plain := richExample(t)
	stored, n, err := Decrypted(body, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || gjson.GetBytes(stored, "value.0.encryptedContent").Exists() {
		t.Fatalf("decrypted %d, encryptedContent left: %s", n, stored)
	}
	if got := gjson.GetBytes(stored, "value.0."+DecryptedField+".availability").String(); got != "Busy" {
		t.Fatalf("stored resource availability %q, want Busy: %s", got, stored)
	}
	if _, _, err := Decrypted(body, otherKey); err == nil || !strings.Contains(err.Error(), "item 0") {
		t.Fatalf("another app's key: %v, want an error naming the item", err)
	}

	// Replay: encrypted for another app's certificate, which decrypts it
	// with its own key.
	live, n, err := Reencrypt(stored, otherCert, "live-cert")
	if err != nil || n != 1 {
		t.Fatalf("reencrypted %d: %v", n, err)
	}
	if gjson.GetBytes(live, "value.0."+DecryptedField).Exists() {
		t.Fatal("the clear resource data is still in the replayed body")
	}
	ec, err := ParseEncryptedContent([]byte(gjson.GetBytes(live, "value.0.encryptedContent").Raw))
	if err != nil {
		t.Fatal(err)
	}
	if ec.EncryptionCertificateID != "live-cert" || ec.EncryptionCertificateThumbprint != Thumbprint(otherCert) {
		t.Fatalf("certificate fields %q %q", ec.EncryptionCertificateID, ec.EncryptionCertificateThumbprint)
	}
	got, err := Decrypt(otherKey, ec)
	if err != nil {
		t.Fatal(err)
	}
	if !gjson.ValidBytes(got) || gjson.GetBytes(got, "availability").String() != "Busy" || gjson.GetBytes(got, "id").String() != gjson.GetBytes(plain, "id").String() {
		t.Fatalf("live app decrypted %s, want %s", got, plain)
	}
	if _, err := Decrypt(testKey, ec); err == nil {
		t.Fatal("the recording app's key decrypts what was encrypted for the live app")
	}

	// A live app that asked for no resource data gets none.
	bare, n, err := Reencrypt(stored, nil, "")
	if err != nil || n != 0 || bytes.Contains(bare, []byte("Busy")) || bytes.Contains(bare, []byte("encryptedContent")) {
		t.Fatalf("nil certificate: %d, %v: %s", n, err, bare)
	}
}

func TestBind(t *testing.T) {
	for _, name := range []string{"909-contrib-v1-callrecords-notification.req", "912-contrib-v1-presence-notification.req"} {
		t.Run(name, func(t *testing.T) {
			stripped, err := StripClientState(realExample(t, name))
			if err != nil {
				t.Fatal(err)
			}
			out, err := Bind(stripped, Live{SubscriptionID: "sub-live", ClientState: "state-live", TenantID: "tenant-live"})
			if err != nil {
				t.Fatal(err)
			}
			it := gjson.GetBytes(out, "value.0")
			for f, want := range map[string]string{"subscriptionId": "sub-live", "clientState": "state-live", "tenantId": "tenant-live"} {
				if got := it.Get(f).String(); got != want {
					t.Errorf("%s = %q, want %q", f, got, want)
				}
			}
			if org := it.Get("organizationId"); org.Exists() != strings.Contains(name, "presence") || (org.Exists() && org.String() != "tenant-live") {
				t.Errorf("organizationId %v", org)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	lifecycle := func(ev string) []byte {
		return []byte(`{"value":[{"lifecycleEvent":"` + ev + `","subscriptionId":"s","subscriptionExpirationDateTime":"2026-01-01T00:00:00Z","tenantId":"t","organizationId":"t"}]}`)
	}
	tests := []struct {
		name, method, url string
		body              []byte
		want              string
	}{
		{"callRecord", "POST", "/api/resourceNotifications", realExample(t, "909-contrib-v1-callrecords-notification.req"), "callRecord created"},
		{"presence", "POST", "/api", realExample(t, "912-contrib-v1-presence-notification.req"), "presence updated"},
		{"rich presence", "POST", "/api", realExample(t, "913-contrib-v1-presence-notification-rich.req"), "presence updated"},
		{"validation", "POST", "/api?validationToken=Validation%3a+Testing", nil, ClassValidation},
		{"validation GET is not", "GET", "/api?validationToken=x", nil, ""},
		{"reauthorizationRequired", "POST", "/lifecycle", lifecycle("reauthorizationRequired"), ClassReauthorizationRequired},
		{"subscriptionRemoved", "POST", "/lifecycle", lifecycle("subscriptionRemoved"), ClassSubscriptionRemoved},
		{"missed", "POST", "/lifecycle", lifecycle("missed"), ClassMissed},
		{"calling notification", "POST", "/api/calls", []byte(`{"value":[{"changeType":"updated","resource":"/communications/calls/x","resourceData":{}}]}`), ""},
		{"chat message", "POST", "/n", []byte(`{"value":[{"subscriptionId":"s","changeType":"created","resource":"chats('19:x@thread.v2')/messages('1')"}]}`), "chatMessage created"},
		{"batch", "POST", "/n", []byte(`{"value":[{"subscriptionId":"s","changeType":"created","resource":"communications/callRecords/1"},{"subscriptionId":"s","changeType":"created","resource":"communications/callRecords/2"},{"subscriptionId":"s","lifecycleEvent":"missed"}]}`), "callRecord created, missed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.method, tt.url, tt.body); got != tt.want {
				t.Fatalf("Classify = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRedactSubscription: clientState and encryptionCertificate become the
// Redacted marker in a subscription and in each of a list's; null, empty
// and missing values stay as they are.
func TestRedactSubscription(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"request", `{"clientState":"s3cr3t","encryptionCertificate":"MIIB","encryptionCertificateId":"c1"}`,
			`{"clientState":"REDACTED","encryptionCertificate":"REDACTED","encryptionCertificateId":"c1"}`},
		{"answer without", `{"clientState":null,"encryptionCertificate":null}`, `{"clientState":null,"encryptionCertificate":null}`},
		{"empty", `{"clientState":""}`, `{"clientState":""}`},
		{"list", `{"value":[{"clientState":"a"},{"encryptionCertificate":"MIIB"},{"id":"x"}]}`,
			`{"value":[{"clientState":"REDACTED"},{"encryptionCertificate":"REDACTED"},{"id":"x"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RedactSubscription([]byte(tt.in))
			if err != nil || string(got) != tt.want {
				t.Errorf("RedactSubscription(%s) = %s, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestRedactClientState: each item's clientState becomes Redacted; a null
// one stays null.
func TestRedactClientState(t *testing.T) {
	in := `{"value":[{"subscriptionId":"a","clientState":"s1"},{"subscriptionId":"b","clientState":null},{"subscriptionId":"c"}]}`
	want := `{"value":[{"subscriptionId":"a","clientState":"REDACTED"},{"subscriptionId":"b","clientState":null},{"subscriptionId":"c"}]}`
	if got, err := RedactClientState([]byte(in)); err != nil || string(got) != want {
		t.Errorf("RedactClientState = %s, %v; want %s", got, err, want)
	}
}
