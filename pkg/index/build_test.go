package index

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/aroundme/aroundme/geo"
)

// TestSortCells checks sortCells against a stable comparison sort: leaf
// cells with many repeats (the integer-key path), and mixes of resolutions
// or odd values (the fallback), including the empty and one-cell cases.
func TestSortCells(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 40 {
		n := rng.IntN(3000)
		if round < 2 {
			n = round
		}
		distinct := 1 + rng.IntN(200)
		pool := make([]uint64, distinct)
		for i := range pool {
			lat, lng := rng.Float64()*170-85, rng.Float64()*360-180
			res := LeafRes
			if round%4 == 3 && i%5 == 0 {
				res = MidRes // breaks the shared low bits: the fallback
			}
			pool[i] = geo.CellOf(lat, lng, res)
			if round%8 == 7 && i == 0 {
				pool[i] = rng.Uint64() // not a cell at all
			}
		}
		cells := make([]uint64, n)
		for i := range cells {
			cells[i] = pool[rng.IntN(distinct)]
		}
		orig := slices.Clone(cells)
		want := make([]int32, n)
		for i := range want {
			want[i] = int32(i)
		}
		slices.SortStableFunc(want, func(a, b int32) int { return cmp.Compare(orig[a], orig[b]) })

		order := sortCells(cells)
		if !slices.Equal(order, want) {
			t.Fatalf("round %d: order differs from a stable sort", round)
		}
		for i, o := range order {
			if cells[i] != orig[o] {
				t.Fatalf("round %d: cells[%d] = %x, want %x", round, i, cells[i], orig[o])
			}
		}
	}
}
