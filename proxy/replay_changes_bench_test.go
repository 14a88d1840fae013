package proxy

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/graphvcr/graphvcr/proxy/changes"
)

// BenchmarkReplayRichNotification measures what replay does to a stored
// rich notification with 4 KB of resource data at delivery time: bound to
// the live subscription, re-encrypted for its certificate (fresh key,
// AES-CBC, HMAC, RSA-OAEP) and its validation token signed (RS256), the
// claims field removed. Each iteration also runs two baselines on the
// same 4 KB, so all share the machine's load of the moment: a bare RSA-OAEP
// of a 32-byte key plus AES-256-CBC (what re-encryption cannot avoid), and
// that plus one bare RS256 signature (what re-signing cannot avoid). It
// reports the p99 of each and the ratios.
func BenchmarkReplayRichNotification(b *testing.B) {
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "app"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &appKey.PublicKey, appKey)
	if err != nil {
		b.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	signer, err := LoadSigner(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer signer.Close()
	r := &Replayer{cfg: ReplayConfig{Signer: signer}, log: slog.New(slog.DiscardHandler)}
	r.changes.subs = map[string]changes.Subscription{
		"c0ffee00-0000-4000-8000-000000000008": {ClientState: "live-state", IncludeResourceData: true, EncryptionCertificate: cert, EncryptionCertificateID: "cert-live"},
	}
	resource := []byte(`{"id":"c0ffee00-0000-4000-8000-000000000006","availability":"Busy","note":"`)
	resource = append(resource, bytes.Repeat([]byte("n"), 4096-len(resource)-2)...)
	resource = append(resource, `"}`...)
	body := []byte(`{"value":[{"subscriptionId":"c0ffee00-0000-4000-8000-000000000008","clientState":"REDACTED","changeType":"updated",` +
		`"resource":"communications/presences/c0ffee00-0000-4000-8000-000000000006","tenantId":"c0ffee00-0000-4000-8000-000000000001"}],` +
		`"validationTokens":["REDACTED"],"validationTokenClaims":[{"claims":{"aud":"c0ffee00-0000-4000-8000-000000000002","azp":"c0ffee00-0000-4000-8000-000000000012",` +
		`"iss":"https://sts.windows.net/c0ffee00-0000-4000-8000-000000000001/","tid":"c0ffee00-0000-4000-8000-000000000001","ver":"1.0"},"lifetime_ns":3600000000000}]}`)
	if body, err = sjson.SetRawBytes(body, "value.0."+changes.DecryptedField, resource); err != nil {
		b.Fatal(err)
	}
	tok := TokenRequest{Tenant: "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", AppID: "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"}

	sym := make([]byte, 32)
	data := make([]byte, 4096)
	buf := make([]byte, len(data))
	digest := make([]byte, 32)

	b.SetBytes(int64(len(resource)))
	b.ReportAllocs()
	var full, crypt, crypsign []time.Duration
	for b.Loop() {
		t0 := time.Now()
		out, err := r.liveChange(body, tok)
		if err != nil || !gjson.GetBytes(out, "value.0.encryptedContent.dataKey").Exists() {
			b.Fatalf("not re-encrypted: %v %s", err, out)
		}
		t1 := time.Now()
		rand.Read(sym)
		if _, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &appKey.PublicKey, sym, nil); err != nil {
			b.Fatal(err)
		}
		blk, _ := aes.NewCipher(sym)
		cipher.NewCBCEncrypter(blk, sym[:16]).CryptBlocks(buf, data)
		t2 := time.Now()
		if _, err := rsa.SignPKCS1v15(nil, signer.key, crypto.SHA256, digest); err != nil {
			b.Fatal(err)
		}
		t3 := time.Now()
		full = append(full, t1.Sub(t0))
		crypt = append(crypt, t2.Sub(t1))
		crypsign = append(crypsign, t3.Sub(t1))
	}
	p99 := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)*99/100])
	}
	b.ReportMetric(p99(full), "p99-replay-ns")
	b.ReportMetric(p99(crypt), "p99-bare-encrypt-ns")
	b.ReportMetric(p99(crypsign), "p99-bare-encrypt+sign-ns")
	b.ReportMetric(p99(full)/p99(crypt), "ratio-encrypt")
	b.ReportMetric(p99(full)/p99(crypsign), "ratio-encrypt+sign")
}
