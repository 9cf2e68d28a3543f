package main

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/aroundme/aroundme/pkg/config"
)

func f64(v float64) *float64 { return &v }

// syntheticRun is a 10-minute run of 20 windows of 30 s: RSS from rss(t),
// read p99 from p99(i), errs errors in window 5.
func syntheticRun(rss func(s float64) float64, p99 func(i int) float64, errs uint64) *soakReport {
	r := &soakReport{
		MetricsURL: "http://x/metrics", DurationS: 600, IntervalS: 30, ElapsedS: 600, Readers: 16, Writers: 2,
		Thresholds: soakThresholds{MaxErrors: 0, MaxRSSGrowthPct: 10, MaxP99Ratio: 2},
		Start:      &serverSample{AtS: 0, RSSBytes: f64(rss(0)), HeapInuseBytes: f64(100e6), Goroutines: f64(20), CPUSeconds: f64(10)},
	}
	for i := range 20 {
		end := float64(i+1) * 30
		w := soakWindow{Index: i, StartS: end - 30, EndS: end, Reads: 1000, Writes: 100, ReadP99US: p99(i), WriteP99US: 3000,
			WritesByOp: map[string]uint64{"create": 20}, ErrorsByCode: map[string]uint64{},
			Server: &serverSample{AtS: end, RSSBytes: f64(rss(end)), HeapInuseBytes: f64(100e6 + float64(i)*1e6), Goroutines: f64(30), CPUSeconds: f64(10 + end*1.5)}}
		if i == 5 && errs > 0 {
			w.Errors, w.ReadErrors, w.ErrorsByCode["UNAVAILABLE"] = errs, errs, errs
		}
		r.Windows = append(r.Windows, w)
	}
	return r
}

func TestSoakTrendRSS(t *testing.T) {
	// Warm-up growth in the first half, then +1 MB/min on 500 MB: over the
	// 5-minute second half that is +5 MB, about 1%.
	rss := func(s float64) float64 {
		if s < 300 {
			return 300e6 + s/300*200e6
		}
		return 500e6 + (s-300)/60*1e6
	}
	tr := trendRSS(syntheticRun(rss, func(int) float64 { return 1000 }, 0).samples())
	if tr == nil {
		t.Fatal("no trend")
	}
	if math.Abs(tr.SlopeMBPerMin-1) > 1e-9 || tr.Samples != 11 {
		t.Fatalf("slope %v MB/min over %d samples, want 1 over 11", tr.SlopeMBPerMin, tr.Samples)
	}
	if want := 5e6 / 502.5e6 * 100; math.Abs(tr.GrowthPct-want) > 1e-9 {
		t.Fatalf("growth %v%%, want %v%%", tr.GrowthPct, want)
	}
	if tr.StartBytes != 300e6 || tr.EndBytes != 505e6 || tr.MaxBytes != 505e6 {
		t.Fatalf("start/max/end %v %v %v", tr.StartBytes, tr.MaxBytes, tr.EndBytes)
	}
	// Too few samples: none; two samples: their slope.
	if trendRSS([]*serverSample{{AtS: 0, RSSBytes: f64(1)}, nil}) != nil {
		t.Fatal("trend from one sample")
	}
	two := trendRSS([]*serverSample{{AtS: 0, RSSBytes: f64(100e6)}, {AtS: 60, RSSBytes: f64(110e6)}})
	if two == nil || math.Abs(two.SlopeMBPerMin-10) > 1e-9 || math.Abs(two.GrowthPct-10.0/105*100/2) > 1e-9 {
		t.Fatalf("two samples: %+v", two)
	}
}

// samples is what summarize feeds trendRSS.
func (r *soakReport) samples() []*serverSample {
	out := []*serverSample{r.Start}
	for i := range r.Windows {
		out = append(out, r.Windows[i].Server)
	}
	return out
}

