package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestDiskFull puts the data dir on a small tmpfs and writes until the disk
// is full: the failing write and every later one are UNAVAILABLE (nothing
// acknowledged that was not written), reads keep serving, the catalog's
// health turns NOT_SERVING while the server's stays SERVING, and /readyz and
// aroundme_store_writable say why. It needs root (mount); it is skipped
// where mounting is not allowed.
func TestDiskFull(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	dir := filepath.Join(mnt, "data")
	cfg := testConfig(t, dir)
	cfg.Limits.AdminRate = 0 // thousands of writes in a second: not what this test is about
	_, reg, grpcAddr, metricsAddr := runServer(t, cfg)
	conn, _ := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer conn.Close()
	c := v1.NewCatalogServiceClient(conn)

	// Fill the disk: big descriptions make each record ~1 KB.
	acked := []string{}
	var failure error
	for i := 0; i < 100000 && failure == nil; i++ {
		mp := sample(fmt.Sprintf("fill-%05d", i))
		mp.Description = strings.Repeat("x", 500)
		_, err := c.CreateMiniProgram(as(adminKey), &v1.CreateMiniProgramRequest{MiniProgram: mp})
		if err == nil {
			acked = append(acked, mp.Id)
		} else {
			failure = err
		}
	}
	if status.Code(failure) != codes.Unavailable {
		t.Fatalf("the write that found the disk full: %v (after %d acknowledged)", failure, len(acked))
	}
	// Every later write fails fast, also small ones.
	_, err := c.DeleteMiniProgram(as(adminKey), &v1.DeleteMiniProgramRequest{Id: acked[0]})
	wantCode(t, err, codes.Unavailable, "")
	// Reads keep serving: catalog reads and Nearby.
	if _, err := c.GetMiniProgram(as(adminKey), &v1.GetMiniProgramRequest{Id: acked[len(acked)-1]}); err != nil {
		t.Fatalf("read after the disk filled: %v", err)
	}
	nb, err := v1.NewDiscoveryServiceClient(conn).Nearby(as(clientKey), &v1.NearbyRequest{Location: &v1.LatLng{Latitude: 39.9042, Longitude: 116.4074}, Limit: 5, User: &v1.UserContext{Age: 30}})
	if err != nil || len(nb.Results) == 0 {
		t.Fatalf("Nearby after the disk filled: %v %v", nb, err)
	}
	// Health and readiness report it.
	hc := healthpb.NewHealthClient(conn)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		r, _ := hc.Check(context.Background(), &healthpb.HealthCheckRequest{Service: catalogServiceName})
		if r.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("catalog health still SERVING with a full disk")
		}
	}
	if r, _ := hc.Check(context.Background(), &healthpb.HealthCheckRequest{}); r.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatal("overall health went NOT_SERVING: reads would be cut off too")
	}
	resp, err := http.Get("http://" + metricsAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "store cannot write") {
		t.Fatalf("/readyz: %d %s", resp.StatusCode, body)
	}
	mfs, _ := reg.Gather()
	writable := -1.0
	for _, mf := range mfs {
		if mf.GetName() == "aroundme_store_writable" {
			writable = mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	if writable != 0 {
		t.Fatalf("aroundme_store_writable = %v, want 0", writable)
	}
	t.Logf("%d writes acknowledged before the disk filled", len(acked))
}
