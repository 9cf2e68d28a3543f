package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

// circleCase is one circle of the equivalence test and the policy to
// cover it with.
type circleCase struct {
	c   Circle
	pol CoverPolicy
	why string
}

// circleGoTally counts, over the cells classified while covering, how
// classifyGo decided them: by the centre bound, by its own vertices, or
// not (left to the exact code).
type circleGoTally struct {
	cells, bound, vertices, exact int
	polar, circles, coverCells    int
}

// tallyClassifier runs classifyGo and classifyExact on every cell the
// covering classifies and fails on any cell where classifyGo decides
// differently from the exact code; it then answers as Cover does.
type tallyClassifier struct {
	cl *circleClassifier
	t  *testing.T
	tl *circleGoTally
	cc circleCase
}

func (tc *tallyClassifier) startLevel(res int) { tc.cl.startLevel(res) }

func (tc *tallyClassifier) classify(c h3.Cell, res int, ctx any) (CellState, any) {
	tc.t.Helper()
	want := tc.cl.classifyExact(c)
	tc.tl.cells++
	got, ok := tc.cl.classifyGo(c, res)
	if !ok {
		tc.tl.exact++
		if p := cellCenterPoint(uint64(c)); math.Abs(p.Z) > tc.cl.level.polarZ {
			tc.tl.polar++
		}
		return want, nil
	}
	p, face := cellCenterFace(uint64(c))
	if _, byBound := tc.cl.byBound(c, res, p, face); byBound {
		tc.tl.bound++
	} else {
		tc.tl.vertices++
	}
	if got != want {
		tc.t.Fatalf("%s %+v: cell %#x (res %d): classifyGo says %v, the exact code %v",
			tc.cc.why, tc.cc.c, uint64(c), res, got, want)
	}
	return want, nil
}

// checkCircleGo covers the circle with and without classifyGo and requires
// the same covering, cell by cell (same cells in the same order, same
// resolutions, same Interior flags), and the same decision on every cell
// classified along the way.
func checkCircleGo(t *testing.T, cc circleCase, tl *circleGoTally) {
	t.Helper()
	got, err1 := cc.c.cover(cc.pol, false)
	want, err2 := cc.c.cover(cc.pol, true)
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("%s %+v: errors %v and %v (exact)", cc.why, cc.c, err1, err2)
	}
	if err1 != nil {
		return
	}
	if len(got.Cells) != len(want.Cells) {
		t.Fatalf("%s %+v: %d cells, %d without classifyGo", cc.why, cc.c, len(got.Cells), len(want.Cells))
	}
	for i := range got.Cells {
		if got.Cells[i] != want.Cells[i] {
			t.Fatalf("%s %+v: cell %d is %+v, %+v without classifyGo", cc.why, cc.c, i, got.Cells[i], want.Cells[i])
		}
	}
	tl.circles++
	tl.coverCells += len(got.Cells)

	// Every cell on the way, not only those kept: the same decisions.
	pol := cc.pol.withDefaults()
	res := pol.ResolutionFor(cc.c.PerimeterM())
	cl := newCircleClassifier(cc.c, false)
	tc := &tallyClassifier{cl: cl, t: t, tl: tl, cc: cc}
	r0, seeds := seedCells(tc, cl.center, cl.rho, res)
	if _, err := coverTopDown(tc, seeds, r0, res, pol.MaxCells); err != nil {
		t.Fatalf("%s %+v: %v", cc.why, cc.c, err)
	}
}