func TestSoakTrendP99(t *testing.T) {
	ws := []soakWindow{
		{StartS: 0, EndS: 30, Reads: 0},                    // no calls: skipped
		{StartS: 30, EndS: 60, Reads: 10, ReadP99US: 1000}, // first
		{StartS: 60, EndS: 90, Reads: 10, ReadP99US: 5000}, // worst
		{StartS: 90, EndS: 120, Reads: 10, ReadP99US: 1500},
		{StartS: 120, EndS: 125, Reads: 10, ReadP99US: 9000}, // short: not the "last"
	}
	get := func(w *soakWindow) (float64, uint64) { return w.ReadP99US, w.Reads }
	p := trendP99(ws, 30*time.Second, "read", get)
	if p.FirstUS != 1000 || p.LastUS != 1500 || *p.Ratio != 1.5 || p.MaxUS != 9000 || p.MaxWindow != 4 {
		t.Fatalf("%+v", p)
	}
	if trendP99(ws[:1], 30*time.Second, "read", get) != nil {
		t.Fatal("trend without calls")
	}
}

func TestSoakVerdict(t *testing.T) {
	flatRSS := func(s float64) float64 { return 500e6 + 1e6*math.Sin(s) }
	flatP99 := func(i int) float64 { return 2000 + float64(i%3)*100 }
	for name, c := range map[string]struct {
		r    *soakReport
		pass bool
		want string
	}{
		"pass":      {syntheticRun(flatRSS, flatP99, 0), true, "PASS: no errors, RSS flat (+"},
		"errors":    {syntheticRun(flatRSS, flatP99, 3), false, "FAIL: 3 errors (UNAVAILABLE 3; --max-errors 0)"},
		"rss grows": {syntheticRun(func(s float64) float64 { return 500e6 + s/60*20e6 }, flatP99, 0), false, "FAIL: RSS grew +15.4% over the second half (+20.0 MB/min"},
		"p99 grows": {syntheticRun(flatRSS, func(i int) float64 { return 1000 + float64(i)*200 }, 0), false, "FAIL: read p99 not flat: last/first = 4.80"},
	} {
		s := summarize(c.r, 30*time.Second)
		if s.Pass != c.pass || !strings.HasPrefix(s.Verdict, c.want) {
			t.Errorf("%s: pass %v, verdict %q; want %v, %q", name, s.Pass, s.Verdict, c.pass, c.want)
		}
	}
	// Allowed errors, no metrics, interrupted.
	r := syntheticRun(flatRSS, flatP99, 3)
	r.Thresholds.MaxErrors = 5
	r.MetricsURL, r.Start = "", nil
	for i := range r.Windows {
		r.Windows[i].Server = nil
	}
	s := summarize(r, 30*time.Second)
	if !s.Pass || s.Verdict != "PASS: 3 errors (<= --max-errors 5), RSS not measured (no --metrics-addr), p99 flat (last/first = 1.05)" {
		t.Fatalf("%v %q", s.Pass, s.Verdict)
	}
	if s.Reads != 20000 || s.Writes != 2000 || s.WritesByOp["create"] != 400 || s.Errors != 3 || s.ErrorsByCode["UNAVAILABLE"] != 3 {
		t.Fatalf("totals %+v", s)
	}
	r.Interrupted, r.ElapsedS = true, 63
	if s := summarize(r, 30*time.Second); s.Pass || s.Verdict != "FAIL: interrupted after 1m3s of 10m0s" {
		t.Fatalf("%v %q", s.Pass, s.Verdict)
	}
	// Heap max, goroutines, mean CPU.
	s = summarize(syntheticRun(flatRSS, flatP99, 0), 30*time.Second)
	if *s.HeapMaxBytes != 119e6 || *s.GoroutinesAt[0] != 20 || *s.GoroutinesAt[1] != 30 || math.Abs(*s.CPUCoresMean-1.5) > 1e-9 {
		t.Fatalf("heap %v goroutines %v %v cpu %v", *s.HeapMaxBytes, *s.GoroutinesAt[0], *s.GoroutinesAt[1], *s.CPUCoresMean)
	}
}

