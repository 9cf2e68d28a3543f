package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/targeting"
	"google.golang.org/protobuf/proto"
)

// checkItems compares Item for every id of the pool with the expected state
// (nil = absent or hidden).
func checkItems(t *testing.T, ix *Index, pool []*v1.MiniProgram, want map[string]*Item) {
	t.Helper()
	n := 0
	for _, mp := range pool {
		got, exp := ix.Item(mp.Id), want[mp.Id]
		if got != exp {
			t.Fatalf("Item(%q) = %p, want %p", mp.Id, got, exp)
		}
		if exp != nil {
			n++
		}
	}
	if ix.Item("no such id") != nil || ix.Item("") != nil {
		t.Fatal("Item of an unknown id is not nil")
	}
	if got := ix.Snapshot().Stats().MiniPrograms; got != n {
		t.Fatalf("stats count %d items, lookups find %d", got, n)
	}
}

// TestItemLookup: after every Apply and after Load, Item returns exactly the
// visible items, and an older snapshot keeps answering with its own.
func TestItemLookup(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	w := targeting.DefaultWeights()
	pool := randomCatalog(rng, 3000)
	want := map[string]*Item{}
	ix := New(w, nil)
	checkItems(t, ix, pool, want)
	for range 30 {
		var ch []Change
		for range 1 + rng.IntN(300) {
			mp := pool[rng.IntN(len(pool))]
			if rng.IntN(3) == 0 {
				ch = append(ch, Change{ID: mp.Id})
				want[mp.Id] = nil
				continue
			}
			cp := proto.Clone(pool[rng.IntN(len(pool))]).(*v1.MiniProgram)
			cp.Id = mp.Id
			it := NewItem(cp, w) // nil when hidden
			ch = append(ch, Change{ID: mp.Id, Item: it})
			want[mp.Id] = it
		}
		before := ix.Snapshot()
		var old []*Item
		for _, mp := range pool[:100] {
			old = append(old, before.Item(mp.Id))
		}
		ix.Apply(ch)
		checkItems(t, ix, pool, want)
		for i, mp := range pool[:100] {
			if before.Item(mp.Id) != old[i] {
				t.Fatalf("an old snapshot's Item(%q) changed", mp.Id)
			}
		}
	}

	// Load builds the same table; repeated ids keep the last.
	var ch []Change
	for id, it := range want {
		if it != nil {
			ch = append(ch, Change{ID: id, Item: it})
		}
	}
	dup := NewItem(pool[0], w)
	if dup != nil {
		ch = append(ch, Change{ID: pool[0].Id, Item: NewItem(pool[1], w)}, Change{ID: pool[0].Id, Item: dup})
		want[pool[0].Id] = dup
	}
	loaded := New(w, nil)
	loaded.Load(ch)
	for _, mp := range pool {
		if got := loaded.Item(mp.Id); got != want[mp.Id] {
			t.Fatalf("after Load, Item(%q) = %p, want %p", mp.Id, got, want[mp.Id])
		}
	}
}

// TestItemConcurrent: lookups run while a writer applies batches (run with
// -race); a reader never sees an item come back after the Apply that
// deleted it returned.
func TestItemConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	w := targeting.DefaultWeights()
	pool := randomCatalog(rng, 500)
	ix := New(w, nil)
	var ch []Change
	for _, mp := range pool {
		mp.Hidden = false
		ch = append(ch, Change{ID: mp.Id, Item: NewItem(mp, w)})
	}
	ix.Load(ch)
	var deleted atomic.Int64 // pool[:deleted] are gone
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Go(func() {
			rr := rand.New(rand.NewPCG(uint64(r), 1))
			for deleted.Load() < int64(len(pool)) {
				d := int(deleted.Load())
				if d > 0 {
					if it := ix.Item(pool[rr.IntN(d)].Id); it != nil {
						t.Errorf("deleted item %s still visible", it.ID)
						return
					}
				}
				if d < len(pool) {
					_ = ix.Item(pool[d+rr.IntN(len(pool)-d)].Id) // present, or being deleted
				}
			}
		})
	}
	for i := 0; i < len(pool); i += 7 {
		j := min(i+7, len(pool))
		var del []Change
		for _, mp := range pool[i:j] {
			del = append(del, Change{ID: mp.Id})
		}
		ix.Apply(del)
		deleted.Store(int64(j))
	}
	wg.Wait()
}

// TestNearestPlace agrees with the haversine distance to every place.
func TestNearestPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 23))
	w := targeting.DefaultWeights()
	for _, mp := range randomCatalog(rng, 300) {
		mp.Hidden = false
		it := NewItem(mp, w)
		q := randomQuery(rng)
		got, d := it.NearestPlace(q.LatDeg, q.LngDeg)
		best := math.Inf(1)
		for _, p := range mp.Places {
			best = math.Min(best, geo.HaversineM(q.LatDeg, q.LngDeg, p.Location.Latitude, p.Location.Longitude))
		}
		pl := mp.Places[got].Location
		if !near(d, best) || !near(geo.HaversineM(q.LatDeg, q.LngDeg, pl.Latitude, pl.Longitude), best) {
			t.Fatalf("%s: place %d at %v m, brute force nearest %v m", mp.Id, got, d, best)
		}
	}
	empty := NewItem(&v1.MiniProgram{Id: "x"}, w)
	if p, d := empty.NearestPlace(1, 2); p != -1 || !math.IsInf(d, 1) {
		t.Fatalf("no places: %d %v", p, d)
	}
}

// TestIDTable exercises the shard merge directly: removes, replacements,
// repeated ids in one batch (the last wins) and emptied shards.
func TestIDTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 24))
	var tab idTable[int]
	want := map[string]int{}
	for range 200 {
		n := 1 + rng.IntN(50)
		if rng.IntN(20) == 0 {
			n = 5000
		}
		ids := make([]string, n)
		vals := make([]int, n)
		for i := range ids {
			ids[i] = fmt.Sprint("id-", rng.IntN(20000))
			vals[i] = rng.IntN(3) - 1 // -1 = delete
		}
		tab = tab.with(ids, func(i int) (int, bool) { return vals[i], vals[i] < 0 })
		for i, id := range ids {
			if vals[i] < 0 {
				delete(want, id)
			} else {
				want[id] = vals[i]
			}
		}
		if tab.len() != len(want) {
			t.Fatalf("len %d, want %d", tab.len(), len(want))
		}
	}
	for i := range 20000 {
		id := fmt.Sprint("id-", i)
		v, ok := tab.get(id)
		if w, wok := want[id]; ok != wok || v != w {
			t.Fatalf("get(%s) = %v %v, want %v %v", id, v, ok, w, wok)
		}
	}
	ids := []string{"a", "b", "a"}
	built := newIDTable(ids, []int{1, 2, 3})
	if v, _ := built.get("a"); v != 3 || built.len() != 2 {
		t.Fatalf("newIDTable: a=%d len %d", v, built.len())
	}
}

// BenchmarkItem looks ids up in the 1M-item benchmark index.
func BenchmarkItem(b *testing.B) {
	ix, _ := benchIndex(b)
	var ids []string
	ix.Snapshot().items.each(func(id string, _ *Item) bool {
		ids = append(ids, id)
		return len(ids) < 100000
	})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if ix.Item(ids[i%len(ids)]) == nil {
			b.Fatal("missing")
		}
	}
}
