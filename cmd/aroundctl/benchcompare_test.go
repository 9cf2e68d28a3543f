package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/loadgen"
)

func TestCompareOrder(t *testing.T) {
	got := fmt.Sprint(compareOrder(2))
	if got != "[0 1 1 0 0 1 1 0]" {
		t.Fatalf("order %s, want A B B A A B B A", got)
	}
}

func TestMetricsDelta(t *testing.T) {
	d := metricsDelta(map[string]float64{"a": 1, "b": 5, "gone": 3}, map[string]float64{"a": 4, "b": 5, "new": 2})
	if len(d) != 3 || d["a"] != 3 || d["b"] != 0 || d["new"] != 2 {
		t.Fatalf("delta %v", d)
	}
}

// seg is a segment of calls over secs, each call taking lat, with the
// server's metric deltas.
func seg(kind, round int, calls uint64, secs float64, lat time.Duration, delta map[string]float64) compareSegment {
	r := &loadgen.Result{Name: kindNames[kind], Concurrency: 8, Elapsed: time.Duration(secs * float64(time.Second)),
		Calls: calls, ErrorsByCode: map[codes.Code]uint64{}, Latency: new(loadgen.Histogram), ClientCPUKnown: true}
	for range calls {
		r.Latency.RecordDuration(lat)
	}
	return compareSegment{kind: kind, round: round, res: r, delta: delta}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestBuildCompare(t *testing.T) {
	m := func(cpu, filled, empty, eligSum, eligCount float64) map[string]float64 {
		return map[string]float64{
			loadgen.CPUMetric: cpu, slotsFilledKey: filled, slotsEmptyKey: empty,
			eligibleMetric + "_sum": eligSum, eligibleMetric + "_count": eligCount, auctionsMetric: eligCount,
		}
	}
	segs := []compareSegment{
		// Round 1: organic 1000/s, sponsored 800/s.
		seg(kindOrganic, 0, 1000, 1, time.Millisecond, m(0.5, 0, 0, 0, 0)),
		seg(kindSponsored, 0, 800, 1, 2*time.Millisecond, m(0.6, 300, 100, 4000, 400)),
		seg(kindSponsored, 0, 800, 1, 2*time.Millisecond, m(0.6, 300, 100, 4000, 400)),
		seg(kindOrganic, 0, 1000, 1, time.Millisecond, m(0.5, 0, 0, 0, 0)),
		// Round 2: organic 2000 calls in 2 s, sponsored 1800 in 2 s.
		seg(kindOrganic, 1, 1000, 1, time.Millisecond, m(0.5, 0, 0, 0, 0)),
		seg(kindSponsored, 1, 900, 1, 2*time.Millisecond, m(0.6, 200, 200, 2000, 400)),
		seg(kindSponsored, 1, 900, 1, 2*time.Millisecond, m(0.6, 200, 200, 2000, 400)),
		seg(kindOrganic, 1, 1000, 1, time.Millisecond, m(0.5, 0, 0, 0, 0)),
	}
	phases, cr := buildCompare(segs, 2, time.Second)
	o, s := phases[kindOrganic], phases[kindSponsored]
	if o.Name != "organic" || s.Name != "sponsored" || o.Calls != 4000 || s.Calls != 3400 || !near(o.ElapsedS, 4) {
		t.Fatalf("phases %+v %+v", o, s)
	}
	if !near(o.CallsPerS, 1000) || !near(s.CallsPerS, 850) || !near(*cr.ThroughputRatio, 0.85) || !*cr.GoalMet {
		t.Fatalf("throughput %v %v ratio %v met %v", o.CallsPerS, s.CallsPerS, *cr.ThroughputRatio, *cr.GoalMet)
	}
	if len(cr.RoundRatios) != 2 || !near(cr.RoundRatios[0], 0.8) || !near(cr.RoundRatios[1], 0.9) {
		t.Fatalf("round ratios %v", cr.RoundRatios)
	}
	// CPU: organic 2 s over 4000 calls = 500 µs; sponsored 2.4 s over 3400.
	if !near(*o.ServerCPUPerUS, 500) || !near(*s.ServerCPUPerUS, 2.4/3400*1e6) || !near(*o.ServerCPUCores, 0.5) {
		t.Fatalf("server CPU %v %v cores %v", *o.ServerCPUPerUS, *s.ServerCPUPerUS, *o.ServerCPUCores)
	}
	if !near(*cr.ServerCPUExtraUS, 2.4/3400*1e6-500) || !near(*cr.ServerCPURatio, 2.4/3400*1e6/500) {
		t.Fatalf("extra %v ratio %v", *cr.ServerCPUExtraUS, *cr.ServerCPURatio)
	}
	sl := cr.Slots
	if sl == nil || sl.Filled != 1000 || sl.Empty != 600 || !near(*sl.FillRate, 1000.0/1600) || !near(*sl.EligiblePerRequest, 12000.0/1600) || *sl.Auctions != 1600 {
		t.Fatalf("slots %+v", sl)
	}
	if cr.SlotsNote != "" || cr.Rounds != 2 || cr.SegmentS != 1 || !strings.Contains(cr.Method, "A B B A") {
		t.Fatalf("report %+v", cr)
	}
	if s.LatencyUS.P50 < 1900 || o.LatencyUS.P50 > 1100 {
		t.Fatalf("latencies %v %v", s.LatencyUS, o.LatencyUS)
	}

	// Below the goal.
	_, cr = buildCompare([]compareSegment{seg(kindOrganic, 0, 1000, 1, time.Millisecond, nil), seg(kindSponsored, 0, 700, 1, time.Millisecond, nil)}, 1, time.Second)
	if !near(*cr.ThroughputRatio, 0.7) || *cr.GoalMet {
		t.Fatalf("ratio %v met %v", *cr.ThroughputRatio, *cr.GoalMet)
	}
}

func TestBuildCompareWithoutServerMetrics(t *testing.T) {
	// No scrape at all: no CPU, no slots, a note.
	phases, cr := buildCompare([]compareSegment{
		{kind: kindOrganic, res: seg(kindOrganic, 0, 10, 1, time.Millisecond, nil).res, scrapeErr: "scraping: refused"},
		seg(kindSponsored, 0, 10, 1, time.Millisecond, nil),
	}, 1, time.Second)
	if phases[0].ServerCPUPerUS != nil || phases[0].serverCPUReason != "scraping: refused" || cr.ServerCPUExtraUS != nil {
		t.Fatalf("CPU %v (%q), extra %v", phases[0].ServerCPUPerUS, phases[0].serverCPUReason, cr.ServerCPUExtraUS)
	}
	if cr.Slots != nil || !strings.Contains(cr.SlotsNote, "exports no aroundme_campaign_sponsored_slots_total") {
		t.Fatalf("slots %v note %q", cr.Slots, cr.SlotsNote)
	}
	// A server with CPU but without the slot counter (not landed yet).
	cpuOnly := map[string]float64{loadgen.CPUMetric: 1}
	_, cr = buildCompare([]compareSegment{seg(kindOrganic, 0, 10, 1, time.Millisecond, cpuOnly), seg(kindSponsored, 0, 10, 1, time.Millisecond, cpuOnly)}, 1, time.Second)
	if cr.Slots != nil || cr.SlotsNote == "" || cr.ServerCPURatio == nil || !near(*cr.ServerCPURatio, 1) {
		t.Fatalf("cpu-only: %+v", cr)
	}
	// Slots offered to exclude_sponsored=true requests are reported.
	leaky := map[string]float64{slotsFilledKey: 5, slotsEmptyKey: 1}
	_, cr = buildCompare([]compareSegment{seg(kindOrganic, 0, 10, 1, time.Millisecond, leaky), seg(kindSponsored, 0, 10, 1, time.Millisecond, leaky)}, 1, time.Second)
	if !strings.Contains(cr.SlotsNote, "offered 6 sponsored slots") || cr.Slots == nil || cr.Slots.Filled != 5 {
		t.Fatalf("leaky: %+v %q", cr.Slots, cr.SlotsNote)
	}
	// Nothing run: no ratio.
	phases, cr = buildCompare(nil, 1, time.Second)
	if cr.ThroughputRatio != nil || phases[0].Calls != 0 || phases[1].serverCPUReason != "not run" {
		t.Fatalf("empty: %+v %+v", cr, phases[1])
	}
}

// excludeCounter answers Nearby and counts requests by exclude_sponsored
// and by request (location), per flag.
type excludeCounter struct {
	pb.UnimplementedDiscoveryServiceServer
	slots atomic.Int64 // sponsored slots offered by non-excluding requests

	mu      sync.Mutex
	counts  [2]int
	queries [2]map[float64]bool
}

func (f *excludeCounter) Nearby(_ context.Context, req *pb.NearbyRequest) (*pb.NearbyResponse, error) {
	k := kindSponsored
	if req.GetExcludeSponsored() {
		k = kindOrganic
	} else {
		f.slots.Add(1)
	}
	f.mu.Lock()
	f.counts[k]++
	if f.queries[k] == nil {
		f.queries[k] = map[float64]bool{}
	}
	f.queries[k][req.GetLocation().GetLatitude()] = true
	f.mu.Unlock()
	return &pb.NearbyResponse{}, nil
}

func TestBenchSponsoredCompare(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(requireKey))
	fd := &excludeCounter{}
	pb.RegisterDiscoveryServiceServer(srv, fd)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)

	// The server's metrics: CPU grows by 0.1 s a scrape; every sponsored
	// request offered one slot, filled two times in three.
	var scrapes atomic.Int64
	msrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, slots := scrapes.Add(1), fd.slots.Load()
		filled := slots * 2 / 3
		fmt.Fprintf(w, "process_cpu_seconds_total %g\n", 0.1*float64(n))
		fmt.Fprintf(w, "# TYPE %s counter\n%s{outcome=\"filled\"} %d\n%s{outcome=\"empty\"} %d\n", slotsMetric, slotsMetric, filled, slotsMetric, slots-filled)
		fmt.Fprintf(w, "# TYPE %s gauge\n%s 100000\n", indexCampaignsMetric, indexCampaignsMetric)
	}))
	t.Cleanup(msrv.Close)

	env := map[string]string{"AROUNDME_ADDR": lis.Addr().String(), "AROUNDME_CLIENT_KEY": testKey}
	r := runCtl(t, env, "bench", "-o", "json", "--sponsored-compare", "--rounds", "2", "--duration", "400ms", "--baseline-duration", "100ms",
		"--connections", "2", "--concurrency", "4", "--queries", "400", "--metrics-addr", strings.TrimPrefix(msrv.URL, "http://"))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stderr, r.stdout)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("JSON: %v\n%s", err, r.stdout)
	}
	if len(rep.Phases) != 3 || rep.Phases[0].Name != "baseline" || rep.Phases[1].Name != "organic" || rep.Phases[2].Name != "sponsored" {
		t.Fatalf("phases %+v", rep.Phases)
	}
	cr := rep.Compare
	if cr == nil || cr.ThroughputRatio == nil || len(cr.RoundRatios) != 2 || cr.Rounds != 2 || cr.SegmentS != 0.1 {
		t.Fatalf("compare %+v", cr)
	}
	org, spo := rep.Phases[1], rep.Phases[2]
	if !near(*cr.ThroughputRatio, spo.CallsPerS/org.CallsPerS) || spo.ServerCPUPerUS == nil || org.ServerCPUPerUS == nil {
		t.Fatalf("ratio %v vs %v/%v, CPU %v %v", *cr.ThroughputRatio, spo.CallsPerS, org.CallsPerS, spo.ServerCPUPerUS, org.ServerCPUPerUS)
	}
	if org.ElapsedS < 0.4 || spo.ElapsedS < 0.4 {
		t.Errorf("each kind ran %.3fs and %.3fs, want >= --duration 0.4s", org.ElapsedS, spo.ElapsedS)
	}
	// The server saw every call of each kind (plus one preflight each),
	// with exclude_sponsored as the kind says, over the same queries.
	fd.mu.Lock()
	counts, queries := fd.counts, fd.queries
	fd.mu.Unlock()
	if uint64(counts[kindOrganic]) != org.Calls+1 || uint64(counts[kindSponsored]) != spo.Calls+1 {
		t.Fatalf("server saw %v, bench counted organic %d sponsored %d (+1 preflight each)", counts, org.Calls, spo.Calls)
	}
	common := 0
	for q := range queries[kindOrganic] {
		if queries[kindSponsored][q] {
			common++
		}
	}
	if small := min(len(queries[0]), len(queries[1])); common < small*8/10 {
		t.Errorf("organic and sponsored asked %d and %d distinct queries, only %d in common", len(queries[0]), len(queries[1]), common)
	}
	sl := cr.Slots
	if sl == nil || sl.FillRate == nil || math.Abs(*sl.FillRate-2.0/3) > 0.05 || sl.Filled+sl.Empty < float64(spo.Calls)*0.9 {
		t.Fatalf("slots %+v (sponsored calls %d)", sl, spo.Calls)
	}
	if cr.IndexCampaigns == nil || *cr.IndexCampaigns != 100000 {
		t.Errorf("index campaigns %v", cr.IndexCampaigns)
	}
	if rep.NearbyToBase == nil || !near(*rep.NearbyToBase, spo.CallsPerS/rep.Phases[0].CallsPerS) {
		t.Errorf("Nearby/baseline %v", rep.NearbyToBase)
	}
	if !strings.Contains(r.stderr, "round 2/2 organic") {
		t.Errorf("no per-segment lines on stderr:\n%s", r.stderr)
	}

	// The table says it in words.
	r = runCtl(t, env, "bench", "--sponsored-compare", "--rounds", "1", "--duration", "100ms", "--baseline-duration", "50ms",
		"--connections", "1", "--concurrency", "2", "--queries", "50")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{
		"organic: aroundme.v1.DiscoveryService/Nearby", "sponsored: aroundme.v1.DiscoveryService/Nearby",
		"sponsored vs organic: 1 rounds of A B B A segments of 50ms", "throughput sponsored", "(goal >= 0.80: ",
		"note       the server exports no aroundme_campaign_sponsored_slots_total (or no --metrics-addr): fill rate n/a",
		"| organic ", "| sponsored ", "sponsored/organic throughput: ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("\n%s", r.stdout)
	}
}

func TestBenchCompareUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--sponsored-compare", "--rounds", "0"},
		{"bench", "--sponsored-compare", "--rounds", "4", "--duration", "5ms"},
	} {
		if r := runCtl(t, nil, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
	r := runCtl(t, nil, "bench", "--help")
	for _, want := range []string{"--sponsored-compare", "A B B A", "exclude_sponsored=true", `aroundme_campaign_sponsored_slots_total{outcome="filled"|"empty"}`} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help lacks %q", want)
		}
	}
}
