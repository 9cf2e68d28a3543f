package index

import (
	"cmp"
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
	groups    []group   // the children in runs by their parent one resolution up
	places    []place   // sorted by static score, best first; leaves only
}

// group is a run of an inner node's children with the same parent one
// resolution above theirs (H3 numbers a cell's children digit by digit, so
// such siblings are contiguous in the sorted children), under one bound:
// up to 7 of the 49. The search bounds a node's groups first and a group's
// children only when the group itself is reached, so that the many children
// of a dense node that can never make the top k are never bounded one by
// one.
type group struct {
	bound
	lo, hi int32 // the group is children[lo:hi]
}

// bound is what the search needs of a child before deciding to visit it,
// stored contiguously in the parent so that bounding 49 children reads one
// array instead of chasing 49 pointers. For a leaf it also holds the
// leaf's places (the same slice), so that the search never reads a leaf's
// node: one cache miss fewer per leaf visited. (float32 fields, 32 bytes
// to a bound, measured slower: the scan of bounds is bound by arithmetic,
// not memory.)
type bound struct {
	center    geo.Point
	capRad    float64
	maxStatic float64
	places    []place // the child's places when it is a leaf, else nil
}

// boundOf returns the bound of node k.
func boundOf(k *node) bound {
	return bound{center: k.center, capRad: k.capRad, maxStatic: k.maxStatic, places: k.places}
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
	gen     uint64 // numbers the index's snapshots, from 1 (see Generation)
}

// Generation numbers the snapshots of an index, increasing with each
// write, so that a cache of what was read from one snapshot can tell, with
// one comparison and without keeping the snapshot alive, whether it is
// still current.
func (s *Snapshot) Generation() uint64 { return s.gen }

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
	ix.cur.Store(&Snapshot{top: map[uint64]*node{}, weights: w, stats: Stats{BuiltAt: now()}, gen: 1})
	return ix
}

// Snapshot returns the current snapshot: one atomic load, never blocks.
func (ix *Index) Snapshot() *Snapshot { return ix.cur.Load() }

// Weights returns the weights items must be built with.
func (ix *Index) Weights() targeting.Weights { return ix.weights }

// Change replaces the item with the id (Item nil = remove it); ID is the
// key Item and later changes look the item up by. Leaves are
// Item.Leaves(), if the caller computed them (in parallel, say); nil = Apply
// computes them. An item built with its cells (NewItemWithCells) needs
// none: its own are used.
type Change struct {
	ID     string
	Item   *Item
	Leaves []uint64
}

// leafOfPlace returns the leaf the change puts place i of its item in.
func (c *Change) leafOfPlace(i int) uint64 {
	if len(c.Leaves) == len(c.Item.Places) && !c.Item.hasCells() {
		return c.Leaves[i]
	}
	return c.Item.leaf(i)
}

// placeRef is one place a batch adds to a leaf, or (del) one item whose
// places a batch takes out of a leaf.
type placeRef struct {
	leaf uint64
	item *Item
	idx  int32 // the place within item (adds only)
	del  bool
}

// Apply applies a batch of changes and publishes the next snapshot before it
// returns, so a caller that then answers its client has made the change
// visible to every later search. The cost is proportional to the places
// changed plus the nodes on their paths: the changes are sorted by cell and
// the three levels rebuilt in one ordered walk, with no per-place map.
func (ix *Index) Apply(changes []Change) {
	if len(changes) == 0 {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	base := ix.cur.Load()

	// Later changes of the same id win: sort by (hash, id), keep the last.
	order := make([]int32, len(changes))
	hashes := make([]uint64, len(changes))
	for i := range changes {
		order[i], hashes[i] = int32(i), idHash(changes[i].ID)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(hashes[a], hashes[b]); c != 0 {
			return c
		}
		if c := strings.Compare(changes[a].ID, changes[b].ID); c != 0 {
			return c
		}
		return cmp.Compare(a, b) // stable: the last change of an id last
	})
	last := order[:0]
	for k, i := range order {
		if k+1 < len(order) && changes[order[k+1]].ID == changes[i].ID {
			continue
		}
		last = append(last, i)
	}
	order = last

	// What the leaves lose (the replaced items) and gain (the new ones).
	st := base.stats
	n := 0
	for _, i := range order {
		if it := changes[i].Item; it != nil {
			n += len(it.Places)
		}
	}
	es := make([]idEntry[*Item], len(order))
	refs := make([]placeRef, 0, 2*n)
	for k, i := range order {
		c := &changes[i]
		es[k] = idEntry[*Item]{hash: hashes[i], key: c.ID, val: c.Item, del: c.Item == nil}
		if old, _ := base.items.getHashed(hashes[i], c.ID); old != nil {
			for p := range old.Places {
				refs = append(refs, placeRef{leaf: old.leaf(p), item: old, del: true})
			}
			st.MiniPrograms--
			st.Places -= len(old.Places)
		}
		if c.Item == nil {
			continue
		}
		st.MiniPrograms++
		st.Places += len(c.Item.Places)
		for p := range c.Item.Places {
			refs = append(refs, placeRef{leaf: c.leafOfPlace(p), item: c.Item, idx: int32(p)})
		}
	}
	// Sorting by cell makes every leaf's refs a run, and — since an H3
	// index orders cells by their digit path — every parent's too.
	refs = sortRefs(refs)

	next := &Snapshot{top: make(map[uint64]*node, len(base.top)+1), weights: ix.weights, gen: base.gen + 1}
	for c, n := range base.top {
		next.top[c] = n
	}
	var rb rebuilder
	for i := 0; i < len(refs); {
		top := geo.CellParent(refs[i].leaf, TopRes)
		j := i + 1
		for j < len(refs) && geo.CellParent(refs[j].leaf, TopRes) == top {
			j++
		}
		old := base.top[top]
		n := rb.inner(old, top, TopRes, refs[i:j], &st)
		switch {
		case n == nil && old != nil:
			delete(next.top, top)
			st.Tops--
		case n != nil:
			if old == nil {
				st.Tops++
			}
			next.top[top] = n
		}
		i = j
	}
	next.items = base.items.withSorted(es)
	st.BuiltAt = ix.now()
	next.stats = st
	ix.cur.Store(next)
}

