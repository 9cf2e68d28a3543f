package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aroundme/aroundme/pkg/config"
	"github.com/aroundme/aroundme/pkg/tlsconf/tlstest"
)

// TestMutualTLS: aroundctl talks to a server that demands client
// certificates when given --tls-ca, --tls-cert and --tls-key, and fails
// without the certificate or in plaintext.
func TestMutualTLS(t *testing.T) {
	ca, err := tlstest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sc, sk, _ := ca.Issue("aroundme", false)
	cc, ck, _ := ca.Issue("ops", true)
	for name, b := range map[string][]byte{"server.crt": sc, "server.key": sk, "client.crt": cc, "client.key": ck, "ca.crt": ca.PEM} {
		os.WriteFile(filepath.Join(dir, name), b, 0o600)
	}
	f := func(n string) string { return filepath.Join(dir, n) }
	addr, key := startServerWith(t, func(c *config.Config) {
		c.TLS.Cert, c.TLS.Key, c.TLS.ClientCA = f("server.crt"), f("server.key"), f("ca.crt")
	})
	ok := runCtl(t, nil, "--addr", addr, "--key", key, "--tls-ca", f("ca.crt"), "--tls-cert", f("client.crt"), "--tls-key", f("client.key"), "mini-programs", "list")
	if ok.code != 0 {
		t.Fatalf("with a client certificate: exit %d: %s", ok.code, ok.stderr)
	}
	for name, args := range map[string][]string{
		"no client certificate": {"--addr", addr, "--key", key, "--tls-ca", f("ca.crt"), "mini-programs", "list"},
		"plaintext":             {"--addr", addr, "--key", key, "mini-programs", "list"},
		"unknown CA":            {"--addr", addr, "--key", key, "--tls", "mini-programs", "list"},
	} {
		if r := runCtl(t, nil, args...); r.code == 0 {
			t.Errorf("%s: the call succeeded", name)
		}
	}
	if r := runCtl(t, nil, "--addr", addr, "--tls-cert", f("client.crt"), "mini-programs", "list"); r.code == 0 {
		t.Error("--tls-cert without --tls-key accepted")
	}
}
