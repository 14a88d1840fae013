package changes

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestEncryptDecryptRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1, 15, 16, 17, 4096} {
		plain := bytes.Repeat([]byte("x"), size)
		ec, err := Encrypt(testCert, "cert-1", plain)
		if err != nil {
			t.Fatal(err)
		}
		if ec.EncryptionCertificateID != "cert-1" {
			t.Errorf("certificate id %q, want cert-1", ec.EncryptionCertificateID)
		}
		if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(ec.EncryptionCertificateThumbprint) {
			t.Errorf("thumbprint %q is not 40 upper-case hex digits", ec.EncryptionCertificateThumbprint)
		}
		got, err := Decrypt(testKey, ec)
		if err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("size %d: round trip changed the data", size)
		}
	}
}

func TestEncryptUsesFreshKeys(t *testing.T) {
	a, err := Encrypt(testCert, "c", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Encrypt(testCert, "c", []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Data == b.Data || a.DataKey == b.DataKey || a.DataSignature == b.DataSignature {
		t.Fatal("two encryptions of the same data share a key: the symmetric key must be fresh per notification")
	}
}

func TestDecryptRejects(t *testing.T) {
	ec, err := Encrypt(testCert, "c", []byte(`{"availability":"Busy"}`))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string) string {
		b, _ := base64.StdEncoding.DecodeString(s)
		b[len(b)/2] ^= 1
		return base64.StdEncoding.EncodeToString(b)
	}
	tests := []struct {
		name   string
		key    *rsa.PrivateKey
		mutate func(*EncryptedContent)
		want   error
		text   string
	}{
		{name: "wrong key", key: otherKey, want: ErrKey},
		{name: "tampered signature", key: testKey, mutate: func(e *EncryptedContent) { e.DataSignature = flip(e.DataSignature) }, want: ErrSignature},
		{name: "tampered data", key: testKey, mutate: func(e *EncryptedContent) { e.Data = flip(e.Data) }, want: ErrSignature},
		{name: "tampered key", key: testKey, mutate: func(e *EncryptedContent) { e.DataKey = flip(e.DataKey) }, want: ErrKey},
		{name: "data not base64", key: testKey, mutate: func(e *EncryptedContent) { e.Data = "%%%" }, text: "data is not base64"},
		{name: "signature of other data", key: testKey, mutate: func(e *EncryptedContent) {
			other, _ := Encrypt(testCert, "c", []byte(`{"availability":"Away"}`))
			e.Data = other.Data
		}, want: ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ec
			if tt.mutate != nil {
				tt.mutate(&e)
			}
			_, err := Decrypt(tt.key, e)
			if err == nil {
				t.Fatal("Decrypt accepted it")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if tt.text != "" && !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("error %q does not say %q", err, tt.text)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

// TestDecryptOpenSSLVector decrypts a notification built by OpenSSL (see
// testdata/make-vector.sh) the way Microsoft documents the scheme, so the
// package agrees with an independent implementation, not only with
// itself.
func TestDecryptOpenSSLVector(t *testing.T) {
	key, err := LoadKey(filepath.Join("testdata", "app-key.pem"), "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "vector-encrypted.json"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "vector-plain.json"))
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ParseEncryptedContent(raw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decrypt(key, ec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("decrypted %q, want %q", got, want)
	}
	certPEM, err := os.ReadFile(filepath.Join("testdata", "app-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertificate(string(certPEM))
	if err != nil {
		t.Fatal(err)
	}
	if tp := Thumbprint(cert); tp != ec.EncryptionCertificateThumbprint {
		t.Fatalf("thumbprint %s, OpenSSL's %s", tp, ec.EncryptionCertificateThumbprint)
	}
	// And the other way: what Encrypt makes for that certificate decrypts
	// with the key OpenSSL made.
	again, err := Encrypt(cert, "test-cert-1", want)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Decrypt(key, again); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("re-encrypted vector: %q, %v", got, err)
	}
}

func TestEncryptedContentJSON(t *testing.T) {
	ec, err := Encrypt(testCert, "cert-1", []byte(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseEncryptedContent(ec.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if back != ec {
		t.Fatalf("JSON round trip: %+v, want %+v", back, ec)
	}
	if _, err := ParseEncryptedContent([]byte(`{"data":"x"}`)); err == nil {
		t.Fatal("an encryptedContent without dataKey parsed")
	}
}
