// Package servertest runs a real aroundme server in-process on loopback
// listeners, for the tests of packages that talk to one over the network
// (the CLI, the deploy checks). One helper, so that every such test starts,
// waits for and stops a server the same way.
package servertest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/aroundme/aroundme/pkg/config"
	"github.com/aroundme/aroundme/pkg/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Server is a running server.
type Server struct {
	*server.Server
	GRPCAddr    string // host:port of the gRPC listener
	MetricsAddr string // host:port of /metrics, /healthz, /readyz
	Registry    *prometheus.Registry
}

// Start builds a server from cfg (its listen addresses are ignored: both
// listeners are on 127.0.0.1:0), runs it, waits until it has loaded its data
// and stops it when the test ends, failing the test if it does not stop
// cleanly.
func Start(t testing.TB, cfg config.Config) *Server {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := server.New(cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: reg, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mlis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, lis, mlis) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not stop within 30s")
		}
	})
	for deadline := time.Now().Add(30 * time.Second); !srv.Ready(); time.Sleep(5 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("server stopped before it was ready: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("server not ready after 30s")
		}
	}
	return &Server{Server: srv, GRPCAddr: lis.Addr().String(), MetricsAddr: mlis.Addr().String(), Registry: reg}
}
