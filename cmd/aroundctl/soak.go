package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/loadgen"
)

const soakUsage = `Usage: aroundctl soak [flags]

A bounded soak test of a running server with mixed traffic, for --duration,
reporting errors, p99 over time and the server's memory over time. It opens
--connections gRPC connections and runs, until --duration is over:

  readers    --readers workers calling DiscoveryService/Nearby back to back,
             over requests built from the benchmark query set (realistic
             users at realistic positions: dataset.Queries(dataset.BenchSpec(
             seed), seed, --queries)), as 'bench' does;
  writers    --writers workers calling CatalogService at --write-rate calls/s
             in all: each creates valid mini-programs (a category, a name,
             1-3 places near the query positions) in a private id namespace
             soak-<runid>-w<writer>-<n>, then updates (name, rating, places),
             hides, unhides and deletes each of them (with expected_version),
             the five steps interleaved so that every kind of write happens
             from the start. Each writer keeps at most --working-set ids alive,
             so the catalog does not grow without bound (the working set fills
             in the first 5 x --working-set / (--write-rate / --writers) s);
  importers  --importers workers each streaming --import-size items to
             CatalogService/ImportMiniPrograms every --import-every, upserting
             a fixed set of --working-set ids soak-<runid>-i<importer>-<n>;
  reporters  --reporters workers at --event-rate ReportEvents calls/s in all:
             each asks Nearby for a first page (users soak-<runid>-u<n>) and
             reports an impression of every sponsored result, and a click of
             one in ten, with fresh event ids. A rejected event counts as an
             error (FAILED_PRECONDITION, with the server's reason): in a
             healthy run none is rejected. Without campaigns on the server
             there is nothing to report.

Writes never touch ids outside soak-<runid>-; at the end (also after Ctrl-C)
the mini-programs the run left are deleted (--cleanup=false keeps them).

Every --interval it prints one line for the window just closed: elapsed
time, reads/s, writes/s (and import items/s), ReportEvents calls/s, read
p50 and p99, write p99,
and with --metrics-addr the server's RSS (process_resident_memory_bytes),
heap in use (go_memstats_heap_inuse_bytes), goroutines (go_goroutines) and
CPU cores used (process_cpu_seconds_total over the window), then the
window's errors by status code. Latencies are of successful calls; a call
counts in the window in which it finished.

At the end it prints a summary (totals, errors by code, p99 of the first,
last and worst window, RSS at start, max and end and its slope over the
second half of the run, heap max, goroutines at start and end) and a
verdict. The run PASSES when all of these hold, else it FAILS (exit 1):

  no errors     at most --max-errors failed calls (default 0);
  RSS flat      the RSS growth over the second half of the run, i.e. the
                least-squares slope of the RSS samples taken after the
                midpoint times half the run, divided by their mean, is below
                --max-rss-growth percent (default 10%): after warm-up the
                server's memory stays at its working set (not measured
                without --metrics-addr);
  p99 flat      the read p99 of the last window (the one before it when the
                last is shorter than half an --interval) is at most
                --max-p99-ratio times that of the first window (default 2;
                the write p99 when there are no readers);
  complete      the run was not interrupted.

It stops by itself after --duration; calls in flight then get --timeout (the
deadline of every call) to finish. Ctrl-C stops it early, prints the
summary and exits 1. -o json (or yaml) prints the whole report, every
window included, on stdout, and the window lines on stderr.

Reads need a client key, writes an admin key: --key (or AROUNDME_KEY) is used
for both when set (an admin key may call everything), else
AROUNDME_CLIENT_KEY for reads and AROUNDME_ADMIN_KEY for writes.

Example:
  aroundctl soak --duration 10m --interval 30s --metrics-addr 127.0.0.1:9102
`

// Series of the soak's windows.
const (
	seriesRead = iota
	seriesCreate
	seriesUpdate
	seriesHide
	seriesUnhide
	seriesDelete
	seriesImport
	seriesEvent
	numSeries
)

var seriesNames = [numSeries]string{"read", "create", "update", "hide", "unhide", "delete", "import", "event"}

// soakOptions are the flags of soak.
type soakOptions struct {
	duration, interval, importEvery   time.Duration
	connections, readers, writers     int
	importers, importSize, workingSet int
	writeRate, eventRate              float64
	reporters                         int
	metricsAddr                       string
	seed                              int64
	queries                           int
	maxErrors                         uint64
	maxRSSGrowth, maxP99Ratio         float64
	cleanup                           bool
}

