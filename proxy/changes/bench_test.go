package changes

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"slices"
	"testing"
	"time"

	"github.com/tidwall/sjson"
)

// BenchmarkReencrypt measures what replay does to each rich notification:
// Reencrypt of a stored body whose resource data is 4 KB (parse, fresh
// key, AES-CBC, HMAC, RSA-OAEP, base64, JSON edits). Each iteration also
// runs the baseline, a bare RSA-OAEP of a 32-byte key plus AES-256-CBC of
// the same 4 KB with no encoding, so both share the machine's load of the
// moment. It reports p99 of each (sorted per-op samples), the mean of
// each and the ratio of the two p99s; the benchmark's own ns/op is the sum
// of both.
func BenchmarkReencrypt(b *testing.B) {
	// A 4 KB presence resource (its note padded out).
	resource := []byte(nil)
	resource = append(resource, `{"id":"66825e03-7ef5-42da-9069-4082c9041a0b","availability":"Busy","note":"`...)
	resource = append(resource, bytes.Repeat([]byte("n"), 4096-len(resource)-2)...)
	resource = append(resource, `"}`...)
	body := []byte(`{"value":[{"subscriptionId":"s","changeType":"updated","resource":"communications/presences/x","tenantId":"t"}]}`)
	body, err := sjson.SetRawBytes(body, "value.0."+DecryptedField, resource)
	if err != nil {
		b.Fatal(err)
	}
	pub := testCert.PublicKey.(*rsa.PublicKey)
	sym := make([]byte, 32)
	buf := make([]byte, len(resource)+aes.BlockSize)

	full := make([]time.Duration, 0, b.N)
	bare := make([]time.Duration, 0, b.N)
	b.SetBytes(int64(len(resource)))
	b.ReportAllocs()
	b.ResetTimer()
	var fullTotal, bareTotal time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, _, err := Reencrypt(body, testCert, "cert-1"); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		rand.Read(sym)
		blk, _ := aes.NewCipher(sym)
		copy(buf, resource)
		cipher.NewCBCEncrypter(blk, sym[:16]).CryptBlocks(buf, buf)
		if _, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, sym, nil); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		full = append(full, t1.Sub(t0))
		bare = append(bare, t2.Sub(t1))
		fullTotal += t1.Sub(t0)
		bareTotal += t2.Sub(t1)
	}
	b.StopTimer()
	p99 := func(s []time.Duration) time.Duration {
		slices.Sort(s)
		return s[(len(s)*99)/100]
	}
	pf, pb := p99(full), p99(bare)
	b.ReportMetric(float64(fullTotal.Nanoseconds())/float64(len(full)), "reencrypt-ns/op")
	b.ReportMetric(float64(bareTotal.Nanoseconds())/float64(len(bare)), "bare-ns/op")
	b.ReportMetric(float64(pf.Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(pb.Nanoseconds()), "bare-p99-ns")
	b.ReportMetric(float64(pf)/float64(pb), "p99-ratio")
}
