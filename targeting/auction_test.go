package targeting

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSmoothedCTR(t *testing.T) {
	if got := SmoothedCTR(0, 0); got != 0.01 {
		t.Fatalf("prior mean %v, want 0.01", got)
	}
	if got := SmoothedCTR(2, 200); got != 0.01 {
		t.Fatalf("a 1%% record keeps the mean: %v", got)
	}
	if got := SmoothedCTR(1, 1); got > 0.02 {
		t.Fatalf("one lucky click is not a 100%% CTR: %v", got)
	}
	if got := SmoothedCTR(50_000, 1_000_000); math.Abs(got-0.05) > 0.0005 {
		t.Fatalf("a long record dominates the prior: %v", got)
	}
	if SmoothedCTR(-5, -5) != SmoothedCTR(0, 0) || SmoothedCTR(10, 5) != SmoothedCTR(5, 5) {
		t.Fatal("negative counts or clicks beyond impressions are not clamped")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		imp := rng.Int64N(1e9)
		clk := rng.Int64N(imp + 1)
		c := SmoothedCTR(clk, imp)
		if !(c > 0 && c < 1) {
			t.Fatalf("SmoothedCTR(%d, %d) = %v outside (0, 1)", clk, imp, c)
		}
		if clk < imp && SmoothedCTR(clk+1, imp) <= c {
			t.Fatalf("a click more does not raise it: %d %d", clk, imp)
		}
		if SmoothedCTR(clk, imp+1) >= c {
			t.Fatalf("an impression more does not lower it: %d %d", clk, imp)
		}
		// Between the prior mean and the raw rate.
		if imp > 0 {
			raw := float64(clk) / float64(imp)
			if lo, hi := math.Min(raw, 0.01), math.Max(raw, 0.01); c < lo-1e-15 || c > hi+1e-15 {
				t.Fatalf("SmoothedCTR(%d, %d) = %v not between %v and %v", clk, imp, c, lo, hi)
			}
		}
	}
}

func TestECPM(t *testing.T) {
	tests := []struct {
		b    Bid
		ctr  float64
		want float64
	}{
		{Bid{PricingCPM, 5_000_000}, 0.5, 5_000_000},
		{Bid{PricingCPC, 500_000}, 0.01, 5_000_000},
		{Bid{PricingCPC, 500_000}, 0, 0},
		{Bid{0, 500_000}, 0.01, 0},
		{Bid{7, 500_000}, 0.01, 0},
	}
	for _, tc := range tests {
		if got := ECPM(tc.b, tc.ctr); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("ECPM(%+v, %v) = %v, want %v", tc.b, tc.ctr, got, tc.want)
		}
	}
}

