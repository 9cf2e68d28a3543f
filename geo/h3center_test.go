package geo

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

// h3CenterTolRad is how far cellCenterPoint may be from the C library's
// cellToLatLng: both compute the same point with different rounding
// (~1e-14 rad apart at most, away from the poles).
const h3CenterTolRad = 1e-12

// h3CenterTolAt is h3CenterTolRad widened near the poles, where the C
// loses precision: _geoAzDistanceRads takes the latitude as asin of a sine
// rounded to ~4e-16, which is off by ~4e-16/ε rad at ε rad from a pole
// (TestCellCenterPointOracle finds 1.5e-12 rad at 6e-5 rad from the south
// pole). The allowance is ten times that.
func h3CenterTolAt(p Point) float64 {
	colat := math.Acos(min(1, math.Abs(p.Z)))
	return h3CenterTolRad + 4e-15/colat
}

// h3CenterSet is a named set of oracle cells.
type h3CenterSet struct {
	name  string
	cells []h3.Cell
}

// h3CenterSets are the cells the centre and bound oracles check: random
// cells at every resolution worldwide; every base cell and every cell of
// resolutions 1 and 2; every pentagon at every resolution with its
// neighbours to distance 2 (the pentagonal rotations and secondary
// overages); cells along the thirty icosahedron edges and round the
// face centres at every resolution, with their neighbours (overages onto
// the next face, Class III cells straddling an edge); and cells at and
// near the poles.
func h3CenterSets(t *testing.T) []h3CenterSet {
	t.Helper()
	h3CenterSetsOnce.Do(func() { h3CenterSetsCache = makeH3CenterSets(t) })
	return h3CenterSetsCache
}

var (
	h3CenterSetsOnce  sync.Once
	h3CenterSetsCache []h3CenterSet
)

func makeH3CenterSets(t *testing.T) []h3CenterSet {
	perRes := h3PortEnvInt(t, "H3CENTER_CELLS", 2000)
	rng := rand.New(rand.NewPCG(11, 12))
	var random []h3.Cell
	for res := 0; res <= h3MaxRes; res++ {
		for range perRes {
			lat := math.Asin(2*rng.Float64()-1) * 180 / math.Pi
			lng := 360*rng.Float64() - 180
			random = append(random, h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, res))
		}
	}

	coarse := h3.Res0Cells()
	for _, c := range h3.Res0Cells() {
		for _, r := range []int{1, 2} {
			coarse = append(coarse, c.Children(r)...)
		}
	}

	var pent []h3.Cell
	for res := 0; res <= h3MaxRes; res++ {
		for _, p := range h3.Pentagons(res) {
			pent = append(pent, withDisk(p, 2)...)
		}
	}

	var edges []h3.Cell
	steps := h3PortEnvInt(t, "H3CENTER_EDGE_STEPS", 24)
	for _, v := range icosaEdgePoints(t, steps) {
		la, ln := h3PortDeg(v)
		for res := 0; res <= h3MaxRes; res++ {
			edges = append(edges, withDisk(h3.LatLngToCell(h3.LatLng{Lat: la, Lng: ln}, res), 1)...)
		}
	}
	for _, g := range h3FaceCenterGeo {
		for res := 0; res <= h3MaxRes; res++ {
			c := h3.LatLngToCell(h3.LatLng{Lat: g[0] * 180 / math.Pi, Lng: g[1] * 180 / math.Pi}, res)
			edges = append(edges, withDisk(c, 1)...)
		}
	}
	// Round the poles, where the C's vertices lose precision (see
	// h3PolarRad): the cells holding them and cells a few metres to a
	// few tens of kilometres away.
	var polar []h3.Cell
	for res := 0; res <= h3MaxRes; res++ {
		for _, lat := range []float64{90, -90} {
			polar = append(polar, withDisk(h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: 0}, res), 2)...)
			for range 20 {
				colat := math.Pow(10, -7+5*rng.Float64()) * 180 / math.Pi
				ll := h3.LatLng{Lat: math.Copysign(90-colat, lat), Lng: 360*rng.Float64() - 180}
				polar = append(polar, h3.LatLngToCell(ll, res))
			}
		}
	}
	return []h3CenterSet{{"random", random}, {"res 0-2", coarse}, {"pentagons", pent}, {"face edges", edges}, {"poles", polar}}
}

