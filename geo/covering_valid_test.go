package geo

import (
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

// TestCoveringCellsValid: every cell of a covering is a valid H3 cell, also
// near the pole, where GridDisk meets pentagons.
func TestCoveringCellsValid(t *testing.T) {
	p, probs := NewPolygon([]LatLngDeg{{84, 10}, {84.5, 60}, {86, 40}, {85.5, 20}})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	c, err := p.Cover(CoverPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	var ex []uint64
	for _, cc := range c.Cells {
		if !ValidCell(cc.Cell) {
			bad++
			if len(ex) < 5 {
				ex = append(ex, cc.Cell)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d covering cells are not valid H3 cells, e.g. %x", bad, len(c.Cells), ex)
	}
}

// TestCoarseCoveringCellsValid: with a coarse CoverPolicy.MaxRes the
// covering's resolution is the seed disk's, whose GridDisk near a pentagon
// has empty slots; none may reach the covering (an empty slot read as base
// cell 0 once made a 20 km circle on Greenland's coast keep "cell 0").
func TestCoarseCoveringCellsValid(t *testing.T) {
	var centres []LatLngDeg
	for _, p := range h3.Pentagons(0) {
		ll := p.LatLng()
		for _, d := range []float64{0, 0.5, 2, 5} {
			centres = append(centres, LatLngDeg{max(-90, min(90, ll.Lat+d)), ll.Lng}, LatLngDeg{max(-90, min(90, ll.Lat-d)), ll.Lng})
		}
	}
	centres = append(centres, LatLngDeg{81.2876, -34.4003}) // the fuzzer's case
	n := 0
	for _, ctr := range centres {
		for _, r := range []float64{2000, 20000, 50000} {
			for maxRes := 1; maxRes <= 4; maxRes++ {
				c := Circle{Center: ctr, RadiusM: r}
				for _, exactOnly := range []bool{false, true} { // Cover, and the exact code alone
					cv, err := c.cover(CoverPolicy{MaxRes: maxRes}, exactOnly)
					if err != nil {
						t.Fatalf("%+v, MaxRes %d: %v", c, maxRes, err)
					}
					for _, cc := range cv.Cells {
						n++
						if !ValidCell(cc.Cell) {
							t.Fatalf("%+v, MaxRes %d, exact only %v: covering cell %#x is not a valid H3 cell", c, maxRes, exactOnly, cc.Cell)
						}
					}
				}
			}
		}
	}
	t.Logf("%d cells, all valid", n)
}
