package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/pkg/loadgen"
)

// maxCampaignErrors is how many failed creates are kept, with their
// message, for the summary.
const maxCampaignErrors = 10

// createLatencyGoalUS is the goal "creating a 5 km circle campaign takes
// at most 5 ms", in microseconds; the probe's summary compares with it.
const createLatencyGoalUS = 5000

// Metrics of the covering index that load-bench reports after a campaign
// load: they answer "does the index for 100k campaigns stay under 500 MB?".
const (
	indexCampaignsMetric = "aroundme_campaign_index_campaigns"
	indexCellsMetric     = "aroundme_campaign_index_cells"
	indexBytesMetric     = "aroundme_campaign_index_bytes"
)

// loadBenchDoc is what load-bench prints with -o json when it creates
// campaigns.
type loadBenchDoc struct {
	Catalog   json.RawMessage     `json:"catalog,omitempty"`
	Campaigns *campaignLoadReport `json:"campaigns,omitempty"`
	Probe     *campaignLoadReport `json:"probe,omitempty"`
	Index     *indexReport        `json:"index,omitempty"`
}

// campaignLoadReport is one batch of creates: the bulk load or the probe.
type campaignLoadReport struct {
	phaseReport
	Requested   int             `json:"requested"`
	First       int             `json:"first_index"`
	Created     uint64          `json:"created"`
	RadiusM     float64         `json:"radius_m,omitempty"`
	FirstErrors []campaignError `json:"first_errors,omitempty"`
	// StoppedBy is why the batch stopped before its end, if it did.
	StoppedBy string `json:"stopped_by,omitempty"`
}

