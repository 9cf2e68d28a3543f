package reach

import (
	"math"

	"github.com/aroundme/aroundme/geo"
	h3 "github.com/uber/h3-go/v4"
)

// Estimate returns the estimated number of requests inside a geofence over
// the window, given the geofence's covering (EstimateReach's
// recent_requests). It assumes requests spread evenly within a
// resolution-7 cell: each cell counted is weighted by the share of it the
// fence covers, and the shares are estimated from the covering alone (no
// exact geometry), so the figure is an estimate, not a count.
//
// For each include shape, a covering cell adds to the share of its
// resolution-7 cell:
//   - finer than 7: its area over the area of its resolution-7 ancestor
//     (geo.CellParent), in full if Interior, half if Boundary (about half of
//     a boundary cell is inside, on average);
//   - resolution 7: 1 if Interior, ½ if Boundary;
//   - coarser than 7: each of its resolution-7 descendants in the H3
//     hierarchy gets 1 if Interior, ½ if Boundary.
//
// A covering's cells overlap (geo.Covering: a coarse Interior cell and
// finer cells refined from a Boundary neighbour that lie within it, since H3
// children overhang their parent), and summing them would count the overlap
// twice: a 3 km circle's covering adds up to ~40% more than its area. So a
// covering cell whose centre lies in a coarser cell of the same covering is
// left out (the coarser cell, Interior, already counts that ground), as
// geo.Geofence.AreaKm2 does; and a shape's share of a cell is capped at 1. Overlapping include shapes are not added up: a cell
// takes the largest share any shape gives it, so a cell covered by two
// shapes is not counted twice (which undercounts a cell that two shapes
// each cover only partly, in different parts). Exclude areas are ignored:
// carving them out would need exact geometry, and an estimate for
// advertisers errs better on the side of the area they drew. The result is
// Σ share × Recent(cell), rounded.
func (c *Counter) Estimate(cov geo.GeofenceCovering) int64 {
	today := c.today()
	best := make(map[uint64]float64)
	var areas map[uint64]float64 // resolution-7 cell → km², shared by the shapes
	area := func(cell uint64) float64 {
		if areas == nil {
			areas = make(map[uint64]float64)
		}
		a, ok := areas[cell]
		if !ok {
			a = h3.CellAreaKm2(h3.Cell(int64(cell)))
			areas[cell] = a
		}
		return a
	}
	for _, sc := range cov.Include {
		if sc == nil {
			continue
		}
		share := make(map[uint64]float64)
		var coarse []geo.CoverCell
		owned := ownedByCoarser(sc)
		for _, cc := range sc.Cells {
			if owned(cc) {
				continue
			}
			w := 0.5
			if cc.Interior {
				w = 1
			}
			switch {
			case cc.Res == Res:
				share[cc.Cell] += w
			case cc.Res > Res:
				p := geo.CellParent(cc.Cell, Res)
				share[p] += w * h3.CellAreaKm2(h3.Cell(int64(cc.Cell))) / area(p)
			default:
				coarse = append(coarse, cc)
			}
		}
		c.addCoarse(share, coarse, descendantsOf(coarse) > int64(c.Cells()))
		for cell, s := range share {
			best[cell] = max(best[cell], min(s, 1))
		}
	}
	var sum float64
	for cell, s := range best {
		if n := c.recent(cell, today); n > 0 {
			sum += s * float64(n)
		}
	}
	return int64(math.Round(sum))
}

// descendantsOf is how many resolution-7 descendants the coarse cells have
// (7 per resolution step, a little fewer under pentagons).
func descendantsOf(coarse []geo.CoverCell) int64 {
	var n int64
	for _, cc := range coarse {
		n += int64(math.Pow(7, float64(Res-cc.Res)))
	}
	return n
}

// addCoarse credits the resolution-7 descendants of coarse covering cells.
// Both ways give the same shares for every cell with a count (a cell
// without one adds nothing to Estimate): listing the descendants (cheap
// for a few coarse cells) or, viaCounter, testing the ancestors of every
// cell the counter holds (cheap when a country-sized fence has millions of
// descendants but the counter holds fewer cells).
func (c *Counter) addCoarse(share map[uint64]float64, coarse []geo.CoverCell, viaCounter bool) {
	if len(coarse) == 0 {
		return
	}
	weight := func(cc geo.CoverCell) float64 {
		if cc.Interior {
			return 1
		}
		return 0.5
	}
	if !viaCounter {
		for _, cc := range coarse {
			w := weight(cc)
			for _, ch := range h3.Cell(int64(cc.Cell)).Children(Res) {
				share[uint64(ch)] += w
			}
		}
		return
	}
	byRes := make(map[int]map[uint64]float64)
	for _, cc := range coarse {
		m := byRes[cc.Res]
		if m == nil {
			m = make(map[uint64]float64)
			byRes[cc.Res] = m
		}
		m[cc.Cell] += weight(cc)
	}
	c.cells.Range(func(k, _ any) bool {
		cell := k.(uint64)
		for r, m := range byRes {
			if w, ok := m[geo.CellParent(cell, r)]; ok {
				share[cell] += w
			}
		}
		return true
	})
}

// ownedByCoarser returns a test of whether a covering cell's centre lies
// in a coarser cell of the same covering (geographic membership, as
// geo.Covering defines it).
func ownedByCoarser(cov *geo.Covering) func(geo.CoverCell) bool {
	res := cov.Resolutions()
	if len(res) < 2 {
		return func(geo.CoverCell) bool { return false }
	}
	byRes := make(map[int]map[uint64]struct{}, len(res))
	for _, cc := range cov.Cells {
		m := byRes[cc.Res]
		if m == nil {
			m = make(map[uint64]struct{})
			byRes[cc.Res] = m
		}
		m[cc.Cell] = struct{}{}
	}
	return func(cc geo.CoverCell) bool {
		if cc.Res == res[0] {
			return false
		}
		ll := h3.Cell(int64(cc.Cell)).LatLng()
		for _, r := range res {
			if r >= cc.Res {
				break
			}
			if _, ok := byRes[r][geo.CellOf(ll.Lat, ll.Lng, r)]; ok {
				return true
			}
		}
		return false
	}
}
