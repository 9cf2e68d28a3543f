package loadgen

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// sampleExposition is trimmed from a real aroundme /metrics page.
const sampleExposition = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 23
# HELP grpc_server_handled_total Total number of RPCs completed on the server, regardless of success or failure.
# TYPE grpc_server_handled_total counter
grpc_server_handled_total{grpc_code="OK",grpc_method="Check",grpc_service="grpc.health.v1.Health",grpc_type="unary"} 1042
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.34
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 17
`

func TestScrapeCPUSeconds(t *testing.T) {
	cpu := "12.34"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Write([]byte(strings.Replace(sampleExposition, "12.34", cpu, 1)))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	ctx := context.Background()
	got, err := ScrapeCPUSeconds(ctx, srv.Client(), MetricsURL(addr))
	if err != nil || got != 12.34 {
		t.Fatalf("got %v, %v; want 12.34", got, err)
	}
	cpu = "15.5"
	if got, err := ScrapeCPUSeconds(ctx, srv.Client(), MetricsURL(srv.URL)); err != nil || got != 15.5 {
		t.Fatalf("second scrape: got %v, %v; want 15.5", got, err)
	}
	if _, err := ScrapeCPUSeconds(ctx, srv.Client(), srv.URL+"/nope"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("missing page: %v", err)
	}
}

func TestParseCPUSecondsErrors(t *testing.T) {
	for name, text := range map[string]string{
		"missing":    "# TYPE go_goroutines gauge\ngo_goroutines 3\n",
		"garbage":    "process_cpu_seconds_total{ 1\n",
		"summary":    "# TYPE process_cpu_seconds_total summary\nprocess_cpu_seconds_total_sum 1\nprocess_cpu_seconds_total_count 1\n",
		"two series": "process_cpu_seconds_total{a=\"1\"} 1\nprocess_cpu_seconds_total{a=\"2\"} 2\n",
	} {
		if v, err := ParseCPUSeconds(strings.NewReader(text)); err == nil {
			t.Errorf("%s: got %v, want an error", name, v)
		}
	}
	if v, err := ParseCPUSeconds(strings.NewReader("process_cpu_seconds_total 7\n")); err != nil || v != 7 {
		t.Errorf("untyped: got %v, %v", v, err)
	}
}

func TestMetricsURL(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:9102":            "http://127.0.0.1:9102/metrics",
		"http://127.0.0.1:9102":     "http://127.0.0.1:9102/metrics",
		"http://127.0.0.1:9102/":    "http://127.0.0.1:9102/metrics",
		"http://h:1/custom/metrics": "http://h:1/custom/metrics",
	} {
		if got := MetricsURL(in); got != want {
			t.Errorf("MetricsURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseSamples(t *testing.T) {
	text := sampleExposition + `# HELP aroundme_campaign_sponsored_slots_total Sponsored slots.
# TYPE aroundme_campaign_sponsored_slots_total counter
aroundme_campaign_sponsored_slots_total{outcome="empty"} 30
aroundme_campaign_sponsored_slots_total{outcome="filled"} 70
# TYPE aroundme_campaign_eligible_per_request histogram
aroundme_campaign_eligible_per_request_bucket{le="1"} 1
aroundme_campaign_eligible_per_request_bucket{le="+Inf"} 4
aroundme_campaign_eligible_per_request_sum 42
aroundme_campaign_eligible_per_request_count 4
# TYPE odd gauge
odd{b="2",a="q\"x"} 5
`
	got, err := ParseSamples(strings.NewReader(text), CPUMetric, "aroundme_campaign_sponsored_slots_total",
		"aroundme_campaign_eligible_per_request", "odd", "grpc_server_handled_total", "not_there")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		CPUMetric: 12.34,
		SeriesKey("aroundme_campaign_sponsored_slots_total", "outcome", "filled"):                                              70,
		`aroundme_campaign_sponsored_slots_total{outcome="empty"}`:                                                             30,
		"aroundme_campaign_eligible_per_request_sum":                                                                           42,
		"aroundme_campaign_eligible_per_request_count":                                                                         4,
		SeriesKey("odd", "b", "2", "a", `q"x`):                                                                                 5,
		`grpc_server_handled_total{grpc_code="OK",grpc_method="Check",grpc_service="grpc.health.v1.Health",grpc_type="unary"}`: 1042,
	}
	if len(got) != len(want) {
		t.Errorf("got %d series %v, want %d", len(got), got, len(want))
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (%v), want %v; got %v", k, g, ok, v, got)
		}
	}
	if _, err := ParseSamples(strings.NewReader("x{ 1\n"), "x"); err == nil {
		t.Error("garbage parsed")
	}
}
