package server

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/campaign"
	"github.com/aroundme/aroundme/pkg/eventtoken"
	"github.com/aroundme/aroundme/pkg/index"
	"github.com/aroundme/aroundme/pkg/ledger"
	"github.com/aroundme/aroundme/pkg/reach"
	"github.com/aroundme/aroundme/pkg/store"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/aroundme/aroundme/targeting"
)

// TestPickOracle checks the lazy auction (pick: candidates ranked from the
// hot table, decided best first, stopping at slots+1 entrants, Boundary
// cells confirmed only when reached) against brute force: every campaign's
// exact fence test and decision, the best eligible, paced campaign per
// mini-program, and the full auction over all of them. The campaigns
// overlap heavily, bid from a few round amounts (so eCPMs tie), and many
// ids share their first 8 bytes; some have
// spent part or all of their budgets, some have learned CTRs, and some
// ranking entries are stale upwards, as a CTR refresh racing a request
// leaves them.
func TestPickOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	now := time.Date(2026, 11, 18, 9, 30, 0, 0, time.UTC) // a Wednesday
	clock := func() time.Time { return now }
	const lat0, lng0 = 31.2304, 121.4737

	sp, mps := oracleSponsors(t, rng, clock, lat0, lng0)

	var changes []campaign.Change
	for i := range 400 {
		id := fmt.Sprintf("c-%016x", rng.Uint64())
		if i%3 == 0 {
			id = fmt.Sprintf("c-000000%010x", rng.Uint64()>>24) // the first 8 bytes tie
		}
		changes = append(changes, campaign.Change{ID: id, New: randomOracleCampaign(rng, id, mps, now, lat0, lng0)})
	}
	sp.apply(changes)

	// Spend: some campaigns are part-way through their budgets, some
	// exhausted (ledger events at their CPM price); clicks teach CTRs.
	var evs []ledger.Event
	for i, c := range changes {
		lc := sp.lookup(c.ID)
		model := eventtoken.PricingCPM
		if lc.bid.Model == uint8(v1.PricingModel_PRICING_MODEL_CPC) {
			model = eventtoken.PricingCPC
		}
		for j := range rng.IntN(4) * rng.IntN(4) {
			cl := eventtoken.Claims{IssuedAt: now, ExpiresAt: now.Add(time.Hour), CampaignID: c.ID, MiniProgramID: lc.miniProgram,
				PriceMicros: 2_000_000_000, PricingModel: model, UserHash: uint64(1 + j)}
			binary.LittleEndian.PutUint64(cl.Nonce[:], uint64(i)<<16|uint64(j))
			evs = append(evs, ledger.Event{ID: fmt.Sprintf("i-%d-%d", i, j), Type: ledger.Impression, Claims: cl})
			if rng.IntN(3) == 0 {
				evs = append(evs, ledger.Event{ID: fmt.Sprintf("k-%d-%d", i, j), Type: ledger.Click, Claims: cl})
			}
		}
	}
	res := make([]ledger.Result, len(evs))
	sp.ledger.Record(evs, res)
	accepted := 0
	for _, r := range res {
		if r.Accepted {
			accepted++
		}
	}
	if accepted == 0 {
		t.Fatal("no event accepted: the test spends nothing")
	}
	for _, c := range changes {
		lc := sp.lookup(c.ID)
		sp.refreshCTR(lc)
		if rng.IntN(5) == 0 { // a stale ranking entry, above the truth
			sp.hotMu.Lock()
			r := &sp.hot.Load().rank[lc.key]
			r.Store(rankOf(rankValue(r.Load()) * (1 + rng.Float64())))
			sp.hotMu.Unlock()
		}
	}

	var stats struct{ points, won, ties int }
	for i := range 600 {
		if i == 300 {
			// Catalog writes: promoted mini-programs change audience and
			// category, one is hidden and one appears, so every cached
			// promoted item must be read again.
			var ch []index.Change
			for j, id := range mps {
				if j%3 == 0 {
					continue
				}
				mp := &v1.MiniProgram{Id: id, Name: id, Category: v1.Category(1 + rng.IntN(14)), Rating: 3,
					Places:   []*v1.Place{{Id: "q", Location: &v1.LatLng{Latitude: lat0 + rng.NormFloat64()*0.01, Longitude: lng0 + rng.NormFloat64()*0.01}}},
					Audience: randomAudience(rng)}
				it := index.NewItem(mp, sp.items.Weights())
				ch = append(ch, index.Change{ID: id, Item: it, Leaves: it.Leaves()})
			}
			ch = append(ch, index.Change{ID: mps[1]}) // removed
			sp.items.Apply(ch)
		}
		lat, lng := lat0+rng.NormFloat64()*0.02, lng0+rng.NormFloat64()*0.02
		q := &index.Query{LatDeg: lat, LngDeg: lng, User: randomOracleUser(rng)}
		if rng.IntN(4) == 0 {
			q.Categories = 1<<uint(1+rng.IntN(14)) | 1<<uint(1+rng.IntN(14))
		}
		userHash := uint64(0)
		if rng.IntN(4) > 0 {
			userHash = uint64(1 + rng.IntN(3))
		}
		slots := 1 + rng.IntN(2)
		got := sp.pick(q, sp.items.Snapshot(), userHash, now, slots, nil)
		want, tied := brutePick(sp, q, userHash, now, slots)
		stats.points++
		stats.won += len(want)
		stats.ties += tied
		if len(got) != len(want) {
			t.Fatalf("at %.6f,%.6f (%d slots): pick %s, brute force %s", lat, lng, slots, describe(got), describe(want))
		}
		for i := range got {
			if got[i].lc != want[i].lc || got[i].price != want[i].price || got[i].hit.Item != want[i].hit.Item || got[i].hit.Place != want[i].hit.Place {
				t.Fatalf("at %.6f,%.6f (%d slots): pick %s, brute force %s", lat, lng, slots, describe(got), describe(want))
			}
		}
	}
	t.Logf("%+v", stats)
	if stats.won < 200 || stats.ties < 20 {
		t.Fatalf("too little exercised: %+v", stats)
	}
}

