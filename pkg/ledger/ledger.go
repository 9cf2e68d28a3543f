package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aroundme/aroundme/pkg/eventtoken"
	"github.com/aroundme/aroundme/pkg/store"
)

// EventType is what happened to a result; the numbers are those of the
// API's EventType enum, so the server converts with a plain cast.
type EventType uint8

// Event types.
const (
	Impression EventType = 1
	Click      EventType = 2
)

// Pricing models of a token (the same numbers as eventtoken's).
const (
	PricingCPM = eventtoken.PricingCPM // impressions are billed: PriceMicros per thousand
	PricingCPC = eventtoken.PricingCPC // clicks are billed: PriceMicros each
)

// Rejection reasons. They are short, stable and carry nothing of the event,
// so the server may return them to the caller as they are.
const (
	ReasonDuplicateEventID = "duplicate event_id"
	ReasonTokenReused      = "token already used for this event type"
	ReasonUnknownCampaign  = "unknown campaign"
	ReasonEventType        = "unknown event type"
	ReasonClosed           = "server shutting down"
)

// MaxFrequencyTimes is how many impression times are kept per (campaign,
// user): the newest ones. Impressions never returns more, so frequency caps
// above it cannot be enforced exactly; the server should refuse them.
const MaxFrequencyTimes = 256

// Defaults of Options.
const (
	DefaultFlushInterval = time.Second
	DefaultKAnonymity    = 50
	DefaultDedupeWindow  = time.Hour + 5*time.Minute
)

// Terms are what the ledger needs of a campaign to charge it; the server
// supplies them from its campaign records, current at each event.
type Terms struct {
	// TotalMicros and DailyMicros bound billed spend (0 = no bound).
	TotalMicros, DailyMicros int64
	// Loc is the campaign's time zone (nil = UTC): its local days are the
	// days of the daily budget and of the per-day statistics.
	Loc *time.Location
	// FreqWindow is the frequency-cap window (0 = no cap: no per-user
	// impression times are kept).
	FreqWindow time.Duration
}

// Options configure Open.
type Options struct {
	// Store persists the counters (required).
	Store store.Store
	// Now is the clock (nil = time.Now). Events are counted at Now, not at
	// the time the client reports: that time is not signed.
	Now func() time.Time
	// FlushInterval is how often Run persists the counters (default 1s).
	FlushInterval time.Duration
	// KAnonymity: cells seen by fewer distinct users over a report's range
	// are left out of it (default 50, at most 10000).
	KAnonymity int
	// Terms returns a campaign's current terms; false = unknown campaign
	// (required).
	Terms func(campaignID string) (Terms, bool)
	// DedupeWindow is how long event ids and token uses are remembered: the
	// event-token TTL plus a margin (default 1h5m). A token use is also kept
	// at least until the token expires, whatever the window.
	DedupeWindow time.Duration
	// Logger receives flush failures (nil discards).
	Logger *slog.Logger
}

// Event is one verified event.
type Event struct {
	ID     string            // the caller's event_id
	Type   EventType         // Impression or Click
	Claims eventtoken.Claims // already verified (signature, expiry) by the caller
}

// Result is the outcome of one event.
type Result struct {
	Accepted bool
	// Reason says why an event was rejected: one of the Reason constants.
	Reason string
	// ChargedMicros is what the event cost its campaign (0 for organic
	// results, for unbilled event types and once a budget is spent).
	ChargedMicros int64
}

// Counts are the figures of a report.
type Counts struct {
	Impressions, Clicks, SpendMicros int64
}

func (c *Counts) add(d Counts) {
	c.Impressions += d.Impressions
	c.Clicks += d.Clicks
	c.SpendMicros += d.SpendMicros
}

// Day is one local day of a campaign.
type Day struct {
	Date string // YYYY-MM-DD in the campaign's zone
	Counts
}

// Cell is one coarse (H3 resolution 7) cell over a report's days.
type Cell struct {
	Cell uint64
	Counts
}

// Report is the answer to GetCampaignStats.
type Report struct {
	Totals Counts // the sum of Days, exactly
	Days   []Day  // ascending; only days with events
	Cells  []Cell // ascending by cell; only cells seen by ≥ KAnonymity distinct users over Days
}