// circleGoCases returns n random circles of every kind the classifier has
// a special case for: radii 10 m – 50 km (log-uniform) anywhere; near both
// poles and on them; across the antimeridian; centred on pentagons and a
// few cells from them; on and next to icosahedron face edges (Class III
// cells straddling an edge, overages); at face centres; a few with the
// finest resolutions (MaxRes 15, where arcDistance's allowance is
// largest) and a few far larger than the API allows.
func circleGoCases(t *testing.T, n int) []circleCase {
	rng := rand.New(rand.NewPCG(21, 22))
	radius := func() float64 { return MinCircleRadiusM * math.Pow(MaxCircleRadiusM/MinCircleRadiusM, rng.Float64()) }
	pents := h3.Pentagons(0)
	edgePts := icosaEdgePoints(t, 7)
	var out []circleCase
	for i := range n {
		lat := math.Asin(2*rng.Float64()-1) * 180 / math.Pi
		lng := 360*rng.Float64() - 180
		why := "random"
		pol := CoverPolicy{}
		switch i % 10 {
		case 1: // across the antimeridian
			lng, why = 180-0.5*rng.NormFloat64(), "antimeridian"
		case 2: // near a pole
			lat, why = 90-rng.ExpFloat64()*0.5, "north pole"
			if rng.IntN(2) == 0 {
				lat, why = -lat, "south pole"
			}
			if rng.IntN(8) == 0 {
				lat = math.Copysign(90, lat) // on it
			}
		case 3, 4: // on or near a pentagon (an icosahedron vertex)
			p := pents[rng.IntN(len(pents))]
			if rng.IntN(3) > 0 {
				p = h3.LatLngToCell(p.LatLng(), 3+rng.IntN(10))
				d := p.GridDisk(rng.IntN(4))
				p = d[rng.IntN(len(d))]
				for p == 0 || !ValidCell(uint64(p)) {
					p = d[rng.IntN(len(d))]
				}
			}
			ll := p.LatLng()
			lat, lng, why = ll.Lat, ll.Lng, "pentagon"
		case 5, 6: // on or next to an icosahedron edge
			v := edgePts[rng.IntN(len(edgePts))]
			lat, lng = h3PortDeg(v)
			why = "face edge"
		case 7: // a face centre
			g := h3FaceCenterGeo[rng.IntN(h3NumFaces)]
			lat, lng, why = g[0]*180/math.Pi, g[1]*180/math.Pi, "face centre"
		case 8: // the finest resolutions
			pol, why = CoverPolicy{MaxRes: 15, TargetBoundaryCells: 60}, "fine"
		}
		lat = max(-90, min(90, lat))
		lng = wrapLng(lng)
		r := radius()
		if why == "fine" {
			r = MinCircleRadiusM * math.Pow(20, rng.Float64())
		}
		out = append(out, circleCase{Circle{LatLngDeg{lat, lng}, r}, pol, why})
	}
	for _, r := range []float64{1e5, 1e6, 3e6, 6e6} { // beyond the API's radii
		out = append(out, circleCase{Circle{LatLngDeg{rng.Float64()*160 - 80, rng.Float64()*360 - 180}, r}, CoverPolicy{}, "huge"})
	}
	return out
}

// TestCircleGoMatchesExact: classifyGo changes nothing — every covering is
// the exact code's, and every cell it decides on the way is decided as the
// exact code decides it — while deciding most cells itself (each path is
// required to be exercised).
func TestCircleGoMatchesExact(t *testing.T) {
	var tl circleGoTally
	for _, cc := range circleGoCases(t, h3PortEnvInt(t, "CIRCLE_GO_CASES", 400)) {
		checkCircleGo(t, cc, &tl)
	}
	t.Logf("%d circles, %d covering cells; %d cells classified: %d by the centre bound, %d by Go vertices, %d left to the exact code (%d near a pole)",
		tl.circles, tl.coverCells, tl.cells, tl.bound, tl.vertices, tl.exact, tl.polar)
	if tl.bound < tl.cells/2 || tl.vertices < tl.cells/10 || tl.exact == 0 || tl.polar == 0 {
		t.Errorf("paths not exercised: %+v", tl)
	}
}

// TestCircleGoExamples: the benchmark's circles and the oracle test's
// kinds, whole coverings identical with and without classifyGo.
func TestCircleGoExamples(t *testing.T) {
	var tl circleGoTally
	for _, c := range []Circle{
		{LatLngDeg{39.9087, 116.3975}, 5000},
		{LatLngDeg{39.9087, 116.3975}, 200},
		{LatLngDeg{39.9087, 116.3975}, 10},
		{LatLngDeg{39.9087, 116.3975}, 50000},
		{LatLngDeg{89.995, 10}, 5000},   // holds the pole
		{LatLngDeg{-90, 0}, 20000},      // on the pole
		{LatLngDeg{0.5, 179.99}, 20000}, // across the antimeridian
	} {
		checkCircleGo(t, circleCase{c, CoverPolicy{}, "example"}, &tl)
	}
}

// FuzzCircleGo: for any valid circle, and any finest resolution, the
// covering with classifyGo is the exact code's, cell by cell, and so is
// every decision on the way (checkCircleGo).
func FuzzCircleGo(f *testing.F) {
	f.Add(39.9087, 116.3975, 5000.0, uint8(0))
	f.Add(89.999, 45.0, 200.0, uint8(0))
	f.Add(58.2876, -10.5334, 20000.0, uint8(0)) // near a pentagon
	f.Add(0.1, 179.999, 10.0, uint8(15))
	f.Add(h3FaceCenterGeo[7][0]*180/math.Pi, h3FaceCenterGeo[7][1]*180/math.Pi, 50000.0, uint8(11))
	f.Fuzz(func(t *testing.T, lat, lng, radiusM float64, maxRes uint8) {
		c := Circle{LatLngDeg{lat, lng}, radiusM}
		if c.Validate() != nil {
			return
		}
		var tl circleGoTally
		checkCircleGo(t, circleCase{c, CoverPolicy{MaxRes: int(maxRes % 16)}, "fuzz"}, &tl)
	})
}
