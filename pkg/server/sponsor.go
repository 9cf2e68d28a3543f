package server

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/campaign"
	"github.com/aroundme/aroundme/pkg/index"
	"github.com/aroundme/aroundme/pkg/ledger"
	"github.com/aroundme/aroundme/pkg/reach"
	"github.com/aroundme/aroundme/pkg/validate"
	"github.com/aroundme/aroundme/targeting"
)

// liveCampaign is a campaign as the serving side holds it: its record
// converted once, at write time, into what decisions need, so that a Nearby
// request converts nothing. It is immutable; a write replaces it.
type liveCampaign struct {
	// What the auction reads of every candidate it resolves comes first,
	// in one cache line: its eCPM (bid, ctr), its id for ties, its
	// mini-program for the one-slot rule.

	// ctr is the campaign's smoothed click-through rate (float64 bits),
	// learned from its events: refreshed when a click or impression of it
	// is accepted and every ctrRefreshInterval, so that the auction reads
	// one atomic instead of the ledger.
	ctr atomic.Uint64
	bid targeting.Bid
	id  string
	// mp is miniProgram interned: the auction's one-slot-per-mini-program
	// check compares two pointers instead of reading two strings.
	mp unique.Handle[string]
	// key is the campaign's number in the covering index (index.Fences.Key)
	// and in the auction's table (sponsors.hot), fixed for the life of the
	// process.
	key  uint32
	even bool // PACING_EVEN

	advertiser, miniProgram string
	rule                    targeting.Campaign
	headline, cta, image    string
	terms                   ledger.Terms
	fence                   geo.Geofence

	// acct is the campaign's counters in the ledger.
	acct ledger.Account
	// ctrFrom is the (clicks, impressions) ctr was computed from, under
	// sponsors.hotMu; {-1, -1} before the first computation.
	ctrFrom [2]int64
	// item caches the promoted mini-program as the catalog index's
	// snapshot of that generation has it: an id lookup among a million
	// items is several cache misses, and the catalog changes far less
	// often than Nearby asks.
	item atomic.Pointer[itemRef]
}

// itemRef is a promoted item and the catalog snapshot generation it was
// read from (the generation, not the snapshot: a cache must not keep old
// snapshots alive).
type itemRef struct {
	gen uint64
	it  *index.Item // nil: not visible in that snapshot
}

// promoted returns the campaign's mini-program in the catalog snapshot
// items (nil if it is not visible there).
func (lc *liveCampaign) promoted(items *index.Snapshot) *index.Item {
	gen := items.Generation()
	if r := lc.item.Load(); r != nil && r.gen == gen {
		return r.it
	}
	it := items.Item(lc.miniProgram)
	lc.item.Store(&itemRef{gen, it})
	return it
}

// ctrRefreshInterval bounds how stale a CPC campaign's learned CTR may be.
const ctrRefreshInterval = 5 * time.Second

// clickRate returns the campaign's current smoothed CTR.
func (lc *liveCampaign) clickRate() float64 { return math.Float64frombits(lc.ctr.Load()) }

// refreshCTR recomputes the campaign's CTR from the ledger, and its eCPM
// in the auction's table if lc is the campaign's current version. It does
// nothing when the counts are those the CTR was computed from: the
// periodic refresh visits every campaign, and few have new events.
func (sp *sponsors) refreshCTR(lc *liveCampaign) {
	clicks, imps := lc.acct.Clicks()
	sp.hotMu.Lock()
	defer sp.hotMu.Unlock()
	if lc.ctrFrom == [2]int64{clicks, imps} {
		return
	}
	lc.ctrFrom = [2]int64{clicks, imps}
	lc.ctr.Store(math.Float64bits(targeting.SmoothedCTR(clicks, imps)))
	if sp.lookup(lc.id) == lc {
		sp.setHotLocked(lc)
	}
}

// hotTable is what the auction knows of each campaign before reading its
// record, by liveCampaign.key: its rank (rankOf its eCPM), enough to order
// the hundreds whose fences hold a city-centre user from one dense array
// (index.Candidates gives each candidate's key) instead of a cache miss or
// two per candidate. It only grows: a larger copy is published when a new
// key does not fit.
type hotTable struct{ rank []atomic.Uint32 }

