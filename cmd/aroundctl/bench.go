package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/pkg/loadgen"
)

const benchUsage = `Usage: aroundctl bench [flags]

Measures DiscoveryService/Nearby against a running server. It opens
--connections gRPC connections (workers are spread round-robin over them),
builds --queries Nearby requests up front from the benchmark query set
(dataset.Queries(dataset.BenchSpec(seed), seed, n): realistic users at
realistic positions in the 20 benchmark cities) and then runs two phases with
--concurrency workers, each keeping one call in flight:

  1. baseline: grpc.health.v1.Health/Check, the empty call, for --baseline-duration;
  2. nearby:   Nearby over the pre-built requests, for --duration.

For each phase it prints calls, errors by status code, calls/s, latency
percentiles (p50, p90, p99, p99.9, max; HDR-style histogram, <1% error) and
the client's own CPU time per call; with --metrics-addr, also the server's
CPU time per call, from process_cpu_seconds_total before and after the phase.
It ends with the Nearby/baseline throughput ratio and a summary block to paste
into a README (-o json prints the same as JSON). Progress goes to stderr once
a second. Calls still in flight at the end of a phase are waited for, at most
--timeout. It stops by itself; Ctrl-C stops it early and prints what was
measured.

With --sponsored-compare, the Nearby phase is run twice over the same
requests, to measure what campaigns cost Nearby in one run:

  organic:   every request with exclude_sponsored=true (the server skips
             the campaign path: the "no campaigns" throughput);
  sponsored: every request with exclude_sponsored=false (campaigns
             considered, as clients call it).

On a small, noisy machine two phases run one after the other differ by
drift alone (thermal, page cache, GC, a neighbour), so the two kinds
alternate instead: --rounds rounds of four segments A B B A (A = organic),
each of --duration / (2 × --rounds), so that each kind runs --duration in
all and, within a round, both kinds sit symmetrically around its middle (a
linear drift adds the same to both). Segment j of either kind starts at the
same place in the request pool, so both see the same queries. Each kind is
reported over all its segments (calls/s = its calls over its time); then
the throughput ratio sponsored/organic (goal: >= 0.80), the ratio per round
(its spread shows the noise), the latencies, the server CPU per call of
each (with --metrics-addr) and, from the server's metrics, the sponsored
fill rate over the sponsored segments
(aroundme_campaign_sponsored_slots_total{outcome="filled"|"empty"}) and the
eligible campaigns per request; a server without those metrics gets "n/a".

Load the benchmark catalog first with 'aroundctl load-bench' (and the
campaigns, for --sponsored-compare, with 'aroundctl load-bench --campaigns
100000').

Examples:
  aroundctl bench --duration 30s --connections 16 --concurrency 64 --metrics-addr 127.0.0.1:9102
  aroundctl bench --sponsored-compare --duration 60s --rounds 3 --metrics-addr 127.0.0.1:9102
`

// benchOptions are the flags of bench.
type benchOptions struct {
	decode, compare          bool
	rounds                   int
	duration, baseline       time.Duration
	connections, concurrency int
	metricsAddr              string
	seed                     int64
	radius                   float64
	limit                    int
	queries                  int
}

// phaseReport is one phase as printed and as JSON.
type phaseReport struct {
	Name            string            `json:"name"`
	RPC             string            `json:"rpc"`
	ElapsedS        float64           `json:"elapsed_s"`
	Calls           uint64            `json:"calls"`
	Errors          uint64            `json:"errors"`
	ErrorsByCode    map[string]uint64 `json:"errors_by_code"`
	CallsPerS       float64           `json:"calls_per_s"`
	LatencyUS       latencyReport     `json:"latency_us"`
	ServerCPUPerUS  *float64          `json:"server_cpu_us_per_call"`
	ServerCPUCores  *float64          `json:"server_cpu_cores"`
	ClientCPUPerUS  *float64          `json:"client_cpu_us_per_call"`
	ClientCPUCores  *float64          `json:"client_cpu_cores"`
	Interrupted     bool              `json:"interrupted,omitempty"`
	serverCPUReason string
}

