package changes

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"
)

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(testKey)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testCert.Raw})
	pfx, err := pkcs12.Modern.Encode(testKey, testCert, nil, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	ok := []struct{ name, file, password string }{
		{"pkcs8", write("k8.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})), ""},
		{"pkcs1", write("k1.pem", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(testKey)})), ""},
		{"certificate then key", write("both.pem", append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})...)), ""},
		{"pkcs12", write("k.pfx", pfx), "s3cret"},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			key, err := LoadKey(tt.file, tt.password)
			if err != nil {
				t.Fatal(err)
			}
			if !key.Equal(testKey) {
				t.Fatal("loaded another key")
			}
		})
	}
	// Files made by OpenSSL (testdata/make-vector.sh): PKCS#8, PKCS#1 and a
	// PKCS#12 in OpenSSL 3's default (AES, SHA-256) encryption.
	var keys []string
	for _, f := range []struct{ file, password string }{{"app-key.pem", ""}, {"app-key-pkcs1.pem", ""}, {"app.pfx", "test"}} {
		key, err := LoadKey(filepath.Join("testdata", f.file), f.password)
		if err != nil {
			t.Fatalf("%s: %v", f.file, err)
		}
		keys = append(keys, key.N.String())
	}
	if keys[0] != keys[1] || keys[1] != keys[2] {
		t.Fatal("OpenSSL's three files of one key loaded as different keys")
	}

	bad := []struct{ name, file, password, want string }{
		{"missing", filepath.Join(dir, "nope.pem"), "", "no such file"},
		{"empty", write("empty", nil), "", "empty key file"},
		{"certificate only", write("cert.pem", certPEM), "", "not only its certificate"},
		{"garbage PEM", write("bad.pem", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")), "", "PEM PRIVATE KEY block"},
		{"encrypted PEM", write("enc.pem", []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")), "", "password-encrypted"},
		{"not a key at all", write("junk.bin", []byte("hello")), "", "neither PEM nor PKCS#12"},
		{"pkcs12 wrong password", write("w.pfx", pfx), "wrong", "wrong password"},
		{"truncated pkcs12", write("t.pfx", pfx[:len(pfx)/2]), "s3cret", "PKCS#12"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadKey(tt.file, tt.password)
			if err == nil {
				t.Fatal("LoadKey accepted it")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line saying %q", msg, tt.want)
			}
			if tt.name != "missing" && !strings.Contains(msg, tt.file) {
				t.Fatalf("error %q does not name the file", msg)
			}
		})
	}
}

func TestParseCertificate(t *testing.T) {
	cert, err := ParseCertificate(EncodeCertificate(testCert))
	if err != nil {
		t.Fatal(err)
	}
	if !cert.Equal(testCert) {
		t.Fatal("parsed another certificate")
	}
	if _, err := ParseCertificate(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: testCert.Raw}))); err != nil {
		t.Fatalf("PEM form: %v", err)
	}
	for _, bad := range []string{"", "not base64!", "aGVsbG8="} {
		if _, err := ParseCertificate(bad); err == nil {
			t.Errorf("ParseCertificate(%q) accepted it", bad)
		} else if !strings.HasPrefix(err.Error(), "parse encryptionCertificate") {
			t.Errorf("error %q does not name encryptionCertificate", err)
		}
	}
}
