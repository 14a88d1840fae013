package changes

import (
	"bytes"
	"crypto"
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
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"
)

// proxy/graphtest has its own copy of this scheme on purpose: each side
// of the tests checks the other, so do not merge the two.

// symmetricKeySize is the size of the key Graph draws per notification:
// AES-256, whose first 16 bytes are also the CBC initialisation vector.
const symmetricKeySize = 32

// Errors a caller branches on: a recorder logs and stores the notification
// without its resource data, a subscriber rejects the notification.
var (
	// ErrSignature is returned by Decrypt when dataSignature does not match
	// the data: the notification was tampered with or its key is not the
	// one the data was signed with.
	ErrSignature = errors.New("dataSignature does not match the data")
	// ErrKey is returned by Decrypt when dataKey cannot be decrypted with
	// the given private key: the notification was encrypted for another
	// certificate.
	ErrKey = errors.New("dataKey cannot be decrypted with this private key (was the notification encrypted for another certificate?)")
)

// EncryptedContent is a rich notification's encryptedContent, as Graph
// sends it: every field base64 but the two certificate names.
type EncryptedContent struct {
	// Data is the resource JSON encrypted with AES-256-CBC (PKCS#7 padding).
	Data string
	// DataSignature is the HMAC-SHA256 of the decoded Data with the
	// symmetric key.
	DataSignature string
	// DataKey is the symmetric key encrypted with RSA-OAEP (SHA-1) for the
	// subscription's encryptionCertificate.
	DataKey string
	// EncryptionCertificateID is the encryptionCertificateId the app set in
	// its subscription.
	EncryptionCertificateID string
	// EncryptionCertificateThumbprint is the hex SHA-1 of the certificate's
	// DER, upper case as Windows prints thumbprints.
	EncryptionCertificateThumbprint string
}

// ParseEncryptedContent reads an encryptedContent object.
func ParseEncryptedContent(raw []byte) (EncryptedContent, error) {
	if !gjson.ValidBytes(raw) || !gjson.ParseBytes(raw).IsObject() {
		return EncryptedContent{}, errors.New("parse encryptedContent: not a JSON object")
	}
	r := gjson.ParseBytes(raw)
	ec := EncryptedContent{
		Data:                            r.Get("data").String(),
		DataSignature:                   r.Get("dataSignature").String(),
		DataKey:                         r.Get("dataKey").String(),
		EncryptionCertificateID:         r.Get("encryptionCertificateId").String(),
		EncryptionCertificateThumbprint: r.Get("encryptionCertificateThumbprint").String(),
	}
	if ec.Data == "" || ec.DataKey == "" || ec.DataSignature == "" {
		return EncryptedContent{}, errors.New("parse encryptedContent: data, dataKey or dataSignature missing")
	}
	return ec, nil
}

// JSON renders ec as Graph does, fields in its documented order.
func (ec EncryptedContent) JSON() []byte {
	// A struct keeps the order; sjson would re-scan the long base64
	// strings once per field, the larger part of a re-encryption's cost.
	out, err := json.Marshal(struct {
		Data          string `json:"data"`
		DataSignature string `json:"dataSignature"`
		DataKey       string `json:"dataKey"`
		CertID        string `json:"encryptionCertificateId"`
		Thumbprint    string `json:"encryptionCertificateThumbprint"`
	}{ec.Data, ec.DataSignature, ec.DataKey, ec.EncryptionCertificateID, ec.EncryptionCertificateThumbprint})
	if err != nil {
		panic("changes: marshal strings: " + err.Error()) // strings always marshal
	}
	return out
}

// oaep are the options of Graph's RSA/ECB/OAEPWithSHA1AndMGF1Padding.
var oaep = &rsa.OAEPOptions{Hash: crypto.SHA1, MGFHash: crypto.SHA1}