// latencyReport holds latencies of successful calls in microseconds.
type latencyReport struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// benchReport is the whole run.
type benchReport struct {
	Addr          string         `json:"addr"`
	Connections   int            `json:"connections"`
	Concurrency   int            `json:"concurrency"`
	Seed          int64          `json:"seed"`
	Queries       int            `json:"queries"`
	RadiusM       float64        `json:"radius_m"`
	Limit         int            `json:"limit"`
	ClientCPUs    int            `json:"client_gomaxprocs"`
	Phases        []phaseReport  `json:"phases"`
	NearbyToBase  *float64       `json:"nearby_to_baseline_throughput,omitempty"`
	Compare       *compareReport `json:"sponsored_compare,omitempty"`
	StartedAtUTC  string         `json:"started_at_utc"`
	MetricsScrape string         `json:"metrics_url,omitempty"`
}

func runBench(ctx context.Context, e *env, args []string) int {
	var o benchOptions
	fs := flag.NewFlagSet("aroundctl bench", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 30*time.Second, "length of the Nearby phase (with --sponsored-compare: of each kind, over its segments)")
	fs.BoolVar(&o.compare, "sponsored-compare", false, "run Nearby as two alternating phases, exclude_sponsored=true and false, and compare them (see above)")
	fs.IntVar(&o.rounds, "rounds", 2, "with --sponsored-compare: rounds of A B B A segments")
	fs.DurationVar(&o.baseline, "baseline-duration", 10*time.Second, "length of the Health/Check baseline phase, run first")
	fs.IntVar(&o.connections, "connections", 16, "gRPC connections (HTTP/2 transports) to open")
	fs.IntVar(&o.concurrency, "concurrency", 64, "workers, each with one call in flight")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "server's metrics address (host:port) to read process_cpu_seconds_total from; empty = no server CPU")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the benchmark catalog and of the query set")
	fs.Float64Var(&o.radius, "radius", 2000, "search radius of every request, metres")
	fs.IntVar(&o.limit, "limit", 20, "results per request")
	fs.IntVar(&o.queries, "queries", 10000, "distinct pre-built requests, reused round-robin")
	fs.BoolVar(&o.decode, "decode", false, "decode every Nearby response into messages (off: responses are received and framed but not parsed, as redis-benchmark does not parse replies, so the client's CPU stays out of the server's way on a shared machine)")
	if ok, code := parseCommand(e, fs, args, benchUsage); !ok {
		return code
	}
	switch {
	case o.duration <= 0 || o.baseline <= 0:
		return e.usageError("bench", "--duration and --baseline-duration must be > 0")
	case o.connections < 1 || o.concurrency < 1:
		return e.usageError("bench", "--connections and --concurrency must be >= 1")
	case o.queries < 1:
		return e.usageError("bench", "--queries must be >= 1")
	case o.rounds < 1:
		return e.usageError("bench", "--rounds must be >= 1")
	case o.compare && o.duration/time.Duration(2*o.rounds) < time.Millisecond:
		return e.usageError("bench", "--duration %v over %d rounds leaves segments under 1ms", o.duration, o.rounds)
	}

	reqs := benchRequests(o)
	conns := make([]*grpc.ClientConn, o.connections)
	for i := range conns {
		// The key goes in the workers' context once, not through per-call
		// credentials.
		cc, err := e.g.dial("")
		if err != nil {
			return e.fail(err.Error())
		}
		defer cc.Close()
		conns[i] = cc
	}
	callCtx := ctx
	if key := e.keyFor(envClientKey); key != "" {
		callCtx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}
	health := make([]healthpb.HealthClient, len(conns))
	discovery := make([]pb.DiscoveryServiceClient, len(conns))
	for i, cc := range conns {
		health[i] = healthpb.NewHealthClient(cc)
		discovery[i] = pb.NewDiscoveryServiceClient(cc)
	}
	organicReqs, pre := reqs, []*pb.NearbyRequest{reqs[0]}
	if o.compare {
		organicReqs = excludeSponsored(reqs)
		pre = append(pre, organicReqs[0])
	}
	if msg := preflight(callCtx, e, health, discovery[0], pre...); msg != "" {
		return e.fail(msg)
	}

	var scrape func(context.Context) (float64, error)
	murl := ""
	if o.metricsAddr != "" {
		murl = loadgen.MetricsURL(o.metricsAddr)
		hc := &http.Client{Timeout: 5 * time.Second}
		scrape = func(ctx context.Context) (float64, error) { return loadgen.ScrapeCPUSeconds(ctx, hc, murl) }
		if _, err := scrape(ctx); err != nil {
			fmt.Fprintf(e.stderr, "aroundctl bench: warning: no server CPU figures: %v\n", err)
			scrape = nil
		}
	}

	rep := benchReport{
		Addr: e.g.addr, Connections: o.connections, Concurrency: o.concurrency, Seed: o.seed,
		Queries: len(reqs), RadiusM: o.radius, Limit: o.limit, ClientCPUs: runtime.GOMAXPROCS(0),
		StartedAtUTC: time.Now().UTC().Format(time.RFC3339), MetricsScrape: murl,
	}
	fmt.Fprintf(e.stderr, "bench: %d connections to %s, %d workers; baseline %v, then Nearby %v over %s pre-built requests (seed %d)\n",
		o.connections, e.g.addr, o.concurrency, o.baseline, o.duration, loadgen.Thousands(float64(len(reqs))), o.seed)

	// Worker w starts at w·stride in the pool (after offset), so that the
	// workers do not ask the same questions at the same time.
	stride := uint64(max(1, len(reqs)/o.concurrency))
	n := uint64(len(reqs))
	nearby := func(ctx context.Context, pool []*pb.NearbyRequest, offset uint64) loadgen.CallFunc {
		if o.decode {
			return func(_ context.Context, w int, seq uint64) error {
				_, err := discovery[w%len(discovery)].Nearby(ctx, pool[(offset+uint64(w)*stride+seq)%n])
				return err
			}
		}
		return func(_ context.Context, w int, seq uint64) error {
			var resp rawResponse
			return conns[w%len(conns)].Invoke(ctx, pb.DiscoveryService_Nearby_FullMethodName,
				pool[(offset+uint64(w)*stride+seq)%n], &resp, grpc.ForceCodecV2(rawCodec{}))
		}
	}
	hreq := &healthpb.HealthCheckRequest{}
	phases := []struct {
		name, rpc string
		d         time.Duration
		call      func(ctx context.Context) loadgen.CallFunc
	}{
		{"baseline", "grpc.health.v1.Health/Check", o.baseline, func(ctx context.Context) loadgen.CallFunc {
			return func(_ context.Context, w int, _ uint64) error {
				_, err := health[w%len(health)].Check(ctx, hreq)
				return err
			}
		}},
		{"nearby", pb.DiscoveryService_Nearby_FullMethodName[1:], o.duration, func(ctx context.Context) loadgen.CallFunc {
			return nearby(ctx, reqs, 0)
		}},
	}
	if o.compare {
		phases = phases[:1] // the Nearby phases are runCompare's
	}
	interrupted := false
	for _, p := range phases {
		// Calls in flight when the phase ends get --timeout to finish.
		pctx, cancel := context.WithTimeout(callCtx, p.d+e.g.timeout)
		pr, err := runPhase(ctx, e, scrape, p.rpc, loadgen.Config{Name: p.name, Duration: p.d, Concurrency: o.concurrency, Call: p.call(pctx)})
		cancel()
		if pr != nil {
			rep.Phases = append(rep.Phases, *pr)
			if e.g.output == outputTable {
				writePhase(e.stdout, pr)
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				return e.fail(err.Error())
			}
			fmt.Fprintln(e.stderr, "aroundctl bench: interrupted")
			interrupted = true
			break
		}
	}
	if o.compare && !interrupted {
		pools := [2][]*pb.NearbyRequest{kindOrganic: organicReqs, kindSponsored: reqs}
		kinds, cr, err := runCompare(callCtx, e, o, murl, len(reqs), func(ctx context.Context, kind int, offset uint64) loadgen.CallFunc {
			return nearby(ctx, pools[kind], offset)
		})
		if err != nil {
			if ctx.Err() == nil {
				return e.fail(err.Error())
			}
			fmt.Fprintln(e.stderr, "aroundctl bench: interrupted")
		}
		for _, p := range kinds {
			p.Interrupted = err != nil
			rep.Phases = append(rep.Phases, *p)
			if e.g.output == outputTable {
				writePhase(e.stdout, p)
			}
		}
		rep.Compare = cr
		if e.g.output == outputTable {
			writeCompare(e.stdout, cr, kinds[kindOrganic], kinds[kindSponsored])
		}
	}
	// The last phase is Nearby as clients call it (sponsored, in a
	// comparison).
	if last := len(rep.Phases) - 1; last > 0 && rep.Phases[0].CallsPerS > 0 {
		r := rep.Phases[last].CallsPerS / rep.Phases[0].CallsPerS
		rep.NearbyToBase = &r
	}
	if e.g.output != outputTable {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := e.printJSON(b); err != nil {
			return e.fail(err.Error())
		}
	} else {
		writeSummary(e.stdout, &rep)
	}
	if ctx.Err() != nil {
		return exitFailure
	}
	for _, p := range rep.Phases {
		if p.Errors > 0 {
			return exitFailure
		}
	}
	return 0
}