func runSoak(ctx context.Context, e *env, args []string) int {
	var o soakOptions
	fs := flag.NewFlagSet("aroundctl soak", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "length of the run")
	fs.DurationVar(&o.interval, "interval", 30*time.Second, "length of a reporting window")
	fs.IntVar(&o.connections, "connections", 4, "gRPC connections (HTTP/2 transports) to open; workers are spread over them")
	fs.IntVar(&o.readers, "readers", 16, "Nearby workers, each with one call in flight")
	fs.IntVar(&o.writers, "writers", 2, "catalog writers (create, update, hide, unhide, delete of their own ids)")
	fs.Float64Var(&o.writeRate, "write-rate", 100, "catalog write calls per second, all writers together; 0 = as fast as they go (mind the admin rate limit)")
	fs.IntVar(&o.workingSet, "working-set", 500, "ids each writer keeps alive at most (a multiple of 4), and ids each importer cycles through")
	fs.IntVar(&o.importers, "importers", 0, "ImportMiniPrograms workers")
	fs.IntVar(&o.reporters, "reporters", 1, "ReportEvents workers (Nearby, then an impression of each sponsored result)")
	fs.Float64Var(&o.eventRate, "event-rate", 50, "ReportEvents calls per second, all reporters together; 0 = as fast as they go")
	fs.IntVar(&o.importSize, "import-size", 100, "items per import stream")
	fs.DurationVar(&o.importEvery, "import-every", 5*time.Second, "time between the import streams of one importer")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "server's metrics address (host:port): RSS, heap, goroutines and CPU per window; empty = not measured")
	fs.Int64Var(&o.seed, "seed", 1, "seed of the query set and of the written mini-programs")
	fs.IntVar(&o.queries, "queries", 10000, "distinct pre-built Nearby requests, reused round-robin")
	fs.Uint64Var(&o.maxErrors, "max-errors", 0, "fail when more calls than this failed")
	fs.Float64Var(&o.maxRSSGrowth, "max-rss-growth", 10, "fail when the RSS grew more than this many percent over the second half of the run")
	fs.Float64Var(&o.maxP99Ratio, "max-p99-ratio", 2, "fail when the last window's p99 is more than this times the first window's")
	fs.BoolVar(&o.cleanup, "cleanup", true, "delete the mini-programs the run wrote when it ends")
	if ok, code := parseCommand(e, fs, args, soakUsage); !ok {
		return code
	}
	switch {
	case o.duration <= 0 || o.interval <= 0:
		return e.usageError("soak", "--duration and --interval must be > 0")
	case o.connections < 1:
		return e.usageError("soak", "--connections must be >= 1")
	case o.readers < 0 || o.writers < 0 || o.importers < 0 || o.reporters < 0:
		return e.usageError("soak", "--readers, --writers, --importers and --reporters must be >= 0")
	case o.readers+o.writers+o.importers+o.reporters == 0:
		return e.usageError("soak", "nothing to do: --readers, --writers, --importers and --reporters are all 0")
	case o.writeRate < 0 || o.eventRate < 0:
		return e.usageError("soak", "--write-rate and --event-rate must be >= 0")
	case o.workingSet < 4 || o.workingSet%4 != 0:
		return e.usageError("soak", "--working-set %d: must be a multiple of 4, at least 4", o.workingSet)
	case o.importers > 0 && (o.importSize < 1 || o.importEvery <= 0):
		return e.usageError("soak", "--import-size must be >= 1 and --import-every > 0")
	case o.queries < 1:
		return e.usageError("soak", "--queries must be >= 1")
	case o.maxRSSGrowth < 0 || o.maxP99Ratio <= 0:
		return e.usageError("soak", "--max-rss-growth must be >= 0 and --max-p99-ratio > 0")
	}
	s, msg := newSoak(ctx, e, o)
	if s == nil {
		return e.fail(msg)
	}
	defer s.close()
	return s.run(ctx)
}

// soak is one run.
type soak struct {
	e        *env
	o        soakOptions
	runID    string
	reqs     []*pb.NearbyRequest
	conns    []*grpc.ClientConn
	readCtx  context.Context
	writeCtx context.Context
	win      *loadgen.Windows
	scrape   func(context.Context) (map[string]float64, error)
	murl     string

	stopped atomic.Bool
	stopCh  chan struct{}

	writers   []*soakWriter
	importers []*soakImporter
	warnOnce  sync.Once
}

