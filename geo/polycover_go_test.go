package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

// crossCheck classifies every cell with goRegion's path and with the C's
// boundary alone, and records what they say.
type crossCheck struct {
	t                      *testing.T
	goCl, cCl              *polyClassifier
	cells, decided, region int
	contradictions         int
}

func (x *crossCheck) startLevel(res int) { x.goCl.startLevel(res); x.cCl.startLevel(res) }

func (x *crossCheck) classify(c h3.Cell, res int, ctx any) (CellState, any) {
	x.cells++
	parent, _ := ctx.(*edgeList)
	if parent == nil {
		parent = x.goCl.all
	}
	reg, ok := x.goCl.goRegion(c, res, parent)
	if ok {
		if reg.kind == regionDecided {
			x.decided++
		} else {
			x.region++
			// The Go box is the C's to well within the margin.
			cr := cellRegion(c, x.cCl.north, x.cCl.south)
			if cr.kind != reg.kind || (reg.kind == regionBox && !sameBox(cr.b, reg.b, 1e-10)) {
				x.contradictions++
				x.t.Errorf("cell %x: Go region %+v, C region %+v", uint64(c), reg, cr)
			}
		}
	}
	gst, gctx := x.goCl.classify(c, res, ctx)
	cst, _ := x.cCl.classify(c, res, ctx)
	// Either may be conservative (Boundary), never the opposite decision.
	if (gst == Interior && cst == Outside) || (gst == Outside && cst == Interior) {
		x.contradictions++
		x.t.Errorf("cell %x: Go says %v, C says %v", uint64(c), gst, cst)
	}
	return gst, gctx
}

func sameBox(a, b box, tol float64) bool {
	return math.Abs(a.minX-b.minX) <= tol && math.Abs(a.maxX-b.maxX) <= tol &&
		math.Abs(a.minY-b.minY) <= tol && math.Abs(a.maxY-b.maxY) <= tol
}

// TestPolygonGoRegion covers random polygons (concave, with holes, across
// the antimeridian, near the poles, around a pentagon) classifying every
// cell both ways: goRegion's cap boxes and Go vertices never contradict
// the C's boundary, and its boxes are the C's to 1e-10°.
func TestPolygonGoRegion(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	pent := h3.Res0Cells()
	var pentagons []LatLngDeg
	for _, c := range pent {
		if c.IsPentagon() {
			ll := c.LatLng()
			pentagons = append(pentagons, LatLngDeg{ll.Lat, ll.Lng})
		}
	}
	x := &crossCheck{t: t}
	shapes := 0
	for i := range 80 {
		lat, lng := rng.Float64()*140-70, rng.Float64()*360-180
		switch i % 5 {
		case 1:
			lng = 179.9 + rng.Float64()*0.2
		case 2:
			lat = 80 + rng.Float64()*9.9
			if rng.IntN(2) == 0 {
				lat = -lat
			}
		case 3:
			p := pentagons[rng.IntN(len(pentagons))]
			lat, lng = p.Lat+(rng.Float64()-0.5)*0.01, p.Lng+(rng.Float64()-0.5)*0.01
		}
		rMax := []float64{200, 5000, 40000}[i%3]
		outer := randomStar(rng, lat, lng, rMax*0.3, rMax, 3+rng.IntN(30))
		var hs [][]LatLngDeg
		if i%2 == 0 {
			hs = append(hs, randomStar(rng, lat, lng, rMax*0.05, rMax*0.2, 3+rng.IntN(8)))
		}
		p, ps := NewPolygon(outer, hs...)
		if len(ps) > 0 {
			continue
		}
		shapes++
		pp := p.prepared()
		x.goCl, x.cCl = newPolyClassifier(pp), newPolyClassifier(pp)
		x.cCl.cOnly = true
		pol := CoverPolicy{}.withDefaults()
		center, rho := pp.boundingCap()
		r0, seeds := seedCells(x, center, rho, pol.ResolutionFor(p.PerimeterM()))
		if _, err := coverTopDown(x, seeds, r0, pol.ResolutionFor(p.PerimeterM()), pol.MaxCells); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d polygons, %d cells: %d decided by the cap box, %d boxed from Go vertices, %d contradictions", shapes, x.cells, x.decided, x.region, x.contradictions)
	if shapes < 60 || x.decided < x.cells/3 || x.region < x.cells/10 {
		t.Fatalf("the Go paths were not exercised")
	}
}