// campaignError is one failed create.
type campaignError struct {
	Index   int    `json:"index"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// indexReport is the server's covering index and memory after the load;
// nil fields were not exported by the server.
type indexReport struct {
	Campaigns *float64 `json:"campaigns"`
	Cells     *float64 `json:"cells"`
	Bytes     *float64 `json:"bytes"`
	RSSBytes  *float64 `json:"server_rss_bytes"`
}

// createErrors keeps the first failed creates and stops the batch on an
// error that every other create would repeat.
type createErrors struct {
	created atomic.Uint64
	mu      sync.Mutex
	first   []campaignError
	fatal   string
	cancel  context.CancelFunc
}

func (c *createErrors) add(e *env, index int, err error) {
	st := status.Convert(err)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.first) < maxCampaignErrors {
		c.first = append(c.first, campaignError{Index: index, Code: loadgen.CodeName(st.Code()), Message: st.Message()})
	}
	if c.fatal == "" {
		if msg := fatalCreateError(e, err, c.created.Load() == 0); msg != "" {
			c.fatal = msg
			c.cancel()
		}
	}
}

// fatalCreateError says why a failed create stops the whole load (every
// following create would fail the same way), or "" to go on. A missing
// mini-program stops it only when nothing was created yet (the catalog
// is not there at all; a few items missing from it fail a few creates).
func fatalCreateError(e *env, err error, first bool) string {
	st := status.Convert(err)
	switch st.Code() {
	case codes.ResourceExhausted:
		return "the server rate-limits this advertiser key (RESOURCE_EXHAUSTED: " + st.Message() + "): " +
			"restart it with --rate-advertiser 0 (or AROUNDME_RATE_ADVERTISER=0: no limit on advertiser calls) for a campaign load"
	case codes.FailedPrecondition:
		if !first {
			return ""
		}
		return "CreateCampaign failed (FAILED_PRECONDITION): " + st.Message() + ": " +
			"load the catalog first (load-bench --count N), or with --count 0 set --catalog-count to the number of mini-programs loaded"
	case codes.Unauthenticated, codes.PermissionDenied, codes.Unimplemented, codes.Unavailable:
		return e.g.describeErr("CreateCampaign", err)
	}
	return ""
}

// loadCampaigns creates o.campaigns benchmark campaigns, then runs the
// latency probe, and prints the reports.
func loadCampaigns(ctx context.Context, e *env, o loadBenchOptions, key string, doc *loadBenchDoc) int {
	catalog := dataset.BenchSpec(o.seed)
	catalog.MiniPrograms = o.count
	if o.count == 0 {
		catalog.MiniPrograms = o.catalogCount
	}
	cs := dataset.BenchCampaignSpec(o.seed, 0, catalog)
	gens := make([]*dataset.CampaignGenerator, o.concurrency)
	for i := range gens {
		g, err := dataset.NewCampaignGenerator(cs)
		if err != nil {
			return e.fail(err.Error())
		}
		gens[i] = g
	}

	cc, err := e.g.dial(key)
	if err != nil {
		return e.fail(err.Error())
	}
	defer cc.Close()
	client := pb.NewCampaignServiceClient(cc)
	// One read as this advertiser: a wrong key, a wrong role or an
	// unreachable server is one clear message before any create.
	pctx, cancel := context.WithTimeout(ctx, e.g.timeout)
	_, err = client.ListCampaigns(pctx, &pb.ListCampaignsRequest{PageSize: 1})
	cancel()
	if err != nil {
		if msg := fatalCreateError(e, err, true); msg != "" {
			return e.fail(msg)
		}
		return e.fail(e.g.describeErr("ListCampaigns", err))
	}

	code := 0
	if o.campaigns > 0 {
		fmt.Fprintf(e.stderr, "load-bench: creating %s benchmark campaigns (seed %d, from index %d) with %d workers\n",
			loadgen.Thousands(float64(o.campaigns)), o.seed, o.offset, o.concurrency)
		rep, c := createCampaigns(ctx, e, o.scrapeCPU, "campaigns", o.campaigns, o.offset, o.concurrency, func(w, i int) *pb.Campaign {
			return gens[w].Campaign(i)
		}, client)
		doc.Campaigns = rep
		code = max(code, c)
	}
	if o.probe > 0 && ctx.Err() == nil && (doc.Campaigns == nil || doc.Campaigns.StoppedBy == "") {
		fmt.Fprintf(e.stderr, "load-bench: latency probe: %d campaigns fenced by one %.0f m circle, one at a time\n", o.probe, o.probeRadius)
		rep, c := createCampaigns(ctx, e, o.scrapeCPU, "probe", o.probe, 0, 1, func(w, i int) *pb.Campaign {
			return gens[w].Probe(i, o.probeRadius)
		}, client)
		rep.RadiusM = o.probeRadius
		doc.Probe = rep
		code = max(code, c)
	}
	if o.metricsAddr != "" {
		doc.Index = scrapeIndex(ctx, e, o.metricsAddr)
	}

	if e.g.output != outputTable {
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return e.fail(err.Error())
		}
		if err := e.printJSON(b); err != nil {
			return e.fail(err.Error())
		}
	} else {
		writeCampaignLoad(e.stdout, doc)
	}
	for _, r := range []*campaignLoadReport{doc.Campaigns, doc.Probe} {
		if r != nil && r.StoppedBy != "" {
			return e.fail(r.StoppedBy)
		}
	}
	return code
}

// createCampaigns creates n campaigns, build(worker, index) for index =
// first ... first+n-1, from workers workers.
func createCampaigns(ctx context.Context, e *env, scrape func(context.Context) (float64, error), name string, n, first, workers int,
	build func(worker, index int) *pb.Campaign, client pb.CampaignServiceClient) (*campaignLoadReport, int) {
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := &createErrors{cancel: cancel}
	call := func(ctx context.Context, w int, seq uint64) error {
		i := first + int(seq)
		// Generating the campaign (~8 µs, dataset's BenchmarkCampaign) is
		// inside the measured call: noise next to a create's milliseconds.
		req := &pb.CreateCampaignRequest{Campaign: build(w, i)}
		cctx, cancel := context.WithTimeout(ctx, e.g.timeout)
		_, err := client.CreateCampaign(cctx, req)
		cancel()
		switch {
		case err == nil:
			errs.created.Add(1)
		case rctx.Err() == nil:
			errs.add(e, i, err)
		}
		return err
	}
	pr, err := runPhase(rctx, e, scrape, pb.CampaignService_CreateCampaign_FullMethodName[1:],
		loadgen.Config{Name: name, Total: uint64(n), Concurrency: workers, Call: call})
	rep := &campaignLoadReport{Requested: n, First: first}
	if pr != nil {
		rep.phaseReport = *pr
		rep.Created = pr.Calls - pr.Errors
	}
	errs.mu.Lock()
	rep.FirstErrors, rep.StoppedBy = errs.first, errs.fatal
	errs.mu.Unlock()
	switch {
	case rep.StoppedBy != "":
		return rep, exitFailure
	case err != nil && ctx.Err() != nil:
		rep.StoppedBy = fmt.Sprintf("interrupted after %s of %s creates; the campaigns created stay (--campaign-offset %d goes on from there, roughly)",
			loadgen.Thousands(float64(rep.Calls)), loadgen.Thousands(float64(n)), first+int(rep.Created))
		return rep, exitFailure
	case err != nil:
		return rep, e.fail(err.Error())
	case rep.Errors > 0:
		return rep, exitFailure
	}
	return rep, 0
}

// scrapeIndex reads the covering index's gauges and the server's RSS.
func scrapeIndex(ctx context.Context, e *env, metricsAddr string) *indexReport {
	hc := &http.Client{Timeout: 5 * time.Second}
	m, err := loadgen.ScrapeMetrics(context.WithoutCancel(ctx), hc, loadgen.MetricsURL(metricsAddr),
		indexCampaignsMetric, indexCellsMetric, indexBytesMetric, loadgen.RSSMetric)
	if err != nil {
		fmt.Fprintf(e.stderr, "aroundctl load-bench: warning: no index figures: %v\n", err)
		return nil
	}
	get := func(name string) *float64 {
		if v, ok := m[name]; ok {
			return &v
		}
		return nil
	}
	return &indexReport{Campaigns: get(indexCampaignsMetric), Cells: get(indexCellsMetric), Bytes: get(indexBytesMetric), RSSBytes: get(loadgen.RSSMetric)}
}

// writeCampaignLoad prints the campaign reports as tables.
func writeCampaignLoad(w io.Writer, doc *loadBenchDoc) {
	if r := doc.Campaigns; r != nil {
		fmt.Fprintln(w)
		writeCreates(w, "campaigns", r)
	}
	if r := doc.Probe; r != nil {
		fmt.Fprintln(w)
		writeCreates(w, fmt.Sprintf("latency probe (%.0f m circles, one at a time)", r.RadiusM), r)
		if r.Calls > r.Errors {
			fmt.Fprintf(w, "  goal       creating a %.0f m circle campaign takes <= 5 ms: p50 %s, p99 %s\n",
				r.RadiusM, metOrNot(r.LatencyUS.P50), metOrNot(r.LatencyUS.P99))
		}
	}
	if ix := doc.Index; ix != nil {
		fmt.Fprintf(w, "\ncovering index: %s campaigns, %s cells, %s (%s); server RSS %s\n",
			optCount(ix.Campaigns), optCount(ix.Cells), optBytes(ix.Bytes), indexBytesMetric, optBytes(ix.RSSBytes))
	}
}

// metOrNot prints a create latency against the goal.
func metOrNot(us float64) string {
	if us <= createLatencyGoalUS {
		return formatUS(us) + " (met)"
	}
	return formatUS(us) + " (NOT met)"
}

// writeCreates prints one batch of creates.
func writeCreates(w io.Writer, title string, r *campaignLoadReport) {
	fmt.Fprintf(w, "%s: %s\n", title, r.RPC)
	fmt.Fprintf(w, "  created    %s of %s, failed %s\n", loadgen.Thousands(float64(r.Created)),
		loadgen.Thousands(float64(r.Requested)), formatErrors(&r.phaseReport))
	fmt.Fprintf(w, "  time       %.2fs, %s creates/s\n", r.ElapsedS, loadgen.Thousands(r.CallsPerS))
	l := r.LatencyUS
	fmt.Fprintf(w, "  latency    p50 %s  p90 %s  p99 %s  max %s  mean %s\n",
		formatUS(l.P50), formatUS(l.P90), formatUS(l.P99), formatUS(l.Max), formatUS(l.Mean))
	fmt.Fprintf(w, "  CPU/create server %s, client %s\n", r.serverCPU(), optUS(r.ClientCPUPerUS))
	if len(r.FirstErrors) > 0 {
		fmt.Fprintln(w, "  first errors:")
		for _, ce := range r.FirstErrors {
			fmt.Fprintf(w, "    campaign %d: %s: %s\n", ce.Index, ce.Code, ce.Message)
		}
	}
}

func optCount(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return loadgen.Thousands(*v)
}

// optBytes prints a size in MB (10^6 bytes), as the goal states it.
func optBytes(v *float64) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MB", *v/1e6)
}
