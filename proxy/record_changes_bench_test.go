package proxy

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"log/slog"
	"testing"
	"time"

	"github.com/tidwall/sjson"

	"github.com/graphvcr/graphvcr/cassette"
	"github.com/graphvcr/graphvcr/proxy/changes"
	"github.com/graphvcr/graphvcr/redact"
)

// BenchmarkStoreRichNotification measures what the recorder does to a rich
// notification with 4 KB of resource data before storing it: the change
// secrets removed, the content decrypted (RSA-OAEP, HMAC check, AES-CBC)
// and the body redacted. Each iteration also runs the baseline, a bare
// RSA-OAEP decryption of the 32-byte key plus AES-256-CBC of the same 4 KB
// with no JSON and no redaction, so both share the machine's load of the
// moment; it reports the mean of each and their ratio.
func BenchmarkStoreRichNotification(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	resource := []byte(`{"id":"66825e03-7ef5-42da-9069-4082c9041a0b","availability":"Busy","note":"`)
	resource = append(resource, bytes.Repeat([]byte("n"), 4096-len(resource)-2)...)
	resource = append(resource, `"}`...)
	ec, err := changes.EncryptFor(&key.PublicKey, resource)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"value":[{"subscriptionId":"0b7d4c2e-9f1a-4e3b-8c5d-6a7b8c9d0e1f","clientState":"s3cr3t","changeType":"updated",` +
		`"resource":"communications/presences/66825e03-7ef5-42da-9069-4082c9041a0b","tenantId":"5f4e3d2c-1b0a-4958-8776-655443322110"}]}`)
	if body, err = sjson.SetRawBytes(body, "value.0.encryptedContent", ec.JSON()); err != nil {
		b.Fatal(err)
	}
	r := &Recorder{cfg: RecordConfig{DecryptKey: key}, red: redact.New(nil), log: slog.New(slog.DiscardHandler)}
	x := &rawExchange{kind: cassette.KindNotification}
	h := map[string][]string{"Content-Type": {"application/json"}}

	// The baseline's inputs: a wrapped key and 4 KB of ciphertext.
	sym := make([]byte, 32)
	rand.Read(sym)
	wrapped, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &key.PublicKey, sym, nil)
	if err != nil {
		b.Fatal(err)
	}
	blk, _ := aes.NewCipher(sym)
	data := make([]byte, 4096)
	buf := make([]byte, len(data))

	b.SetBytes(int64(len(resource)))
	b.ReportAllocs()
	var full, bare time.Duration
	for b.Loop() {
		t0 := time.Now()
		req, _, _ := r.changeSecrets(x, body, nil)
		if out := r.redactBody(h, req); !bytes.Contains(out, []byte(changes.DecryptedField)) {
			b.Fatalf("not decrypted: %s", out)
		}
		t1 := time.Now()
		k, err := rsa.DecryptOAEP(sha1.New(), nil, key, wrapped, nil)
		if err != nil || len(k) != 32 {
			b.Fatal(err)
		}
		cipher.NewCBCDecrypter(blk, sym[:16]).CryptBlocks(buf, data)
		t2 := time.Now()
		full += t1.Sub(t0)
		bare += t2.Sub(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(full.Nanoseconds())/n, "store-ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/n, "bare-ns/op")
	b.ReportMetric(float64(full)/float64(bare), "ratio")
}
