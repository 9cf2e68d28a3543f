package geo

import "testing"

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
