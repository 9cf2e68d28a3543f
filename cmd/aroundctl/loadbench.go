package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/debug"
	"time"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/pkg/loadgen"
	"google.golang.org/grpc"
)

const loadBenchUsage = `Usage: aroundctl load-bench [flags]

Loads the benchmark data into a running server: the mini-program catalog
and, with --campaigns, geofenced ad campaigns on top of it.

Catalog (--count, default 1,000,000; 0 = skip): generates the benchmark
catalog (dataset.BenchSpec(seed): 1,000,000 mini-programs, about 1.5
million places over 20 Chinese cities) and streams it to
CatalogService/ImportMiniPrograms, one item at a time as it is generated
(the catalog is never held in memory). --count keeps the first N items:
items are generated in order, so a smaller catalog is a prefix of the full
one. Needs an admin key. Import is an upsert: running it twice updates. It
prints progress every --batch-log items on stderr, then the server's summary
(created, updated, failed, the first errors), the throughput in items/s
counted until the server has committed the last batch, and the CPU time per
item of this client and, with --metrics-addr, of the server
(process_cpu_seconds_total before and after). The stream has no deadline
(--timeout does not apply); Ctrl-C cancels it.

Campaigns (--campaigns N): then creates N benchmark campaigns
(dataset.BenchCampaignSpec(seed): fences of 200 m to 5 km around the same
city centres with the same 8 km spread, so that a downtown point lies in
hundreds of fences at N = 100,000; 10% polygons; varied targeting,
dayparts, budgets and bids; each promotes a mini-program of the catalog
with a place in its city) with CampaignService/CreateCampaign, from
--concurrency workers each with one call in flight (each call has
--timeout). It prints a progress line a second, then created, failed (by
code, and the first errors), the time, creates/s, the create latency
(p50, p90, p99, max) and, with --metrics-addr, the server's CPU time per
create and the covering index's size (aroundme_campaign_index_campaigns,
_cells, _bytes) and the server's RSS. Campaigns get server-assigned ids, so
creation is not idempotent: a second run adds N more; --campaign-offset K
makes campaigns K to K+N-1 instead (to resume an interrupted load).
The campaigns promote the first --count mini-programs, or with --count 0
the first --catalog-count, which the server must already have.

Latency probe (--latency-probe K): after the bulk load (or alone, with
--count 0 and no --campaigns), creates K more campaigns fenced by one
--probe-radius circle (5 km: the "create a 5 km circle campaign" goal) one
at a time, and prints their latency distribution and server CPU per create.

Campaigns need an advertiser key (only advertisers create campaigns):
--advertiser-key, else — when no catalog is sent (--count 0) — --key or
AROUNDME_KEY, else AROUNDME_ADVERTISER_KEY. With a catalog, --key (or
AROUNDME_KEY, else AROUNDME_ADMIN_KEY) is the admin key of the import, so
the advertiser key must come from --advertiser-key or
AROUNDME_ADVERTISER_KEY.

The server rate-limits advertiser keys (50 calls/s by default): start it
with --rate-advertiser 0 (AROUNDME_RATE_ADVERTISER=0, no limit) for a
campaign load. A RESOURCE_EXHAUSTED answer stops the load with that hint.

With -o json (or yaml), a catalog-only run prints the server's import
summary as before; a run with campaigns or a probe prints one document:
{"catalog": <import summary>, "campaigns": ..., "probe": ..., "index": ...}.

Examples:
  aroundctl load-bench --count 200000
  aroundctl load-bench --campaigns 100000 --latency-probe 200 --metrics-addr 127.0.0.1:9102
  aroundctl load-bench --count 0 --campaigns 100000 --advertiser-key "$ADV_KEY"
`

// maxPrintedImportErrors is how many of the server's import errors are
// printed in the table output.
const maxPrintedImportErrors = 10

// loadBenchOptions are the flags of load-bench.
type loadBenchOptions struct {
	seed              int64
	count, batchLog   int
	metricsAddr       string
	campaigns, offset int
	concurrency       int
	advertiserKey     string
	catalogCount      int
	probe             int
	probeRadius       float64
	scrapeCPU         func(context.Context) (float64, error)
}

// loadBenchGCPercent is load-bench's garbage-collector target (see
// runLoadBench).
const loadBenchGCPercent = 1000