func newSoak(ctx context.Context, e *env, o soakOptions) (*soak, string) {
	var b [4]byte
	rand.Read(b[:])
	s := &soak{e: e, o: o, runID: hex.EncodeToString(b[:]), stopCh: make(chan struct{})}
	s.reqs = benchRequests(benchOptions{seed: o.seed, radius: 2000, limit: 20, queries: o.queries})
	for range o.connections {
		// Keys go in the workers' contexts, so that readers and writers
		// share the connections.
		cc, err := e.g.dial("")
		if err != nil {
			s.close()
			return nil, err.Error()
		}
		s.conns = append(s.conns, cc)
	}
	s.readCtx, s.writeCtx = ctx, ctx
	if key := e.keyFor(envClientKey); key != "" {
		s.readCtx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}
	if key := e.keyFor(envAdminKey); key != "" {
		s.writeCtx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}
	if msg := s.preflight(); msg != "" {
		s.close()
		return nil, msg
	}
	if o.metricsAddr != "" {
		s.murl = loadgen.MetricsURL(o.metricsAddr)
		hc := &http.Client{Timeout: 5 * time.Second}
		s.scrape = func(ctx context.Context) (map[string]float64, error) {
			return loadgen.ScrapeMetrics(ctx, hc, s.murl, loadgen.RSSMetric, loadgen.HeapInuseMetric, loadgen.GoroutinesMetric, loadgen.CPUMetric)
		}
	}
	workers := o.readers + o.writers + o.importers + o.reporters
	s.win = loadgen.NewWindows(workers, numSeries)
	return s, ""
}

func (s *soak) close() {
	for _, cc := range s.conns {
		cc.Close()
	}
}

// conn is the connection of worker w.
func (s *soak) conn(w int) *grpc.ClientConn { return s.conns[w%len(s.conns)] }

// preflight makes one call of each kind the run will make, so that a wrong
// key or an unreachable server is one clear message.
func (s *soak) preflight() string {
	e := s.e
	for _, cc := range s.conns {
		cctx, cancel := context.WithTimeout(s.readCtx, e.g.timeout)
		resp, err := healthpb.NewHealthClient(cc).Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err != nil {
			return e.g.describeErr("Health/Check", err)
		}
		if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			fmt.Fprintf(e.stderr, "aroundctl soak: warning: the server's health is %v (still loading?)\n", resp.GetStatus())
		}
	}
	if s.o.readers > 0 {
		cctx, cancel := context.WithTimeout(s.readCtx, e.g.timeout)
		_, err := pb.NewDiscoveryServiceClient(s.conns[0]).Nearby(cctx, s.reqs[0])
		cancel()
		if err != nil {
			return e.g.describeErr("Nearby", err)
		}
	}
	if s.o.writers+s.o.importers > 0 {
		// An id nobody has: NOT_FOUND means the key may write.
		cctx, cancel := context.WithTimeout(s.writeCtx, e.g.timeout)
		_, err := pb.NewCatalogServiceClient(s.conns[0]).GetMiniProgram(cctx, &pb.GetMiniProgramRequest{Id: s.idPrefix() + "preflight"})
		cancel()
		if err != nil && status.Code(err) != codes.NotFound {
			return e.g.describeErr("GetMiniProgram", err)
		}
	}
	return ""
}

// idPrefix is the namespace of every id the run writes.
func (s *soak) idPrefix() string { return "soak-" + s.runID + "-" }

// stop makes every worker stop starting calls.
func (s *soak) stop() {
	if s.stopped.CompareAndSwap(false, true) {
		close(s.stopCh)
	}
}

// sample scrapes the server's metrics; nil when not measured.
func (s *soak) sample(ctx context.Context, at time.Duration) *serverSample {
	if s.scrape == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	m, err := s.scrape(ctx)
	if err != nil {
		fmt.Fprintf(s.e.stderr, "aroundctl soak: warning: %v\n", err)
		return nil
	}
	ss := &serverSample{AtS: at.Seconds()}
	get := func(name string) *float64 {
		if v, ok := m[name]; ok {
			return &v
		}
		return nil
	}
	ss.RSSBytes, ss.HeapInuseBytes = get(loadgen.RSSMetric), get(loadgen.HeapInuseMetric)
	ss.Goroutines, ss.CPUSeconds = get(loadgen.GoroutinesMetric), get(loadgen.CPUMetric)
	if ss.RSSBytes == nil {
		s.warnOnce.Do(func() {
			fmt.Fprintf(s.e.stderr, "aroundctl soak: warning: %s has no %s: RSS not measured\n", s.murl, loadgen.RSSMetric)
		})
	}
	return ss
}

