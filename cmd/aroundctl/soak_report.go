package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aroundme/aroundme/pkg/loadgen"
)

// soakReport is the whole run, as -o json prints it.
type soakReport struct {
	Addr         string         `json:"addr"`
	MetricsURL   string         `json:"metrics_url,omitempty"`
	RunID        string         `json:"run_id"`
	IDPrefix     string         `json:"id_prefix"`
	StartedAtUTC string         `json:"started_at_utc"`
	DurationS    float64        `json:"duration_s"`
	IntervalS    float64        `json:"interval_s"`
	ElapsedS     float64        `json:"elapsed_s"`
	Interrupted  bool           `json:"interrupted"`
	Connections  int            `json:"connections"`
	Readers      int            `json:"readers"`
	Writers      int            `json:"writers"`
	Importers    int            `json:"importers"`
	WorkingSet   int            `json:"working_set"`
	WriteRate    float64        `json:"write_rate"`
	ImportSize   int            `json:"import_size"`
	ImportEveryS float64        `json:"import_every_s"`
	Seed         int64          `json:"seed"`
	Queries      int            `json:"queries"`
	Thresholds   soakThresholds `json:"thresholds"`
	Start        *serverSample  `json:"server_at_start,omitempty"`
	Windows      []soakWindow   `json:"windows"`
	Cleanup      *soakCleanup   `json:"cleanup,omitempty"`
	Summary      soakSummary    `json:"summary"`
}

type soakThresholds struct {
	MaxErrors       uint64  `json:"max_errors"`
	MaxRSSGrowthPct float64 `json:"max_rss_growth_pct"`
	MaxP99Ratio     float64 `json:"max_p99_ratio"`
}

type soakCleanup struct {
	Tried      int    `json:"tried"`
	Deleted    int    `json:"deleted"`
	Failed     int    `json:"failed"`
	FirstError string `json:"first_error,omitempty"`
}

// serverSample is one scrape of the server's metrics; nil fields were not
// exported.
type serverSample struct {
	AtS            float64  `json:"at_s"`
	RSSBytes       *float64 `json:"rss_bytes,omitempty"`
	HeapInuseBytes *float64 `json:"heap_inuse_bytes,omitempty"`
	Goroutines     *float64 `json:"goroutines,omitempty"`
	CPUSeconds     *float64 `json:"cpu_seconds,omitempty"`
	// CPUCores is the CPU used since the previous sample, in cores.
	CPUCores *float64 `json:"cpu_cores,omitempty"`
}

// soakWindow is one reporting window. Latencies are of successful calls,
// in microseconds.
type soakWindow struct {
	Index         int               `json:"index"`
	StartS        float64           `json:"start_s"`
	EndS          float64           `json:"end_s"`
	Reads         uint64            `json:"reads"`
	ReadErrors    uint64            `json:"read_errors"`
	ReadsPerS     float64           `json:"reads_per_s"`
	Writes        uint64            `json:"writes"`
	WriteErrors   uint64            `json:"write_errors"`
	WritesPerS    float64           `json:"writes_per_s"`
	WritesByOp    map[string]uint64 `json:"writes_by_op"`
	ImportStreams uint64            `json:"import_streams"`
	ImportErrors  uint64            `json:"import_errors"`
	EventCalls    uint64            `json:"event_calls"`
	EventErrors   uint64            `json:"event_errors"`
	EventP99US    float64           `json:"event_p99_us"`
	Errors        uint64            `json:"errors"`
	ErrorsByCode  map[string]uint64 `json:"errors_by_code"`
	ReadP50US     float64           `json:"read_p50_us"`
	ReadP99US     float64           `json:"read_p99_us"`
	ReadMaxUS     float64           `json:"read_max_us"`
	WriteP50US    float64           `json:"write_p50_us"`
	WriteP99US    float64           `json:"write_p99_us"`
	WriteMaxUS    float64           `json:"write_max_us"`
	ImportP99US   float64           `json:"import_p99_us"`
	Server        *serverSample     `json:"server,omitempty"`
}

func (w *soakWindow) seconds() float64 { return w.EndS - w.StartS }