// setHotLocked writes the campaign's rank (sp.hotMu held), growing the
// table if needed.
func (sp *sponsors) setHotLocked(lc *liveCampaign) {
	t := sp.hot.Load()
	if t == nil || int(lc.key) >= len(t.rank) {
		n := 1024
		if t != nil {
			n = 2 * len(t.rank)
		}
		for n <= int(lc.key) {
			n *= 2
		}
		g := &hotTable{rank: make([]atomic.Uint32, n)}
		if t != nil {
			for i := range t.rank {
				g.rank[i].Store(t.rank[i].Load())
			}
		}
		sp.hot.Store(g)
		t = g
	}
	t.rank[lc.key].Store(rankOf(targeting.ECPM(lc.bid, lc.clickRate())))
}

// publish makes a converted campaign the current one (sp.mu held, or the
// single loader): its ranking entry is written before the covering index
// can return its key.
func (sp *sponsors) publish(lc *liveCampaign) {
	sp.hotMu.Lock()
	sp.live.Store(lc.id, lc)
	sp.setHotLocked(lc)
	sp.hotMu.Unlock()
}

// refreshCTRs refreshes every campaign's CTR every interval until ctx ends:
// what the events path did not refresh (events reported to another
// replica, in a later distributed setup) is at most that stale.
func (sp *sponsors) refreshCTRs(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		sp.live.Range(func(_, v any) bool {
			sp.refreshCTR(v.(*liveCampaign))
			return true
		})
	})
}

// every calls fn every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// sponsors is the serving side of campaigns: the covering index, the
// decision and auction of sponsored slots, and the ledger behind them.
type sponsors struct {
	fences  *index.Fences
	items   *index.Index
	ledger  *ledger.Ledger
	reach   *reach.Counter
	policy  geo.CoverPolicy
	reserve int64 // micros per 1000 impressions
	slots   []int // 0-based positions, ascending
	now     func() time.Time
	log     *slog.Logger
	metrics *sponsorMetrics

	live sync.Map   // campaign id → *liveCampaign, every campaign (archived too: late events still bill)
	mu   sync.Mutex // serialises apply

	hot   atomic.Pointer[hotTable] // the auction's ranks, by key
	hotMu sync.Mutex               // serialises writes to hot (a write and the CTR refreshes)
}

