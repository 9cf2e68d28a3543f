package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// CPUMetric is the metric ScrapeCPUSeconds reads: the process collector's
// total user + system CPU time, which every Go server using
// client_golang's process collector exports.
const CPUMetric = "process_cpu_seconds_total"

// maxScrapeBytes bounds what is read from a metrics endpoint.
const maxScrapeBytes = 16 << 20

// MetricsURL turns a --metrics-addr value (host:port, or a full URL) into
// the URL of its /metrics page.
func MetricsURL(addr string) string {
	if !strings.HasPrefix(addr, "http://") && !strings.HasPrefix(addr, "https://") {
		return "http://" + addr + "/metrics"
	}
	if u, err := url.Parse(addr); err == nil && (u.Path == "" || u.Path == "/") {
		u.Path = "/metrics"
		return u.String()
	}
	return addr
}

// ScrapeCPUSeconds fetches metricsURL (a Prometheus text exposition) with client
// and returns the value of process_cpu_seconds_total. Its resolution is the
// kernel's clock tick (10 ms on Linux), so divide only deltas over seconds
// of load.
func ScrapeCPUSeconds(ctx context.Context, client *http.Client, metricsURL string) (float64, error) {
	return scrape(ctx, client, metricsURL, ParseCPUSeconds)
}

// scrape GETs a metrics page (at most maxScrapeBytes of it) and parses it.
func scrape[T any](ctx context.Context, client *http.Client, metricsURL string, parse func(io.Reader) (T, error)) (T, error) {
	var zero T
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return zero, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return zero, fmt.Errorf("scraping %s: %w", metricsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return zero, fmt.Errorf("scraping %s: HTTP %s", metricsURL, resp.Status)
	}
	return parse(io.LimitReader(resp.Body, maxScrapeBytes))
}

// ParseCPUSeconds reads a Prometheus text exposition and returns the value
// of process_cpu_seconds_total (a counter, or untyped, with one sample).
func ParseCPUSeconds(r io.Reader) (float64, error) {
	fams, err := parseFamilies(r)
	if err != nil {
		return 0, err
	}
	f, ok := fams[CPUMetric]
	if !ok || len(f.GetMetric()) == 0 {
		return 0, fmt.Errorf("the metrics have no %s (is the process collector registered?)", CPUMetric)
	}
	if len(f.GetMetric()) > 1 {
		return 0, fmt.Errorf("%s has %d series, want 1", CPUMetric, len(f.GetMetric()))
	}
	if v, ok := scalar(f.GetType(), f.GetMetric()[0]); ok {
		return v, nil
	}
	return 0, fmt.Errorf("%s is a %v, want a counter", CPUMetric, f.GetType())
}
