package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics of a Go server that a soak test follows: the process collector's
// and the Go collector's standard names.
const (
	RSSMetric        = "process_resident_memory_bytes"
	HeapInuseMetric  = "go_memstats_heap_inuse_bytes"
	GoroutinesMetric = "go_goroutines"
)

// ScrapeMetrics fetches metricsURL (a Prometheus text exposition) with
// client and returns the value of each of names that has exactly one
// series (a counter, gauge or untyped); names it lacks are left out of the
// map.
func ScrapeMetrics(ctx context.Context, client *http.Client, metricsURL string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", metricsURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping %s: HTTP %s", metricsURL, resp.Status)
	}
	return ParseMetrics(io.LimitReader(resp.Body, maxScrapeBytes), names...)
}

// ParseMetrics reads a Prometheus text exposition and returns the value of
// each of names that has exactly one series.
func ParseMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing metrics: %w", err)
	}
	out := make(map[string]float64, len(names))
	for _, name := range names {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) != 1 {
			continue
		}
		m := f.GetMetric()[0]
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			out[name] = m.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			out[name] = m.GetGauge().GetValue()
		case dto.MetricType_UNTYPED:
			out[name] = m.GetUntyped().GetValue()
		}
	}
	return out, nil
}
