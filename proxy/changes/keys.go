package changes

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// LoadKey reads the app's private key, the one whose certificate the app
// sends as encryptionCertificate, from a file: PEM (PKCS#8 "PRIVATE KEY"
// or PKCS#1 "RSA PRIVATE KEY"; other blocks such as the certificate are
// skipped) or PKCS#12 (.pfx, .p12) with password ("" for none). Errors are
// one line naming the file and what to give instead.
func LoadKey(path, password string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load decryption key: %w", err)
	}
	key, err := ParseKey(data, password)
	if err != nil {
		return nil, fmt.Errorf("load decryption key %s: %w", path, err)
	}
	return key, nil
}

// ParseKey parses what LoadKey reads.
func ParseKey(data []byte, password string) (*rsa.PrivateKey, error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		return parsePEMKey(data)
	}
	if len(data) == 0 {
		return nil, errors.New("empty key file (give a PEM private key or a PKCS#12 .pfx)")
	}
	priv, _, _, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		if errors.Is(err, pkcs12.ErrIncorrectPassword) {
			return nil, errors.New("PKCS#12: wrong password (give the .pfx password)")
		}
		return nil, fmt.Errorf("neither PEM nor PKCS#12 (%v): give a PEM private key or a .pfx", err)
	}
	key, ok := priv.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("PKCS#12 key is %T; Graph encrypts only for RSA certificates", priv)
	}
	return key, nil
}

// parsePEMKey returns the first private key block of data.
func parsePEMKey(data []byte) (*rsa.PrivateKey, error) {
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("PEM has no PRIVATE KEY or RSA PRIVATE KEY block (give the app's private key, not only its certificate)")
		}
		var parsed any
		var err error
		switch block.Type {
		case "PRIVATE KEY":
			parsed, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
				return nil, errors.New("PEM key is password-encrypted (decrypt it with openssl rsa, or give a .pfx)")
			}
			parsed, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("PEM key is password-encrypted (decrypt it with openssl pkcs8, or give a .pfx)")
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("PEM %s block: %w", block.Type, err)
		}
		key, ok := parsed.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("PEM key is %T; Graph encrypts only for RSA certificates", parsed)
		}
		return key, nil
	}
}

// ParseCertificate parses the encryptionCertificate of a subscription
// request: the base64 of an X.509 certificate's DER (a PEM block is
// accepted too). Graph encrypts only for RSA keys.
func ParseCertificate(encoded string) (*x509.Certificate, error) {
	encoded = strings.TrimSpace(encoded)
	var der []byte
	if block, _ := pem.Decode([]byte(encoded)); block != nil {
		der = block.Bytes
	} else {
		b, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			return nil, fmt.Errorf("parse encryptionCertificate: not base64 (%v): give the certificate's DER in base64", err)
		}
		der = b
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse encryptionCertificate: %w", err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, fmt.Errorf("parse encryptionCertificate: key is %T, Graph encrypts only for RSA", cert.PublicKey)
	}
	return cert, nil
}

// EncodeCertificate renders a certificate as an app sends it in
// encryptionCertificate: its DER in base64.
func EncodeCertificate(cert *x509.Certificate) string {
	return base64.StdEncoding.EncodeToString(cert.Raw)
}
