package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/pkg/validate"
)

// fakeCampaigns implements CreateCampaign (validating each campaign as the
// server's interceptor does) and ListCampaigns. failEvery > 0 fails every
// failEvery-th create with INVALID_ARGUMENT; from the failFrom-th create
// on (1-based; 0 = never), every create fails with failCode.
type fakeCampaigns struct {
	pb.UnimplementedCampaignServiceServer
	failEvery int
	failFrom  int
	failCode  codes.Code

	mu    sync.Mutex
	n     int
	names []string
	mps   []string
	bad   []string
}

func (f *fakeCampaigns) CreateCampaign(_ context.Context, req *pb.CreateCampaignRequest) (*pb.CreateCampaignResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if f.failFrom > 0 && f.n >= f.failFrom {
		return nil, status.Errorf(f.failCode, "fake %v", f.failCode)
	}
	if err := validate.Request(req); err != nil {
		f.bad = append(f.bad, err.Error())
		return nil, err
	}
	if f.failEvery > 0 && f.n%f.failEvery == 0 {
		return nil, status.Error(codes.InvalidArgument, "campaign.name: fake failure")
	}
	c := req.GetCampaign()
	f.names = append(f.names, c.GetName())
	f.mps = append(f.mps, c.GetMiniProgramId())
	out := &pb.Campaign{Id: fmt.Sprintf("c-%d", f.n), Name: c.GetName()}
	return &pb.CreateCampaignResponse{Campaign: out}, nil
}

func (f *fakeCampaigns) ListCampaigns(context.Context, *pb.ListCampaignsRequest) (*pb.ListCampaignsResponse, error) {
	return &pb.ListCampaignsResponse{}, nil
}

func (f *fakeCampaigns) created() (names, mps []string, calls int, bad []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.names...), append([]string(nil), f.mps...), f.n, append([]string(nil), f.bad...)
}

// startFakeAll serves the fake catalog and f on a loopback port, behind
// the test key.
func startFakeAll(t *testing.T, f *fakeCampaigns) (string, *fakeCatalog) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(requireKey), grpc.StreamInterceptor(requireKeyStream))
	fc := &fakeCatalog{}
	pb.RegisterCatalogServiceServer(srv, fc)
	pb.RegisterCampaignServiceServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), fc
}