func TestSoakUsage(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"duration":    {[]string{"soak", "--duration", "0s"}, "--duration and --interval must be > 0"},
		"nothing":     {[]string{"soak", "--readers", "0", "--writers", "0", "--reporters", "0"}, "nothing to do"},
		"working set": {[]string{"soak", "--working-set", "10"}, "--working-set 10: must be a multiple of 4"},
		"ratio":       {[]string{"soak", "--max-p99-ratio", "0"}, "--max-p99-ratio > 0"},
	} {
		r := runCtl(t, nil, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2, %q", name, r.code, r.stderr, c.want)
		}
	}
	r := runCtl(t, nil, "soak", "--help")
	for _, want := range []string{"Usage: aroundctl soak", "PASSES", "--max-rss-growth", "reporters", "ReportEvents calls/s"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	addr := refusedAddr(t)
	r = runCtl(t, map[string]string{"AROUNDME_ADDR": addr}, "soak", "--duration", "1s")
	if r.code != 1 || !strings.Contains(r.stderr, "cannot reach aroundme at "+addr) {
		t.Errorf("refused: exit %d, %q", r.code, r.stderr)
	}
}

// TestSoakEndToEnd soaks the real server in-process for 2 s: windows are
// reported, reads and every kind of write happen without errors, the
// server's metrics are read, the verdict is printed and the run's
// mini-programs are deleted at the end.
func TestSoakEndToEnd(t *testing.T) {
	addr, maddr, key := startServerMetrics(t, func(c *config.Config) {
		// Reads use the admin key here: lift the admin rate limit.
		c.Limits.AdminRate, c.Limits.AdminBurst = 1e6, 1e6
	})
	env := map[string]string{"AROUNDME_ADDR": addr}
	// Loose thresholds: this is about the plumbing, not the race-enabled
	// test binary's latency or memory.
	args := []string{"--key", key, "soak", "--duration", "2s", "--interval", "500ms", "--metrics-addr", maddr,
		"--readers", "2", "--writers", "2", "--working-set", "4", "--write-rate", "200", "--queries", "500",
		"--importers", "1", "--import-size", "10", "--import-every", "400ms",
		"--max-p99-ratio", "1000", "--max-rss-growth", "1000"}
	r := runCtl(t, env, args...)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	lines := strings.Split(r.stdout, "\n")
	if !strings.Contains(lines[0], "reads/s") || !strings.Contains(lines[0], "imports/s") {
		t.Fatalf("header: %q", lines[0])
	}
	for _, want := range []string{"---- soak summary ----", "errors      none", "read p99    first window", "RSS         start ",
		"goroutines  start ", "cleanup     deleted ", "PASS: no errors, RSS flat (", "p99 flat (last/first = "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stderr, "warning") {
		t.Errorf("warnings:\n%s", r.stderr)
	}

	// The same as JSON, shorter: every window and the summary.
	r = runCtl(t, env, append(args[:len(args):len(args)], "-o", "json", "--duration", "1500ms")...)
	if r.code != 0 {
		t.Fatalf("-o json: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var rep soakReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, r.stdout)
	}
	s := rep.Summary
	if len(rep.Windows) != 3 || s.Reads == 0 || s.Writes == 0 || s.ImportStreams == 0 || s.Errors != 0 || !s.Pass {
		t.Fatalf("report: %d windows, summary %+v", len(rep.Windows), s)
	}
	for _, op := range []string{"create", "update", "hide", "unhide", "delete"} {
		if s.WritesByOp[op] == 0 {
			t.Errorf("no %s in %v", op, s.WritesByOp)
		}
	}
	for i, w := range rep.Windows {
		if w.Server == nil || w.Server.RSSBytes == nil || w.Server.HeapInuseBytes == nil || w.Server.Goroutines == nil || w.Server.CPUCores == nil {
			t.Errorf("window %d: server sample %+v", i, w.Server)
		}
	}
	if s.RSS == nil || rep.Cleanup == nil || rep.Cleanup.Failed != 0 || rep.Cleanup.Deleted == 0 {
		t.Errorf("rss %+v cleanup %+v", s.RSS, rep.Cleanup)
	}
	if !strings.Contains(r.stderr, "PASS: no errors") {
		t.Errorf("stderr lacks the verdict:\n%s", r.stderr)
	}

	// Nothing of the runs is left in the catalog.
	r = runCtl(t, map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_KEY": key}, "mini-programs", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "no mini-programs") {
		t.Errorf("catalog after the soak: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