// withDisk returns c and the cells within k steps of it.
func withDisk(c h3.Cell, k int) []h3.Cell {
	out := []h3.Cell{c}
	for _, n := range c.GridDisk(k) {
		// as in coverTopDown: near pentagons h3-go's GridDisk has empty slots
		if n != 0 && n != c && ValidCell(uint64(n)) {
			out = append(out, n)
		}
	}
	return out
}

// icosaEdgePoints returns points along the thirty icosahedron edges
// (great-circle arcs between adjacent pentagon centres), steps-1 per edge,
// at each offset (radians, along the edge's normal; 0 is on the edge).
// Without offsets: on the edge, 1e-9 and 1e-5 either side.
func icosaEdgePoints(t *testing.T, steps int, offsets ...float64) [][3]float64 {
	if len(offsets) == 0 {
		offsets = []float64{0, 1e-9, -1e-9, 1e-5, -1e-5}
	}
	t.Helper()
	var verts [][3]float64
	for _, c := range h3.Pentagons(0) {
		ll := h3.CellToLatLng(c)
		verts = append(verts, h3PortUnit(ll.Lat, ll.Lng))
	}
	var out [][3]float64
	edges := 0
	for a := range verts {
		for b := a + 1; b < len(verts); b++ {
			p, q := verts[a], verts[b]
			ang := math.Acos(p[0]*q[0] + p[1]*q[1] + p[2]*q[2])
			if !(ang < 1.2) { // adjacent vertices are atan(2) ≈ 1.107 rad apart; NaN for antipodes
				continue
			}
			edges++
			nrm := [3]float64{p[1]*q[2] - p[2]*q[1], p[2]*q[0] - p[0]*q[2], p[0]*q[1] - p[1]*q[0]}
			nl := math.Sqrt(nrm[0]*nrm[0] + nrm[1]*nrm[1] + nrm[2]*nrm[2])
			for s := 1; s < steps; s++ {
				tt := float64(s) / float64(steps)
				wa, wb := math.Sin((1-tt)*ang)/math.Sin(ang), math.Sin(tt*ang)/math.Sin(ang)
				for _, off := range offsets {
					var v [3]float64
					for i := range 3 {
						v[i] = wa*p[i] + wb*q[i] + off*nrm[i]/nl
					}
					out = append(out, v)
				}
			}
		}
	}
	if edges != 30 {
		t.Fatalf("found %d icosahedron edges, want 30", edges)
	}
	return out
}

// checkCellCenter compares cellCenterPoint with the C library's centre of
// c and returns their angle (h3CenterTolAt near the poles).
func checkCellCenter(t *testing.T, c h3.Cell) float64 {
	t.Helper()
	ll := c.LatLng()
	got := cellCenterPoint(uint64(c))
	a := angle(got, PointFromDeg(ll.Lat, ll.Lng))
	if !(a < h3CenterTolAt(got)) {
		la, ln := got.Deg()
		t.Fatalf("cellCenterPoint(%#x) (res %d) = %v, %v; H3 says %v, %v: %g rad apart",
			uint64(c), c.Resolution(), la, ln, ll.Lat, ll.Lng, a)
	}
	if math.Abs(norm(got)-1) > 1e-15 {
		t.Fatalf("cellCenterPoint(%#x) has length %v", uint64(c), norm(got))
	}
	return a
}

// TestCellCenterPointOracle: cellCenterPoint is H3's cellToLatLng to
// within h3CenterTolRad (h3CenterTolAt near the poles) on every set of
// h3CenterSets, and its face holds the centre.
func TestCellCenterPointOracle(t *testing.T) {
	for _, set := range h3CenterSets(t) {
		worst, worstOfTol := 0.0, 0.0
		for _, c := range set.cells {
			a := checkCellCenter(t, c)
			p, face := cellCenterFace(uint64(c))
			worst, worstOfTol = max(worst, a), max(worstOfTol, a/h3CenterTolAt(p))
			if cl := h3FaceEdgeClearance(p, face); cl < -1e-15 {
				t.Fatalf("%#x: centre outside its face %d (clearance %g)", uint64(c), face, cl)
			}
		}
		t.Logf("%s: %d cells, largest angle to H3's centre %.3g rad, %.3g of the allowance",
			set.name, len(set.cells), worst, worstOfTol)
	}
}