// newLive converts a stored campaign; cov is its covering as the record
// carries it (nil: the fence is covered here, ~3 ms for 5 km). The covering
// goes to the index with the returned entry and is not kept: 100,000
// campaigns' coverings are ~30 million cells, which only the index's
// compact tables should hold.
func (sp *sponsors) newLive(c *v1.Campaign, cov *geo.GeofenceCovering) (*liveCampaign, *index.Fence, error) {
	var v apierr.Violations
	fence := validate.Geofence(&v, "geofence", c.GetGeofence())
	if err := v.Err(); err != nil {
		return nil, nil, fmt.Errorf("stored campaign %q has an invalid geofence: %w", c.GetId(), err)
	}
	key, ok := sp.fences.Key(c.GetId())
	if !ok {
		return nil, nil, fmt.Errorf("stored campaign %q: the covering index numbers no more campaigns", c.GetId())
	}
	lc := &liveCampaign{
		id: c.GetId(), advertiser: c.GetAdvertiserId(), miniProgram: c.GetMiniProgramId(), mp: unique.Make(c.GetMiniProgramId()), key: key,
		bid:      targeting.Bid{Model: uint8(c.GetBid().GetModel()), AmountMicros: c.GetBid().GetAmountMicros()},
		even:     c.GetBudget().GetPacing() != v1.Pacing_PACING_ASAP,
		headline: c.GetCreative().GetHeadline(), cta: c.GetCreative().GetCallToAction(), image: c.GetCreative().GetImageUrl(),
		fence: fence, acct: sp.ledger.Account(c.GetId()), ctrFrom: [2]int64{-1, -1},
	}
	sch := c.GetSchedule()
	loc, err := validate.LoadTimeZone(sch.GetTimeZone())
	if err != nil {
		return nil, nil, fmt.Errorf("stored campaign %q: time zone: %w", c.GetId(), err)
	}
	r := &lc.rule
	r.State = targeting.CampaignState(c.GetState())
	r.Schedule.Loc = loc
	if sch.GetStartTime() != nil {
		r.Schedule.Start = sch.GetStartTime().AsTime()
	}
	if sch.GetEndTime() != nil {
		r.Schedule.End = sch.GetEndTime().AsTime()
	}
	for _, d := range sch.GetDayparts() {
		days := make([]int32, len(d.GetDays()))
		for i, x := range d.GetDays() {
			days[i] = int32(x)
		}
		r.Schedule.Dayparts = append(r.Schedule.Dayparts, targeting.Daypart{
			Days: targeting.DaysOf(days), StartMinute: d.GetStartMinute(), EndMinute: d.GetEndMinute(),
		})
	}
	t := c.GetTargeting()
	r.Audience = index.AudienceOf(&v1.Audience{MinAge: t.GetMinAge(), MaxAge: t.GetMaxAge(), Genders: t.GetGenders(), OperatingSystems: t.GetOperatingSystems()})
	r.MinCreditScore = t.GetMinCreditScore()
	r.TotalMicros, r.DailyMicros = c.GetBudget().GetTotalMicros(), c.GetBudget().GetDailyMicros()
	r.FreqMax = c.GetFrequencyCap().GetMaxImpressions()
	if w := c.GetFrequencyCap().GetWindow(); w != nil {
		r.FreqWindow = w.AsDuration()
	}
	lc.terms = ledger.Terms{TotalMicros: r.TotalMicros, DailyMicros: r.DailyMicros, Loc: loc, FreqWindow: r.FreqWindow}

	sp.refreshCTR(lc)
	if cov == nil {
		gc, err := fence.Cover(sp.policy)
		if err != nil {
			return nil, nil, fmt.Errorf("stored campaign %q: covering its geofence: %w", c.GetId(), err)
		}
		cov = &gc
	}
	return lc, &index.Fence{ID: lc.id, Geofence: lc.fence, Covering: *cov, Value: lc}, nil
}

// serves reports whether a campaign belongs in the covering index at all:
// archived is final. Paused and ended campaigns stay (a resume is then one
// write away, and eligibility says why they do not serve).
func (lc *liveCampaign) serves() bool { return lc.rule.State != targeting.StateArchived }

// lookup returns the live campaign id.
func (sp *sponsors) lookup(id string) *liveCampaign {
	v, ok := sp.live.Load(id)
	if !ok {
		return nil
	}
	return v.(*liveCampaign)
}

// termsOf is the ledger's view of campaign terms.
func (sp *sponsors) termsOf(id string) (ledger.Terms, bool) {
	lc := sp.lookup(id)
	if lc == nil {
		return ledger.Terms{}, false
	}
	return lc.terms, true
}

// load builds the covering index from every stored campaign. Coverings come
// from the records; the few that do not (older records) are covered on
// every core.
func (sp *sponsors) load(ctx context.Context, camps *campaign.Store) error {
	type rec struct {
		c   *v1.Campaign
		cov []byte
	}
	var recs []rec
	if err := camps.Load(ctx, func(c *v1.Campaign, cov []byte) error {
		recs = append(recs, rec{c, cov})
		return nil
	}); err != nil {
		return err
	}
	lives := make([]*liveCampaign, len(recs))
	entries := make([]*index.Fence, len(recs))
	errs := make([]error, len(recs))
	var wg sync.WaitGroup
	workers := runtime.GOMAXPROCS(0)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(recs); i += workers {
				lives[i], entries[i], errs[i] = sp.newLive(recs[i].c, campaign.DecodeCovering(recs[i].cov))
				recs[i] = rec{} // the record and its encoded covering are garbage now
			}
		}()
	}
	wg.Wait()
	serving := entries[:0]
	for i, lc := range lives {
		if errs[i] != nil {
			return errs[i]
		}
		sp.publish(lc)
		if lc.serves() {
			serving = append(serving, entries[i])
		}
	}
	if err := sp.fences.Load(serving); err != nil {
		return err
	}
	sp.metrics.setIndex(sp.fences.Snapshot().Stats())
	return nil
}

