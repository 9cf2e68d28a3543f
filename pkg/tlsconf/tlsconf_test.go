package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aroundme/aroundme/pkg/tlsconf/tlstest"
)

// pki wraps tlstest for these tests.
type pki struct {
	*tlstest.CA
	ca    *x509.Certificate
	caPEM []byte
}

func newPKI(t *testing.T) *pki {
	ca, err := tlstest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	return &pki{CA: ca, ca: ca.Cert, caPEM: ca.PEM}
}

func (p *pki) issue(t *testing.T, cn string, _ int64, client bool) ([]byte, []byte) {
	c, k, err := p.Issue(cn, client)
	if err != nil {
		t.Fatal(err)
	}
	return c, k
}

func write(t *testing.T, path string, b []byte, mod time.Time) {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(path, mod, mod)
}

// serve accepts TLS connections with cfg and completes their handshakes.
func serve(t *testing.T, cfg *tls.Config) string {
	lis, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	go func() {
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return lis.Addr().String()
}

func TestReloadAndClientAuth(t *testing.T) {
	p := newPKI(t)
	dir := t.TempDir()
	f := Files{Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key"), ClientCA: filepath.Join(dir, "ca.crt")}
	t0 := time.Now().Add(-time.Minute)
	c1, k1 := p.issue(t, "server-1", 10, false)
	write(t, f.Cert, c1, t0)
	write(t, f.Key, k1, t0)
	write(t, f.ClientCA, p.caPEM, t0)
	r, err := New(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := serve(t, r.ServerConfig(true))
	roots := x509.NewCertPool()
	roots.AddCert(p.ca)
	cc, ck := p.issue(t, "client", 20, true)
	clientCert, _ := tls.X509KeyPair(cc, ck)

	dial := func(withCert bool) (string, error) {
		cfg := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
		if withCert {
			cfg.Certificates = []tls.Certificate{clientCert}
		}
		conn, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			return "", err
		}
		defer conn.Close()
		// With TLS 1.3 a rejected client certificate shows on the first read.
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := conn.Read(make([]byte, 1)); err != nil && !isEOF(err) {
			return "", err
		}
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName, nil
	}
	if cn, err := dial(true); err != nil || cn != "server-1" {
		t.Fatalf("mTLS handshake: %q %v", cn, err)
	}
	if _, err := dial(false); err == nil {
		t.Fatal("a client without a certificate was accepted")
	}

	// Rotate: a new certificate is served after Reload, without a restart.
	c2, k2 := p.issue(t, "server-2", 11, false)
	write(t, f.Cert, c2, t0.Add(30*time.Second))
	write(t, f.Key, k2, t0.Add(30*time.Second))
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if cn, err := dial(true); err != nil || cn != "server-2" {
		t.Fatalf("after rotation: %q %v", cn, err)
	}
	// A broken new file is refused and the last good certificate kept.
	write(t, f.Cert, []byte("not a certificate"), t0.Add(50*time.Second))
	if err := r.Reload(); err == nil {
		t.Fatal("a broken certificate was loaded")
	}
	if cn, err := dial(true); err != nil || cn != "server-2" {
		t.Fatalf("after a bad rotation: %q %v", cn, err)
	}
	if _, err := New(Files{Cert: f.Cert, Key: f.Key}, nil); err == nil {
		t.Fatal("New accepted a broken certificate")
	}
}

func isEOF(err error) bool {
	ne, ok := err.(net.Error)
	return err.Error() == "EOF" || (ok && ne.Timeout())
}