func runLoadBench(ctx context.Context, e *env, args []string) int {
	var o loadBenchOptions
	fs := flag.NewFlagSet("aroundctl load-bench", flag.ContinueOnError)
	fs.Int64Var(&o.seed, "seed", 1, "seed of the benchmark catalog and campaigns")
	fs.IntVar(&o.count, "count", dataset.BenchMiniPrograms, "mini-programs to send: the first N of the catalog; 0 = no catalog")
	fs.IntVar(&o.batchLog, "batch-log", 100_000, "print catalog progress every this many items; 0 = never")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "server's metrics address (host:port): also report the server's CPU time per item and the covering index's size")
	fs.IntVar(&o.campaigns, "campaigns", 0, "benchmark campaigns to create after the catalog (CreateCampaign; needs an advertiser key and a server run with --rate-advertiser 0)")
	fs.IntVar(&o.offset, "campaign-offset", 0, "index of the first campaign to create (to resume an interrupted load)")
	fs.IntVar(&o.concurrency, "concurrency", 16, "campaign workers, each with one CreateCampaign in flight")
	fs.StringVar(&o.advertiserKey, "advertiser-key", "", "advertiser API key for the campaigns (default: see above; env "+envAdvertiserKey+")")
	fs.IntVar(&o.catalogCount, "catalog-count", dataset.BenchMiniPrograms, "with --count 0: how many mini-programs of the catalog the server has; campaigns promote only those")
	fs.IntVar(&o.probe, "latency-probe", 0, "then create this many --probe-radius circle campaigns one at a time and report their latency")
	fs.Float64Var(&o.probeRadius, "probe-radius", 5000, "radius of the latency probe's circles, metres")
	if ok, code := parseCommand(e, fs, args, loadBenchUsage); !ok {
		return code
	}
	switch {
	case o.count < 0 || o.campaigns < 0 || o.probe < 0 || o.offset < 0:
		return e.usageError("load-bench", "--count, --campaigns, --campaign-offset and --latency-probe must be >= 0")
	case o.count == 0 && o.campaigns == 0 && o.probe == 0:
		return e.usageError("load-bench", "nothing to do: --count, --campaigns and --latency-probe are all 0")
	case o.batchLog < 0:
		return e.usageError("load-bench", "--batch-log must be >= 0")
	case o.concurrency < 1:
		return e.usageError("load-bench", "--concurrency must be >= 1")
	case o.count == 0 && o.catalogCount < 1:
		return e.usageError("load-bench", "--catalog-count must be >= 1: campaigns promote mini-programs of the catalog")
	case !(o.probeRadius >= 10 && o.probeRadius <= 50000):
		return e.usageError("load-bench", "--probe-radius %v: must be in [10, 50000] metres", o.probeRadius)
	}
	withCampaigns := o.campaigns > 0 || o.probe > 0
	var advKey string
	if withCampaigns {
		var msg string
		if advKey, msg = e.advertiserKey(o); msg != "" {
			return e.usageError("load-bench", "%s", msg)
		}
	}

	// The load allocates ~1 KB per item and keeps almost nothing, so with
	// the runtime's target (twice a live heap of a few MB) the collector
	// runs every few MB: ~250 cycles for 1M items, about a fifth of this
	// client's CPU, on the cores the server needs. A target of 11 times
	// the live heap costs some tens of MB. GOGC, when set, decides.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(loadBenchGCPercent))
	}

	if o.metricsAddr != "" {
		hc, murl := &http.Client{Timeout: 5 * time.Second}, loadgen.MetricsURL(o.metricsAddr)
		o.scrapeCPU = func(ctx context.Context) (float64, error) { return loadgen.ScrapeCPUSeconds(ctx, hc, murl) }
	}

	var doc loadBenchDoc
	failed := false
	if o.count > 0 {
		resp, code := importCatalog(ctx, e, o, !withCampaigns)
		if resp == nil {
			return code
		}
		failed = resp.GetFailed() > 0
		if withCampaigns && e.g.output != outputTable {
			b, err := protoJSON.Marshal(resp)
			if err != nil {
				return e.fail(err.Error())
			}
			doc.Catalog = b
		}
	}
	if !withCampaigns {
		if failed {
			return exitFailure
		}
		return 0
	}
	code := loadCampaigns(ctx, e, o, advKey, &doc)
	if failed && code == 0 {
		code = exitFailure
	}
	return code
}

// advertiserKey is the key of the campaign calls, or why there is none.
func (e *env) advertiserKey(o loadBenchOptions) (key, problem string) {
	switch {
	case o.advertiserKey != "":
		return o.advertiserKey, ""
	case o.count == 0:
		key = e.keyFor(envAdvertiserKey)
	default:
		// --key is the catalog's admin key.
		key = e.getenv(envAdvertiserKey)
	}
	if key != "" {
		return key, ""
	}
	if o.count == 0 {
		return "", "campaigns need an advertiser key: pass --advertiser-key or --key, or set " + envAdvertiserKey
	}
	return "", "campaigns need an advertiser key besides the catalog's admin key: pass --advertiser-key or set " + envAdvertiserKey
}

