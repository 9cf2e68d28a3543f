package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/loadgen"
)

// The two kinds of Nearby phase that --sponsored-compare alternates.
const (
	kindOrganic   = 0 // exclude_sponsored=true: the server skips the campaign path
	kindSponsored = 1 // exclude_sponsored=false: campaigns considered, as clients call it
)

var kindNames = [2]string{"organic", "sponsored"}

// sponsoredGoalRatio is the goal: Nearby throughput with campaigns stays at
// least this share of its throughput without them.
const sponsoredGoalRatio = 0.8

// Metrics the comparison reads from the server around every segment.
const (
	slotsMetric    = "aroundme_campaign_sponsored_slots_total"
	eligibleMetric = "aroundme_campaign_eligible_per_request"
	auctionsMetric = "aroundme_campaign_auctions_total"
)

var (
	slotsFilledKey = loadgen.SeriesKey(slotsMetric, "outcome", "filled")
	slotsEmptyKey  = loadgen.SeriesKey(slotsMetric, "outcome", "empty")
)

// compareReport is the outcome of --sponsored-compare.
type compareReport struct {
	Method   string  `json:"method"`
	Rounds   int     `json:"rounds"`
	SegmentS float64 `json:"segment_s"`
	// ThroughputRatio is sponsored calls/s over organic calls/s, each over
	// all its segments; RoundRatios are the same per round, to show the
	// noise.
	ThroughputRatio *float64  `json:"sponsored_to_organic_throughput"`
	RoundRatios     []float64 `json:"round_ratios"`
	GoalRatio       float64   `json:"goal_min_ratio"`
	GoalMet         *bool     `json:"goal_met,omitempty"`
	// ServerCPUExtraUS is the server CPU a sponsored call costs beyond an
	// organic one; ServerCPURatio the ratio of the two.
	ServerCPUExtraUS *float64 `json:"server_cpu_extra_us_per_call,omitempty"`
	ServerCPURatio   *float64 `json:"sponsored_to_organic_server_cpu,omitempty"`
	// Slots are the sponsored slots of the sponsored phase, from the
	// server's metrics; nil with SlotsNote saying why.
	Slots     *slotsReport `json:"sponsored_slots,omitempty"`
	SlotsNote string       `json:"sponsored_slots_note,omitempty"`
	// IndexCampaigns is the covering index's size at the start.
	IndexCampaigns *float64 `json:"index_campaigns,omitempty"`
}

// slotsReport is aroundme_campaign_sponsored_slots_total and the eligible
// histogram over the sponsored segments.
type slotsReport struct {
	Filled             float64  `json:"filled"`
	Empty              float64  `json:"empty"`
	FillRate           *float64 `json:"fill_rate"`
	EligiblePerRequest *float64 `json:"eligible_per_request,omitempty"`
	Auctions           *float64 `json:"auctions,omitempty"`
}

// compareSegment is one segment as measured: its kind, its round, what the
// load generator saw and the change of the server's metrics over it (nil
// when they could not be read).
type compareSegment struct {
	kind, round int
	res         *loadgen.Result
	delta       map[string]float64
	scrapeErr   string
}

// compareOrder is the kinds of the segments: A B B A per round (A =
// organic), so that within each round both kinds sit symmetrically around
// its middle and a linear drift of the machine adds the same to both.
func compareOrder(rounds int) []int {
	out := make([]int, 0, 4*rounds)
	for range rounds {
		out = append(out, kindOrganic, kindSponsored, kindSponsored, kindOrganic)
	}
	return out
}

// metricsDelta is after - before for every series of after (a series
// missing before counts from 0).
func metricsDelta(before, after map[string]float64) map[string]float64 {
	d := make(map[string]float64, len(after))
	for k, v := range after {
		d[k] = v - before[k]
	}
	return d
}

