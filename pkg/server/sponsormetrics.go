package server

import (
	"github.com/aroundme/aroundme/pkg/index"
	"github.com/aroundme/aroundme/pkg/ledger"
	"github.com/prometheus/client_golang/prometheus"
)

// sponsorMetrics describe sponsored slots, the covering index and the
// events that bill them. No label carries a campaign, an advertiser, a user
// or a position: rejection reasons are a fixed set.
type sponsorMetrics struct {
	auctions    prometheus.Counter
	fences      prometheus.Histogram
	eligible    prometheus.Histogram
	filled      prometheus.Counter
	empty       prometheus.Counter
	throttled   prometheus.Counter
	impressions prometheus.Counter
	clicks      prometheus.Counter
	spend       prometheus.Counter
	organic     prometheus.Counter
	rejected    *prometheus.CounterVec

	indexFences, indexCells, indexBytes prometheus.Gauge
}

// Event rejection reasons, the values of the reason label.
var rejectReasons = []string{"malformed", "forged", "expired", "duplicate_event_id", "replayed", "unknown_campaign", "other"}

func newSponsorMetrics(reg prometheus.Registerer) *sponsorMetrics {
	slots := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "aroundme_campaign_sponsored_slots_total",
		Help: "Sponsored slots offered by first-page Nearby responses, by outcome (filled: a campaign won it; empty: none did). Fill rate = filled / all.",
	}, []string{"outcome"})
	m := &sponsorMetrics{
		auctions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aroundme_campaign_auctions_total",
			Help: "Auctions run: Nearby requests with at least one eligible, paced campaign.",
		}),
		fences: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "aroundme_campaign_fences_per_request",
			Help:    "Campaigns whose covering cells hold the user's position, per Nearby request that offered sponsored slots and found any: the candidates of the auction, an upper bound on the fences containing the user (a Boundary cell is tested exactly only for the candidates the auction reaches).",
			Buckets: []float64{0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		}),
		eligible: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "aroundme_campaign_eligible_per_request",
			Help:    "Eligible campaigns per Nearby request that offered sponsored slots and found fences: campaigns are decided best eCPM first and deciding stops once the slots and their prices are settled (slots + 1 entrants), so this counts up to that point.",
			Buckets: []float64{0, 1, 2, 5, 10, 20, 50, 100, 200, 500},
		}),
		filled: slots.WithLabelValues("filled"),
		empty:  slots.WithLabelValues("empty"),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aroundme_campaign_pacing_throttled_total",
			Help: "Eligible campaigns kept out of an auction because EVEN pacing found them ahead of their spend curve.",
		}),
		impressions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aroundme_campaign_impressions_total",
			Help: "Accepted impression events of sponsored results.",
		}),
		clicks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aroundme_campaign_clicks_total",
			Help: "Accepted click events of sponsored results.",
		}),
		spend: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aroundme_campaign_spend_micros_total",
			Help: "Billed spend over all campaigns, in micros (capped at what budgets had left).",
		}),
		organic: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aroundme_events_organic_total",
			Help: "Accepted events of organic results (nothing is billed).",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aroundme_events_rejected_total",
			Help: "Rejected events by reason: malformed or forged token, expired token, duplicate event id, replayed token, unknown campaign.",
		}, []string{"reason"}),
		indexFences: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aroundme_campaign_index_campaigns",
			Help: "Campaigns in the covering index (every campaign but the archived).",
		}),
		indexCells: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aroundme_campaign_index_cells",
			Help: "H3 cells stored by the covering index, over all fences.",
		}),
		indexBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "aroundme_campaign_index_bytes",
			Help: "Estimated memory of the covering index's cell tables.",
		}),
	}
	for _, r := range rejectReasons {
		m.rejected.WithLabelValues(r)
	}
	reg.MustRegister(m.auctions, m.fences, m.eligible, slots, m.throttled, m.impressions, m.clicks, m.spend, m.organic, m.rejected, m.indexFences, m.indexCells, m.indexBytes)
	return m
}

func (m *sponsorMetrics) observeSlots(offered, filled int) {
	m.filled.Add(float64(filled))
	m.empty.Add(float64(offered - filled))
}

func (m *sponsorMetrics) setIndex(st index.FenceStats) {
	m.indexFences.Set(float64(st.Fences))
	m.indexCells.Set(float64(st.Cells))
	m.indexBytes.Set(float64(st.Bytes))
}

// registerLedgerMetrics exposes the ledger's persistence state, read at
// scrape time.
func registerLedgerMetrics(reg prometheus.Registerer, l *ledger.Ledger) {
	read := func(f func(ledger.Metrics) float64) func() float64 {
		return func() float64 { return f(l.Metrics()) }
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "aroundme_ledger_pending_events",
			Help: "Accepted events whose counters are not yet persisted: what a crash now would lose (at most one flush interval's worth while the store is healthy).",
		}, read(func(m ledger.Metrics) float64 { return float64(m.PendingEvents) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "aroundme_ledger_flush_failures_total",
			Help: "Failed persistence flushes of event counters (the store refused the write); the counters stay in memory and are retried.",
		}, read(func(m ledger.Metrics) float64 { return float64(m.FlushFailures) })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "aroundme_ledger_flushes_total",
			Help: "Successful persistence flushes of event counters.",
		}, read(func(m ledger.Metrics) float64 { return float64(m.Flushes) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "aroundme_ledger_last_flush_seconds",
			Help: "Time the last successful flush of event counters took.",
		}, read(func(m ledger.Metrics) float64 { return m.LastFlush.Seconds() })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "aroundme_ledger_dedupe_entries",
			Help: "Event ids and token uses remembered to reject duplicates and replays (for the token TTL plus a margin).",
		}, read(func(m ledger.Metrics) float64 { return float64(m.DedupeEntries) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "aroundme_ledger_frequency_users",
			Help: "(campaign, hashed user) pairs whose impression times are kept for frequency caps.",
		}, read(func(m ledger.Metrics) float64 { return float64(m.FrequencyUsers) })),
	)
}