// Decrypt returns the resource JSON of a rich notification: it decrypts
// dataKey with key (RSA-OAEP, SHA-1), checks dataSignature (HMAC-SHA256 of
// the decoded data, compared in constant time) before touching the data,
// then decrypts data (AES-256-CBC, the IV being the key's first 16 bytes,
// PKCS#7 padding). key is the app's private key, e.g. from LoadKey; any
// crypto.Decrypter that accepts *rsa.OAEPOptions works (a key in an HSM).
func Decrypt(key crypto.Decrypter, ec EncryptedContent) ([]byte, error) {
	if key == nil {
		return nil, errors.New("decrypt notification: no private key")
	}
	wrapped, err := base64.StdEncoding.DecodeString(ec.DataKey)
	if err != nil {
		return nil, fmt.Errorf("decrypt notification: dataKey is not base64: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(ec.DataSignature)
	if err != nil {
		return nil, fmt.Errorf("decrypt notification: dataSignature is not base64: %w", err)
	}
	data, err := base64.StdEncoding.DecodeString(ec.Data)
	if err != nil {
		return nil, fmt.Errorf("decrypt notification: data is not base64: %w", err)
	}
	sym, err := key.Decrypt(rand.Reader, wrapped, oaep)
	if err != nil {
		return nil, fmt.Errorf("decrypt notification: %w", ErrKey)
	}
	if len(sym) != symmetricKeySize {
		return nil, fmt.Errorf("decrypt notification: symmetric key of %d bytes, want %d", len(sym), symmetricKeySize)
	}
	mac := hmac.New(sha256.New, sym)
	mac.Write(data)
	if !hmac.Equal(mac.Sum(nil), sig) {
		return nil, fmt.Errorf("decrypt notification: %w", ErrSignature)
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("decrypt notification: data of %d bytes is not whole AES blocks", len(data))
	}
	block, err := aes.NewCipher(sym)
	if err != nil {
		return nil, fmt.Errorf("decrypt notification: %w", err)
	}
	plain := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, sym[:aes.BlockSize]).CryptBlocks(plain, data)
	// The signature held, so a bad padding is the sender's bug, not an
	// oracle an attacker can probe.
	pad := int(plain[len(plain)-1])
	if pad == 0 || pad > aes.BlockSize || !bytes.Equal(plain[len(plain)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
		return nil, errors.New("decrypt notification: bad PKCS#7 padding")
	}
	return plain[:len(plain)-pad], nil
}

// Encrypt encrypts resource JSON for a subscription's certificate as Graph
// does: a fresh 32-byte symmetric key per call, data in AES-256-CBC with
// PKCS#7 padding and the key's first 16 bytes as IV, dataSignature the
// HMAC-SHA256 of the encrypted data, dataKey the symmetric key in RSA-OAEP
// (SHA-1) for the certificate's public key. certID is the
// encryptionCertificateId the app set in its subscription.
func Encrypt(cert *x509.Certificate, certID string, plaintext []byte) (EncryptedContent, error) {
	if cert == nil {
		return EncryptedContent{}, errors.New("encrypt notification: no certificate")
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return EncryptedContent{}, fmt.Errorf("encrypt notification: certificate key is %T, want RSA", cert.PublicKey)
	}
	ec, err := EncryptFor(pub, plaintext)
	if err != nil {
		return EncryptedContent{}, err
	}
	ec.EncryptionCertificateID = certID
	ec.EncryptionCertificateThumbprint = Thumbprint(cert)
	return ec, nil
}

// EncryptFor is Encrypt for a bare public key: the certificate fields of
// the result are empty.
func EncryptFor(pub *rsa.PublicKey, plaintext []byte) (EncryptedContent, error) {
	sym := make([]byte, symmetricKeySize)
	if _, err := rand.Read(sym); err != nil {
		return EncryptedContent{}, fmt.Errorf("encrypt notification: %w", err)
	}
	block, err := aes.NewCipher(sym)
	if err != nil {
		return EncryptedContent{}, fmt.Errorf("encrypt notification: %w", err)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	data := make([]byte, len(plaintext)+pad)
	copy(data, plaintext)
	for i := len(plaintext); i < len(data); i++ {
		data[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, sym[:aes.BlockSize]).CryptBlocks(data, data)
	mac := hmac.New(sha256.New, sym)
	mac.Write(data)
	wrapped, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, sym, nil)
	if err != nil {
		return EncryptedContent{}, fmt.Errorf("encrypt notification: wrap key: %w", err)
	}
	return EncryptedContent{
		Data:          base64.StdEncoding.EncodeToString(data),
		DataSignature: base64.StdEncoding.EncodeToString(mac.Sum(nil)),
		DataKey:       base64.StdEncoding.EncodeToString(wrapped),
	}, nil
}

// Thumbprint returns a certificate's thumbprint as Graph writes
// encryptionCertificateThumbprint: the SHA-1 of its DER in upper-case hex.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