// TestH3FaceEdgeNormals: the face vertices the edge normals are built
// from are H3's pentagon centres, and every face centre is well inside its
// own triangle (at ~20.9°, the icosahedron's inradius angle).
func TestH3FaceEdgeNormals(t *testing.T) {
	var pents []Point
	for _, c := range h3.Pentagons(0) {
		ll := c.LatLng()
		pents = append(pents, PointFromDeg(ll.Lat, ll.Lng))
	}
	for f := range h3NumFaces {
		for _, ijk := range [3][3]int{{2, 0, 0}, {0, 2, 0}, {0, 0, 2}} {
			v := h3FaceIjkToPoint(f, ijk[0], ijk[1], ijk[2], 0)
			best := math.Pi
			for _, p := range pents {
				best = math.Min(best, angle(v, p))
			}
			if best > h3CenterTolRad {
				t.Errorf("face %d vertex %v is %g rad from the nearest pentagon", f, ijk, best)
			}
		}
		c := Point{h3FaceCenterPoint[f][0], h3FaceCenterPoint[f][1], h3FaceCenterPoint[f][2]}
		if cl := h3FaceEdgeClearance(c, f); math.Abs(math.Asin(cl)-0.3648) > 1e-3 {
			t.Errorf("face %d: centre clearance %v rad", f, math.Asin(cl))
		}
	}
}

// TestCellBoundRad: every boundary vertex the C library gives for a cell
// is within cellBoundRad of cellCenterPoint, on every set of
// h3CenterSets; and a Class III cell whose centre is farther than that
// from its face's edges has the six vertices of an undistorted hexagon
// (the circle classifier's Outside shortcut relies on it). Cells within
// h3PolarRad of a pole are left out (see h3PolarRad). Logs the largest
// vertex distance seen as a fraction of the unpadded bound.
func TestCellBoundRad(t *testing.T) {
	worst, worstPent, excess, polarExcess := 0.0, 0.0, math.Inf(-1), math.Inf(-1)
	var worstCell h3.Cell
	n := 0
	for _, set := range h3CenterSets(t) {
		for _, c := range set.cells {
			res := c.Resolution()
			p, face := cellCenterFace(uint64(c))
			bound := cellBoundRad(res)
			nominal := h3GnomonicUnit[res] / math.Sqrt(3)
			b := c.Boundary()
			polar := math.Abs(p.Z) > math.Cos(bound+h3PolarRad)
			for _, ll := range b {
				a := angle(p, PointFromDeg(ll.Lat, ll.Lng))
				if polar {
					polarExcess = max(polarExcess, a-nominal)
					continue
				}
				n++
				excess = max(excess, a-nominal)
				if !(a <= bound) {
					t.Fatalf("%s: %#x (res %d): vertex %v, %v is %g rad from the centre, bound %g",
						set.name, uint64(c), res, ll.Lat, ll.Lng, a, bound)
				}
				if c.IsPentagon() {
					worstPent = max(worstPent, a/nominal)
				} else if a/nominal > worst {
					worst, worstCell = a/nominal, c
				}
			}
			if res%2 == 1 && h3FaceEdgeClearance(p, face) > math.Sin(bound) && len(b) != 6 {
				t.Fatalf("%s: %#x (res %d) is clear of its face's edges but has %d vertices", set.name, uint64(c), res, len(b))
			}
		}
	}
	t.Logf("%d vertices; largest distance / (RES0_U_GNOMONIC/√3·7^(-res/2)): hexagons %.12f (%#x, res %d), pentagons %.6f; largest excess over it %.3g rad (%.3g for cells within %v rad of a pole, not checked)",
		n, worst, uint64(worstCell), worstCell.Resolution(), worstPent, excess, polarExcess, h3PolarRad)
}

