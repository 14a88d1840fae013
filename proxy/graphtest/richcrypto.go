package graphtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// The simulator encrypts rich notifications and the subscriber decrypts
// them with code of their own, written from Microsoft's description of the
// scheme ("Set up change notifications that include resource data"), so
// that a test between them does not share its crypto with the proxy's.

// encryptResource builds an encryptedContent for cert as Graph does: a
// fresh 32-byte key, the resource in AES-256-CBC with PKCS#7 padding and
// the key's first 16 bytes as IV, an HMAC-SHA256 of the ciphertext with
// the key, and the key in RSA-OAEP-SHA1 for the certificate.
func encryptResource(cert *x509.Certificate, certID string, resource []byte) (obj, error) {
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("encryption certificate has no RSA key")
	}
	key := make([]byte, 32)
	rand.Read(key) // never fails (crypto/rand)
	n := aes.BlockSize - len(resource)%aes.BlockSize
	padded := append(append([]byte(nil), resource...), []byte(strings.Repeat(string(rune(n)), n))...)
	block, _ := aes.NewCipher(key) // a 32-byte key is valid
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(padded, padded)
	mac := hmac.New(sha256.New, key)
	mac.Write(padded)
	wrapped, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	if err != nil {
		return nil, fmt.Errorf("encrypt data key: %w", err)
	}
	thumb := sha1.Sum(cert.Raw)
	return obj{
		{"data", base64.StdEncoding.EncodeToString(padded)},
		{"dataSignature", base64.StdEncoding.EncodeToString(mac.Sum(nil))},
		{"dataKey", base64.StdEncoding.EncodeToString(wrapped)},
		{"encryptionCertificateId", certID},
		{"encryptionCertificateThumbprint", strings.ToUpper(hex.EncodeToString(thumb[:]))},
	}, nil
}

// decryptResource is what an app does with an encryptedContent: unwrap
// the key with its private key, check the signature in constant time,
// decrypt and unpad.
func decryptResource(priv *rsa.PrivateKey, ec gjson.Result) ([]byte, error) {
	wrapped, err1 := base64.StdEncoding.DecodeString(ec.Get("dataKey").String())
	data, err2 := base64.StdEncoding.DecodeString(ec.Get("data").String())
	sig, err3 := base64.StdEncoding.DecodeString(ec.Get("dataSignature").String())
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fmt.Errorf("decode encryptedContent: %w", err)
	}
	key, err := rsa.DecryptOAEP(sha1.New(), rand.Reader, priv, wrapped, nil)
	if err != nil || len(key) != 32 {
		return nil, errors.New("data key does not decrypt with the app's key")
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(data)
	if !hmac.Equal(mac.Sum(nil), sig) {
		return nil, errors.New("dataSignature does not match the data")
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, errors.New("data is not whole AES blocks")
	}
	block, _ := aes.NewCipher(key)
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(data, data)
	n := int(data[len(data)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, errors.New("bad padding")
	}
	for _, b := range data[len(data)-n:] {
		if int(b) != n {
			return nil, errors.New("bad padding")
		}
	}
	return data[:len(data)-n], nil
}