// fakeIndexMetrics serves a CPU counter that grows by 0.5 s per scrape and
// the covering index's gauges.
func fakeIndexMetrics(t *testing.T) string {
	t.Helper()
	var mu sync.Mutex
	scrapes := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		scrapes++
		n := scrapes
		mu.Unlock()
		fmt.Fprintf(w, "process_cpu_seconds_total %g\n", 0.5*float64(n))
		fmt.Fprintf(w, "# TYPE aroundme_campaign_index_campaigns gauge\naroundme_campaign_index_campaigns 405\n")
		fmt.Fprintf(w, "# TYPE aroundme_campaign_index_cells gauge\naroundme_campaign_index_cells 123456\n")
		fmt.Fprintf(w, "# TYPE aroundme_campaign_index_bytes gauge\naroundme_campaign_index_bytes 4.5e+06\n")
		fmt.Fprintf(w, "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 2.5e+08\n")
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestLoadBenchCampaigns(t *testing.T) {
	f := &fakeCampaigns{failEvery: 100}
	addr, fc := startFakeAll(t, f)
	maddr := fakeIndexMetrics(t)
	env := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_ADMIN_KEY": testKey, "AROUNDME_ADVERTISER_KEY": testKey}
	r := runCtl(t, env, "load-bench", "--count", "300", "--batch-log", "0", "--campaigns", "400", "--concurrency", "4",
		"--latency-probe", "5", "--metrics-addr", maddr)
	t.Logf("\n%s%s", r.stderr, r.stdout)
	// Four creates fail (every 100th), so the exit status is 1.
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	for _, want := range []string{
		"imported:   300 sent", // the catalog first
		"campaigns: aroundme.v1.CampaignService/CreateCampaign",
		"created    396 of 400, failed 4 (INVALID_ARGUMENT 4)", "creates/s", "p99",
		"CPU/create server 1250.0 µs", // 0.5 s over 400 creates
		"first errors:", "INVALID_ARGUMENT: campaign.name: fake failure",
		"latency probe (5000 m circles, one at a time)", "created    5 of 5, failed none",
		"goal       creating a 5000 m circle campaign takes <= 5 ms: p50 ",
		"covering index: 405 campaigns, 123,456 cells, 4.5 MB (aroundme_campaign_index_bytes); server RSS 250.0 MB",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if len(fc.importedIDs()) != 300 {
		t.Errorf("catalog: %d items imported", len(fc.importedIDs()))
	}
	names, mps, calls, bad := f.created()
	if len(bad) > 0 {
		t.Fatalf("%d campaigns failed validation, first: %s", len(bad), bad[0])
	}
	if calls != 405 || len(names) != 401 {
		t.Fatalf("server saw %d creates, %d succeeded; want 405 and 401", calls, len(names))
	}
	// Every campaign of the set exactly once (they are named by index),
	// then the probes, each promoting a mini-program of the catalog sent.
	seen := map[string]bool{}
	probes := 0
	for _, n := range names {
		if seen[n] {
			t.Fatalf("campaign %q created twice", n)
		}
		seen[n] = true
		if strings.HasPrefix(n, "probe ") {
			probes++
		}
	}
	if probes != 5 {
		t.Errorf("%d probe campaigns, want 5", probes)
	}
	ids := map[string]bool{}
	for i := range 300 {
		ids[dataset.MiniProgramID(i)] = true
	}
	for _, id := range mps {
		if !ids[id] {
			t.Fatalf("a campaign promotes %q, not among the 300 mini-programs sent", id)
		}
	}
}

func TestLoadBenchCampaignsJSON(t *testing.T) {
	f := &fakeCampaigns{}
	addr, fc := startFakeAll(t, f)
	// No catalog: --key is then the advertiser key.
	r := runCtl(t, map[string]string{"AROUNDME_ADDR": addr}, "-o", "json", "load-bench", "--count", "0", "--key", testKey,
		"--campaigns", "60", "--campaign-offset", "1000", "--catalog-count", "500")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stderr, r.stdout)
	}
	var doc struct {
		Catalog   json.RawMessage     `json:"catalog"`
		Campaigns *campaignLoadReport `json:"campaigns"`
		Probe     *campaignLoadReport `json:"probe"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("JSON: %v\n%s", err, r.stdout)
	}
	c := doc.Campaigns
	if doc.Catalog != nil || doc.Probe != nil || c == nil || c.Created != 60 || c.Requested != 60 || c.First != 1000 ||
		c.Errors != 0 || c.CallsPerS <= 0 || c.LatencyUS.P50 <= 0 {
		t.Fatalf("document %s", r.stdout)
	}
	if len(fc.importedIDs()) != 0 {
		t.Error("--count 0 imported mini-programs")
	}
	names, mps, _, _ := f.created()
	want := map[string]bool{}
	for _, camp := range dataset.BenchCampaigns(1, 1060, func() dataset.Spec { s := dataset.BenchSpec(1); s.MiniPrograms = 500; return s }())[1000:] {
		want[camp.Name] = true
	}
	for i, n := range names {
		if !want[n] {
			t.Fatalf("created %q, not among campaigns 1000-1059 of the set", n)
		}
		if mps[i] > dataset.MiniProgramID(499) {
			t.Fatalf("promotes %q beyond --catalog-count 500", mps[i])
		}
	}
}

func TestLoadBenchCampaignsStop(t *testing.T) {
	for _, tc := range []struct {
		code     codes.Code
		failFrom int
		want     string // "" = no stop
	}{
		{codes.ResourceExhausted, 21, "restart it with --rate-advertiser 0"},
		{codes.FailedPrecondition, 1, "load the catalog first"},
		// Once some were created, a missing mini-program fails one create
		// (the probe, whose first create fails, then stops).
		{codes.FailedPrecondition, 21, ""},
	} {
		f := &fakeCampaigns{failFrom: tc.failFrom, failCode: tc.code}
		addr, _ := startFakeAll(t, f)
		r := runCtl(t, map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_ADVERTISER_KEY": testKey},
			"load-bench", "--count", "0", "--campaigns", "300", "--concurrency", "3", "--latency-probe", "10")
		_, _, calls, _ := f.created()
		if tc.want == "" {
			if r.code != 1 || calls != 301 || !strings.Contains(r.stdout, "failed 280 (FAILED_PRECONDITION 280)") {
				t.Errorf("%v from %d: exit %d, %d calls\n%s", tc.code, tc.failFrom, r.code, calls, r.stdout)
			}
			continue
		}
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr:\n%s", tc.code, r.code, r.stderr)
		}
		// It stops at once: at most one more call per worker, and no probe.
		if calls > tc.failFrom-1+3+3 {
			t.Errorf("%v: %d creates made after the stop", tc.code, calls-tc.failFrom)
		}
		if strings.Contains(r.stdout, "latency probe") {
			t.Errorf("%v: the probe ran after a stop", tc.code)
		}
	}
}

func TestLoadBenchCampaignKeys(t *testing.T) {
	f := &fakeCampaigns{}
	addr, _ := startFakeAll(t, f)
	base := map[string]string{"AROUNDME_ADDR": addr}
	// A catalog and campaigns with one --key: the advertiser key is missing.
	r := runCtl(t, base, "load-bench", "--key", testKey, "--count", "5", "--campaigns", "5")
	if r.code != 2 || !strings.Contains(r.stderr, "--advertiser-key") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// --advertiser-key supplies it, and wins over the environment.
	env := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_ADVERTISER_KEY": "am_wrong"}
	if r := runCtl(t, env, "load-bench", "--key", testKey, "--count", "5", "--campaigns", "5", "--advertiser-key", testKey); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// A wrong advertiser key is one clear message before any create.
	_, _, before, _ := f.created()
	r = runCtl(t, env, "load-bench", "--count", "0", "--campaigns", "5")
	if _, _, after, _ := f.created(); r.code != 1 || !strings.Contains(r.stderr, "UNAUTHENTICATED") || after != before {
		t.Fatalf("exit %d, %d creates: %s", r.code, after-before, r.stderr)
	}
}

func TestLoadBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"load-bench", "--count", "0"},
		{"load-bench", "--count", "-1"},
		{"load-bench", "--campaigns", "-1"},
		{"load-bench", "--campaigns", "5", "--concurrency", "0"},
		{"load-bench", "--count", "0", "--campaigns", "5", "--catalog-count", "0"},
		{"load-bench", "--latency-probe", "5", "--probe-radius", "5"},
		{"load-bench", "--latency-probe", "-2"},
		{"load-bench", "--campaign-offset", "-2"},
		{"load-bench", "--count", "0", "--campaigns", "5"}, // no advertiser key anywhere
	} {
		if r := runCtl(t, nil, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
	r := runCtl(t, nil, "load-bench", "--help")
	for _, want := range []string{"--rate-advertiser 0", "--campaigns", "--latency-probe", "--advertiser-key", "AROUNDME_ADVERTISER_KEY"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