func TestAuction(t *testing.T) {
	cpm := func(id string, micros int64) Entrant { return Entrant{ID: id, Bid: Bid{PricingCPM, micros}} }
	cpc := func(id string, micros int64, ctr float64) Entrant {
		return Entrant{ID: id, Bid: Bid{PricingCPC, micros}, CTR: ctr}
	}
	tests := []struct {
		name    string
		es      []Entrant
		reserve int64
		slots   int
		want    []Win
	}{
		{"nobody", nil, 0, 3, []Win{}},
		{"no slots", []Entrant{cpm("a", 10)}, 0, 0, nil},
		{"alone, no reserve: 1 micro", []Entrant{cpm("a", 5000)}, 0, 1, []Win{{0, 5000, 1}}},
		{"alone pays the reserve", []Entrant{cpm("a", 5000)}, 1200, 1, []Win{{0, 5000, 1200}}},
		{"below the reserve", []Entrant{cpm("a", 1000)}, 1200, 1, []Win{}},
		{"at the reserve", []Entrant{cpm("a", 1200)}, 1200, 1, []Win{{0, 1200, 1200}}},
		{"second price, loser below", []Entrant{cpm("b", 3000), cpm("a", 5000)}, 100, 1, []Win{{1, 5000, 3000}}},
		// Equal eCPMs rank by id: "a" above "b" above "c", each needs only
		// to match the one below it.
		{"ties by id", []Entrant{cpm("c", 3000), cpm("b", 3000), cpm("a", 3000)}, 0, 2, []Win{{2, 3000, 3000}, {1, 3000, 3000}}},
		{"winner with the later id must beat strictly", []Entrant{cpm("z", 5000), cpm("a", 3000)}, 0, 1, []Win{{0, 5000, 3001}}},
		{"GSP down the ranks", []Entrant{cpm("a", 9000), cpm("b", 7000), cpm("c", 4000), cpm("d", 1000)}, 500, 3,
			[]Win{{0, 9000, 7000}, {1, 7000, 4000}, {2, 4000, 1000}}},
		{"last ranked pays the reserve", []Entrant{cpm("a", 9000), cpm("b", 7000)}, 500, 3, []Win{{0, 9000, 7000}, {1, 7000, 500}}},
		// CPC 400 000 at 1% is an eCPM of 4 000 000; to stay above a CPM of
		// 3 000 000 it must pay 3 000 000 / (0.01 × 1000) = 300 000 per click
		// ("k" wins the tie by id).
		{"CPC against CPM", []Entrant{cpm("m", 3_000_000), cpc("k", 400_000, 0.01)}, 0, 2,
			[]Win{{1, 4_000_000, 300_000}, {0, 3_000_000, 1}}},
		// "m" would lose a tie to "k": one micro above k's eCPM.
		{"CPM against CPC", []Entrant{cpm("m", 5_000_000), cpc("k", 400_000, 0.01)}, 0, 1, []Win{{0, 5_000_000, 4_000_001}}},
		{"zero CTR never enters", []Entrant{cpc("k", 400_000, 0)}, 0, 1, []Win{}},
		{"unknown model never enters", []Entrant{{ID: "x", Bid: Bid{9, 1000}}}, 0, 1, []Win{}},
	}
	for _, tc := range tests {
		got := Auction(tc.es, tc.reserve, tc.slots)
		if tc.want == nil {
			if got != nil {
				t.Errorf("%s: got %+v, want nil", tc.name, got)
			}
			continue
		}
		if !slices.EqualFunc(got, tc.want, func(a, b Win) bool {
			return a.Entrant == b.Entrant && a.PriceMicros == b.PriceMicros && math.Abs(a.ECPM-b.ECPM) < 1e-6
		}) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// TestAuctionOracle runs random auctions (small bids, few ids and CTRs so
// that ties are common) against a brute-force oracle: winners chosen by
// repeated selection of the best remaining entrant, prices by scanning every
// price from 1 micro up; and checks the second-price properties directly.
func TestAuctionOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 42))
	ctrs := []float64{0.005, 0.01, 0.02, 0.0137, 0.1}
	// better reports whether (ecpm a, entrant i) ranks above (ecpm b, entrant j).
	better := func(es []Entrant, a float64, i int, b float64, j int) bool {
		if a != b {
			return a > b
		}
		if es[i].ID != es[j].ID {
			return es[i].ID < es[j].ID
		}
		return i < j
	}
	for iter := range 20000 {
		n := rng.IntN(8)
		es := make([]Entrant, n)
		for i := range es {
			es[i] = Entrant{ID: string(rune('a' + rng.IntN(5))), CTR: ctrs[rng.IntN(len(ctrs))]}
			if rng.IntN(2) == 0 {
				es[i].Bid = Bid{PricingCPM, 1 + rng.Int64N(3000)}
			} else {
				es[i].Bid = Bid{PricingCPC, 1 + rng.Int64N(300)}
			}
			if rng.IntN(10) == 0 && i > 0 { // an exact duplicate bid
				es[i].Bid, es[i].CTR = es[i-1].Bid, es[i-1].CTR
			}
		}
		reserve := int64(rng.IntN(4)) * int64(rng.IntN(2000))
		slots := rng.IntN(4)

		// Oracle: qualify, then select the best remaining, slot by slot.
		var pool []int
		for i, e := range es {
			if v := ECPM(e.Bid, e.CTR); v > 0 && v >= float64(reserve) {
				pool = append(pool, i)
			}
		}
		var order []int
		for len(pool) > 0 {
			best := 0
			for k := 1; k < len(pool); k++ {
				a, b := pool[k], pool[best]
				if better(es, ECPM(es[a].Bid, es[a].CTR), a, ECPM(es[b].Bid, es[b].CTR), b) {
					best = k
				}
			}
			order = append(order, pool[best])
			pool = slices.Delete(pool, best, best+1)
		}
		var want []Win
		for k := 0; k < len(order) && k < slots; k++ {
			w := es[order[k]]
			price := int64(-1)
			for p := int64(1); p <= w.Bid.AmountMicros; p++ {
				v := ECPM(Bid{w.Bid.Model, p}, w.CTR)
				ok := v >= float64(reserve)
				if k+1 < len(order) {
					nx := order[k+1]
					ok = better(es, v, order[k], ECPM(es[nx].Bid, es[nx].CTR), nx)
				}
				if ok {
					price = p
					break
				}
			}
			want = append(want, Win{Entrant: order[k], ECPM: ECPM(w.Bid, w.CTR), PriceMicros: price})
		}

		got := Auction(es, reserve, slots)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("iteration %d: entrants %+v reserve %d slots %d:\n got %+v\nwant %+v", iter, es, reserve, slots, got, want)
		}
		// The second-price properties, stated directly.
		for k, w := range got {
			e := es[w.Entrant]
			pv := ECPM(Bid{e.Bid.Model, w.PriceMicros}, e.CTR)
			if w.PriceMicros < 1 || w.PriceMicros > e.Bid.AmountMicros {
				t.Fatalf("price %d outside [1, bid %d]", w.PriceMicros, e.Bid.AmountMicros)
			}
			if pv < float64(reserve) {
				t.Fatalf("eCPM at price %v below the reserve %d", pv, reserve)
			}
			if k+1 < len(order) {
				next := ECPM(es[order[k+1]].Bid, es[order[k+1]].CTR)
				if pv < next {
					t.Fatalf("eCPM at price %v below the next eCPM %v", pv, next)
				}
			}
			if k > 0 && got[k-1].ECPM < w.ECPM {
				t.Fatal("winners out of rank order")
			}
		}
		// Deterministic: the same outcome, by id and price, in any input
		// order (campaign ids are unique; duplicates rank by position).
		ids := map[string]bool{}
		for _, e := range es {
			ids[e.ID] = true
		}
		if len(ids) < n {
			continue
		}
		perm := rng.Perm(n)
		shuffled := make([]Entrant, n)
		for i, p := range perm {
			shuffled[p] = es[i]
		}
		again := Auction(shuffled, reserve, slots)
		if len(again) != len(got) {
			t.Fatalf("shuffling changed the number of winners")
		}
		for k := range got {
			a, b := es[got[k].Entrant], shuffled[again[k].Entrant]
			if a != b || got[k].PriceMicros != again[k].PriceMicros {
				t.Fatalf("shuffling changed slot %d: %+v at %d vs %+v at %d", k, a, got[k].PriceMicros, b, again[k].PriceMicros)
			}
		}
	}
}

