package index

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aroundme/aroundme/geo"
	"github.com/aroundme/aroundme/targeting"
)

// Resolutions of the three levels of the hierarchy.
const (
	TopRes  = 5
	MidRes  = 7
	LeafRes = geo.PlaceCellRes
)

// capSlackRad pads every bounding cap against rounding, so that a bound is
// never a hair too tight (1e-9 rad ≈ 6 mm).
const capSlackRad = 1e-9

// place is one place in a leaf, laid out for the scan: position and static
// score inline, the filters one pointer away.
type place struct {
	pt     geo.Point
	static float64
	item   *Item
	idx    int32 // index of the place within item.Places
	cat    uint8 // item.Category
	flags  uint8 // placeRestricted, placeMulti
}

// Place flags: copies of item facts, so that the scan reads the item (a
// likely cache miss among a million) only for places that pass the cheap
// tests.
const (
	placeRestricted = 1 << iota // item.Audience.Restricted()
	placeMulti                  // len(item.Places) > 1
)

func newPlace(it *Item, i int) place {
	p := place{pt: it.Places[i].Pt, static: it.Static, item: it, idx: int32(i), cat: uint8(it.Category)}
	if it.Audience.Restricted() {
		p.flags |= placeRestricted
	}
	if len(it.Places) > 1 {
		p.flags |= placeMulti
	}
	return p
}

// node is a cell of the hierarchy. Leaves have places, others children.
type node struct {
	cell      uint64
	center    geo.Point // unit vector
	capRad    float64   // every place under the node is within capRad of center
	maxStatic float64   // best static score under the node
	count     int       // places under the node
	children  []*node   // sorted by cell; nil for leaves
	bounds    []bound   // bounds[i] is children[i]'s, inline for the scan
	places    []place   // sorted by static score, best first; leaves only
}

// bound is what the search needs of a child before deciding to visit it,
// stored contiguously in the parent so that bounding 49 children reads one
// array instead of chasing 49 pointers.
type bound struct {
	center    geo.Point
	capRad    float64
	maxStatic float64
}

// Stats describe a snapshot, for metrics.
type Stats struct {
	MiniPrograms int
	Places       int
	Leaves       int // non-empty leaf cells
	Mids         int
	Tops         int
	BuiltAt      time.Time
}

// Snapshot is an immutable state of the index. Any number of goroutines may
// search it while the Index builds the next one.
type Snapshot struct {
	top     map[uint64]*node
	items   idTable[*Item] // the visible items by id (see Item)
	weights targeting.Weights
	stats   Stats
}

// Stats returns the snapshot's sizes.
func (s *Snapshot) Stats() Stats { return s.stats }

// Weights returns the ranking weights the snapshot's static scores were
// computed with.
func (s *Snapshot) Weights() targeting.Weights { return s.weights }

// Index owns the current snapshot and serialises writers.
type Index struct {
	cur atomic.Pointer[Snapshot]

	mu      sync.Mutex // serialises Apply
	weights targeting.Weights
	now     func() time.Time
}

// New returns an empty index whose items were scored with w.
func New(w targeting.Weights, now func() time.Time) *Index {
	if now == nil {
		now = time.Now
	}
	ix := &Index{weights: w, now: now}
	ix.cur.Store(&Snapshot{top: map[uint64]*node{}, weights: w, stats: Stats{BuiltAt: now()}})
	return ix
}

// Snapshot returns the current snapshot: one atomic load, never blocks.
func (ix *Index) Snapshot() *Snapshot { return ix.cur.Load() }

// Weights returns the weights items must be built with.
func (ix *Index) Weights() targeting.Weights { return ix.weights }

// Change replaces the item with the id (Item nil = remove it); ID is the
// key Item and later changes look the item up by. Leaves are
// Item.Leaves(), if the caller computed them (in parallel, say); nil = Apply
// computes them.
type Change struct {
	ID     string
	Item   *Item
	Leaves []uint64
}

