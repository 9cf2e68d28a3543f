package index

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/targeting"
	"google.golang.org/protobuf/proto"
)

// TestApplyMatchesLoad: after every batch of a random history — creates,
// updates that move places, hides, deletes, an id changed several times in
// one batch, whole leaves emptied — the incrementally maintained index is
// node for node the one Load builds from scratch from the final state, and
// finds every id. Items come built the three ways callers build them: with
// their cells, without, and without but with the cells in the Change.
func TestApplyMatchesLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	w := targeting.DefaultWeights()
	pool := randomCatalog(rng, 3000)
	// A tight cluster, so that leaves hold many places and get emptied.
	for i := range 300 {
		mp := proto.Clone(pool[i]).(*v1.MiniProgram)
		mp.Id = fmt.Sprint("dense-", i)
		for _, p := range mp.Places {
			p.Location = &v1.LatLng{Latitude: 31.2 + rng.Float64()*0.004, Longitude: 121.4 + rng.Float64()*0.004}
		}
		pool = append(pool, mp)
	}
	state := map[string]*v1.MiniProgram{}
	ix := New(w, nil)
	for round := range 60 {
		var ch []Change
		size := 1 + rng.IntN(300)
		if round == 0 {
			size = 2000
		}
		for range size {
			mp := pool[rng.IntN(len(pool))]
			if rng.IntN(5) == 0 {
				delete(state, mp.Id)
				ch = append(ch, Change{ID: mp.Id})
				continue
			}
			cp := proto.Clone(pool[rng.IntN(len(pool))]).(*v1.MiniProgram)
			cp.Id = mp.Id
			state[mp.Id] = cp
			c := Change{ID: mp.Id}
			switch rng.IntN(3) {
			case 0:
				c.Item = NewItem(cp, w)
			case 1:
				if it := NewItem(cp, w); it != nil {
					c.Item = NewItemWithCells(cp, w, it.Leaves())
				}
			default:
				if c.Item = NewItem(cp, w); c.Item != nil {
					c.Leaves = c.Item.Leaves()
				}
			}
			ch = append(ch, c)
		}
		ix.Apply(ch)

		var all []Change
		for id, mp := range state {
			all = append(all, Change{ID: id, Item: NewItem(mp, w)})
		}
		fresh := New(w, nil)
		fresh.Load(all)
		got, want := ix.Snapshot(), fresh.Snapshot()
		a, b := got.Stats(), want.Stats()
		a.BuiltAt, b.BuiltAt = time.Time{}, time.Time{}
		if a != b {
			t.Fatalf("round %d: stats %+v, rebuilt %+v", round, a, b)
		}
		if err := sameNodes(got.top, want.top); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got.items.len() != want.items.len() {
			t.Fatalf("round %d: %d ids, rebuilt %d", round, got.items.len(), want.items.len())
		}
		for id, mp := range state {
			it := got.Item(id)
			if (it == nil) != mp.Hidden || (it != nil && it.Name() != mp.Name) {
				t.Fatalf("round %d: Item(%s) = %+v, want %v", round, id, it, mp)
			}
		}
	}
}

// sameNodes compares two trees node for node: cells, children, places and
// every bound.
func sameNodes(a, b map[uint64]*node) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d top cells, want %d", len(a), len(b))
	}
	for c, n := range a {
		if err := sameNode(n, b[c]); err != nil {
			return fmt.Errorf("top %x: %w", c, err)
		}
	}
	return nil
}

func sameNode(a, b *node) error {
	switch {
	case a == nil || b == nil:
		return fmt.Errorf("node %v, want %v", a, b)
	case a.cell != b.cell || a.count != b.count || a.maxStatic != b.maxStatic ||
		a.center != b.center || a.capRad != b.capRad:
		return fmt.Errorf("node %x: %+v, want %+v", a.cell, *a, *b)
	case len(a.children) != len(b.children) || len(a.places) != len(b.places) || len(a.bounds) != len(b.bounds):
		return fmt.Errorf("node %x: %d children %d places, want %d %d", a.cell,
			len(a.children), len(a.places), len(b.children), len(b.places))
	}
	for i := range a.bounds {
		p, q, k := a.bounds[i], b.bounds[i], boundOf(a.children[i])
		if p.center != q.center || p.capRad != q.capRad || p.maxStatic != q.maxStatic {
			return fmt.Errorf("node %x: bound %d is %+v, want %+v", a.cell, i, p, q)
		}
		// The search reads a leaf's places from its parent's bound: they
		// must be the leaf's own.
		if p.center != k.center || p.capRad != k.capRad || p.maxStatic != k.maxStatic ||
			len(p.places) != len(k.places) || (len(k.places) > 0 && &p.places[0] != &k.places[0]) {
			return fmt.Errorf("node %x: bound %d does not describe child %x", a.cell, i, a.children[i].cell)
		}
	}
	if !slices.EqualFunc(a.groups, b.groups, func(g, h group) bool {
		return g.lo == h.lo && g.hi == h.hi && g.center == h.center && g.capRad == h.capRad && g.maxStatic == h.maxStatic
	}) {
		return fmt.Errorf("node %x: groups %+v, want %+v", a.cell, a.groups, b.groups)
	}
	for i := range a.places {
		p, q := a.places[i], b.places[i]
		if p.item.ID != q.item.ID || p.idx != q.idx || p.pt != q.pt || p.static != q.static || p.cat != q.cat || p.flags != q.flags {
			return fmt.Errorf("leaf %x place %d: %s/%d, want %s/%d", a.cell, i, p.item.ID, p.idx, q.item.ID, q.idx)
		}
	}
	for i := range a.children {
		if err := sameNode(a.children[i], b.children[i]); err != nil {
			return fmt.Errorf("%x: %w", a.cell, err)
		}
	}
	return nil
}

// TestSortRefs: the integer-key sort orders refs by leaf like a plain sort,
// on real leaf cells and on cells of mixed resolutions (the fallback).
func TestSortRefs(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 41))
	for _, mixed := range []bool{false, true} {
		var refs []placeRef
		for i := range 5000 {
			res := LeafRes
			if mixed && i%7 == 0 {
				res = MidRes
			}
			lat, lng := rng.Float64()*0.5+31, rng.Float64()*0.5+121
			refs = append(refs, placeRef{leaf: geo.CellOf(lat, lng, res), idx: int32(i)})
		}
		got := sortRefs(slices.Clone(refs))
		if len(got) != len(refs) || !slices.IsSortedFunc(got, func(a, b placeRef) int { return cmp.Compare(a.leaf, b.leaf) }) {
			t.Fatalf("mixed=%v: not sorted by leaf", mixed)
		}
		seen := map[int32]bool{}
		for _, r := range got {
			seen[r.idx] = true
		}
		if len(seen) != len(refs) {
			t.Fatalf("mixed=%v: refs lost or repeated", mixed)
		}
	}
}