// apply is the campaign store's listener: it runs after a write is durable
// and before it is acknowledged, so the next Nearby sees the change.
func (sp *sponsors) apply(changes []campaign.Change) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	var ups []*index.Fence
	var removes []string
	for _, ch := range changes {
		lc, entry, err := sp.newLive(ch.New, ch.Covering)
		if err != nil {
			// The record was validated before it was written; failing here
			// is a bug. The campaign keeps its previous serving state.
			sp.log.Error("campaign change not applied to the covering index", "campaign", ch.ID, "error", err.Error())
			continue
		}
		sp.publish(lc)
		if lc.serves() {
			ups = append(ups, entry)
		} else {
			removes = append(removes, lc.id)
		}
	}
	if err := sp.fences.Apply(ups, removes); err != nil {
		sp.log.Error("covering index update failed", "error", err.Error())
	}
	sp.metrics.setIndex(sp.fences.Snapshot().Stats())
}

// decide is THE eligibility decision: Nearby and DiagnoseCampaign both
// call it, so a diagnosis says exactly what serving would do. It reads
// counters and records nothing.
func (sp *sponsors) decide(lc *liveCampaign, u targeting.User, userHash uint64, now time.Time, inInclude, inExclude bool) targeting.Reasons {
	r, _ := sp.decideWith(lc, u, userHash, now, inInclude, inExclude)
	return r
}

// decideWith is decide that also returns the counters it read, so that
// pacing reuses the spend instead of reading it again.
func (sp *sponsors) decideWith(lc *liveCampaign, u targeting.User, userHash uint64, now time.Time, inInclude, inExclude bool) (targeting.Reasons, targeting.Counters) {
	var k targeting.Counters
	k.SpentMicros, k.SpentTodayMicros = lc.acct.Spend()
	if lc.rule.FreqMax > 0 && userHash != 0 {
		k.Impressions = lc.acct.Impressions(userHash, lc.rule.FreqWindow)
	}
	r := targeting.Eligibility(&lc.rule, u, now, inInclude, inExclude, k)
	if lc.rule.FreqMax > 0 && userHash == 0 {
		// A cap counts impressions per user: an anonymous user cannot be
		// counted, so a capped campaign is not shown to one (the cap is the
		// advertiser's promise to its audience; keeping it beats reach).
		r = r.With(targeting.ReasonFrequencyCapped)
	}
	return r, k
}

// paced reports whether pacing lets an eligible campaign enter the auction
// now. EVEN spreads the daily budget over the campaign's local day; with
// no daily budget but a total one and an end, it spreads the total over
// the schedule. ASAP, or nothing to spread, is never throttled.
// k are the counters decide read.
func (sp *sponsors) paced(lc *liveCampaign, now time.Time, k targeting.Counters) bool {
	if !lc.even {
		return true
	}
	r := &lc.rule
	total, today := k.SpentMicros, k.SpentTodayMicros
	switch {
	case r.DailyMicros > 0:
		start, end := targeting.DayBounds(now, r.Schedule.Location())
		return targeting.PaceEven(r.DailyMicros, today, start, end, now)
	case r.TotalMicros > 0 && !r.Schedule.Start.IsZero() && !r.Schedule.End.IsZero():
		return targeting.PaceEven(r.TotalMicros, total, r.Schedule.Start, r.Schedule.End, now)
	}
	return true
}

// sponsored is one won slot, ready to render.
type sponsored struct {
	lc    *liveCampaign
	hit   index.Hit
	price int64
}

// entrant is a candidate decided eligible: its campaign, the CTR its eCPM
// was computed with, and the promoted mini-program.
type entrant struct {
	lc   *liveCampaign
	ctr  float64
	item *index.Item
}

// resolved is a candidate whose exact eCPM is known.
type resolved struct {
	ecpm float64
	ctr  float64
	lc   *liveCampaign
	c    index.Candidate
}

// better orders resolved candidates as the auction does: eCPM descending,
// then id ascending.
func (a *resolved) better(b *resolved) bool {
	if a.ecpm != b.ecpm {
		return a.ecpm > b.ecpm
	}
	return a.lc.id < b.lc.id
}

