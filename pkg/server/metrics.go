package server

import (
	"time"

	"github.com/aroundme/aroundme/pkg/index"
	"github.com/prometheus/client_golang/prometheus"
)

// nearbyMetrics describe what Nearby searches do: how much of the index they
// touch and how much they return. No label carries a user, a position or an
// id.
type nearbyMetrics struct {
	candidates prometheus.Histogram
	nodes      prometheus.Histogram
	rings      prometheus.Histogram
	results    prometheus.Histogram
}

func newNearbyMetrics(reg prometheus.Registerer) *nearbyMetrics {
	counts := []float64{0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000}
	m := &nearbyMetrics{
		candidates: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "aroundme_nearby_candidates", Buckets: counts,
			Help: "Places whose distance a Nearby search computed (after the cell bounds cut the rest).",
		}),
		nodes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "aroundme_nearby_nodes", Buckets: counts,
			Help: "Index cells a Nearby search bounded.",
		}),
		rings: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "aroundme_nearby_rings", Buckets: []float64{1, 2, 3, 4, 6, 8, 11},
			Help: "H3 grid-disk rings a Nearby search expanded around the user's top-level cell.",
		}),
		results: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "aroundme_nearby_results", Buckets: []float64{0, 1, 5, 10, 20, 50, 100},
			Help: "Results a Nearby call returned.",
		}),
	}
	reg.MustRegister(m.candidates, m.nodes, m.rings, m.results)
	return m
}

func (m *nearbyMetrics) observe(st index.SearchStats, results int) {
	m.candidates.Observe(float64(st.Candidates))
	m.nodes.Observe(float64(st.Nodes))
	m.rings.Observe(float64(st.Rings))
	m.results.Observe(float64(results))
}

// indexMetrics expose the index's size and freshness, read from the current
// snapshot at scrape time.
type indexMetrics struct {
	buildSeconds prometheus.Gauge
	applySeconds prometheus.Histogram
}

func newIndexMetrics(reg prometheus.Registerer, ix *index.Index, now func() time.Time) *indexMetrics {
	stat := func(f func(index.Stats) float64) func() float64 {
		return func() float64 { return f(ix.Snapshot().Stats()) }
	}
	m := &indexMetrics{
		buildSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aroundme_index_build_seconds",
			Help: "Time the last full index build at start-up took (load from the store included).",
		}),
		applySeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "aroundme_index_apply_seconds",
			Help:    "Time to apply one batch of catalog changes to the index and publish the snapshot.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 4, 10),
		}),
	}
	reg.MustRegister(m.buildSeconds, m.applySeconds,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aroundme_index_mini_programs", Help: "Visible mini-programs in the index."},
			stat(func(s index.Stats) float64 { return float64(s.MiniPrograms) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aroundme_index_places", Help: "Places in the index."},
			stat(func(s index.Stats) float64 { return float64(s.Places) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aroundme_index_cells", Help: "Non-empty H3 cells in the index, per level.", ConstLabels: prometheus.Labels{"level": "leaf"}},
			stat(func(s index.Stats) float64 { return float64(s.Leaves) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aroundme_index_cells", Help: "Non-empty H3 cells in the index, per level.", ConstLabels: prometheus.Labels{"level": "mid"}},
			stat(func(s index.Stats) float64 { return float64(s.Mids) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aroundme_index_cells", Help: "Non-empty H3 cells in the index, per level.", ConstLabels: prometheus.Labels{"level": "top"}},
			stat(func(s index.Stats) float64 { return float64(s.Tops) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "aroundme_index_snapshot_age_seconds", Help: "Age of the snapshot searches read: time since the last catalog change was applied."},
			func() float64 { return now().Sub(ix.Snapshot().Stats().BuiltAt).Seconds() }),
	)
	return m
}
