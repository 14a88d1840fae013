package proxy_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graphvcr/graphvcr/proxy"
)

func TestLoadCACreatesOnceAndReadsBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "graphvcr")
	first, err := proxy.LoadCA(dir)
	if err != nil {
		t.Fatalf("LoadCA (create): %v", err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o700 {
		t.Errorf("dir mode = %o, want 700", got)
	}
	keyInfo, err := os.Stat(filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if got := keyInfo.Mode().Perm(); got != 0o600 {
		t.Errorf("key mode = %o, want 600", got)
	}
	if first.CertPath() != filepath.Join(dir, "ca.pem") {
		t.Errorf("CertPath = %q", first.CertPath())
	}
	before, err := os.ReadFile(first.CertPath())
	if err != nil {
		t.Fatal(err)
	}
	second, err := proxy.LoadCA(dir)
	if err != nil {
		t.Fatalf("LoadCA (read back): %v", err)
	}
	after, err := os.ReadFile(second.CertPath())
	if err != nil {
		t.Fatal(err)
	}
	if string(before) != string(after) {
		t.Fatal("second LoadCA replaced the CA certificate")
	}
	// A leaf from the second load verifies against the first load's pool: same CA.
	assertServes(t, second, first.CertPool(), "127.0.0.1")
	// Nothing of goproxy's public CA.
	block, _ := pem.Decode(after)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(cert.Subject.String(), "GoProxy") || !cert.IsCA {
		t.Errorf("unexpected CA subject %q (IsCA %v)", cert.Subject, cert.IsCA)
	}
}

func TestLoadCARefusesBrokenCA(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(t *testing.T, dir string)
		want   string
	}{
		{"corrupt key", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "ca-key.pem"), "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
		}, "ca-key.pem"},
		{"missing key", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "ca-key.pem")); err != nil {
				t.Fatal(err)
			}
		}, "ca-key.pem"},
		{"missing cert", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "ca.pem")); err != nil {
				t.Fatal(err)
			}
		}, "ca.pem"},
		{"key of another CA", func(t *testing.T, dir string) {
			other := t.TempDir()
			if _, err := proxy.LoadCA(other); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(other, "ca-key.pem"))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(dir, "ca-key.pem"), string(b))
		}, "ca-key.pem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := proxy.LoadCA(dir); err != nil {
				t.Fatal(err)
			}
			tt.break_(t, dir)
			keyBefore, _ := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
			_, err := proxy.LoadCA(dir)
			if err == nil {
				t.Fatal("LoadCA accepted a broken CA")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "load ca") {
				t.Errorf("error %q does not name %s", err, tt.want)
			}
			keyAfter, _ := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
			if string(keyBefore) != string(keyAfter) {
				t.Error("LoadCA replaced the key file")
			}
		})
	}
}

func TestCATLSConfigServesLeafForHosts(t *testing.T) {
	ca, err := proxy.LoadCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ca.TLSConfig("graph.microsoft.com:443")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cfg.NextProtos, ","); got != "h2,http/1.1" {
		t.Errorf("NextProtos = %q", got)
	}
	leaf := cfg.Certificates[0].Leaf
	for _, name := range []string{"localhost", "127.0.0.1", "::1", "graph.microsoft.com"} {
		if err := leaf.VerifyHostname(name); err != nil {
			t.Errorf("leaf does not cover %s: %v", name, err)
		}
	}
	again, err := ca.TLSConfig("graph.microsoft.com")
	if err != nil {
		t.Fatal(err)
	}
	if again.Certificates[0].Leaf != leaf {
		t.Error("leaf for the same hosts was signed again, not cached")
	}
	for _, name := range []string{"localhost", "127.0.0.1"} {
		t.Run(name, func(t *testing.T) { assertServes(t, ca, ca.CertPool(), name) })
	}
}

func TestDefaultCADir(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/xdg-config")
	t.Setenv("HOME", "/home/someone")
	dir, err := proxy.DefaultCADir()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(dir) != "graphvcr" {
		t.Errorf("DefaultCADir = %q, want a graphvcr directory", dir)
	}
}

// assertServes runs a real TLS server with the CA's leaf and checks that a
// client trusting pool reaches it by serverName over h2.
func assertServes(t *testing.T, ca *proxy.CA, pool *x509.CertPool, serverName string) {
	t.Helper()
	cfg, err := ca.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{TLSConfig: cfg, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	})}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeTLS(ln, "", "") }()
	defer func() { srv.Close(); <-done }()

	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: serverName}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatalf("TLS request as %s: %v", serverName, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "HTTP/2.0" {
		t.Errorf("protocol = %q, want HTTP/2.0", b)
	}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}