// Ledger counts and charges events. It is safe for concurrent use.
type Ledger struct {
	st       store.Store
	now      func() time.Time
	terms    func(string) (Terms, bool)
	k        int
	window   time.Duration
	interval time.Duration
	logger   *slog.Logger

	campaigns  sync.Map // campaign id → *campaign
	ncampaigns atomic.Int64
	// kept lists the campaigns that hold a day or frequency times in
	// memory, which pruneMemory visits (under keptMu). The server opens an
	// account for every campaign it serves; most have no events, and
	// visiting 100,000 of them on every flush cost ~2% of a busy server's
	// CPU.
	keptMu    sync.Mutex
	kept      []*campaign
	freqUsers atomic.Int64 // (campaign, user) pairs with kept impression times

	dedupe dedupeSet

	dirtyMu sync.Mutex
	dirty   []*campaign // campaigns changed since their last snapshot

	// pending counts accepted events not yet taken by a flush; retryEvents
	// those taken by a flush that failed.
	pending     atomic.Int64
	retryEvents atomic.Int64
	closed      atomic.Bool

	accepted, rejected, charged atomic.Int64
	flushes, flushFailures      atomic.Int64
	lastFlushNanos, lastRecords atomic.Int64

	flushMu sync.Mutex // one flush at a time; guards the fields below
	gen     uint64     // generation of the last flush attempted (or loaded)
	retry   *snapshot  // what a failed flush did not write
	batches []batchRef // persisted dedupe and frequency batches, to delete once expired
	sweep   int        // next frequency shard to prune
}

