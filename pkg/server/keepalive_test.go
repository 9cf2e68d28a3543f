package server

import (
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestKeepaliveEnforcement: a client that pings more often than
// --keepalive-min-time is sent GOAWAY (ENHANCE_YOUR_CALM, "too_many_pings")
// and the server keeps serving everyone else. The client is a raw HTTP/2
// framer, since grpc-go's own client will not ping that fast.
func TestKeepaliveEnforcement(t *testing.T) {
	_, _, addr, _ := runServer(t, testConfig(t, t.TempDir()))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := fr.WritePing(false, [8]byte{byte(i)}); err != nil {
			break // the server may already have closed the connection
		}
	}
	var goaway *http2.GoAwayFrame
	for goaway == nil {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("connection ended without GOAWAY: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.GoAwayFrame:
			goaway = f
		}
	}
	if goaway.ErrCode != http2.ErrCodeEnhanceYourCalm || string(goaway.DebugData()) != "too_many_pings" {
		t.Fatalf("GOAWAY %v %q, want ENHANCE_YOUR_CALM too_many_pings", goaway.ErrCode, goaway.DebugData())
	}
	// Everyone else is still served.
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("health after the GOAWAY: %v %v", r, err)
	}
}

// TestSilentConnectionsAreClosed: a client that connects and never
// completes the HTTP/2 handshake is cut after --connection-timeout, and an
// established connection that stops answering is cut after
// --keepalive-time + --keepalive-timeout, so half-open connections do not
// pile up.
func TestSilentConnectionsAreClosed(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.GRPC.ConnectionTimeout = 300 * time.Millisecond
	cfg.GRPC.KeepaliveTime = time.Second // grpc-go's floor
	cfg.GRPC.KeepaliveTimeout = 500 * time.Millisecond
	_, _, addr, _ := runServer(t, cfg)

	closedWithin := func(conn net.Conn, limit time.Duration) time.Duration {
		t.Helper()
		start := time.Now()
		conn.SetReadDeadline(time.Now().Add(limit))
		buf := make([]byte, 4096)
		for {
			if _, err := conn.Read(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("connection still open after %v", limit)
				}
				return time.Since(start)
			}
		}
	}

	// 1. Never says hello.
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if d := closedWithin(silent, 5*time.Second); d > 3*time.Second {
		t.Fatalf("handshake-less connection closed after %v", d)
	}

	// 2. Handshakes, then goes silent: never acknowledges the server's pings.
	mute, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	mute.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(mute, mute)
	fr.WriteSettings()
	// Read (and drop) what the server sends — settings, pings — without
	// ever answering, until it gives up on us.
	if d := closedWithin(mute, 10*time.Second); d > 8*time.Second {
		t.Fatalf("unresponsive connection closed after %v", d)
	}
}