// benchRequests builds the request pool once; the hot loop only indexes it.
func benchRequests(o benchOptions) []*pb.NearbyRequest {
	qs := dataset.Queries(dataset.BenchSpec(o.seed), o.seed, o.queries)
	out := make([]*pb.NearbyRequest, len(qs))
	backing := make([]pb.NearbyRequest, len(qs))
	for i, q := range qs {
		r := &backing[i]
		r.Location, r.User, r.RadiusM, r.Limit = q.Location, q.User, o.radius, int32(o.limit)
		out[i] = r
	}
	return out
}

// excludeSponsored returns copies of reqs with exclude_sponsored set.
func excludeSponsored(reqs []*pb.NearbyRequest) []*pb.NearbyRequest {
	out := make([]*pb.NearbyRequest, len(reqs))
	backing := make([]pb.NearbyRequest, len(reqs))
	for i, r := range reqs {
		c := &backing[i]
		c.Location, c.User, c.RadiusM, c.Limit = r.Location, r.User, r.RadiusM, r.Limit
		c.ExcludeSponsored = true
		out[i] = c
	}
	return out
}

// preflight makes one call of each kind before measuring, so that
// connections are up and a wrong key or an unimplemented Nearby is one
// clear message instead of a phase full of errors.
func preflight(ctx context.Context, e *env, health []healthpb.HealthClient, nearby pb.DiscoveryServiceClient, reqs ...*pb.NearbyRequest) string {
	for _, h := range health {
		cctx, cancel := context.WithTimeout(ctx, e.g.timeout)
		resp, err := h.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err != nil {
			return e.g.describeErr("Health/Check", err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			fmt.Fprintf(e.stderr, "aroundctl bench: warning: the server's health is %v (still loading?)\n", resp.GetStatus())
		}
	}
	for _, req := range reqs {
		cctx, cancel := context.WithTimeout(ctx, e.g.timeout)
		_, err := nearby.Nearby(cctx, req)
		cancel()
		if err != nil {
			return e.g.describeErr("Nearby", err)
		}
	}
	return ""
}

// runPhase runs one phase (cfg, with progress on stderr) between two
// scrapes of the server's CPU time.
func runPhase(ctx context.Context, e *env, scrape func(context.Context) (float64, error), rpc string, cfg loadgen.Config) (*phaseReport, error) {
	var cpu0 float64
	var scrapeErr error
	if scrape != nil {
		cpu0, scrapeErr = scrape(ctx)
	}
	name := cfg.Name
	cfg.Progress = e.stderr
	res, err := loadgen.Run(ctx, cfg)
	if res == nil {
		return nil, err
	}
	pr := report(res, rpc)
	pr.Interrupted = err != nil
	switch {
	case scrape == nil:
		pr.serverCPUReason = "no --metrics-addr"
	case scrapeErr != nil:
		pr.serverCPUReason = scrapeErr.Error()
	default:
		cpu1, err := scrape(context.WithoutCancel(ctx))
		if err != nil {
			pr.serverCPUReason = err.Error()
			break
		}
		delta := cpu1 - cpu0
		cores := delta / res.Elapsed.Seconds()
		pr.ServerCPUCores = &cores
		if res.Calls > 0 {
			per := delta / float64(res.Calls) * 1e6
			pr.ServerCPUPerUS = &per
		}
	}
	if pr.serverCPUReason != "" && scrape != nil {
		fmt.Fprintf(e.stderr, "aroundctl: warning: %s phase: no server CPU figure: %s\n", name, pr.serverCPUReason)
	}
	return pr, err
}

// report turns a loadgen result into the printed figures.
func report(res *loadgen.Result, rpc string) *phaseReport {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	h := res.Latency
	pr := &phaseReport{
		Name: res.Name, RPC: rpc, ElapsedS: res.Elapsed.Seconds(),
		Calls: res.Calls, Errors: res.Errors, ErrorsByCode: map[string]uint64{},
		CallsPerS: res.Throughput(),
		LatencyUS: latencyReport{
			P50: us(h.Quantile(0.5)), P90: us(h.Quantile(0.9)), P99: us(h.Quantile(0.99)),
			P999: us(h.Quantile(0.999)), Max: us(h.Max()), Mean: h.Mean() / 1e3,
		},
	}
	for _, c := range res.SortedErrors() {
		pr.ErrorsByCode[loadgen.CodeName(c.Code)] = c.Count
	}
	if res.ClientCPUKnown {
		cores := res.ClientCPU.Seconds() / res.Elapsed.Seconds()
		pr.ClientCPUCores = &cores
		if res.Calls > 0 {
			per := res.ClientCPU.Seconds() / float64(res.Calls) * 1e6
			pr.ClientCPUPerUS = &per
		}
	}
	return pr
}

// formatUS prints a latency given in microseconds with 3 significant
// digits: "87.5µs", "1.23ms", "2.05s".
func formatUS(us float64) string {
	switch {
	case us < 100:
		return fmt.Sprintf("%.1fµs", us)
	case us < 1000:
		return fmt.Sprintf("%.0fµs", us)
	case us < 10_000:
		return fmt.Sprintf("%.2fms", us/1e3)
	case us < 100_000:
		return fmt.Sprintf("%.1fms", us/1e3)
	case us < 1_000_000:
		return fmt.Sprintf("%.0fms", us/1e3)
	default:
		return fmt.Sprintf("%.2fs", us/1e6)
	}
}

func formatErrors(p *phaseReport) string {
	if p.Errors == 0 {
		return "none"
	}
	var parts []string
	for _, c := range sortedCodes(p.ErrorsByCode) {
		parts = append(parts, fmt.Sprintf("%s %s", c, loadgen.Thousands(float64(p.ErrorsByCode[c]))))
	}
	return loadgen.Thousands(float64(p.Errors)) + " (" + strings.Join(parts, ", ") + ")"
}

// sortedCodes orders codes by count, most first.
func sortedCodes(m map[string]uint64) []string {
	var out []string
	for c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if m[out[i]] != m[out[j]] {
			return m[out[i]] > m[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

func optUS(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f µs", *v)
}

func optCores(v *float64) string {
	if v == nil {
		return ""
	}
	return fmt.Sprintf(" (%.2f cores)", *v)
}

// writePhase prints one phase as soon as it is over.
func writePhase(w io.Writer, p *phaseReport) {
	note := ""
	if p.Interrupted {
		note = " (interrupted)"
	}
	fmt.Fprintf(w, "%s: %s, %.1fs%s\n", p.Name, p.RPC, p.ElapsedS, note)
	fmt.Fprintf(w, "  calls      %s (%s calls/s), errors: %s\n", loadgen.Thousands(float64(p.Calls)), loadgen.Thousands(p.CallsPerS), formatErrors(p))
	l := p.LatencyUS
	fmt.Fprintf(w, "  latency    p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
		formatUS(l.P50), formatUS(l.P90), formatUS(l.P99), formatUS(l.P999), formatUS(l.Max))
	fmt.Fprintf(w, "  CPU/call   server %s, client %s%s\n\n", p.serverCPU(), optUS(p.ClientCPUPerUS), optCores(p.ClientCPUCores))
}

// serverCPU is the server's CPU per call and cores used, or why unknown.
func (p *phaseReport) serverCPU() string {
	server := optUS(p.ServerCPUPerUS) + optCores(p.ServerCPUCores)
	if p.ServerCPUPerUS == nil && p.serverCPUReason != "" {
		server += " (" + p.serverCPUReason + ")"
	}
	return server
}

// writeSummary prints the block meant for a README.
func writeSummary(w io.Writer, r *benchReport) {
	fmt.Fprintf(w, "---- summary ----\n")
	fmt.Fprintf(w, "aroundctl bench, %s: %s, %d connections, %d workers, %s requests (seed %d, radius %.0f m, limit %d), client GOMAXPROCS %d\n\n",
		r.StartedAtUTC, r.Addr, r.Connections, r.Concurrency, loadgen.Thousands(float64(r.Queries)), r.Seed, r.RadiusM, r.Limit, r.ClientCPUs)
	t := table{
		header: []string{"phase", "time", "calls", "errors", "calls/s", "p50", "p90", "p99", "p99.9", "max", "server CPU/call", "client CPU/call"},
		right:  []bool{false, true, true, true, true, true, true, true, true, true, true, true},
	}
	for i := range r.Phases {
		p := &r.Phases[i]
		l := p.LatencyUS
		t.add([]string{
			p.Name, fmt.Sprintf("%.1fs", p.ElapsedS), loadgen.Thousands(float64(p.Calls)), loadgen.Thousands(float64(p.Errors)),
			loadgen.Thousands(p.CallsPerS), formatUS(l.P50), formatUS(l.P90), formatUS(l.P99), formatUS(l.P999), formatUS(l.Max),
			optUS(p.ServerCPUPerUS), optUS(p.ClientCPUPerUS),
		}, nil)
	}
	t.writeMarkdown(w)
	if r.NearbyToBase != nil {
		fmt.Fprintf(w, "\nNearby/baseline throughput: %.3f\n", *r.NearbyToBase)
	}
	if c := r.Compare; c != nil {
		if c.ThroughputRatio != nil {
			fmt.Fprintf(w, "sponsored/organic throughput: %.3f (goal >= %.2f; %d rounds A B B A)\n", *c.ThroughputRatio, c.GoalRatio, c.Rounds)
		}
		if c.Slots != nil && c.Slots.FillRate != nil {
			fmt.Fprintf(w, "sponsored fill rate: %.1f%%\n", 100**c.Slots.FillRate)
		}
		fmt.Fprintln(w, "organic = Nearby with exclude_sponsored=true (no campaign path); sponsored = exclude_sponsored=false")
	}
	fmt.Fprintln(w, "baseline = grpc.health.v1.Health/Check over the same connections and workers; latencies are of successful calls")
}

// rawResponse receives a response without parsing it.
type rawResponse struct{ bytes int }

// rawCodec marshals requests as protobuf but leaves responses unparsed: the
// load generator then costs the machine what the transport costs, not what
// decoding twenty results costs. It keeps the name "proto", so the wire
// (content-type application/grpc+proto) is exactly what real clients send.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, err := proto.Marshal(v.(proto.Message))
	if err != nil {
		return nil, err
	}
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*rawResponse); ok {
		r.bytes = data.Len()
		return nil
	}
	return proto.Unmarshal(data.Materialize(), v.(proto.Message))
}

func (rawCodec) Name() string { return "proto" }