// buildCompare turns the segments into the two phases and the comparison.
func buildCompare(segs []compareSegment, rounds int, segment time.Duration) (phases [2]*phaseReport, cr *compareReport) {
	cr = &compareReport{
		Method: fmt.Sprintf("%d rounds of A B B A segments of %v each (A = organic: exclude_sponsored=true; B = sponsored: exclude_sponsored=false), same request pool and order for both",
			rounds, segment),
		Rounds: rounds, SegmentS: segment.Seconds(), GoalRatio: sponsoredGoalRatio,
	}
	var byKind [2][]*loadgen.Result
	var cpu [2]float64
	var cpuReason [2]string
	var roundCalls [][2]uint64
	var roundTime [][2]time.Duration
	slotsSeen := false
	var filled, empty, organicSlots, eligSum, eligCount, auctions float64
	eligSeen, auctionsSeen := false, false
	for _, s := range segs {
		byKind[s.kind] = append(byKind[s.kind], s.res)
		for len(roundCalls) <= s.round {
			roundCalls, roundTime = append(roundCalls, [2]uint64{}), append(roundTime, [2]time.Duration{})
		}
		roundCalls[s.round][s.kind] += s.res.Calls
		roundTime[s.round][s.kind] += s.res.Elapsed
		if s.delta == nil {
			if cpuReason[s.kind] == "" {
				cpuReason[s.kind] = s.scrapeErr
			}
			continue
		}
		if v, ok := s.delta[loadgen.CPUMetric]; ok {
			cpu[s.kind] += v
		} else if cpuReason[s.kind] == "" {
			cpuReason[s.kind] = "the server exports no " + loadgen.CPUMetric
		}
		f, okF := s.delta[slotsFilledKey]
		em, okE := s.delta[slotsEmptyKey]
		if !okF && !okE {
			continue
		}
		slotsSeen = true
		if s.kind == kindOrganic {
			organicSlots += f + em
			continue
		}
		filled, empty = filled+f, empty+em
		if v, ok := s.delta[eligibleMetric+"_count"]; ok {
			eligSeen = true
			eligCount += v
			eligSum += s.delta[eligibleMetric+"_sum"]
		}
		if v, ok := s.delta[auctionsMetric]; ok {
			auctionsSeen = true
			auctions += v
		}
	}
	for k := range 2 {
		p := report(loadgen.Combine(kindNames[k], byKind[k]...), pb.DiscoveryService_Nearby_FullMethodName[1:])
		p.Name = kindNames[k]
		switch {
		case len(byKind[k]) == 0:
			p.serverCPUReason = "not run"
		case cpuReason[k] != "":
			p.serverCPUReason = cpuReason[k]
		default:
			cores := cpu[k] / p.ElapsedS
			p.ServerCPUCores = &cores
			if p.Calls > 0 {
				per := cpu[k] / float64(p.Calls) * 1e6
				p.ServerCPUPerUS = &per
			}
		}
		phases[k] = p
	}
	o, s := phases[kindOrganic], phases[kindSponsored]
	if o.CallsPerS > 0 && s.Calls > 0 {
		r := s.CallsPerS / o.CallsPerS
		met := r >= sponsoredGoalRatio
		cr.ThroughputRatio, cr.GoalMet = &r, &met
	}
	for i := range roundCalls {
		c, t := roundCalls[i], roundTime[i]
		if c[kindOrganic] > 0 && c[kindSponsored] > 0 && t[kindOrganic] > 0 && t[kindSponsored] > 0 {
			cr.RoundRatios = append(cr.RoundRatios,
				(float64(c[kindSponsored])/t[kindSponsored].Seconds())/(float64(c[kindOrganic])/t[kindOrganic].Seconds()))
		}
	}
	if o.ServerCPUPerUS != nil && s.ServerCPUPerUS != nil {
		extra := *s.ServerCPUPerUS - *o.ServerCPUPerUS
		cr.ServerCPUExtraUS = &extra
		if *o.ServerCPUPerUS > 0 {
			r := *s.ServerCPUPerUS / *o.ServerCPUPerUS
			cr.ServerCPURatio = &r
		}
	}
	switch {
	case !slotsSeen:
		cr.SlotsNote = "the server exports no " + slotsMetric + " (or no --metrics-addr): fill rate n/a"
	default:
		sl := &slotsReport{Filled: filled, Empty: empty}
		if filled+empty > 0 {
			fr := filled / (filled + empty)
			sl.FillRate = &fr
		}
		if eligSeen && eligCount > 0 {
			m := eligSum / eligCount
			sl.EligiblePerRequest = &m
		}
		if auctionsSeen {
			sl.Auctions = &auctions
		}
		cr.Slots = sl
		if organicSlots > 0 {
			cr.SlotsNote = fmt.Sprintf("the organic phase (exclude_sponsored=true) offered %s sponsored slots: the server does not skip campaigns for it",
				loadgen.Thousands(organicSlots))
		}
	}
	return phases, cr
}