// A hint is a candidate in the auction's first ordering, packed so that
// the heap compares integers: rank<<32 | key<<1 | sure.
type hint uint64

func hintOf(rank uint32, c index.Candidate) hint {
	h := hint(rank)<<32 | hint(c.Key)<<1
	if c.Sure {
		h |= 1
	}
	return h
}

func (h hint) rank() uint32 { return uint32(h >> 32) }
func (h hint) candidate() index.Candidate {
	return index.Candidate{Key: uint32(h) >> 1, Sure: h&1 != 0}
}

// pickScratch is one request's reusable working memory.
type pickScratch struct {
	cands    []index.Candidate
	heap     []hint
	res      []resolved
	chosen   []entrant
	entrants []targeting.Entrant
	wins     []targeting.Win
}

var pickScratches = sync.Pool{New: func() any { return &pickScratch{} }}

// pick runs the decision and the auction for one Nearby request: among the
// campaigns whose fence contains the user, those eligible and paced,
// promoting a mini-program visible in items (the catalog snapshot the
// request searches) that the user's audience and categories
// admit, one per mini-program, enter a second-price auction for `slots`
// slots.
//
// The city centre lies in hundreds of fences, and deciding one campaign
// (its record, the exact shape test of a Boundary cell, counters, schedule
// in its time zone, the promoted item) costs far more than knowing its
// eCPM, so the candidates are ranked first and decided lazily in auction
// order. index.Candidates gives each candidate's key without reading a
// record, and the hot table its rank — an upper bound of its eCPM (see
// rankOf) — which a heap of integers orders. A candidate is then resolved
// (its record read, its exact eCPM computed) when it comes to the top, and
// the best resolved one is decided once no unresolved rank could beat or
// tie it; deciding stops once slots+1 entrants are found — the winners and
// the one whose bid sets the last winner's price. Campaigns below them
// could not have changed the outcome: the auction ranks by the same eCPM,
// and a price is set by the entrant right below. A rank is a hint — a
// write or a CTR refresh may have raced the request — and a campaign that
// turns out lower than its rank simply resolves lower.
func (sp *sponsors) pick(q *index.Query, items *index.Snapshot, userHash uint64, now time.Time, slots int, dst []sponsored) []sponsored {
	if slots == 0 || q.User.Minor() {
		return dst
	}
	sc := pickScratches.Get().(*pickScratch)
	defer func() {
		clear(sc.res)
		clear(sc.chosen)
		clear(sc.entrants)
		sc.cands, sc.heap, sc.res, sc.chosen, sc.entrants, sc.wins = sc.cands[:0], sc.heap[:0], sc.res[:0], sc.chosen[:0], sc.entrants[:0], sc.wins[:0]
		pickScratches.Put(sc)
	}()
	snap := sp.fences.Snapshot()
	sc.cands = snap.Candidates(q.LatDeg, q.LngDeg, sc.cands[:0])
	if len(sc.cands) == 0 {
		return dst
	}
	tab := sp.hot.Load() // after the snapshot: every key in it has its rank
	reserve := float64(sp.reserve)
	minRank := max(1, rankOf(reserve)) // below it the eCPM is below the reserve: cannot win, sets no price
	h := sc.heap[:0]
	for _, c := range sc.cands {
		r := uint32(rankTop) // not reachable (publish writes the rank first): resolve it
		if tab != nil && int(c.Key) < len(tab.rank) {
			r = tab.rank[c.Key].Load()
		}
		if r >= minRank {
			h = append(h, hintOf(r, c))
		}
	}
	hq := hintQueue{h: h, max: -1}
	eligible := 0
	res, chosen := sc.res[:0], sc.chosen[:0]
	for len(chosen) <= slots {
		// The best resolved candidate, after resolving those whose rank
		// could beat or tie it.
		best := -1
		for i := range res {
			if best < 0 || res[i].better(&res[best]) {
				best = i
			}
		}
		for hq.len() > 0 && (best < 0 || rankValue(hq.peek().rank()) >= res[best].ecpm) {
			c := hq.pop().candidate()
			lc := snap.FenceOf(c).Value.(*liveCampaign)
			ctr := lc.clickRate()
			e := targeting.ECPM(lc.bid, ctr)
			if e <= 0 || e < reserve {
				continue
			}
			res = append(res, resolved{ecpm: e, ctr: ctr, lc: lc, c: c})
			if best < 0 || res[len(res)-1].better(&res[best]) {
				best = len(res) - 1
			}
		}
		if best < 0 {
			break
		}
		x := res[best]
		res[best] = res[len(res)-1]
		res = res[:len(res)-1]
		lc := x.lc
		if !snap.Confirm(x.c, q.LatDeg, q.LngDeg) {
			continue // a Boundary cell, and outside the shape
		}
		if slices.ContainsFunc(chosen, func(e entrant) bool { return e.lc.mp == lc.mp }) {
			continue // one slot per mini-program: its best campaign is in
		}
		reasons, k := sp.decideWith(lc, q.User, userHash, now, true, false)
		if reasons != 0 {
			continue
		}
		it := lc.promoted(items)
		if it == nil || !it.Audience.Admits(q.User) || (q.Categories != 0 && q.Categories&(1<<uint(it.Category)) == 0) {
			continue
		}
		eligible++
		if !sp.paced(lc, now, k) {
			sp.metrics.throttled.Inc()
			continue
		}
		chosen = append(chosen, entrant{lc: lc, ctr: x.ctr, item: it})
	}
	sc.heap, sc.res, sc.chosen = hq.h, res, chosen
	sp.metrics.fences.Observe(float64(len(sc.cands)))
	sp.metrics.eligible.Observe(float64(eligible))
	if len(chosen) == 0 {
		return dst
	}
	for _, c := range chosen {
		sc.entrants = append(sc.entrants, targeting.Entrant{ID: c.lc.id, Bid: c.lc.bid, CTR: c.ctr})
	}
	sp.metrics.auctions.Inc()
	sc.wins = targeting.AppendAuction(sc.wins[:0], sc.entrants, sp.reserve, slots)
	for _, w := range sc.wins {
		lc, it := chosen[w.Entrant].lc, chosen[w.Entrant].item
		pl, d := it.NearestPlace(q.LatDeg, q.LngDeg)
		dst = append(dst, sponsored{lc: lc, price: w.PriceMicros, hit: index.Hit{Item: it, Place: pl, DistanceM: d}})
	}
	return dst
}

