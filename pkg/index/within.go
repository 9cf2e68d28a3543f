package index

import (
	"math"

	"github.com/aroundme/aroundme/geo"
	h3 "github.com/uber/h3-go/v4"
)

// CountInside returns how many visible mini-programs have at least one place
// inside geofence g (exact test), gc being g's covering: EstimateReach's
// "mini-programs inside". It is an advertiser's planning call, not the hot
// path: each include area is bounded by a cap built from its covering's
// cells, the hierarchy is walked down to the leaves that cap touches, and
// every place there is tested exactly.
func (s *Snapshot) CountInside(g geo.Geofence, gc geo.GeofenceCovering) int {
	seen := map[*Item]struct{}{}
	for _, c := range gc.Include {
		center, rad, ok := coveringCap(c)
		if !ok {
			continue
		}
		var walk func(n *node)
		walk = func(n *node) {
			if capAngle(center, n.center) > rad+n.capRad+capSlackRad {
				return
			}
			for i := range n.places {
				p := &n.places[i]
				if _, dup := seen[p.item]; dup || capAngle(center, p.pt) > rad+capSlackRad {
					continue
				}
				if g.ContainsDeg(p.item.Places[p.idx].LatLng()) {
					seen[p.item] = struct{}{}
				}
			}
			for _, ch := range n.children {
				walk(ch)
			}
		}
		for _, top := range s.top {
			walk(top)
		}
	}
	return len(seen)
}

// coveringCap returns a spherical cap (centre, angular radius) containing
// every cell of c: the cells' centres bound it, padded by twice the average
// edge of each cell's resolution (a hexagon's circumradius is its edge; the
// factor covers H3's distortion and its pentagons).
func coveringCap(c *geo.Covering) (center geo.Point, rad float64, ok bool) {
	if c == nil || len(c.Cells) == 0 {
		return geo.Point{}, 0, false
	}
	centres := make([]geo.Point, len(c.Cells))
	var sum geo.Point
	for i, cc := range c.Cells {
		ll := h3.Cell(int64(cc.Cell)).LatLng()
		centres[i] = geo.PointFromDeg(ll.Lat, ll.Lng)
		sum = sum.Add(centres[i])
	}
	center = sum.Normalize()
	if center == (geo.Point{}) { // antipodal cells cancel: take any cell
		center = centres[0]
	}
	for i, cc := range c.Cells {
		r := capAngle(center, centres[i]) + geo.MetersToRad(2*h3.HexagonEdgeLengthAvgM(cc.Res))
		rad = math.Max(rad, r)
	}
	return center, math.Min(rad, math.Pi), true
}

// capAngle is the angle between unit vectors, in radians.
func capAngle(a, b geo.Point) float64 { return geo.ChordToRad(math.Sqrt(a.Chord2(b))) }
