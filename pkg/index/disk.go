package index

import (
	"sync/atomic"

	h3 "github.com/uber/h3-go/v4"
)

// diskBits sizes the disk cache: 2^diskBits slots. Queries come from the
// cities where the users are, a few hundred top-level cells; the rest of
// the slots absorb collisions. The largest disk a query can ask for
// (MaxRadiusM) has ~400 cells, so the cache holds at most ~13 MB.
const diskBits = 12

// disk is a grid disk, without the empty slots H3 leaves near pentagons.
type disk struct {
	origin uint64
	k      int
	cells  []uint64
}

// diskCache memoises the grid disks Search starts from: H3's GridDisk is a
// cgo call (~0.5 µs) and two allocations per query, while a few hundred
// top-level cells serve nearly every query. It is direct-mapped and
// lock-free: a slot holds the last disk stored in it, readers load it
// atomically and share its cells, which no one modifies; a miss computes the
// disk and replaces the slot. The geometry never changes, so entries never
// go stale.
type diskCache struct {
	slots [1 << diskBits]atomic.Pointer[disk]
}

// topDisks is shared by every index: H3 disks do not depend on the data.
var topDisks diskCache

// get returns the cells within k steps of origin (origin included). The
// slice is shared: callers must not modify it.
func (c *diskCache) get(origin uint64, k int) []uint64 {
	slot := &c.slots[((origin^uint64(k))*0x9E3779B97F4A7C15)>>(64-diskBits)]
	if d := slot.Load(); d != nil && d.origin == origin && d.k == k {
		return d.cells
	}
	raw := h3.GridDisk(h3.Cell(origin), k)
	cells := make([]uint64, 0, len(raw))
	for _, c := range raw {
		if c != 0 {
			cells = append(cells, uint64(c))
		}
	}
	slot.Store(&disk{origin: origin, k: k, cells: cells})
	return cells
}
