package index

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestCellTableFind checks find against a map on random tables: codes in
// one group or spread over several high halves, dense runs and sparse
// keys, low halves shared by several groups, and probes for
// present codes, their neighbours, and codes beyond either end.
func TestCellTableFind(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 60 {
		highs := 1 + rng.IntN(1+round%4*3)
		bits := 8 + round%20
		n := min(1+rng.IntN(5000), highs<<bits/2)
		set := map[uint64]bool{}
		for len(set) < n {
			hi := uint64(rng.IntN(highs)) * 977
			lo := uint64(rng.IntN(1 << bits))
			if round%3 == 0 {
				lo = uint64(rng.Uint32())
			}
			set[hi<<32|lo] = true
		}
		var codes []uint64
		for c := range set {
			codes = append(codes, c)
		}
		slices.Sort(codes)
		// Postings: the code's rank, so a hit says which key it found.
		var all []uint64
		var vals []uint32
		for i, c := range codes {
			for range 1 + i%3 {
				all = append(all, c)
				vals = append(vals, uint32(i))
			}
		}
		tab := tableFromSorted(all, vals)
		probe := func(c uint64) {
			got := tab.find(c)
			i, ok := slices.BinarySearch(codes, c)
			if !ok {
				if len(got) != 0 {
					t.Fatalf("round %d: find(%#x) = %v, want nothing", round, c, got)
				}
				return
			}
			if len(got) != 1+i%3 || got[0] != uint32(i) {
				t.Fatalf("round %d: find(%#x) = %v, want %d postings of %d", round, c, got, 1+i%3, i)
			}
		}
		for _, c := range codes {
			probe(c)
			probe(c + 1)
			probe(c - 1)
		}
		probe(0)
		probe(1<<63 - 1)
		for range 2000 {
			probe(uint64(rng.IntN(highs))*977<<32 | uint64(rng.Uint32()))
		}
	}
}
