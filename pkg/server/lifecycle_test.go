package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestLifecycle: health is NOT_SERVING and API calls are UNAVAILABLE until
// the data is loaded; /readyz follows; cancelling Run stops the server
// cleanly and closes the store.
func TestLifecycle(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	srv, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry(), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.GRPCServer().Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	hc := healthpb.NewHealthClient(conn)
	ready := httptest.NewServer(srv.httpHandler())
	defer ready.Close()
	readyz := func() int {
		resp, err := http.Get(ready.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	for _, name := range []string{"", "aroundme.v1.DiscoveryService"} {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: name})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("before load, health(%q) = %v %v", name, resp, err)
		}
	}
	_, err = v1.NewCatalogServiceClient(conn).ListMiniPrograms(as(adminKey), &v1.ListMiniProgramsRequest{})
	wantCode(t, err, codes.Unavailable, "")
	if readyz() != http.StatusServiceUnavailable {
		t.Fatal("/readyz ready before the load")
	}

	if err := srv.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("after load: %v %v", resp, err)
	}
	if _, err := v1.NewCatalogServiceClient(conn).ListMiniPrograms(as(adminKey), &v1.ListMiniProgramsRequest{}); err != nil {
		t.Fatal(err)
	}
	if readyz() != http.StatusOK {
		t.Fatal("/readyz not ready after the load")
	}
	srv.GRPCServer().Stop()

	// Run owns its listeners: cancelling it stops everything and returns nil.
	srv2dir := t.TempDir()
	srv2, err := New(testConfig(t, srv2dir), Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registry: prometheus.NewRegistry(), Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	glis, _ := net.Listen("tcp", "127.0.0.1:0")
	mlis, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv2.Run(ctx, glis, mlis) }()
	deadline := time.Now().Add(10 * time.Second)
	for !srv2.ready.v.Load() {
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
	if srv2.st.Healthy() == nil {
		t.Fatal("store still open after shutdown")
	}
	if srv2.ready.v.Load() {
		t.Fatal("still ready after shutdown")
	}
	srv.Close()
}
