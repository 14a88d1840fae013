package changes

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// testKey and testCert stand for an app's key pair; otherKey for another
// app's. Generating RSA keys per test would dominate the run time.
var (
	testKey   *rsa.PrivateKey
	testCert  *x509.Certificate
	otherKey  *rsa.PrivateKey
	otherCert *x509.Certificate
)

func TestMain(m *testing.M) {
	var err error
	if testKey, testCert, err = newKeyPair("test app"); err == nil {
		otherKey, otherCert, err = newKeyPair("other app")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "make test keys:", err)
		os.Exit(2)
	}
	goleak.VerifyTestMain(m)
}

// newKeyPair makes an RSA key and a self-signed certificate for it, as an
// app makes its encryption certificate.
func newKeyPair(cn string) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return key, cert, err
}
