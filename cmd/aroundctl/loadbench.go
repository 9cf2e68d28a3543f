package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/pkg/loadgen"
)

const loadBenchUsage = `Usage: aroundctl load-bench [flags]

Generates the benchmark catalog (dataset.BenchSpec(seed): 1,000,000
mini-programs, about 1.5 million places over 20 Chinese cities) and streams it
to CatalogService/ImportMiniPrograms, one item at a time as it is generated
(the catalog is never held in memory). --count keeps the first N items: items
are generated in order, so a smaller catalog is a prefix of the full one.
Needs an admin key. Import is an upsert: running it twice updates.

It prints progress every --batch-log items on stderr, then the server's
summary (created, updated, failed, the first errors), the throughput in
items/s counted until the server has committed the last batch, and the CPU
time per item of this client and, with --metrics-addr, of the server
(process_cpu_seconds_total before and after). The stream has no deadline
(--timeout does not apply); Ctrl-C cancels it.

Example:
  aroundctl load-bench --count 200000
`

// maxPrintedImportErrors is how many of the server's import errors are
// printed in the table output.
const maxPrintedImportErrors = 10

func runLoadBench(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl load-bench", flag.ContinueOnError)
	seed := fs.Int64("seed", 1, "seed of the benchmark catalog")
	count := fs.Int("count", dataset.BenchMiniPrograms, "mini-programs to send: the first N of the catalog")
	batchLog := fs.Int("batch-log", 100_000, "print progress every this many items; 0 = never")
	metricsAddr := fs.String("metrics-addr", "", "server's metrics address (host:port): also report the server's CPU time per item")
	if ok, code := parseCommand(e, fs, args, loadBenchUsage); !ok {
		return code
	}
	if *count < 1 {
		return e.usageError("load-bench", "--count must be >= 1")
	}
	if *batchLog < 0 {
		return e.usageError("load-bench", "--batch-log must be >= 0")
	}
	spec := dataset.BenchSpec(*seed)
	spec.MiniPrograms = *count

	cc, err := e.g.dial(e.keyFor(envAdminKey))
	if err != nil {
		return e.fail(err.Error())
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pb.NewCatalogServiceClient(cc).ImportMiniPrograms(ctx)
	if err != nil {
		return e.fail(e.g.describeErr("ImportMiniPrograms", err))
	}

	var scrape func(context.Context) (float64, error)
	var cpu0 float64
	if *metricsAddr != "" {
		hc, murl := &http.Client{Timeout: 5 * time.Second}, loadgen.MetricsURL(*metricsAddr)
		scrape = func(ctx context.Context) (float64, error) { return loadgen.ScrapeCPUSeconds(ctx, hc, murl) }
		if cpu0, err = scrape(ctx); err != nil {
			fmt.Fprintf(e.stderr, "aroundctl load-bench: warning: no server CPU figure: %v\n", err)
			scrape = nil
		}
	}
	clientCPU0, clientOK := loadgen.ProcessCPU()

	fmt.Fprintf(e.stderr, "load-bench: streaming %s mini-programs (benchmark catalog, seed %d) to %s\n",
		loadgen.Thousands(float64(*count)), *seed, e.g.addr)
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
		if *batchLog > 0 && sent%*batchLog == 0 {
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
		return e.fail(e.g.describeErr("ImportMiniPrograms", genErr))
	}
	resp, err := stream.CloseAndRecv()
	total := time.Since(start)
	clientCPU1, clientOK1 := loadgen.ProcessCPU()
	if err != nil {
		if ctx.Err() != nil {
			return e.fail(fmt.Sprintf("load-bench interrupted after %s items were sent; the batches the server had committed stay (import is an upsert: running it again is safe)",
				loadgen.Thousands(float64(sent))))
		}
		if sent > 0 {
			fmt.Fprintf(e.stderr, "load-bench: the stream failed after %s items were sent\n", loadgen.Thousands(float64(sent)))
		}
		return e.fail(e.g.describeErr("ImportMiniPrograms", err))
	}
	if e.g.output != outputTable {
		if err := e.printMessage(resp); err != nil {
			return e.fail(err.Error())
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
	if resp.GetFailed() > 0 {
		return exitFailure
	}
	return 0
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
