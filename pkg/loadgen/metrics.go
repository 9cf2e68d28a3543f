package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"

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
	return scrape(ctx, client, metricsURL, func(r io.Reader) (map[string]float64, error) { return ParseMetrics(r, names...) })
}

// ParseMetrics reads a Prometheus text exposition and returns the value of
// each of names that has exactly one series.
func ParseMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	fams, err := parseFamilies(r)
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64, len(names))
	for _, name := range names {
		f, ok := fams[name]
		if !ok || len(f.GetMetric()) != 1 {
			continue
		}
		if v, ok := scalar(f.GetType(), f.GetMetric()[0]); ok {
			out[name] = v
		}
	}
	return out, nil
}

// parseFamilies parses a text exposition.
func parseFamilies(r io.Reader) (map[string]*dto.MetricFamily, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("parsing metrics: %w", err)
	}
	return fams, nil
}

// scalar is the value of a counter, gauge or untyped sample; ok is false
// for the other types.
func scalar(t dto.MetricType, m *dto.Metric) (v float64, ok bool) {
	switch t {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue(), true
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue(), true
	case dto.MetricType_UNTYPED:
		return m.GetUntyped().GetValue(), true
	}
	return 0, false
}

// SeriesKey names one series the way ParseSamples keys it: the metric
// name, then its labels sorted by name in braces, as the text exposition
// writes them. labels are name, value pairs:
//
//	SeriesKey("aroundme_campaign_sponsored_slots_total", "outcome", "filled")
//	  == `aroundme_campaign_sponsored_slots_total{outcome="filled"}`
func SeriesKey(name string, labels ...string) string {
	if len(labels) < 2 {
		return name
	}
	pairs := make([][2]string, 0, len(labels)/2)
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, [2]string{labels[i], labels[i+1]})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i][0] < pairs[j][0] })
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p[0])
		b.WriteString(`="`)
		b.WriteString(labelEscaper.Replace(p[1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// ScrapeSamples fetches metricsURL with client and returns every series of
// the named metric families, labelled ones included (see ParseSamples).
func ScrapeSamples(ctx context.Context, client *http.Client, metricsURL string, families ...string) (map[string]float64, error) {
	return scrape(ctx, client, metricsURL, func(r io.Reader) (map[string]float64, error) { return ParseSamples(r, families...) })
}

// ParseSamples reads a Prometheus text exposition and returns every series
// of the named families, keyed by SeriesKey: counters, gauges and untyped
// metrics by their own name; histograms and summaries by name_sum and
// name_count (buckets and quantiles are left out). A family the page lacks
// has no key at all, so that a caller can tell "not exported" from 0.
func ParseSamples(r io.Reader, families ...string) (map[string]float64, error) {
	fams, err := parseFamilies(r)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, name := range families {
		f, ok := fams[name]
		if !ok {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := make([]string, 0, 2*len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName(), l.GetValue())
			}
			if v, ok := scalar(f.GetType(), m); ok {
				out[SeriesKey(name, labels...)] = v
				continue
			}
			switch f.GetType() {
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				out[SeriesKey(name+"_sum", labels...)] = m.GetHistogram().GetSampleSum()
				out[SeriesKey(name+"_count", labels...)] = float64(m.GetHistogram().GetSampleCount())
			case dto.MetricType_SUMMARY:
				out[SeriesKey(name+"_sum", labels...)] = m.GetSummary().GetSampleSum()
				out[SeriesKey(name+"_count", labels...)] = float64(m.GetSummary().GetSampleCount())
			}
		}
	}
	return out, nil
}