// h3DescendDigitsC is h3DescendDigits as the C does it: centre child and
// neighbour, normalised after every step (_neighbor).
func h3DescendDigitsC(i, j, k int, h uint64, res int) (int, int, int) {
	for r := 1; r <= res; r++ {
		if r%2 == 1 {
			i, j, k = h3DownAp7(i, j, k)
		} else {
			i, j, k = h3DownAp7r(i, j, k)
		}
		if d := h3Digit(h, r); d > 0 && d < 7 {
			i, j, k = h3IjkNormalize(i+int(d>>2&1), j+int(d>>1&1), k+int(d&1))
		}
	}
	return i, j, k
}

// TestH3DescendDigits: the axial, normalise-once walk is the C's step by
// step walk, for random digits (7 included: _neighbor ignores it) from
// every base cell's home coordinates and from the face's corners.
func TestH3DescendDigits(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	starts := [][3]int{{2, 0, 0}, {0, 2, 0}, {0, 0, 2}}
	for _, hf := range h3BaseCellHomeFijk {
		starts = append(starts, [3]int{int(hf[1]), int(hf[2]), int(hf[3])})
	}
	for range 20000 {
		h := rng.Uint64()
		res := rng.IntN(h3MaxRes + 1)
		s := starts[rng.IntN(len(starts))]
		gi, gj, gk := h3DescendDigits(s[0], s[1], s[2], h, res)
		wi, wj, wk := h3DescendDigitsC(s[0], s[1], s[2], h, res)
		if gi != wi || gj != wj || gk != wk {
			t.Fatalf("from %v, %#x, res %d: %v, the C's walk %v", s, h, res, [3]int{gi, gj, gk}, [3]int{wi, wj, wk})
		}
	}
}

// TestHexVerticesOracle: h3CellIsPentagon is H3's isPentagon, and where
// h3HexVertices gives a cell's vertices they are the C's, vertex by vertex
// in the C's order, on every set of
// h3CenterSets; and where it declines, the cell does reach past its face
// (the C gives more than six vertices, or puts one on another face: then
// its face's clearance is within the cell's bound). Cells within
// h3PolarRad of a pole, where the C's vertices carry large rounding
// errors, are only logged.
func TestHexVerticesOracle(t *testing.T) {
	for _, set := range h3CenterSets(t) {
		worst, worstPolar := 0.0, 0.0
		took, declined := 0, 0
		for _, c := range set.cells {
			if h3CellIsPentagon(uint64(c)) != c.IsPentagon() {
				t.Fatalf("%#x: h3CellIsPentagon %v, H3 %v", uint64(c), !c.IsPentagon(), c.IsPentagon())
			}
			if c.IsPentagon() {
				continue
			}
			res := c.Resolution()
			face, i, j, k := h3CellToFaceIjk(uint64(c))
			p := h3FaceIjkToPoint(face, i, j, k, res)
			polar := math.Abs(p.Z) > math.Cos(cellBoundRad(res)+h3PolarRad)
			v, ok := h3HexVertices(face, i, j, k, res)
			b := c.Boundary()
			if !ok {
				declined++
				if len(b) == 6 && h3FaceEdgeClearance(p, face) > math.Sin(cellBoundRad(res)) {
					t.Fatalf("%s: %#x (res %d): declined, but the cell is clear of its face's edges", set.name, uint64(c), res)
				}
				continue
			}
			took++
			if len(b) != 6 {
				t.Fatalf("%s: %#x (res %d): 6 vertices, H3 gives %d", set.name, uint64(c), res, len(b))
			}
			for n, ll := range b {
				a := angle(v[n], PointFromDeg(ll.Lat, ll.Lng))
				if polar {
					worstPolar = max(worstPolar, a)
					continue
				}
				worst = max(worst, a)
				if !(a < h3VertexTolRad) {
					la, ln := v[n].Deg()
					t.Fatalf("%s: %#x (res %d) vertex %d: %v, %v; H3 says %v, %v: %g rad apart",
						set.name, uint64(c), res, n, la, ln, ll.Lat, ll.Lng, a)
				}
			}
		}
		t.Logf("%s: %d hexagons in Go, %d left to C; largest vertex distance to H3's %.3g rad (%.3g within %v rad of a pole)",
			set.name, took, declined, worst, worstPolar, h3PolarRad)
	}
}