// importCatalog streams the first o.count items of the catalog and prints
// the server's summary (as -o says when printJSON, else only in tables).
// It returns nil and the exit status when the import did not complete.
func importCatalog(ctx context.Context, e *env, o loadBenchOptions, printJSON bool) (*pb.ImportMiniProgramsResponse, int) {
	spec := dataset.BenchSpec(o.seed)
	spec.MiniPrograms = o.count

	cc, err := e.g.dial(e.keyFor(envAdminKey))
	if err != nil {
		return nil, e.fail(err.Error())
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pb.NewCatalogServiceClient(cc).ImportMiniPrograms(ctx, grpc.ForceCodecV2(importCodec{}))
	if err != nil {
		return nil, e.fail(e.g.describeErr("ImportMiniPrograms", err))
	}

	scrape := o.scrapeCPU
	var cpu0 float64
	if scrape != nil {
		if cpu0, err = scrape(ctx); err != nil {
			fmt.Fprintf(e.stderr, "aroundctl load-bench: warning: no server CPU figure: %v\n", err)
			scrape = nil
		}
	}
	clientCPU0, clientOK := loadgen.ProcessCPU()

	fmt.Fprintf(e.stderr, "load-bench: streaming %s mini-programs (benchmark catalog, seed %d) to %s\n",
		loadgen.Thousands(float64(o.count)), o.seed, e.g.addr)
	start := time.Now()
	lastT, lastN := start, 0
	sent := 0
	req := &pb.ImportMiniProgramsRequest{}
	genErr := dataset.Generate(spec, func(i int, mp *pb.MiniProgram) error {
		req.MiniProgram = mp
		if err := stream.Send(req); err != nil {
			return err
		}
		sent = i + 1
		if o.batchLog > 0 && sent%o.batchLog == 0 {
			now := time.Now()
			fmt.Fprintf(e.stderr, "load-bench: sent %12s  %8.1fs  %10s items/s (last %s: %s items/s)\n",
				loadgen.Thousands(float64(sent)), now.Sub(start).Seconds(),
				loadgen.Thousands(float64(sent)/now.Sub(start).Seconds()),
				loadgen.Thousands(float64(sent-lastN)), loadgen.Thousands(float64(sent-lastN)/now.Sub(lastT).Seconds()))
			lastT, lastN = now, sent
		}
		return nil
	})
	sendDone := time.Since(start)
	// On a failed stream Send returns io.EOF; the real status comes from
	// CloseAndRecv.
	if genErr != nil && !errors.Is(genErr, io.EOF) {
		cancel()
		return nil, e.fail(e.g.describeErr("ImportMiniPrograms", genErr))
	}
	resp, err := stream.CloseAndRecv()
	total := time.Since(start)
	clientCPU1, clientOK1 := loadgen.ProcessCPU()
	if err != nil {
		if ctx.Err() != nil {
			return nil, e.fail(fmt.Sprintf("load-bench interrupted after %s items were sent; the batches the server had committed stay (import is an upsert: running it again is safe)",
				loadgen.Thousands(float64(sent))))
		}
		if sent > 0 {
			fmt.Fprintf(e.stderr, "load-bench: the stream failed after %s items were sent\n", loadgen.Thousands(float64(sent)))
		}
		return nil, e.fail(e.g.describeErr("ImportMiniPrograms", err))
	}
	if e.g.output != outputTable {
		if printJSON {
			if err := e.printMessage(resp); err != nil {
				return nil, e.fail(err.Error())
			}
		}
		fmt.Fprintf(e.stderr, "load-bench: %s items in %.2fs: %s items/s including the server's last commit\n",
			loadgen.Thousands(float64(sent)), total.Seconds(), loadgen.Thousands(float64(sent)/total.Seconds()))
	} else {
		writeImportSummary(e.stdout, resp, sent, sendDone, total)
		if clientOK && clientOK1 {
			fmt.Fprintf(e.stdout, "client CPU: %.2fs (%.1f µs/item)\n", (clientCPU1 - clientCPU0).Seconds(),
				(clientCPU1-clientCPU0).Seconds()/float64(sent)*1e6)
		}
		if scrape != nil {
			if cpu1, err := scrape(ctx); err != nil {
				fmt.Fprintf(e.stderr, "aroundctl load-bench: warning: no server CPU figure: %v\n", err)
			} else {
				fmt.Fprintf(e.stdout, "server CPU: %.2fs (%.1f µs/item)\n", cpu1-cpu0, (cpu1-cpu0)/float64(sent)*1e6)
			}
		}
	}
	return resp, 0
}

// writeImportSummary prints the server's answer and the throughput.
func writeImportSummary(w io.Writer, resp *pb.ImportMiniProgramsResponse, sent int, sendDone, total time.Duration) {
	fmt.Fprintf(w, "imported:   %s sent, %s created, %s updated, %s failed\n",
		loadgen.Thousands(float64(sent)), loadgen.Thousands(float64(resp.GetCreated())),
		loadgen.Thousands(float64(resp.GetUpdated())), loadgen.Thousands(float64(resp.GetFailed())))
	fmt.Fprintf(w, "time:       %.2fs (last item sent after %.2fs; the rest is the server's final commit)\n",
		total.Seconds(), sendDone.Seconds())
	fmt.Fprintf(w, "throughput: %s items/s (including the server's final commit)\n", loadgen.Thousands(float64(sent)/total.Seconds()))
	if errs := resp.GetErrors(); len(errs) > 0 {
		fmt.Fprintln(w, "first errors:")
		for i, ie := range errs {
			if i == maxPrintedImportErrors {
				fmt.Fprintf(w, "  ... and %d more (-o json lists the first %d)\n", resp.GetFailed()-int64(i), len(errs))
				break
			}
			fmt.Fprintf(w, "  item %d (%q): %s\n", ie.GetIndex(), ie.GetId(), ie.GetMessage())
		}
	}
}