// Apply applies a batch of changes and publishes the next snapshot before it
// returns, so a caller that then answers its client has made the change
// visible to every later search. The cost is proportional to the places
// changed plus the nodes on their paths.
func (ix *Index) Apply(changes []Change) {
	if len(changes) == 0 {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	base := ix.cur.Load()

	// Later changes of the same id win; collect what leaves lose and gain.
	final := make(map[string]Change, len(changes))
	for _, c := range changes {
		final[c.ID] = c
	}
	ids := make([]string, 0, len(final))
	removed := make(map[*Item]bool)
	added := make(map[uint64][]place)
	touched := make(map[uint64]bool) // leaf cells to rebuild
	nItems, nPlaces := base.stats.MiniPrograms, base.stats.Places
	for id, c := range final {
		ids = append(ids, id)
		it := c.Item
		if old, _ := base.items.get(id); old != nil {
			removed[old] = true
			for _, l := range old.Leaves() {
				touched[l] = true
			}
			nItems--
			nPlaces -= len(old.Places)
		}
		if it == nil {
			continue
		}
		nItems++
		nPlaces += len(it.Places)
		leaves := c.Leaves
		if leaves == nil {
			leaves = it.Leaves()
		}
		for i, l := range leaves {
			touched[l] = true
			added[l] = append(added[l], newPlace(it, i))
		}
	}

	// Rebuild the touched leaves, then their parents, level by level.
	leaves := make(map[uint64]*node, len(touched)) // nil = now empty
	leafDelta := 0
	for cell := range touched {
		var ps []place
		if old := base.find(cell); old != nil {
			leafDelta--
			for _, p := range old.places {
				if !removed[p.item] {
					ps = append(ps, p)
				}
			}
		}
		ps = append(ps, added[cell]...)
		if leaves[cell] = newLeaf(cell, ps); leaves[cell] != nil {
			leafDelta++
		}
	}
	mids, midDelta := rebuildParents(leaves, MidRes, base.findMid)
	tops, _ := rebuildParents(mids, TopRes, func(c uint64) *node { return base.top[c] })

	next := &Snapshot{top: make(map[uint64]*node, len(base.top)+len(tops)), weights: ix.weights}
	next.items = base.items.with(ids, func(i int) (*Item, bool) {
		it := final[ids[i]].Item
		return it, it == nil
	})
	for c, n := range base.top {
		next.top[c] = n
	}
	st := Stats{MiniPrograms: nItems, Places: nPlaces, BuiltAt: ix.now()}
	st.Leaves, st.Mids, st.Tops = base.stats.Leaves+leafDelta, base.stats.Mids+midDelta, base.stats.Tops
	for c, n := range tops {
		if base.top[c] != nil {
			st.Tops--
		}
		if n == nil {
			delete(next.top, c)
		} else {
			next.top[c] = n
			st.Tops++
		}
	}
	next.stats = st
	ix.cur.Store(next)
}

// rebuildParents rebuilds, at resolution res, the parents of the rebuilt
// children (nil child = removed), starting from each parent's children in
// the base snapshot. A parent left without children is nil. delta is the
// change in the number of non-empty parents.
func rebuildParents(children map[uint64]*node, res int, old func(uint64) *node) (parents map[uint64]*node, delta int) {
	byParent := make(map[uint64][]uint64)
	for c := range children {
		p := geo.CellParent(c, res)
		byParent[p] = append(byParent[p], c)
	}
	out := make(map[uint64]*node, len(byParent))
	for p, changed := range byParent {
		// Merge the base children (sorted by cell) with the changed ones
		// (sorted here): replace, drop or insert, keeping the order.
		slices.Sort(changed)
		var base []*node
		if o := old(p); o != nil {
			base = o.children
			delta--
		}
		kids := make([]*node, 0, len(base)+len(changed))
		i, j := 0, 0
		for i < len(base) || j < len(changed) {
			if j == len(changed) || (i < len(base) && base[i].cell < changed[j]) {
				kids = append(kids, base[i])
				i++
				continue
			}
			if i < len(base) && base[i].cell == changed[j] {
				i++
			}
			if n := children[changed[j]]; n != nil {
				kids = append(kids, n)
			}
			j++
		}
		if out[p] = newParent(p, kids); out[p] != nil {
			delta++
		}
	}
	return out, delta
}

// find returns the leaf of a cell, or nil.
func (s *Snapshot) find(leaf uint64) *node {
	mid := s.findMid(geo.CellParent(leaf, MidRes))
	if mid == nil {
		return nil
	}
	return child(mid, leaf)
}

// findMid returns the mid node of a cell, or nil.
func (s *Snapshot) findMid(mid uint64) *node {
	top := s.top[geo.CellParent(mid, TopRes)]
	if top == nil {
		return nil
	}
	return child(top, mid)
}

func child(n *node, cell uint64) *node {
	i := sort.Search(len(n.children), func(i int) bool { return n.children[i].cell >= cell })
	if i < len(n.children) && n.children[i].cell == cell {
		return n.children[i]
	}
	return nil
}

// newLeaf builds a leaf from its places; nil when there are none.
func newLeaf(cell uint64, ps []place) *node {
	if len(ps) == 0 {
		return nil
	}
	slices.SortFunc(ps, func(a, b place) int {
		switch {
		case a.static != b.static:
			if a.static > b.static {
				return -1
			}
			return 1
		case a.item != b.item:
			return strings.Compare(a.item.ID, b.item.ID)
		}
		return int(a.idx - b.idx)
	})
	n := &node{cell: cell, places: ps, count: len(ps), maxStatic: ps[0].static}
	var sum geo.Point
	for _, p := range ps {
		sum = sum.Add(p.pt)
	}
	n.center = centerOf(sum, ps[0].pt)
	for _, p := range ps {
		n.capRad = math.Max(n.capRad, geo.ChordToRad(math.Sqrt(n.center.Chord2(p.pt))))
	}
	n.capRad += capSlackRad
	return n
}

// newParent builds an inner node over its children, which must be sorted by
// cell; nil when there are none.
func newParent(cell uint64, kids []*node) *node {
	if len(kids) == 0 {
		return nil
	}
	n := &node{cell: cell, children: kids, maxStatic: math.Inf(-1)}
	var sum geo.Point
	for _, k := range kids {
		n.count += k.count
		w := float64(k.count)
		sum = sum.Add(geo.Point{X: k.center.X * w, Y: k.center.Y * w, Z: k.center.Z * w})
		n.maxStatic = math.Max(n.maxStatic, k.maxStatic)
	}
	n.center = centerOf(sum, kids[0].center)
	n.bounds = make([]bound, len(kids))
	for i, k := range kids {
		n.capRad = math.Max(n.capRad, geo.ChordToRad(math.Sqrt(n.center.Chord2(k.center)))+k.capRad)
		n.bounds[i] = bound{center: k.center, capRad: k.capRad, maxStatic: k.maxStatic}
	}
	n.capRad += capSlackRad
	return n
}

// centerOf normalises a sum of unit vectors; if they cancel out (antipodal
// places), any member is a valid centre since the cap is computed from it.
func centerOf(sum, fallback geo.Point) geo.Point {
	if sum.X*sum.X+sum.Y*sum.Y+sum.Z*sum.Z < 1e-24 {
		return fallback
	}
	return sum.Normalize()
}