func (s *soak) run(ctx context.Context) int {
	e, o := s.e, s.o
	rep := &soakReport{
		Addr: e.g.addr, MetricsURL: s.murl, RunID: s.runID, IDPrefix: s.idPrefix(),
		StartedAtUTC: time.Now().UTC().Format(time.RFC3339),
		DurationS:    o.duration.Seconds(), IntervalS: o.interval.Seconds(),
		Connections: o.connections, Readers: o.readers, Writers: o.writers, Importers: o.importers,
		WorkingSet: o.workingSet, WriteRate: o.writeRate, ImportSize: o.importSize, ImportEveryS: o.importEvery.Seconds(),
		Seed: o.seed, Queries: len(s.reqs),
		Thresholds: soakThresholds{MaxErrors: o.maxErrors, MaxRSSGrowthPct: o.maxRSSGrowth, MaxP99Ratio: o.maxP99Ratio},
	}
	rep.Start = s.sample(ctx, 0)
	if s.scrape != nil && rep.Start == nil {
		fmt.Fprintln(e.stderr, "aroundctl soak: warning: no server figures for this run")
		s.scrape = nil
	}
	fmt.Fprintf(e.stderr, "soak: %v in windows of %v against %s over %d connections: %d readers, %d writers (%s), %d importers; ids %s*\n",
		o.duration, o.interval, e.g.addr, o.connections, o.readers, o.writers, rateText(o.writeRate), o.importers, s.idPrefix())
	lines := e.stdout
	if e.g.output != outputTable {
		lines = e.stderr
	}
	writeWindowHeader(lines, o.importers > 0)

	start := time.Now()
	deadline := time.AfterFunc(o.duration, s.stop)
	defer deadline.Stop()
	defer context.AfterFunc(ctx, s.stop)()
	var wg sync.WaitGroup
	s.startWorkers(ctx, &wg, start)
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()

	prev := rep.Start
	winStart := start
	closeWindow := func() {
		stats := s.win.Rotate()
		now := time.Now()
		w := makeWindow(len(rep.Windows), winStart.Sub(start), now.Sub(start), stats)
		w.Server = s.sample(ctx, now.Sub(start))
		if w.Server != nil && prev != nil && w.Server.CPUSeconds != nil && prev.CPUSeconds != nil && w.Server.AtS > prev.AtS {
			c := (*w.Server.CPUSeconds - *prev.CPUSeconds) / (w.Server.AtS - prev.AtS)
			w.Server.CPUCores = &c
		}
		if w.Server != nil {
			prev = w.Server
		}
		writeWindowLine(lines, &w, o.importers > 0, o.importSize)
		rep.Windows = append(rep.Windows, w)
		winStart = now
	}
	for k := 1; ; k++ {
		var tick <-chan time.Time
		var timer *time.Timer
		if at := time.Duration(k) * o.interval; at < o.duration {
			timer = time.NewTimer(time.Until(start.Add(at)))
			tick = timer.C
		}
		select {
		case <-tick:
			closeWindow()
			continue
		case <-workersDone:
		}
		if timer != nil {
			timer.Stop()
		}
		closeWindow()
		break
	}
	rep.ElapsedS = time.Since(start).Seconds()
	rep.Interrupted = ctx.Err() != nil
	if o.cleanup {
		rep.Cleanup = s.cleanupIDs()
	}
	rep.Summary = summarize(rep, o.interval)
	if e.g.output != outputTable {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := e.printJSON(b); err != nil {
			return e.fail(err.Error())
		}
		fmt.Fprintln(e.stderr, rep.Summary.Verdict)
	} else {
		writeSoakSummary(e.stdout, rep)
	}
	if !rep.Summary.Pass {
		return exitFailure
	}
	return 0
}

func rateText(r float64) string {
	if r == 0 {
		return "unpaced"
	}
	return loadgen.Thousands(r) + " writes/s"
}
