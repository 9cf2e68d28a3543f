package index

import (
	"slices"
	"sync"

	"github.com/aroundme/aroundme/geo"
)

// Load builds the index from scratch from a whole catalog (ids unique), as
// at start-up. It is Apply's result, reached by sorting instead of by maps:
// a million items build in about a second instead of several. On an index
// that is not empty it simply calls Apply.
//
// It uses two cores: the id table is built while the places are sorted, and
// the hierarchy is built in two halves split between top cells (a start-up
// has nothing else to do with the second core).
func (ix *Index) Load(changes []Change) {
	ix.mu.Lock()
	if ix.cur.Load().items.len() > 0 {
		ix.mu.Unlock()
		ix.Apply(changes)
		return
	}
	defer ix.mu.Unlock()

	n := 0
	for _, c := range changes {
		if c.Item != nil {
			n += len(c.Item.Places)
		}
	}
	refs := make([]loadRef, 0, n)
	cells := make([]uint64, 0, n) // cells[i] is refs[i]'s leaf
	ids, items := make([]string, 0, len(changes)), make([]*Item, 0, len(changes))
	for i := range changes {
		c := &changes[i]
		if c.Item == nil {
			continue
		}
		for j := range c.Item.Places {
			refs = append(refs, loadRef{item: c.Item, pl: int32(j)})
			cells = append(cells, c.leafOfPlace(j))
		}
		ids, items = append(ids, c.ID), append(items, c.Item)
	}
	table := make(chan idTable[*Item], 1)
	go func() { table <- newIDTable(ids, items) }()

	// Sorting by cell makes every leaf a run, and — since an H3 index orders
	// cells by their digit path — every parent's children a run too.
	order := sortCells(cells)
	split := len(cells) / 2
	for split > 0 && split < len(cells) && geo.CellParent(cells[split], TopRes) == geo.CellParent(cells[split-1], TopRes) {
		split++
	}
	places := make([]place, len(cells)) // one backing array for every leaf
	top := make(map[uint64]*node)
	var other map[uint64]*node
	var st, ost Stats
	var wg sync.WaitGroup
	wg.Go(func() { other, ost = buildTops(cells[split:], order[split:], refs, places[split:]) })
	top, st = buildTops(cells[:split], order[:split], refs, places[:split])
	wg.Wait()
	for c, nd := range other {
		top[c] = nd
	}
	st.Leaves, st.Mids, st.Tops = st.Leaves+ost.Leaves, st.Mids+ost.Mids, st.Tops+ost.Tops
	st.MiniPrograms, st.Places, st.BuiltAt = len(items), n, ix.now()
	ix.cur.Store(&Snapshot{top: top, items: <-table, weights: ix.weights, stats: st, gen: ix.cur.Load().gen + 1})
}

// loadRef is a place Load puts in a leaf.
type loadRef struct {
	item *Item
	pl   int32 // the place within item
}

// buildTops builds the top nodes of places sorted by cell: cells[k] is the
// leaf of refs[order[k]], which becomes places[k]. The runs of cells
// must not share a top cell with places outside them. It counts the
// leaves, mids and tops it makes.
func buildTops(cells []uint64, order []int32, refs []loadRef, places []place) (map[uint64]*node, Stats) {
	var st Stats
	top := make(map[uint64]*node)
	var mids, leaves []*node
	flushMid := func() {
		if len(leaves) > 0 {
			mids = append(mids, newParent(geo.CellParent(leaves[0].cell, MidRes), leaves))
			st.Mids++
			leaves = nil
		}
	}
	flushTop := func() {
		flushMid()
		if len(mids) > 0 {
			c := geo.CellParent(mids[0].cell, TopRes)
			top[c] = newParent(c, mids)
			st.Tops++
			mids = nil
		}
	}
	for i := 0; i < len(cells); {
		j := i
		for j < len(cells) && cells[j] == cells[i] {
			j++
		}
		cell := cells[i]
		if len(leaves) > 0 && geo.CellParent(leaves[0].cell, MidRes) != geo.CellParent(cell, MidRes) {
			if geo.CellParent(leaves[0].cell, TopRes) != geo.CellParent(cell, TopRes) {
				flushTop()
			} else {
				flushMid()
			}
		}
		for k := i; k < j; k++ {
			r := refs[order[k]]
			places[k] = newPlace(r.item, int(r.pl))
		}
		leaves = append(leaves, newLeaf(cell, places[i:j:j]))
		st.Leaves++
		i = j
	}
	flushTop()
	return top, st
}

// sortCells sorts cells in place and returns, for each position, the index
// the cell had before. Cells of one resolution share their top 12 bits
// (mode, resolution) and, at LeafRes, their low 18 (the unused digits, all
// 7): the 34 bits between order them, so each cell and its index become
// one integer and a sort of integers replaces a sort of structs through a
// comparison function (as sortRefs). Cells that do not share those bits
// are sorted the slow way.
func sortCells(cells []uint64) []int32 {
	const lowBits, idxBits = 18, 30
	order := make([]int32, len(cells))
	for i := range order {
		order[i] = int32(i)
	}
	if len(cells) == 0 {
		return order
	}
	head, low := cells[0]>>52, cells[0]&(1<<lowBits-1)
	fast := len(cells) < 1<<idxBits
	for _, c := range cells {
		if c>>52 != head || c&(1<<lowBits-1) != low {
			fast = false
			break
		}
	}
	if !fast {
		slices.SortStableFunc(order, func(a, b int32) int {
			switch {
			case cells[a] < cells[b]:
				return -1
			case cells[a] > cells[b]:
				return 1
			}
			return 0
		})
		sorted := make([]uint64, len(cells))
		for i, o := range order {
			sorted[i] = cells[o]
		}
		copy(cells, sorted)
		return order
	}
	keys := make([]uint64, len(cells))
	for i, c := range cells {
		keys[i] = c>>lowBits<<idxBits | uint64(i)
	}
	slices.Sort(keys)
	for i, k := range keys {
		order[i] = int32(k & (1<<idxBits - 1))
		cells[i] = head<<52 | (k>>idxBits)<<lowBits | low
	}
	return order
}
