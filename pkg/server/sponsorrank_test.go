package server

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRankOf checks the rank scale against its definition on random and
// edge eCPMs: rankOf(e) is the smallest rank whose value is at least e, so
// ranks are monotone and a rank never understates an eCPM.
func TestRankOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(e float64) {
		t.Helper()
		r := rankOf(e)
		if !(e > 0) {
			if r != 0 {
				t.Fatalf("rankOf(%g) = %d, want 0", e, r)
			}
			return
		}
		if r == 0 || rankValue(r) < e {
			t.Fatalf("rankOf(%g) = %d, value %g: below the eCPM", e, r, rankValue(r))
		}
		if r > 1 && rankValue(r-1) >= e {
			t.Fatalf("rankOf(%g) = %d, but rank %d (value %g) already bounds it", e, r, r-1, rankValue(r-1))
		}
	}
	edges := []float64{0, -1, math.NaN(), math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64, 1e-300, 1, 2, 0.5,
		math.Exp2(-16), math.Exp2(48), math.Exp2(48) * 2, math.MaxFloat64, 100_000, 2e6, 3e7, 1e15}
	for _, e := range edges {
		check(e)
	}
	prev, prevR := 0.0, uint32(0)
	for range 200000 {
		e := math.Exp2(rng.Float64()*80 - 20)
		if rng.IntN(4) == 0 {
			e = math.Round(e) // round bids
		}
		check(e)
		// Monotone: a larger eCPM never has a smaller rank.
		if r := rankOf(e); (e > prev && r < prevR) || (e < prev && r > prevR) {
			t.Fatalf("rankOf(%g) = %d but rankOf(%g) = %d", e, r, prev, prevR)
		}
		prev, prevR = e, rankOf(e)
	}
}

// TestHintQueue: popping a hint queue yields its hints in descending order,
// through the scanning pops and after the switch to a heap, with repeated
// hints, and peek agrees with pop.
func TestHintQueue(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 300 {
		h := make([]hint, n)
		for i := range h {
			h[i] = hint(rng.Uint64N(uint64(n/3 + 2)))
		}
		want := slices.Clone(h)
		slices.Sort(want)
		slices.Reverse(want)
		q := hintQueue{h: h, max: -1}
		for i, w := range want {
			if p := q.peek(); p != w {
				t.Fatalf("n=%d pop %d: peek %d, want %d", n, i, p, w)
			}
			if got := q.pop(); got != w {
				t.Fatalf("n=%d pop %d: %d, want %d", n, i, got, w)
			}
		}
		if q.len() != 0 {
			t.Fatalf("n=%d: %d left", n, q.len())
		}
	}
}
