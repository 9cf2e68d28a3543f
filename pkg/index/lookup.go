package index

import (
	"math"

	"github.com/aroundme/aroundme/geo"
)

// Item returns the visible item with the id, or nil if there is none
// (never written, deleted, or hidden): what a sponsored result shows of a
// promoted mini-program, wherever its places are. It reads the current
// snapshot — one atomic load and a binary search in one shard, no lock —
// so a change is seen as soon as the Apply or Load that made it returns.
func (ix *Index) Item(id string) *Item { return ix.Snapshot().Item(id) }

// Item returns the visible item with the id in this snapshot, or nil: use
// it to read an item consistent with a Search of the same snapshot.
func (s *Snapshot) Item(id string) *Item {
	it, _ := s.items.get(id)
	return it
}

// NearestPlace returns the item's place nearest to the position (an index
// into Places) and its great-circle distance in metres, from the unit
// vectors stored with the places (no cgo). It returns (-1, +Inf) for an
// item without places. Undefined for invalid positions; ties go to the
// lower index.
func (it *Item) NearestPlace(latDeg, lngDeg float64) (place int, distanceM float64) {
	if len(it.Places) == 0 {
		return -1, math.Inf(1)
	}
	u := geo.PointFromDeg(latDeg, lngDeg)
	best, bestC2 := 0, math.Inf(1)
	for i := range it.Places {
		if c2 := u.Chord2(it.Places[i].Pt); c2 < bestC2 {
			best, bestC2 = i, c2
		}
	}
	return best, geo.RadToMeters(geo.ChordToRad(math.Sqrt(bestC2)))
}
