package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/auth"
	"github.com/aroundme/aroundme/pkg/config"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
)

// Test keys: the plain keys the harness's keys file holds hashes of.
const (
	adminKey  = "test-admin-key"
	clientKey = "test-client-key"
	acmeKey   = "test-acme-key"
	otherKey  = "test-other-advertiser-key"
)

// harness is one in-process server on bufconn, through the real interceptor
// chain, with its own registry and data dir.
type harness struct {
	t    *testing.T
	srv  *Server
	conn *grpc.ClientConn
	dir  string
	reg  *prometheus.Registry
	lis  *bufconn.Listener
	now  time.Time
}

func writeTestKeys(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "keys.yaml")
	for _, e := range []auth.KeyEntry{
		{Name: "ops", SHA256: auth.HashKey(adminKey), Role: auth.RoleAdmin},
		{Name: "superapp", SHA256: auth.HashKey(clientKey), Role: auth.RoleClient},
		{Name: "acme-ads", SHA256: auth.HashKey(acmeKey), Role: auth.RoleAdvertiser, AdvertiserID: "acme"},
		{Name: "other-ads", SHA256: auth.HashKey(otherKey), Role: auth.RoleAdvertiser, AdvertiserID: "other"},
	} {
		if err := auth.AppendKey(path, e); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func testConfig(t *testing.T, dataDir string) config.Config {
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.KeysFile = writeTestKeys(t, t.TempDir())
	cfg.Catalog.ImportBatch = 7 // small, so that tests cross batch boundaries
	return cfg
}

// newHarness starts a server on dataDir ("" = a fresh temp dir).
func newHarness(t *testing.T, dataDir string, mutate ...func(*config.Config)) *harness {
	t.Helper()
	return newHarnessWith(t, dataDir, nil, mutate...)
}

// newHarnessWith is newHarness with extra services registered before the
// server starts serving.
func newHarnessWith(t *testing.T, dataDir string, register func(*grpc.Server), mutate ...func(*config.Config)) *harness {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	cfg := testConfig(t, dataDir)
	for _, m := range mutate {
		m(&cfg)
	}
	h := &harness{t: t, dir: dataDir, reg: prometheus.NewRegistry(), now: time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)}
	audit.addRegistry(h.reg)
	// Every harness logs at debug level, as JSON, into the privacy audit
	// (see TestMain); AROUNDME_TEST_LOG=1 also shows the lines.
	var logw io.Writer = &audit
	if os.Getenv("AROUNDME_TEST_LOG") != "" {
		logw = io.MultiWriter(&audit, os.Stderr)
	}
	srv, err := New(cfg, Options{
		Logger:   slog.New(slog.NewJSONHandler(logw, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: h.reg,
		Now:      func() time.Time { return h.now },
		Out:      io.Discard,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.srv = srv
	if err := srv.Load(context.Background()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if register != nil {
		register(srv.GRPCServer())
	}
	h.lis = bufconn.Listen(1 << 20)
	go srv.GRPCServer().Serve(h.lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return h.lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	h.conn = conn
	t.Cleanup(h.stop)
	return h
}

// stop shuts the server down and closes its store; safe to call twice.
func (h *harness) stop() {
	if h.conn == nil {
		return
	}
	h.conn.Close()
	h.conn = nil
	h.srv.GRPCServer().Stop()
	h.srv.Close()
}

func (h *harness) catalog() v1.CatalogServiceClient { return v1.NewCatalogServiceClient(h.conn) }

// as returns a context that carries key as its bearer token ("" = none).
func as(key string) context.Context {
	ctx := context.Background()
	if key == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
}

// metric returns the text exposition lines of the registry that contain
// every one of substrs.
func (h *harness) metric(substrs ...string) []string {
	h.t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			line := mf.GetName() + " " + m.String()
			ok := true
			for _, s := range substrs {
				if !strings.Contains(line, s) {
					ok = false
				}
			}
			if ok {
				out = append(out, line)
			}
		}
	}
	return out
}

// runServer builds a server from cfg and runs it with Run on loopback
// listeners (so TLS, the HTTP listener and the store watcher are real),
// waits until it is ready and stops it at the end of the test. (servertest.Start
// does the same for other packages; this package's tests cannot import it.)
func runServer(t *testing.T, cfg config.Config) (srv *Server, reg *prometheus.Registry, grpcAddr, metricsAddr string) {
	t.Helper()
	reg = prometheus.NewRegistry()
	srv, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: reg, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	glis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, glis, mlis) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); !srv.Ready(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("server not ready")
		}
	}
	return srv, reg, glis.Addr().String(), mlis.Addr().String()
}
