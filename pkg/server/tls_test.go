package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aroundme/aroundme/pkg/config"
	"github.com/aroundme/aroundme/pkg/tlsconf/tlstest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestMutualTLS: with --tls-cert/--tls-key/--tls-client-ca and --metrics-tls
// a client with a certificate from the CA is served; one without, or in
// plaintext, fails the handshake; the metrics listener speaks HTTPS.
func TestMutualTLS(t *testing.T) {
	ca, err := tlstest.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sc, sk, _ := ca.Issue("aroundme", false)
	cc, ck, _ := ca.Issue("superapp", true)
	files := map[string][]byte{"tls.crt": sc, "tls.key": sk, "ca.crt": ca.PEM}
	for name, b := range files {
		os.WriteFile(filepath.Join(dir, name), b, 0o600)
	}
	cfg := testConfig(t, t.TempDir())
	cfg.TLS = config.TLSConfig{Cert: filepath.Join(dir, "tls.crt"), Key: filepath.Join(dir, "tls.key"),
		ClientCA: filepath.Join(dir, "ca.crt"), MetricsTLS: true, ReloadInterval: time.Second}
	_, _, grpcAddr, metricsAddr := runServer(t, cfg)

	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	clientCert, _ := tls.X509KeyPair(cc, ck)
	check := func(creds credentials.TransportCredentials) error {
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(creds))
		if err != nil {
			return err
		}
		defer conn.Close()
		cctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		_, err = healthpb.NewHealthClient(conn).Check(cctx, &healthpb.HealthCheckRequest{})
		return err
	}
	if err := check(credentials.NewTLS(&tls.Config{RootCAs: roots, Certificates: []tls.Certificate{clientCert}})); err != nil {
		t.Fatalf("client with a certificate: %v", err)
	}
	if err := check(credentials.NewTLS(&tls.Config{RootCAs: roots})); err == nil {
		t.Fatal("client without a certificate was served")
	}
	if err := check(insecure.NewCredentials()); err == nil {
		t.Fatal("plaintext client was served")
	}

	https := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	resp, err := https.Get("https://" + metricsAddr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics over HTTPS: %v %v", resp, err)
	}
	resp.Body.Close()
	if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + metricsAddr + "/healthz"); err == nil && resp.StatusCode == http.StatusOK {
		t.Fatal("metrics answered plaintext HTTP")
	}
}

// TestPlaintextNeedsConsent: plaintext on a non-loopback address is refused
// unless the operator allows it.
func TestPlaintextNeedsConsent(t *testing.T) {
	cfg := config.Default()
	cfg.Demo = true
	cfg.GRPCAddr = "0.0.0.0:50051"
	if err := cfg.Validate(); err == nil {
		t.Fatal("plaintext on 0.0.0.0 accepted without --allow-plaintext")
	}
	cfg.TLS.AllowPlaintext = true
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}