// sortRefs returns refs sorted by leaf. Cells of one resolution share their
// top 12 bits (mode, resolution) and, at LeafRes, their low 18 (the unused
// digits, all 7): the 34 bits between order them, so each ref becomes one
// integer key — those bits above its index — and a sort of integers
// replaces a sort of structs through a comparison function, ~3 times
// faster. Refs that do not share those bits are sorted the slow way.
func sortRefs(refs []placeRef) []placeRef {
	const lowBits, idxBits = 18, 30 // the unused digits; bits of a ref's index
	if len(refs) == 0 || len(refs) >= 1<<idxBits {
		slices.SortFunc(refs, func(a, b placeRef) int { return cmp.Compare(a.leaf, b.leaf) })
		return refs
	}
	top, low := refs[0].leaf>>52, refs[0].leaf&(1<<lowBits-1)
	keys := make([]uint64, len(refs))
	for i, r := range refs {
		if r.leaf>>52 != top || r.leaf&(1<<lowBits-1) != low {
			slices.SortFunc(refs, func(a, b placeRef) int { return cmp.Compare(a.leaf, b.leaf) })
			return refs
		}
		keys[i] = r.leaf>>lowBits<<idxBits | uint64(i)
	}
	slices.Sort(keys)
	out := make([]placeRef, len(refs))
	for i, k := range keys {
		out[i] = refs[k&(1<<idxBits-1)]
	}
	return out
}

// rebuilder rebuilds the nodes on the paths to changed leaves, reusing its
// scratch space from leaf to leaf.
type rebuilder struct {
	adds []place
	dels []*Item
	gone map[*Item]bool
}

// inner returns the node of cell (at res: TopRes or MidRes) with refs — all
// under cell, sorted by leaf — applied to old (nil = none), or nil if it is
// left without children. It counts the mids and leaves made and emptied.
func (rb *rebuilder) inner(old *node, cell uint64, res int, refs []placeRef, st *Stats) *node {
	childRes := LeafRes
	if res == TopRes {
		childRes = MidRes
	}
	var base []*node
	if old != nil {
		base = old.children
	}
	kids := make([]*node, 0, len(base)+1)
	k := 0
	for i := 0; i < len(refs); {
		c := geo.CellParent(refs[i].leaf, childRes)
		j := i + 1
		for j < len(refs) && geo.CellParent(refs[j].leaf, childRes) == c {
			j++
		}
		for k < len(base) && base[k].cell < c {
			kids = append(kids, base[k])
			k++
		}
		var was *node
		if k < len(base) && base[k].cell == c {
			was = base[k]
			k++
		}
		var now *node
		if childRes == LeafRes {
			now = rb.leaf(was, c, refs[i:j])
		} else {
			now = rb.inner(was, c, childRes, refs[i:j], st)
		}
		d := 0
		if was != nil {
			d--
		}
		if now != nil {
			d++
			kids = append(kids, now)
		}
		if childRes == LeafRes {
			st.Leaves += d
		} else {
			st.Mids += d
		}
		i = j
	}
	kids = append(kids, base[k:]...)
	return newParent(cell, kids)
}