// runCompare runs the organic and sponsored Nearby phases as 4×rounds
// alternating segments. nearby builds the call of one kind, starting at
// offset in the request pool of poolSize requests. It returns the two phases (nil when nothing
// ran) and the comparison; err is the interruption, if any.
func runCompare(ctx context.Context, e *env, o benchOptions, murl string, poolSize int,
	nearby func(ctx context.Context, kind int, offset uint64) loadgen.CallFunc) ([2]*phaseReport, *compareReport, error) {
	order := compareOrder(o.rounds)
	segment := o.duration / time.Duration(2*o.rounds)
	var scrape func(context.Context) (map[string]float64, error)
	if murl != "" {
		hc := &http.Client{Timeout: 5 * time.Second}
		scrape = func(ctx context.Context) (map[string]float64, error) {
			return loadgen.ScrapeSamples(context.WithoutCancel(ctx), hc, murl,
				loadgen.CPUMetric, slotsMetric, eligibleMetric, auctionsMetric, indexCampaignsMetric)
		}
	}
	var start map[string]float64
	if scrape != nil {
		start, _ = scrape(ctx)
	}
	fmt.Fprintf(e.stderr, "bench: sponsored vs organic: %d rounds of A B B A, %v a segment (A = organic: exclude_sponsored=true, B = sponsored)\n",
		o.rounds, segment)
	var segs []compareSegment
	var runErr error
	done := [2]int{}
	for i, kind := range order {
		round := i / 4
		// Segment j of a kind starts j/(2·rounds) of the way into the pool,
		// for both kinds alike: identical query sets.
		offset := uint64(done[kind]*poolSize) / uint64(2*o.rounds)
		done[kind]++
		seg := compareSegment{kind: kind, round: round}
		var before map[string]float64
		if scrape != nil {
			var err error
			if before, err = scrape(ctx); err != nil {
				seg.scrapeErr = err.Error()
			}
		}
		pctx, cancel := context.WithTimeout(ctx, segment+e.g.timeout)
		res, err := loadgen.Run(ctx, loadgen.Config{
			Name: kindNames[kind], Duration: segment, Concurrency: o.concurrency, Call: nearby(pctx, kind, offset), Progress: e.stderr,
		})
		cancel()
		if res != nil {
			seg.res = res
			if before != nil {
				if after, err := scrape(ctx); err != nil {
					seg.scrapeErr = err.Error()
				} else {
					seg.delta = metricsDelta(before, after)
				}
			}
			segs = append(segs, seg)
			fmt.Fprintf(e.stderr, "bench: round %d/%d %-9s %6.1fs %10s calls/s\n", round+1, o.rounds, kindNames[kind],
				res.Elapsed.Seconds(), loadgen.Thousands(res.Throughput()))
		}
		if err != nil {
			runErr = err
			break
		}
	}
	phases, cr := buildCompare(segs, o.rounds, segment)
	if v, ok := start[indexCampaignsMetric]; ok {
		cr.IndexCampaigns = &v
	}
	return phases, cr, runErr
}

// writeCompare prints the comparison.
func writeCompare(w io.Writer, cr *compareReport, organic, sponsored *phaseReport) {
	fmt.Fprintf(w, "sponsored vs organic: %s\n", cr.Method)
	if cr.IndexCampaigns != nil {
		fmt.Fprintf(w, "  campaigns  %s in the covering index\n", loadgen.Thousands(*cr.IndexCampaigns))
	}
	if cr.ThroughputRatio != nil {
		var rounds []string
		for _, r := range cr.RoundRatios {
			rounds = append(rounds, fmt.Sprintf("%.3f", r))
		}
		verdict := "met"
		if !*cr.GoalMet {
			verdict = "NOT met"
		}
		fmt.Fprintf(w, "  throughput sponsored %s / organic %s calls/s = %.3f (goal >= %.2f: %s); per round %s\n",
			loadgen.Thousands(sponsored.CallsPerS), loadgen.Thousands(organic.CallsPerS), *cr.ThroughputRatio,
			cr.GoalRatio, verdict, strings.Join(rounds, ", "))
	}
	fmt.Fprintf(w, "  latency    p50 %s vs %s, p99 %s vs %s (sponsored vs organic)\n",
		formatUS(sponsored.LatencyUS.P50), formatUS(organic.LatencyUS.P50), formatUS(sponsored.LatencyUS.P99), formatUS(organic.LatencyUS.P99))
	if cr.ServerCPUExtraUS != nil {
		ratio := ""
		if cr.ServerCPURatio != nil {
			ratio = fmt.Sprintf(", x%.3f", *cr.ServerCPURatio)
		}
		fmt.Fprintf(w, "  server CPU %s vs %s per call: %+.1f µs for the campaign path%s\n",
			optUS(sponsored.ServerCPUPerUS), optUS(organic.ServerCPUPerUS), *cr.ServerCPUExtraUS, ratio)
	} else {
		fmt.Fprintf(w, "  server CPU %s vs %s per call\n", sponsored.serverCPU(), organic.serverCPU())
	}
	if sl := cr.Slots; sl != nil {
		fill := "n/a (no slot offered)"
		if sl.FillRate != nil {
			fill = fmt.Sprintf("%.1f%%", 100**sl.FillRate)
		}
		fmt.Fprintf(w, "  fill rate  %s of %s sponsored slots filled", fill, loadgen.Thousands(sl.Filled+sl.Empty))
		if sl.EligiblePerRequest != nil {
			fmt.Fprintf(w, "; %.1f eligible campaigns per request that offered slots", *sl.EligiblePerRequest)
		}
		fmt.Fprintln(w)
	}
	if cr.SlotsNote != "" {
		fmt.Fprintf(w, "  note       %s\n", cr.SlotsNote)
	}
	fmt.Fprintln(w)
}
