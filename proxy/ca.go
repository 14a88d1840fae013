package proxy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// File names of the CA inside its directory.
const (
	caCertFile = "ca.pem"
	caKeyFile  = "ca-key.pem"
)

// Validity of what the CA signs. Leaves are short-lived and only ever kept in
// memory, so a new run always signs fresh ones; 397 days is the longest
// lifetime every TLS client still accepts for a leaf.
const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 397 * 24 * time.Hour
	clockSkew    = time.Hour
)

// loopbackNames are always in a leaf certificate, so every listener of
// graphvcr can be reached by the usual loopback names.
var loopbackNames = []string{"localhost", "127.0.0.1", "::1"}

// CA is graphvcr's own certificate authority. It signs the leaf certificates
// of the --tls listener and of the hosts intercepted in forward (MITM) mode.
// It is created once per install and read back on every run; goproxy's
// built-in CA, whose key is public, is never used. A CA is safe for
// concurrent use.
type CA struct {
	dir  string
	cert *x509.Certificate
	key  crypto.Signer
	pool *x509.CertPool

	mu     sync.Mutex                  // guards leaves
	leaves map[string]*tls.Certificate // by sorted, comma-joined host list
}

// DefaultCADir returns the directory the CA lives in when none is given:
// graphvcr under the user's configuration directory.
func DefaultCADir() (string, error) {
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("default ca dir: %w", err)
	}
	return filepath.Join(base, "graphvcr"), nil
}

// LoadCA reads the CA in dir (ca.pem and ca-key.pem), creating dir (mode
// 0700) and a new ECDSA P-256 CA (key file mode 0600) when neither file
// exists yet. A CA whose files are unreadable, corrupt or half present is an
// error: LoadCA never silently replaces a key that clients may already trust.
func LoadCA(dir string) (*CA, error) {
	if dir == "" {
		return nil, errors.New("load ca: empty directory")
	}
	certPath := filepath.Join(dir, caCertFile)
	keyPath := filepath.Join(dir, caKeyFile)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	if errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist) {
		if err := createCA(dir); err != nil {
			return nil, err
		}
	}
	return readCA(dir)
}

// createCA writes a new CA into dir. Both files are first written to
// temporary names and then hard-linked into place, which fails instead of
// overwriting when another process created the CA meanwhile: the first CA
// installed wins and every process ends up reading that one.
func createCA(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create ca: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("create ca: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return fmt.Errorf("create ca: %w", err)
	}
	now := time.Now()
	host, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Organization: []string{"graphvcr"},
			CommonName:   "graphvcr local CA " + host,
		},
		NotBefore:             now.Add(-clockSkew),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("create ca: sign certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("create ca: encode key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// Key first: a crash between the two leaves a key without a certificate,
	// which readCA reports, rather than a certificate nobody can sign with.
	if err := installFile(dir, caKeyFile, keyPEM, 0o600); err != nil {
		return fmt.Errorf("create ca: %w", err)
	}
	if err := installFile(dir, caCertFile, certPEM, 0o644); err != nil {
		return fmt.Errorf("create ca: %w", err)
	}
	return nil
}

// installFile writes data to dir/name through a synced temporary file and a
// hard link, so a reader never sees a partial file and an existing file is
// never replaced (an existing one means another process won the race).
func installFile(dir, name string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Link(tmp.Name(), filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("install %s: %w", name, err)
	}
	return nil
}

// readCA parses the CA files in dir and checks that key and certificate belong together.
func readCA(dir string) (*CA, error) {
	certPath := filepath.Join(dir, caCertFile)
	keyPath := filepath.Join(dir, caKeyFile)
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w (remove %s to create a new CA)", err, dir)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("load ca: %w (remove %s to create a new CA)", err, dir)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca: %s and %s: %w (remove %s to create a new CA)", certPath, keyPath, err, dir)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("load ca: parse %s: %w", certPath, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("load ca: %s is not a CA certificate", certPath)
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("load ca: %s: unsupported key type %T", keyPath, pair.PrivateKey)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{dir: dir, cert: cert, key: key, pool: pool, leaves: map[string]*tls.Certificate{}}, nil
}

// CertPath returns the path of the CA certificate (PEM), the file a client
// is told to trust (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, a system store).
func (c *CA) CertPath() string { return filepath.Join(c.dir, caCertFile) }

// CertPool returns a pool holding only the CA certificate, for clients
// (tests, the replayer's own checks) that must trust graphvcr's listeners.
func (c *CA) CertPool() *x509.CertPool { return c.pool.Clone() }

// TLSConfig returns a server configuration presenting a leaf certificate
// signed by the CA for localhost, 127.0.0.1, ::1 and hosts (host names or IP
// addresses; a port is ignored). It advertises h2 and http/1.1. Leaves are
// cached per host set for the life of the CA.
func (c *CA) TLSConfig(hosts ...string) (*tls.Config, error) {
	leaf, err := c.leaf(hosts)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{*leaf},
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// leaf returns the cached leaf for the host set, signing it on first use.
func (c *CA) leaf(hosts []string) (*tls.Certificate, error) {
	names := slices.Clone(loopbackNames)
	for _, h := range hosts {
		if host, _, err := net.SplitHostPort(h); err == nil {
			h = host
		}
		h = strings.ToLower(strings.Trim(h, "[]"))
		if h != "" && !slices.Contains(names, h) {
			names = append(names, h)
		}
	}
	slices.Sort(names)
	key := strings.Join(names, ",")

	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.leaves[key]; ok {
		return l, nil
	}
	l, err := c.sign(names)
	if err != nil {
		return nil, err
	}
	c.leaves[key] = l
	return l, nil
}

// sign creates a leaf certificate for names.
func (c *CA) sign(names []string) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sign leaf: generate key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("sign leaf: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"graphvcr"}, CommonName: names[0]},
		NotBefore:    now.Add(-clockSkew),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if tmpl.NotAfter.After(c.cert.NotAfter) {
		tmpl.NotAfter = c.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		return nil, fmt.Errorf("sign leaf for %s: %w", strings.Join(names, ","), err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("sign leaf: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der, c.cert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	return serial, nil
}