// makeWindow turns the series of one closed window into its figures.
func makeWindow(index int, from, to time.Duration, st []loadgen.SeriesStats) soakWindow {
	us := func(ns int64) float64 { return float64(ns) / 1e3 }
	w := soakWindow{Index: index, StartS: from.Seconds(), EndS: to.Seconds(),
		WritesByOp: map[string]uint64{}, ErrorsByCode: map[string]uint64{}}
	var writes loadgen.SeriesStats
	for i := range st {
		for c, n := range st[i].ErrorsByCode {
			w.ErrorsByCode[loadgen.CodeName(c)] += n
		}
		w.Errors += st[i].Errors
		switch i {
		case seriesRead:
		case seriesImport, seriesEvent:
		default:
			w.WritesByOp[seriesNames[i]] = st[i].Calls
			writes.Merge(&st[i])
		}
	}
	r, im := &st[seriesRead], &st[seriesImport]
	w.Reads, w.ReadErrors = r.Calls, r.Errors
	w.Writes, w.WriteErrors = writes.Calls, writes.Errors
	w.ImportStreams, w.ImportErrors = im.Calls, im.Errors
	if s := w.seconds(); s > 0 {
		w.ReadsPerS, w.WritesPerS = float64(w.Reads)/s, float64(w.Writes)/s
	}
	w.ReadP50US, w.ReadP99US, w.ReadMaxUS = us(r.Latency.Quantile(0.5)), us(r.Latency.Quantile(0.99)), us(r.Latency.Max())
	wl := writes.Latency
	w.WriteP50US, w.WriteP99US, w.WriteMaxUS = us(wl.Quantile(0.5)), us(wl.Quantile(0.99)), us(wl.Max())
	w.ImportP99US = us(im.Latency.Quantile(0.99))
	ev := &st[seriesEvent]
	w.EventCalls, w.EventErrors, w.EventP99US = ev.Calls, ev.Errors, us(ev.Latency.Quantile(0.99))
	return w
}

// p99Trend compares the p99 of the first and last windows.
type p99Trend struct {
	Series    string   `json:"series"`
	FirstUS   float64  `json:"first_us"`
	LastUS    float64  `json:"last_us"`
	MaxUS     float64  `json:"max_us"`
	MaxWindow int      `json:"max_window"`
	Ratio     *float64 `json:"last_to_first,omitempty"`
}

