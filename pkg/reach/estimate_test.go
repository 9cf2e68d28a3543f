package reach

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aroundme/aroundme/geo"
	h3 "github.com/uber/h3-go/v4"
)

func cover(cells ...geo.CoverCell) *geo.Covering { return &geo.Covering{Cells: cells} }

func cc(cell uint64, interior bool) geo.CoverCell {
	return geo.CoverCell{Cell: cell, Res: geo.CellResolution(cell), Interior: interior}
}

func TestEstimateShares(t *testing.T) {
	clk := newClock(day0)
	c := New(clk.now)
	today := DayOf(day0)
	a := testCells(t, 1)[0]
	parent := uint64(h3.Cell(int64(a)).Parent(6))
	var siblings []uint64
	for _, ch := range h3.Cell(int64(parent)).Children(Res) {
		if uint64(ch) != a {
			siblings = append(siblings, uint64(ch))
		}
	}
	outside := uint64(h3.Cell(int64(parent)).GridDisk(1)[1].Children(Res)[0]) // a cell of a neighbouring res-6 cell
	c.Restore([]Entry{{a, today, 49000}, {siblings[0], today, 1000}, {siblings[1], today - 3, 500}, {outside, today, 7777}})
	c9 := uint64(h3.Cell(int64(a)).CenterChild(9))
	ratio := h3.CellAreaKm2(h3.Cell(int64(c9))) / h3.CellAreaKm2(h3.Cell(int64(a)))
	var fine []geo.CoverCell // a's 49 res-9 descendants, Interior, each twice: shares add up to ~2
	for _, ch := range h3.Cell(int64(a)).Children(9) {
		fine = append(fine, cc(uint64(ch), true), cc(uint64(ch), true))
	}
	tests := []struct {
		name string
		cov  geo.GeofenceCovering
		want int64
	}{
		{"nothing", geo.GeofenceCovering{}, 0},
		{"res 7 interior counts fully", geo.GeofenceCovering{Include: []*geo.Covering{cover(cc(a, true))}}, 49000},
		{"res 7 boundary counts half", geo.GeofenceCovering{Include: []*geo.Covering{cover(cc(a, false))}}, 24500},
		{"finer: its area share", geo.GeofenceCovering{Include: []*geo.Covering{cover(cc(c9, true))}}, int64(math.Round(49000 * ratio))},
		{"finer boundary: half its area share", geo.GeofenceCovering{Include: []*geo.Covering{cover(cc(c9, false))}}, int64(math.Round(49000 * ratio / 2))},
		{"a shape's share is capped at 1", geo.GeofenceCovering{Include: []*geo.Covering{cover(fine...)}}, 49000},
		{"finer cells inside a coarser one are left out", geo.GeofenceCovering{Include: []*geo.Covering{cover(append([]geo.CoverCell{cc(parent, true)}, fine...)...)}}, 49000 + 1000 + 500},
		{"overlapping shapes are not added", geo.GeofenceCovering{Include: []*geo.Covering{cover(cc(a, true)), cover(cc(a, true))}}, 49000},
		{"overlapping shapes: the largest share", geo.GeofenceCovering{Include: []*geo.Covering{cover(cc(a, false)), cover(cc(a, true)), cover(cc(c9, true))}}, 49000},
		{"coarser interior: every descendant in full", geo.GeofenceCovering{Include: []*geo.Covering{cover(cc(parent, true))}}, 49000 + 1000 + 500},
		{"coarser boundary: half of each", geo.GeofenceCovering{Include: []*geo.Covering{cover(cc(parent, false))}}, (49000 + 1000 + 500) / 2},
		{"excludes are ignored", geo.GeofenceCovering{Include: []*geo.Covering{cover(cc(a, true))}, Exclude: []*geo.Covering{cover(cc(a, true))}}, 49000},
		{"a nil covering is skipped", geo.GeofenceCovering{Include: []*geo.Covering{nil, cover(cc(outside, true))}}, 7777},
	}
	for _, tc := range tests {
		if got := c.Estimate(tc.cov); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestCoarseBothWays: crediting coarse cells by listing their descendants
// and by testing the ancestors of the counter's cells give the same shares
// to every cell with a count.
func TestCoarseBothWays(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	c := New(newClock(day0).now)
	today := DayOf(day0)
	cells := testCells(t, 400)
	for _, cell := range cells {
		c.Restore([]Entry{{cell, today, 1}})
	}
	for range 50 {
		var coarse []geo.CoverCell
		for range 1 + rng.IntN(4) {
			r := 4 + rng.IntN(3)
			coarse = append(coarse, geo.CoverCell{Cell: uint64(h3.Cell(int64(cells[rng.IntN(len(cells))])).Parent(r)), Res: r, Interior: rng.IntN(2) == 0})
		}
		listed, viaCounter := map[uint64]float64{}, map[uint64]float64{}
		c.addCoarse(listed, coarse, false)
		c.addCoarse(viaCounter, coarse, true)
		for _, cell := range cells {
			if listed[cell] != viaCounter[cell] {
				t.Fatalf("cell %x: %v listed, %v via the counter (coarse %+v)", cell, listed[cell], viaCounter[cell], coarse)
			}
		}
		if len(viaCounter) > len(cells) {
			t.Fatal("via the counter credited cells it does not hold")
		}
	}
}

// TestEstimateCircle: requests spread uniformly over a box; the estimate
// for a circle well inside it, from the circle's real covering, is close to
// the number of requests that fell inside the circle. (Without leaving out
// the covering cells that lie in coarser ones it was 12% over.)
func TestEstimateCircle(t *testing.T) {
	const lat0, lng0, radiusM, half = 31.2304, 121.4737, 3000.0, 0.08 // box ±0.08°: ≥ 5 km around the circle
	rng := rand.New(rand.NewPCG(17, 17))
	c := New(newClock(day0).now)
	circle := geo.Circle{Center: geo.LatLngDeg{Lat: lat0, Lng: lng0}, RadiusM: radiusM}
	inside := 0
	const n = 200000
	for range n {
		lat, lng := lat0+(2*rng.Float64()-1)*half, lng0+(2*rng.Float64()-1)*half
		c.Observe(geo.CellOf(lat, lng, Res))
		if circle.ContainsDeg(lat, lng) {
			inside++
		}
	}
	cov, err := geo.Geofence{Include: []geo.Shape{circle}}.Cover(geo.CoverPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	est := c.Estimate(cov)
	relErr := float64(est-int64(inside)) / float64(inside)
	t.Logf("%d requests inside, estimate %d (%+.2f%%), covering of %d cells", inside, est, 100*relErr, cov.CellCount())
	if math.Abs(relErr) > 0.05 {
		t.Fatalf("estimate %d is %.1f%% off the %d requests inside", est, 100*relErr, inside)
	}
	// Two copies of the same circle count once.
	twice := geo.GeofenceCovering{Include: append(cov.Include, cov.Include...)}
	if got := c.Estimate(twice); got != est {
		t.Fatalf("the same circle twice: %d, once: %d", got, est)
	}
}

func BenchmarkEstimate(b *testing.B) {
	c := New(newClock(day0).now)
	for _, cell := range testCells(b, 2000) {
		c.Observe(cell)
	}
	circle := geo.Circle{Center: geo.LatLngDeg{Lat: 31.2304, Lng: 121.4737}, RadiusM: 5000}
	cov, err := geo.Geofence{Include: []geo.Shape{circle}}.Cover(geo.CoverPolicy{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		c.Estimate(cov)
	}
}
