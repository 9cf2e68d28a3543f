package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeMetrics serves a /metrics page whose CPU counter grows by 0.5 s per
// scrape.
func fakeMetrics(t *testing.T) string {
	t.Helper()
	var scrapes atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		n := scrapes.Add(1)
		fmt.Fprintf(w, "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %g\n", 0.5*float64(n))
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestBenchEndToEnd(t *testing.T) {
	addr, fd := startFake(t, sampleResponse())
	maddr := fakeMetrics(t)
	env := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_CLIENT_KEY": testKey}
	r := runCtl(t, env, "bench", "-o", "json", "--duration", "300ms", "--baseline-duration", "300ms",
		"--connections", "3", "--concurrency", "8", "--queries", "500", "--metrics-addr", maddr)
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s\nstdout:\n%s", r.code, r.stderr, r.stdout)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, r.stdout)
	}
	if len(rep.Phases) != 2 || rep.Phases[0].Name != "baseline" || rep.Phases[1].Name != "nearby" {
		t.Fatalf("phases %+v", rep.Phases)
	}
	for _, p := range rep.Phases {
		if p.Calls == 0 || p.Errors != 0 || len(p.ErrorsByCode) != 0 || p.CallsPerS <= 0 {
			t.Errorf("%s: calls %d, errors %d %v, calls/s %v", p.Name, p.Calls, p.Errors, p.ErrorsByCode, p.CallsPerS)
		}
		l := p.LatencyUS
		if !(l.P50 > 0 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max) {
			t.Errorf("%s: latencies out of order: %+v", p.Name, l)
		}
		if p.ServerCPUPerUS == nil || *p.ServerCPUPerUS <= 0 || p.ClientCPUPerUS == nil {
			t.Errorf("%s: CPU per call server %v client %v", p.Name, p.ServerCPUPerUS, p.ClientCPUPerUS)
		}
		if p.ElapsedS < 0.3 {
			t.Errorf("%s: ran %.3fs, want >= 0.3", p.Name, p.ElapsedS)
		}
	}
	// The server saw every Nearby call (plus the preflight one), with
	// requests from the pre-built pool.
	last, n := fd.lastRequest()
	if uint64(n) != rep.Phases[1].Calls+1 {
		t.Errorf("server saw %d Nearby calls, bench counted %d + 1 preflight", n, rep.Phases[1].Calls)
	}
	if last.GetUser().GetUserId() == "" || last.GetRadiusM() != 2000 || last.GetLimit() != 20 {
		t.Errorf("request %v", last)
	}
	if rep.NearbyToBase == nil || *rep.NearbyToBase <= 0 {
		t.Errorf("ratio %v", rep.NearbyToBase)
	}
	if !strings.Contains(r.stderr, "calls") || !strings.Contains(r.stderr, "nearby ") {
		t.Errorf("no progress lines on stderr:\n%s", r.stderr)
	}
}

func TestBenchTableOutput(t *testing.T) {
	addr, _ := startFake(t, sampleResponse())
	r := runCtl(t, map[string]string{"AROUNDME_KEY": testKey}, "--addr", addr, "bench", "--duration", "200ms",
		"--baseline-duration", "200ms", "--connections", "2", "--concurrency", "4", "--queries", "100")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	t.Logf("\n%s", r.stdout)
	for _, want := range []string{
		"baseline: grpc.health.v1.Health/Check", "nearby: aroundme.v1.DiscoveryService/Nearby",
		"errors: none", "p99.9", "server n/a (no --metrics-addr)",
		"---- summary ----", "| phase", "| baseline |", "| nearby   |", "Nearby/baseline throughput:",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--duration", "0s"},
		{"bench", "--connections", "0"},
		{"bench", "--concurrency", "-1"},
		{"bench", "--queries", "0"},
	} {
		if r := runCtl(t, nil, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2", args, r.code)
		}
	}
}