// leaf returns the leaf of cell with refs applied to old (nil = none), or
// nil if it is left empty. old's places are sorted already; the added ones
// are sorted and merged in.
func (rb *rebuilder) leaf(old *node, cell uint64, refs []placeRef) *node {
	rb.adds, rb.dels = rb.adds[:0], rb.dels[:0]
	for _, r := range refs {
		if r.del {
			rb.dels = append(rb.dels, r.item)
		} else {
			rb.adds = append(rb.adds, newPlace(r.item, int(r.idx)))
		}
	}
	slices.SortFunc(rb.adds, comparePlaces)
	if len(rb.dels) > 8 {
		if rb.gone == nil {
			rb.gone = make(map[*Item]bool)
		}
		clear(rb.gone)
		for _, it := range rb.dels {
			rb.gone[it] = true
		}
	}
	removed := func(it *Item) bool {
		switch {
		case len(rb.dels) == 0:
			return false
		case len(rb.dels) > 8:
			return rb.gone[it]
		}
		return slices.Contains(rb.dels, it)
	}
	var was []place
	if old != nil {
		was = old.places
	}
	ps := make([]place, 0, len(was)+len(rb.adds))
	a := rb.adds
	for i := range was {
		if removed(was[i].item) {
			continue
		}
		for len(a) > 0 && comparePlaces(a[0], was[i]) < 0 {
			ps = append(ps, a[0])
			a = a[1:]
		}
		ps = append(ps, was[i])
	}
	ps = append(ps, a...)
	return leafOf(cell, ps)
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

// comparePlaces orders a leaf's places: static score descending, then id,
// then place.
func comparePlaces(a, b place) int {
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
}

// newLeaf builds a leaf from its places (in any order); nil when there are
// none.
func newLeaf(cell uint64, ps []place) *node {
	slices.SortFunc(ps, comparePlaces)
	return leafOf(cell, ps)
}

// leafOf builds a leaf from its places sorted by comparePlaces; nil when
// there are none.
func leafOf(cell uint64, ps []place) *node {
	if len(ps) == 0 {
		return nil
	}
	n := &node{cell: cell, places: ps, count: len(ps), maxStatic: ps[0].static}
	var sum geo.Point
	for _, p := range ps {
		sum = sum.Add(p.pt)
	}
	n.center = centerOf(sum, ps[0].pt)
	// The farthest place bounds the cap: one arcsine per leaf, not per
	// place (the angle grows with the chord; capSlackRad covers rounding).
	far := 0.0
	for _, p := range ps {
		far = math.Max(far, n.center.Chord2(p.pt))
	}
	n.capRad = geo.ChordToRad(math.Sqrt(far)) + capSlackRad
	return n
}

// newParent builds an inner node over its children, which must be sorted by
// cell; nil when there are none.
func newParent(cell uint64, kids []*node) *node {
	if len(kids) == 0 {
		return nil
	}
	n := &node{cell: cell, children: kids}
	b := enclose(kids)
	n.center, n.capRad, n.maxStatic = b.center, b.capRad, b.maxStatic
	for _, k := range kids {
		n.count += k.count
	}
	n.bounds = make([]bound, len(kids))
	for i, k := range kids {
		n.bounds[i] = boundOf(k)
	}
	up := geo.CellResolution(kids[0].cell) - 1
	for lo := 0; lo < len(kids); {
		p := geo.CellParent(kids[lo].cell, up)
		hi := lo + 1
		for hi < len(kids) && geo.CellParent(kids[hi].cell, up) == p {
			hi++
		}
		n.groups = append(n.groups, group{bound: enclose(kids[lo:hi]), lo: int32(lo), hi: int32(hi)})
		lo = hi
	}
	return n
}

// enclose returns a bound of all the places under kids (not empty): the
// centre is the mean of theirs weighted by place counts, the cap reaches
// the farthest of their caps.
func enclose(kids []*node) bound {
	b := bound{maxStatic: math.Inf(-1)}
	var sum geo.Point
	for _, k := range kids {
		w := float64(k.count)
		sum = sum.Add(geo.Point{X: k.center.X * w, Y: k.center.Y * w, Z: k.center.Z * w})
		b.maxStatic = math.Max(b.maxStatic, k.maxStatic)
	}
	b.center = centerOf(sum, kids[0].center)
	for _, k := range kids {
		b.capRad = math.Max(b.capRad, geo.ChordToRad(math.Sqrt(b.center.Chord2(k.center)))+k.capRad)
	}
	b.capRad += capSlackRad
	return b
}

// centerOf normalises a sum of unit vectors; if they cancel out (antipodal
// places), any member is a valid centre since the cap is computed from it.
func centerOf(sum, fallback geo.Point) geo.Point {
	if sum.X*sum.X+sum.Y*sum.Y+sum.Z*sum.Z < 1e-24 {
		return fallback
	}
	return sum.Normalize()
}