// hintQueue yields hints largest first. A request usually resolves only
// the best few of its ~90 candidates, so the first pops each scan the
// hints for the largest (a predictable loop over a few hundred bytes,
// cheaper than ordering them all), and only a request that pops more
// heapifies what is left.
type hintQueue struct {
	h      []hint
	max    int // index of the largest hint, -1 unknown (scanning mode)
	pops   int
	heaped bool
}

// linearPops is how many pops scan before the queue heapifies.
const linearPops = 8

func (q *hintQueue) len() int { return len(q.h) }

// peek returns the largest hint (the queue is not empty).
func (q *hintQueue) peek() hint {
	if q.heaped {
		return q.h[0]
	}
	if q.max < 0 {
		m := 0
		for i := 1; i < len(q.h); i++ {
			if q.h[i] > q.h[m] {
				m = i
			}
		}
		q.max = m
	}
	return q.h[q.max]
}

// pop removes and returns the largest hint (the queue is not empty).
func (q *hintQueue) pop() hint {
	top := q.peek()
	if q.heaped {
		q.h = popHeap(q.h)
		return top
	}
	n := len(q.h) - 1
	q.h[q.max] = q.h[n]
	q.h, q.max = q.h[:n], -1
	if q.pops++; q.pops == linearPops {
		heapify(q.h)
		q.heaped = true
	}
	return top
}

// heapify arranges h as a max-heap.
func heapify(h []hint) {
	for i := len(h)/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
}

// popHeap removes the largest hint (h[0]) and returns the shorter heap.
func popHeap(h []hint) []hint {
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	siftDown(h, 0)
	return h
}

func siftDown(h []hint, i int) {
	for {
		best, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l] > h[best] {
			best = l
		}
		if r < len(h) && h[r] > h[best] {
			best = r
		}
		if best == i {
			return
		}
		h[i], h[best] = h[best], h[i]
		i = best
	}
}