// Open loads the persisted state (counters, the days in progress, the
// dedupe and frequency entries not yet expired) and returns the ledger. If
// the last flush before a crash was torn (see doc.go), Open first puts the
// records it left back as they were. Run must be started for counters to be
// persisted.
func Open(ctx context.Context, o Options) (*Ledger, error) {
	if o.Store == nil || o.Terms == nil {
		return nil, errors.New("ledger: Options.Store and Options.Terms are required")
	}
	if o.KAnonymity > maxUsersPerCell {
		return nil, fmt.Errorf("ledger: KAnonymity %d over %d", o.KAnonymity, maxUsersPerCell)
	}
	l := &Ledger{
		st: o.Store, now: o.Now, terms: o.Terms, k: o.KAnonymity,
		window: o.DedupeWindow, interval: o.FlushInterval, logger: o.Logger,
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.k <= 0 {
		l.k = DefaultKAnonymity
	}
	if l.window <= 0 {
		l.window = DefaultDedupeWindow
	}
	if l.interval <= 0 {
		l.interval = DefaultFlushInterval
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	if err := l.load(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// Run flushes every FlushInterval until ctx is done, then flushes a last
// time. The caller starts it in its own goroutine (so that tests can drive
// Flush by hand) and cancels ctx at shutdown, after the gRPC server stopped
// and before the store is closed; Close then finds nothing left to write. A
// failed flush is logged and retried at the next tick with everything it
// did not write.
func (l *Ledger) Run(ctx context.Context) {
	t := time.NewTicker(l.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := l.Flush(context.WithoutCancel(ctx)); err != nil {
				l.logger.Error("ledger: final flush failed", "err", err)
			}
			return
		case <-t.C:
			if err := l.Flush(ctx); err != nil && ctx.Err() == nil {
				l.logger.Error("ledger: flush failed; counters stay in memory and are retried", "err", err)
			}
		}
	}
}

// Close flushes a last time; Record rejects events from then on (with
// ReasonClosed), so that nothing is accepted that will not be persisted.
func (l *Ledger) Close() error {
	l.closed.Store(true)
	return l.Flush(context.Background())
}

// Record applies evs in order and fills out[i] for each (len(out) must be
// len(evs)). All events of one call are counted at the same instant.
func (l *Ledger) Record(evs []Event, out []Result) {
	if len(out) != len(evs) {
		panic("ledger: Record: len(out) != len(evs)")
	}
	now := l.now()
	ns := now.UnixNano()
	for i := range evs {
		out[i] = l.record(&evs[i], now, ns)
		if out[i].Accepted {
			l.accepted.Add(1)
			l.charged.Add(out[i].ChargedMicros)
		} else {
			l.rejected.Add(1)
		}
	}
}

func (l *Ledger) record(ev *Event, now time.Time, ns int64) Result {
	if l.closed.Load() {
		return Result{Reason: ReasonClosed}
	}
	if ev.Type != Impression && ev.Type != Click {
		return Result{Reason: ReasonEventType}
	}
	cl := &ev.Claims
	var t Terms
	if cl.CampaignID != "" {
		var ok bool
		if t, ok = l.terms(cl.CampaignID); !ok {
			return Result{Reason: ReasonUnknownCampaign}
		}
	}
	idExp := satAdd(ns, int64(l.window))
	tokExp := max(idExp, cl.ExpiresAt.UnixNano())
	if r := l.dedupe.claim(eventIDKey(ev.ID), tokenKey(cl, ev.Type), ns, idExp, tokExp); r != "" {
		return Result{Reason: r}
	}
	l.pending.Add(1)
	if cl.CampaignID == "" {
		return Result{Accepted: true}
	}
	return Result{Accepted: true, ChargedMicros: l.campaign(cl.CampaignID).record(l, ev, &t, now, ns)}
}

// Spend returns the campaign's billed spend in total and in its current
// local day (see Account.Spend).
func (l *Ledger) Spend(campaignID string) (total, today int64) {
	return l.lookupAccount(campaignID).Spend()
}

// Impressions returns how many accepted impressions of the campaign this
// user had within the last window (see Account.Impressions).
func (l *Ledger) Impressions(campaignID string, userHash uint64, window time.Duration) int32 {
	return l.lookupAccount(campaignID).Impressions(userHash, window)
}

// Clicks returns the campaign's accepted clicks and impressions so far, for
// click-through-rate learning.
func (l *Ledger) Clicks(campaignID string) (clicks, impressions int64) {
	return l.lookupAccount(campaignID).Clicks()
}

// Account is a handle on one campaign's counters, for readers that ask
// often: Nearby reads the spend and frequency of each campaign it decides,
// and a handle saves the map lookup by id (a hash of the id and a few cache
// misses) on each read. The zero Account reads zeros.
type Account struct {
	l *Ledger
	c *campaign
}

// Account returns the campaign's handle, creating its in-memory counters
// (a campaign never leaves the ledger's memory, so the handle stays valid
// for the ledger's life).
func (l *Ledger) Account(campaignID string) Account { return Account{l, l.campaign(campaignID)} }

func (l *Ledger) lookupAccount(campaignID string) Account {
	if c := l.lookup(campaignID); c != nil {
		return Account{l, c}
	}
	return Account{}
}

// Spend returns the campaign's billed spend in total and in its current
// local day: a few atomic loads. "Current day" is the day the campaign's
// last event was counted in, while Now is before that day's end in the
// zone the campaign had then (a zone change takes effect at its next
// event; a day loaded by Open before Terms knew the campaign learns its
// zone here, as soon as Terms knows it).
func (a Account) Spend() (total, today int64) {
	c := a.c
	if c == nil {
		return 0, 0
	}
	if d := c.cur.Load(); d != nil {
		if !d.zoned.Load() {
			c.learnZone(a.l, d)
		}
		if a.l.now().UnixNano() < d.end.Load() {
			today = d.spend.Load()
		}
	}
	// Charges add to the total before the day, so reading the day first
	// never shows today > total.
	return c.total.Load(), today
}

// Impressions returns how many accepted impressions of the campaign this
// user had within the last window (0 for userHash 0). Only times within the
// campaign's Terms.FreqWindow are kept (at most MaxFrequencyTimes of them),
// so a longer window counts no further back than FreqWindow.
func (a Account) Impressions(userHash uint64, window time.Duration) int32 {
	if userHash == 0 || window <= 0 || a.c == nil {
		return 0
	}
	return a.c.impressions(userHash, a.l.now().UnixNano()-min(int64(window), a.c.freqWindow.Load()))
}

// Clicks returns the campaign's accepted clicks and impressions so far.
func (a Account) Clicks() (clicks, impressions int64) {
	if a.c == nil {
		return 0, 0
	}
	return a.c.clicks.Load(), a.c.imps.Load()
}

// Metrics is a snapshot of the ledger's state for Prometheus gauges and
// counters; the server registers them.
type Metrics struct {
	Campaigns        int64 // campaigns with counters in memory
	PendingEvents    int64 // accepted events not yet persisted (a crash now would lose them)
	DedupeEntries    int64 // event ids and token uses remembered
	FrequencyUsers   int64 // (campaign, user) pairs with impression times kept
	Accepted         int64 // events accepted since Open
	Rejected         int64 // events rejected since Open
	ChargedMicros    int64 // billed since Open
	Flushes          int64 // successful flushes since Open
	FlushFailures    int64 // failed flushes since Open
	LastFlushRecords int64 // records written by the last successful flush
	// LastFlush is how long the last successful flush took.
	LastFlush time.Duration
}

// Metrics returns the current figures.
func (l *Ledger) Metrics() Metrics {
	return Metrics{
		Campaigns:        l.ncampaigns.Load(),
		PendingEvents:    l.pending.Load() + l.retryEvents.Load(),
		DedupeEntries:    l.dedupe.size.Load(),
		FrequencyUsers:   l.freqUsers.Load(),
		Accepted:         l.accepted.Load(),
		Rejected:         l.rejected.Load(),
		ChargedMicros:    l.charged.Load(),
		Flushes:          l.flushes.Load(),
		FlushFailures:    l.flushFailures.Load(),
		LastFlushRecords: l.lastRecords.Load(),
		LastFlush:        time.Duration(l.lastFlushNanos.Load()),
	}
}

func (l *Ledger) lookup(id string) *campaign {
	if c, ok := l.campaigns.Load(id); ok {
		return c.(*campaign)
	}
	return nil
}

// campaign returns the state of id, creating it.
func (l *Ledger) campaign(id string) *campaign {
	if c := l.lookup(id); c != nil {
		return c
	}
	c, loaded := l.campaigns.LoadOrStore(id, &campaign{id: id})
	if !loaded {
		l.ncampaigns.Add(1)
	}
	return c.(*campaign)
}

// keep adds c to the campaigns pruneMemory visits, once.
func (l *Ledger) keep(c *campaign) {
	if c.kept.Swap(true) {
		return
	}
	l.keptMu.Lock()
	l.kept = append(l.kept, c)
	l.keptMu.Unlock()
}

// markDirty registers c for the next flush; c.mu must be held.
func (l *Ledger) markDirty(c *campaign) {
	if c.dirty {
		return
	}
	c.dirty = true
	l.dirtyMu.Lock()
	l.dirty = append(l.dirty, c)
	l.dirtyMu.Unlock()
}

// record charges and counts one accepted event of c; see doc.go for the
// rounding and the caps.
func (c *campaign) record(l *Ledger, ev *Event, t *Terms, now time.Time, ns int64) int64 {
	cl := &ev.Claims
	loc := t.Loc
	if loc == nil {
		loc = time.UTC
	}
	imp := ev.Type == Impression
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.dayAt(now, ns, loc)
	l.keep(c)

	price := max(cl.PriceMicros, 0)
	var charge int64
	switch {
	case imp && cl.PricingModel == PricingCPM:
		// Thousandths of a micro carry over: the k-th impression charges
		// floor(S_k/1000) − floor(S_(k−1)/1000), S_k the running sum of
		// CPM prices, so the total is floor(S/1000) exactly.
		x := c.frac + price%1000
		charge = price/1000 + x/1000
		if x%1000 != c.frac {
			c.frac = x % 1000
			c.fracDirty = true
		}
	case !imp && cl.PricingModel == PricingCPC:
		charge = price
	}
	total := c.total.Load()
	charge = min(charge, math.MaxInt64-total)
	if t.TotalMicros > 0 {
		charge = min(charge, max(t.TotalMicros-total, 0))
	}
	if t.DailyMicros > 0 {
		charge = min(charge, max(t.DailyMicros-d.spend.Load(), 0))
	}
	c.total.Add(charge)
	d.spend.Add(charge)

	delta := Counts{SpendMicros: charge}
	if imp {
		delta.Impressions = 1
		c.imps.Add(1)
		d.imps++
	} else {
		delta.Clicks = 1
		c.clicks.Add(1)
		d.clicks++
	}
	if !d.dirty {
		d.dirty = true
		c.dirtyDays = append(c.dirtyDays, d)
	}
	if cl.Cell != 0 {
		d.cellOf(cl.Cell).count(delta, cl.UserHash, l.k, d)
	}
	c.freqWindow.Store(int64(t.FreqWindow))
	if imp && t.FreqWindow > 0 && cl.UserHash != 0 {
		c.hit(l, cl.UserHash, ns, int64(t.FreqWindow))
		c.freqNew = append(c.freqNew, freqHit{user: cl.UserHash, at: ns})
	}
	l.markDirty(c)
	return charge
}