// trendP99 finds the first and last windows with successful calls of a
// series (the last one skipped when it is shorter than half an interval and
// another follows the first), the worst window, and last/first.
func trendP99(ws []soakWindow, interval time.Duration, series string, get func(*soakWindow) (p99 float64, ok uint64)) *p99Trend {
	var idx []int
	for i := range ws {
		if _, n := get(&ws[i]); n > 0 {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	last := idx[len(idx)-1]
	if len(idx) > 2 && ws[last].seconds() < interval.Seconds()/2 {
		last = idx[len(idx)-2]
	}
	t := &p99Trend{Series: series, MaxWindow: -1}
	t.FirstUS, _ = get(&ws[idx[0]])
	t.LastUS, _ = get(&ws[last])
	for _, i := range idx {
		if p, _ := get(&ws[i]); p > t.MaxUS || t.MaxWindow < 0 {
			t.MaxUS, t.MaxWindow = p, i
		}
	}
	if t.FirstUS > 0 {
		r := t.LastUS / t.FirstUS
		t.Ratio = &r
	}
	return t
}

// rssTrend is the server's RSS over the run.
type rssTrend struct {
	StartBytes float64 `json:"start_bytes"`
	MaxBytes   float64 `json:"max_bytes"`
	EndBytes   float64 `json:"end_bytes"`
	// SlopeMBPerMin is the least-squares slope of the RSS samples of the
	// second half of the run (MB = 10^6 bytes).
	SlopeMBPerMin float64 `json:"second_half_slope_mb_per_min"`
	// GrowthPct is SlopeMBPerMin times half the run, divided by the mean
	// RSS of those samples, in percent.
	GrowthPct float64 `json:"second_half_growth_pct"`
	Samples   int     `json:"second_half_samples"`
}

// trendRSS computes the RSS figures from the samples (time order, the one
// at start first). With fewer than two samples after the midpoint it uses
// the last two. nil when fewer than two samples have an RSS.
func trendRSS(samples []*serverSample) *rssTrend {
	var at, rss []float64
	for _, s := range samples {
		if s != nil && s.RSSBytes != nil {
			at, rss = append(at, s.AtS), append(rss, *s.RSSBytes)
		}
	}
	if len(rss) < 2 {
		return nil
	}
	t := &rssTrend{StartBytes: rss[0], EndBytes: rss[len(rss)-1]}
	for _, v := range rss {
		t.MaxBytes = max(t.MaxBytes, v)
	}
	total := at[len(at)-1] - at[0]
	mid := at[0] + total/2
	from := len(at)
	for i := range at {
		if at[i] >= mid {
			from = i
			break
		}
	}
	from = min(from, len(at)-2)
	x, y := at[from:], rss[from:]
	slope, ok := loadgen.Slope(x, y) // bytes per second
	if !ok {
		return t
	}
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	t.Samples = len(y)
	t.SlopeMBPerMin = slope * 60 / 1e6
	if mean > 0 {
		t.GrowthPct = slope * (total / 2) / mean * 100
	}
	return t
}

// soakSummary is the end of the run.
type soakSummary struct {
	Reads         uint64            `json:"reads"`
	Writes        uint64            `json:"writes"`
	WritesByOp    map[string]uint64 `json:"writes_by_op"`
	ImportStreams uint64            `json:"import_streams"`
	Errors        uint64            `json:"errors"`
	ErrorsByCode  map[string]uint64 `json:"errors_by_code"`
	ReadP99       *p99Trend         `json:"read_p99,omitempty"`
	WriteP99      *p99Trend         `json:"write_p99,omitempty"`
	RSS           *rssTrend         `json:"rss,omitempty"`
	HeapMaxBytes  *float64          `json:"heap_inuse_max_bytes,omitempty"`
	GoroutinesAt  [2]*float64       `json:"goroutines_start_end"`
	CPUCoresMean  *float64          `json:"server_cpu_cores_mean,omitempty"`
	Pass          bool              `json:"pass"`
	Reasons       []string          `json:"fail_reasons,omitempty"`
	Verdict       string            `json:"verdict"`
}

// summarize adds the windows up and judges the run.
func summarize(r *soakReport, interval time.Duration) soakSummary {
	s := soakSummary{WritesByOp: map[string]uint64{}, ErrorsByCode: map[string]uint64{}}
	samples := []*serverSample{r.Start}
	for i := range r.Windows {
		w := &r.Windows[i]
		s.Reads += w.Reads
		s.Writes += w.Writes
		s.ImportStreams += w.ImportStreams
		s.Errors += w.Errors
		for k, v := range w.WritesByOp {
			s.WritesByOp[k] += v
		}
		for k, v := range w.ErrorsByCode {
			s.ErrorsByCode[k] += v
		}
		samples = append(samples, w.Server)
	}
	s.ReadP99 = trendP99(r.Windows, interval, "read", func(w *soakWindow) (float64, uint64) { return w.ReadP99US, w.Reads - w.ReadErrors })
	s.WriteP99 = trendP99(r.Windows, interval, "write", func(w *soakWindow) (float64, uint64) { return w.WriteP99US, w.Writes - w.WriteErrors })
	s.RSS = trendRSS(samples)
	var first, last *serverSample
	for _, x := range samples {
		if x == nil {
			continue
		}
		if first == nil {
			first = x
		}
		last = x
		if x.HeapInuseBytes != nil && (s.HeapMaxBytes == nil || *x.HeapInuseBytes > *s.HeapMaxBytes) {
			v := *x.HeapInuseBytes
			s.HeapMaxBytes = &v
		}
	}
	if first != nil {
		s.GoroutinesAt = [2]*float64{first.Goroutines, last.Goroutines}
		if first.CPUSeconds != nil && last.CPUSeconds != nil && last.AtS > first.AtS {
			c := (*last.CPUSeconds - *first.CPUSeconds) / (last.AtS - first.AtS)
			s.CPUCoresMean = &c
		}
	}
	judge(&s, r)
	return s
}

// judge sets the verdict: no more than --max-errors errors, RSS growth
// over the second half below --max-rss-growth percent, last/first window
// p99 at most --max-p99-ratio (reads, else writes), and not interrupted.
func judge(s *soakSummary, r *soakReport) {
	th := r.Thresholds
	var reasons, good []string
	if s.Errors > th.MaxErrors {
		reasons = append(reasons, fmt.Sprintf("%s errors (%s; --max-errors %d)", loadgen.Thousands(float64(s.Errors)), codesText(s.ErrorsByCode), th.MaxErrors))
	} else if s.Errors == 0 {
		good = append(good, "no errors")
	} else {
		good = append(good, fmt.Sprintf("%d errors (<= --max-errors %d)", s.Errors, th.MaxErrors))
	}
	switch {
	case s.RSS == nil || s.RSS.Samples < 2:
		why := "no --metrics-addr"
		if r.MetricsURL != "" {
			why = "too few samples"
		}
		good = append(good, "RSS not measured ("+why+")")
	case s.RSS.GrowthPct > th.MaxRSSGrowthPct:
		reasons = append(reasons, fmt.Sprintf("RSS grew %+.1f%% over the second half (%+.1f MB/min; --max-rss-growth %g%%)", s.RSS.GrowthPct, s.RSS.SlopeMBPerMin, th.MaxRSSGrowthPct))
	default:
		good = append(good, fmt.Sprintf("RSS flat (%+.1f%%)", s.RSS.GrowthPct))
	}
	p := s.ReadP99
	if p == nil {
		p = s.WriteP99
	}
	switch {
	case p == nil || p.Ratio == nil:
		good = append(good, "p99 not measured (no successful calls)")
	case *p.Ratio > th.MaxP99Ratio:
		reasons = append(reasons, fmt.Sprintf("%s p99 not flat: last/first = %.2f (%s → %s; --max-p99-ratio %g)", p.Series, *p.Ratio, formatUS(p.FirstUS), formatUS(p.LastUS), th.MaxP99Ratio))
	default:
		good = append(good, fmt.Sprintf("p99 flat (last/first = %.2f)", *p.Ratio))
	}
	if s.Reads+s.Writes+s.ImportStreams == 0 {
		reasons = append(reasons, "no calls were made")
	}
	if r.Interrupted {
		reasons = append(reasons, fmt.Sprintf("interrupted after %s of %s", fmtDur(r.ElapsedS), fmtDur(r.DurationS)))
	}
	s.Reasons = reasons
	s.Pass = len(reasons) == 0
	if s.Pass {
		s.Verdict = "PASS: " + strings.Join(good, ", ")
	} else {
		s.Verdict = "FAIL: " + strings.Join(reasons, "; ")
	}
}

func fmtDur(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

// codesText is "UNAVAILABLE 2, ABORTED 1".
func codesText(m map[string]uint64) string {
	var parts []string
	for _, c := range sortedCodes(m) {
		parts = append(parts, fmt.Sprintf("%s %s", c, loadgen.Thousands(float64(m[c]))))
	}
	return strings.Join(parts, ", ")
}

func optMB(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f MB", *v/1e6)
}

func optNum(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

func latOrDash(us float64, n uint64) string {
	if n == 0 {
		return "-"
	}
	return formatUS(us)
}

func writeWindowHeader(w io.Writer, imports bool) {
	imp := ""
	if imports {
		imp = fmt.Sprintf(" %9s", "imports/s")
	}
	fmt.Fprintf(w, "%8s %9s %9s%s %9s %9s %9s %9s %8s %8s %6s %5s  %s\n",
		"elapsed", "reads/s", "writes/s", imp, "events/s", "read p50", "read p99", "write p99", "RSS", "heap", "gorout", "cpu", "errors")
}

func writeWindowLine(w io.Writer, x *soakWindow, imports bool, importSize int) {
	imp := ""
	if imports {
		rate := 0.0
		if s := x.seconds(); s > 0 {
			rate = float64((x.ImportStreams-x.ImportErrors)*uint64(importSize)) / s
		}
		imp = fmt.Sprintf(" %9s", loadgen.Thousands(rate))
	}
	var rss, heap, gor, cpu *float64
	if x.Server != nil {
		rss, heap, gor, cpu = x.Server.RSSBytes, x.Server.HeapInuseBytes, x.Server.Goroutines, x.Server.CPUCores
	}
	errs := "0"
	if x.Errors > 0 {
		errs = loadgen.Thousands(float64(x.Errors)) + " (" + codesText(x.ErrorsByCode) + ")"
	}
	events := 0.0
	if s := x.seconds(); s > 0 {
		events = float64(x.EventCalls) / s
	}
	fmt.Fprintf(w, "%7.1fs %9s %9s%s %9s %9s %9s %9s %8s %8s %6s %5s  %s\n",
		x.EndS, loadgen.Thousands(x.ReadsPerS), loadgen.Thousands(x.WritesPerS), imp, loadgen.Thousands(events),
		latOrDash(x.ReadP50US, x.Reads-x.ReadErrors), latOrDash(x.ReadP99US, x.Reads-x.ReadErrors),
		latOrDash(x.WriteP99US, x.Writes-x.WriteErrors),
		optMB(rss), optMB(heap), optNum(gor, "%.0f"), optNum(cpu, "%.2f"), errs)
}

func p99Text(p *p99Trend) string {
	if p == nil {
		return "no successful calls"
	}
	ratio := "n/a"
	if p.Ratio != nil {
		ratio = fmt.Sprintf("%.2f", *p.Ratio)
	}
	return fmt.Sprintf("first window %s, last %s (last/first %s), worst %s (window %d)",
		formatUS(p.FirstUS), formatUS(p.LastUS), ratio, formatUS(p.MaxUS), p.MaxWindow+1)
}

// writeSoakSummary prints the summary block and the verdict.
func writeSoakSummary(w io.Writer, r *soakReport) {
	s := &r.Summary
	el := r.ElapsedS
	rate := func(n uint64) string { return loadgen.Thousands(float64(n) / max(el, 1e-9)) }
	fmt.Fprintln(w, "---- soak summary ----")
	fmt.Fprintf(w, "aroundctl soak, %s: %s, %s in %d windows of %s, %d connections; %d readers, %d writers (working set %d, %s), %d importers; seed %d, ids %s*\n",
		r.StartedAtUTC, r.Addr, fmtDur(el), len(r.Windows), fmtDur(r.IntervalS), r.Connections, r.Readers, r.Writers, r.WorkingSet,
		rateText(r.WriteRate), r.Importers, r.Seed, r.IDPrefix)
	fmt.Fprintf(w, "reads       %s (%s/s)\n", loadgen.Thousands(float64(s.Reads)), rate(s.Reads))
	var evCalls, evErrs uint64
	for i := range r.Windows {
		evCalls += r.Windows[i].EventCalls
		evErrs += r.Windows[i].EventErrors
	}
	fmt.Fprintf(w, "events      %s ReportEvents calls (%s/s), %s failed or with a rejected event\n", loadgen.Thousands(float64(evCalls)), rate(evCalls), loadgen.Thousands(float64(evErrs)))
	var ops []string
	for _, op := range seriesNames[seriesCreate : seriesDelete+1] {
		ops = append(ops, fmt.Sprintf("%s %s", op, loadgen.Thousands(float64(s.WritesByOp[op]))))
	}
	fmt.Fprintf(w, "writes      %s (%s/s): %s\n", loadgen.Thousands(float64(s.Writes)), rate(s.Writes), strings.Join(ops, ", "))
	if r.Importers > 0 {
		fmt.Fprintf(w, "imports     %s streams of %d items\n", loadgen.Thousands(float64(s.ImportStreams)), r.ImportSize)
	}
	errs := "none"
	if s.Errors > 0 {
		errs = loadgen.Thousands(float64(s.Errors)) + " (" + codesText(s.ErrorsByCode) + ")"
	}
	fmt.Fprintf(w, "errors      %s\n", errs)
	if r.Readers > 0 {
		fmt.Fprintf(w, "read p99    %s\n", p99Text(s.ReadP99))
	}
	if r.Writers > 0 {
		fmt.Fprintf(w, "write p99   %s\n", p99Text(s.WriteP99))
	}
	if t := s.RSS; t != nil {
		fmt.Fprintf(w, "RSS         start %.0f MB, max %.0f MB, end %.0f MB; second half %+.2f MB/min (%+.1f%% over %s, %d samples)\n",
			t.StartBytes/1e6, t.MaxBytes/1e6, t.EndBytes/1e6, t.SlopeMBPerMin, t.GrowthPct, fmtDur(el/2), t.Samples)
	} else {
		fmt.Fprintf(w, "RSS         not measured\n")
	}
	if r.MetricsURL != "" {
		fmt.Fprintf(w, "heap        max %s in use\n", optMB(s.HeapMaxBytes))
		fmt.Fprintf(w, "goroutines  start %s, end %s\n", optNum(s.GoroutinesAt[0], "%.0f"), optNum(s.GoroutinesAt[1], "%.0f"))
		fmt.Fprintf(w, "server CPU  %s cores on average\n", optNum(s.CPUCoresMean, "%.2f"))
	}
	if c := r.Cleanup; c != nil {
		line := fmt.Sprintf("deleted %d of the run's mini-programs", c.Deleted)
		if c.Failed > 0 {
			line += fmt.Sprintf("; %d deletes failed (%s)", c.Failed, c.FirstError)
		}
		fmt.Fprintf(w, "cleanup     %s\n", line)
	}
	fmt.Fprintln(w, s.Verdict)
}