// oracleSponsors is a sponsors with a catalog of 25 mini-programs near
// (lat0, lng0), varied audiences and categories, one of them missing (a
// campaign promoting it never serves), and a ledger on a fresh store.
func oracleSponsors(t *testing.T, rng *rand.Rand, clock func() time.Time, lat0, lng0 float64) (*sponsors, []string) {
	w := targeting.DefaultWeights()
	items := index.New(w, clock)
	var ch []index.Change
	mps := make([]string, 25)
	for i := range mps {
		mps[i] = fmt.Sprintf("mp-%02d", i)
		mp := &v1.MiniProgram{Id: mps[i], Name: mps[i], Category: v1.Category(1 + rng.IntN(14)), Rating: 4,
			Places:   []*v1.Place{{Id: "p", Location: &v1.LatLng{Latitude: lat0 + rng.NormFloat64()*0.01, Longitude: lng0 + rng.NormFloat64()*0.01}}},
			Audience: randomAudience(rng)}
		if i == 7 {
			continue // promoted by some campaigns, but not in the catalog
		}
		it := index.NewItem(mp, w)
		ch = append(ch, index.Change{ID: mp.Id, Item: it, Leaves: it.Leaves()})
	}
	items.Apply(ch)

	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	policy := geo.CoverPolicy{}
	sp := &sponsors{fences: index.NewFences(policy), items: items, reach: reach.New(clock), policy: policy,
		reserve: 300_000, slots: []int{0, 3}, now: clock, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		metrics: newSponsorMetrics(prometheus.NewRegistry())}
	sp.ledger, err = ledger.Open(context.Background(), ledger.Options{Store: st, Now: clock, Terms: sp.termsOf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sp.ledger.Close() })

	return sp, mps
}