func BenchmarkAuction(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	es := make([]Entrant, 50)
	for i := range es {
		es[i] = Entrant{ID: fmt.Sprintf("c-%04d", i), Bid: Bid{uint8(1 + i%2), 1 + rng.Int64N(5_000_000)}, CTR: SmoothedCTR(rng.Int64N(100), rng.Int64N(10000))}
	}
	b.ReportAllocs()
	for b.Loop() {
		Auction(es, 1000, 3)
	}
}

// TestAppendAuctionAllocs: the serving path's auction (a few entrants, a
// reused slice) allocates nothing, and appends what Auction returns.
func TestAppendAuctionAllocs(t *testing.T) {
	es := []Entrant{
		{ID: "a", Bid: Bid{Model: PricingCPM, AmountMicros: 3_000_000}},
		{ID: "b", Bid: Bid{Model: PricingCPC, AmountMicros: 400_000}, CTR: 0.01},
		{ID: "c", Bid: Bid{Model: PricingCPM, AmountMicros: 2_000_000}},
	}
	dst := make([]Win, 0, 4)
	if n := testing.AllocsPerRun(100, func() { dst = AppendAuction(dst[:0], es, 100_000, 2) }); n != 0 {
		t.Fatalf("%v allocations per auction", n)
	}
	if want := Auction(es, 100_000, 2); !slices.Equal(dst, want) {
		t.Fatalf("AppendAuction %v, Auction %v", dst, want)
	}
}
