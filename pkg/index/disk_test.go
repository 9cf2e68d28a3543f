package index

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/aroundme/aroundme/geo"
	h3 "github.com/uber/h3-go/v4"
)

// TestDiskCache checks cached disks against H3's GridDisk (without its
// empty slots) for random top-level cells and every pentagon, with more
// distinct (cell, k) pairs than slots so that entries collide and are
// replaced, from several goroutines at once (run with -race).
func TestDiskCache(t *testing.T) {
	var c diskCache
	origins := h3.Pentagons(TopRes)
	rng := rand.New(rand.NewPCG(7, 8))
	for len(origins) < 3000 {
		lat, lng := rng.Float64()*180-90, rng.Float64()*360-180
		origins = append(origins, h3.Cell(geo.CellOf(lat, lng, TopRes)))
	}
	want := func(o h3.Cell, k int) []uint64 {
		var out []uint64
		for _, c := range h3.GridDisk(o, k) {
			if c != 0 {
				out = append(out, uint64(c))
			}
		}
		return out
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, 1))
			for i := 0; i < 4000; i++ {
				o, k := origins[rng.IntN(len(origins))], rng.IntN(4)
				got := c.get(uint64(o), k)
				if !slices.Equal(got, want(o, k)) {
					t.Errorf("disk(%v, %d) = %x, GridDisk gives %x", o, k, got, want(o, k))
					return
				}
			}
		}(uint64(g))
	}
	wg.Wait()
	for _, p := range h3.Pentagons(TopRes) {
		if got := c.get(uint64(p), 1); len(got) != 6 || slices.Contains(got, 0) {
			t.Errorf("pentagon %v: disk of 1 ring = %x, want the pentagon and its 5 neighbours", p, got)
		}
	}
}