// TestPickConcurrentWrites runs the auction while campaigns are written
// (growing the ranking table several times over) and CTRs refreshed, for
// -race; once the writers are done, pick agrees with brute force again.
func TestPickConcurrentWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	now := time.Date(2026, 11, 18, 9, 30, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	const lat0, lng0 = 31.2304, 121.4737
	sp, mps := oracleSponsors(t, rng, clock, lat0, lng0)
	var batches [][]campaign.Change
	for b := range 2 {
		for range 30 {
			var batch []campaign.Change
			for range 20 {
				id := fmt.Sprintf("c-%d%015x", b, rng.Uint64()>>4)
				c := randomOracleCampaign(rng, id, mps, now, lat0, lng0)
				// Small circles: a tenth of the covering work of the oracle's fences.
				c.Geofence = &v1.Geofence{Include: []*v1.Area{{Shape: &v1.Area_Circle{Circle: &v1.Circle{
					Center: &v1.LatLng{Latitude: lat0 + rng.NormFloat64()*0.01, Longitude: lng0 + rng.NormFloat64()*0.01}, RadiusM: 200 + rng.Float64()*600}}}}}
				batch = append(batch, campaign.Change{ID: id, New: c})
			}
			batches = append(batches, batch)
		}
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(batches); i += 2 {
				sp.apply(batches[i])
				if i%10 == 0 {
					sp.live.Range(func(_, v any) bool { sp.refreshCTR(v.(*liveCampaign)); return true })
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rr := rand.New(rand.NewPCG(uint64(r), 9))
			var buf []sponsored
			for range 2000 { // while the writers write, not spinning after
				select {
				case <-done:
					return
				default:
				}
				q := &index.Query{LatDeg: lat0 + rr.NormFloat64()*0.02, LngDeg: lng0 + rr.NormFloat64()*0.02, User: randomOracleUser(rr)}
				buf = sp.pick(q, sp.items.Snapshot(), 1, now, 2, buf[:0])
				for _, s := range buf {
					if !s.lc.fence.ContainsDeg(q.LatDeg, q.LngDeg) {
						t.Errorf("%s served outside its fence", s.lc.id)
					}
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if t.Failed() {
		return
	}
	if n := len(sp.hot.Load().rank); n < 2048 {
		t.Fatalf("ranking table of %d entries: it never grew past the first sizes", n)
	}
	for range 100 {
		q := &index.Query{LatDeg: lat0 + rng.NormFloat64()*0.02, LngDeg: lng0 + rng.NormFloat64()*0.02, User: randomOracleUser(rng)}
		got := sp.pick(q, sp.items.Snapshot(), 1, now, 2, nil)
		want, _ := brutePick(sp, q, 1, now, 2)
		if describe(got) != describe(want) {
			t.Fatalf("at %.6f,%.6f: pick %s, brute force %s", q.LatDeg, q.LngDeg, describe(got), describe(want))
		}
	}
}

func randomAudience(rng *rand.Rand) *v1.Audience {
	a := &v1.Audience{}
	switch rng.IntN(4) {
	case 0:
		a.MinAge = int32(18 + rng.IntN(10))
	case 1:
		a.Genders = []v1.Gender{v1.Gender(1 + rng.IntN(3))}
	case 2:
		a.OperatingSystems = []v1.OperatingSystem{v1.OperatingSystem(1 + rng.IntN(4)), v1.OperatingSystem(1 + rng.IntN(4))}
	}
	return a
}

// randomOracleCampaign is a campaign around (lat0, lng0) with a random
// fence (circles, polygons, some with holes or excluded areas), targeting,
// schedule, state, budget, a bid from a few round amounts, and sometimes a
// frequency cap.
func randomOracleCampaign(rng *rand.Rand, id string, mps []string, now time.Time, lat0, lng0 float64) *v1.Campaign {
	circle := func(r float64) *v1.Area {
		return &v1.Area{Shape: &v1.Area_Circle{Circle: &v1.Circle{
			Center: &v1.LatLng{Latitude: lat0 + rng.NormFloat64()*0.015, Longitude: lng0 + rng.NormFloat64()*0.015}, RadiusM: r}}}
	}
	square := func(half float64, hole bool) *v1.Area {
		la, ln := lat0+rng.NormFloat64()*0.015, lng0+rng.NormFloat64()*0.015
		ring := func(h float64) []*v1.LatLng {
			return []*v1.LatLng{{Latitude: la - h, Longitude: ln - h}, {Latitude: la - h, Longitude: ln + h}, {Latitude: la + h, Longitude: ln + h}, {Latitude: la + h*0.2, Longitude: ln}, {Latitude: la + h, Longitude: ln - h}}
		}
		p := &v1.Polygon{Vertices: ring(half)}
		if hole {
			p.Holes = []*v1.Ring{{Vertices: ring(half / 4)}}
		}
		return &v1.Area{Shape: &v1.Area_Polygon{Polygon: p}}
	}
	g := &v1.Geofence{}
	switch rng.IntN(5) {
	case 0, 1:
		g.Include = []*v1.Area{circle(500 + rng.Float64()*2500)}
	case 2:
		g.Include = []*v1.Area{square(0.005+rng.Float64()*0.02, rng.IntN(2) == 0)}
	case 3:
		g.Include = []*v1.Area{circle(800 + rng.Float64()*2000), circle(800 + rng.Float64()*2000)}
	default:
		g.Include = []*v1.Area{circle(1500 + rng.Float64()*2000)}
		g.Exclude = []*v1.Area{circle(300 + rng.Float64()*800)}
	}
	c := &v1.Campaign{Id: id, AdvertiserId: "adv", Name: id, MiniProgramId: mps[rng.IntN(len(mps))], Geofence: g,
		State:    v1.CampaignState_CAMPAIGN_STATE_ACTIVE,
		Schedule: &v1.Schedule{TimeZone: []string{"UTC", "Asia/Shanghai", "America/New_York"}[rng.IntN(3)]},
		Budget:   &v1.Budget{TotalMicros: []int64{0, 5_000_000, 50_000_000}[rng.IntN(3)], DailyMicros: []int64{0, 4_000_000, 40_000_000}[rng.IntN(3)], Pacing: v1.Pacing(1 + rng.IntN(2))},
		Creative: &v1.Creative{Headline: "h"}}
	if rng.IntN(2) == 0 {
		// 1<<21 is exactly a rank's value (see rankOf), where a tie between
		// an unresolved rank and a resolved eCPM must still be resolved.
		c.Bid = &v1.Bid{Model: v1.PricingModel_PRICING_MODEL_CPM, AmountMicros: []int64{200_000, 1_000_000, 2_000_000, 5_000_000, 1 << 21}[rng.IntN(5)]}
	} else {
		c.Bid = &v1.Bid{Model: v1.PricingModel_PRICING_MODEL_CPC, AmountMicros: []int64{100_000, 200_000, 500_000}[rng.IntN(3)]}
	}
	if rng.IntN(8) == 0 {
		c.State = v1.CampaignState_CAMPAIGN_STATE_PAUSED
	}
	switch rng.IntN(10) {
	case 0:
		c.Schedule.StartTime = timestamppb.New(now.Add(time.Hour))
	case 1:
		c.Schedule.EndTime = timestamppb.New(now.Add(-time.Hour))
	case 2:
		c.Schedule.Dayparts = []*v1.Daypart{{Days: []v1.DayOfWeek{v1.DayOfWeek(1 + rng.IntN(7))}, StartMinute: 0, EndMinute: 1440}}
	}
	if rng.IntN(6) == 0 {
		c.Targeting = &v1.Targeting{MinAge: 25}
	}
	if rng.IntN(8) == 0 {
		c.Targeting = &v1.Targeting{MinCreditScore: 600}
	}
	if rng.IntN(6) == 0 {
		c.FrequencyCap = &v1.FrequencyCap{MaxImpressions: 1 + int32(rng.IntN(2)), Window: durationpb.New(time.Hour)}
	}
	return c
}

// brutePick is the auction without shortcuts: every campaign of the
// index, tested exactly and decided; the best eligible, paced campaign of
// each mini-program enters; the full GSP auction. tied counts entrants
// whose eCPM equals another's.
func brutePick(sp *sponsors, q *index.Query, userHash uint64, now time.Time, slots int) ([]sponsored, int) {
	if q.User.Minor() {
		return nil, 0
	}
	type entrant struct {
		lc   *liveCampaign
		ecpm float64
		ctr  float64
		item *index.Item
	}
	best := map[string]entrant{}
	sp.live.Range(func(_, v any) bool {
		lc := v.(*liveCampaign)
		if !lc.serves() || !lc.fence.ContainsDeg(q.LatDeg, q.LngDeg) {
			return true
		}
		ctr := lc.clickRate()
		e := targeting.ECPM(lc.bid, ctr)
		if e <= 0 || e < float64(sp.reserve) {
			return true
		}
		reasons, k := sp.decideWith(lc, q.User, userHash, now, true, false)
		if reasons != 0 {
			return true
		}
		it := sp.items.Item(lc.miniProgram)
		if it == nil || !it.Audience.Admits(q.User) || (q.Categories != 0 && q.Categories&(1<<uint(it.Category)) == 0) {
			return true
		}
		if !sp.paced(lc, now, k) {
			return true
		}
		cand := entrant{lc, e, ctr, it}
		if b, ok := best[lc.miniProgram]; !ok || e > b.ecpm || (e == b.ecpm && lc.id < b.lc.id) {
			best[lc.miniProgram] = cand
		}
		return true
	})
	var es []entrant
	for _, e := range best {
		es = append(es, e)
	}
	slices.SortFunc(es, func(a, b entrant) int { return cmp.Compare(a.lc.id, b.lc.id) })
	tied := 0
	var ents []targeting.Entrant
	for i, e := range es {
		ents = append(ents, targeting.Entrant{ID: e.lc.id, Bid: e.lc.bid, CTR: e.ctr})
		for j, o := range es {
			if i != j && o.ecpm == e.ecpm {
				tied++
				break
			}
		}
	}
	var out []sponsored
	for _, w := range targeting.Auction(ents, sp.reserve, slots) {
		e := es[w.Entrant]
		pl, d := e.item.NearestPlace(q.LatDeg, q.LngDeg)
		out = append(out, sponsored{lc: e.lc, price: w.PriceMicros, hit: index.Hit{Item: e.item, Place: pl, DistanceM: d}})
	}
	return out, tied
}

func describe(ss []sponsored) string {
	s := "["
	for i, x := range ss {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%s@%d", x.lc.id, x.price)
	}
	return s + "]"
}

func randomOracleUser(rng *rand.Rand) targeting.User {
	u := targeting.User{Gender: uint8(rng.IntN(4)), OS: uint8(rng.IntN(5))}
	if rng.IntN(5) > 0 {
		u.Age = int32(15 + rng.IntN(50)) // some minors
	}
	if rng.IntN(2) == 0 {
		u.CreditScore = int32(500 + rng.IntN(250))
	}
	return u
}
