package geo

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

// h3PortPoint is one oracle case: a position and the resolution to encode
// it at.
type h3PortPoint struct {
	lat, lng float64
	res      int
}

// h3PortTally compares latLngToCellGo with the C library over a set of
// points. Besides the mismatches of the function (which must be zero) it
// counts the cases the port alone gets wrong (what the C fallback is for)
// and, for each tolerance scale, the cases the port would have certified
// wrongly had its tolerance been that much smaller: the margin's headroom.
type h3PortTally struct {
	n, mismatches, portWrong, uncertain int
	wrongAtScale                        map[float64]int
}

// h3PortScales are the tolerance scales probed for headroom.
var h3PortScales = []float64{1, 1e-1, 1e-2, 1e-3, 1e-4}

func (tl *h3PortTally) check(t *testing.T, set string, pts []h3PortPoint) {
	t.Helper()
	if tl.wrongAtScale == nil {
		tl.wrongAtScale = map[float64]int{}
	}
	for _, p := range pts {
		want := uint64(h3.LatLngToCell(h3.LatLng{Lat: p.lat, Lng: p.lng}, p.res))
		got := latLngToCellGo(p.lat, p.lng, p.res)
		tl.n++
		if got != want {
			tl.mismatches++
			if tl.mismatches <= 10 {
				t.Errorf("%s: latLngToCellGo(%v, %v, %d) = %#x, H3 says %#x",
					set, p.lat, p.lng, p.res, got, want)
			}
		}
		if math.Abs(p.lat) > 90 || math.Abs(p.lng) > 180 {
			continue
		}
		cell, certain := h3Encode(p.lat, p.lng, p.res, 1)
		if cell != want {
			tl.portWrong++
		}
		if !certain {
			tl.uncertain++
		}
		for _, s := range h3PortScales {
			if c, ok := h3Encode(p.lat, p.lng, p.res, s); ok && c != want {
				tl.wrongAtScale[s]++
			}
		}
	}
	t.Logf("%s: %d points, %d mismatches; port alone wrong on %d, %d sent to C; certified wrongly at tolerance scale %v: %v",
		set, tl.n, tl.mismatches, tl.portWrong, tl.uncertain, h3PortScales, tl.counts())
	if tl.wrongAtScale[1] != 0 {
		t.Errorf("%s: %d points certified with the wrong cell", set, tl.wrongAtScale[1])
	}
}

func (tl *h3PortTally) counts() []int {
	out := make([]int, len(h3PortScales))
	for i, s := range h3PortScales {
		out[i] = tl.wrongAtScale[s]
	}
	return out
}

// h3PortEnvInt reads a test size from the environment (e.g.
// H3PORT_RANDOM=1000000 for the million-point run).
func h3PortEnvInt(t *testing.T, name string, def int) int {
	if s := os.Getenv(name); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return n
	}
	if testing.Short() {
		return def / 10
	}
	return def
}

func h3PortAllRes(lat, lng float64) []h3PortPoint {
	out := make([]h3PortPoint, 0, h3MaxRes+1)
	for r := 0; r <= h3MaxRes; r++ {
		out = append(out, h3PortPoint{lat, lng, r})
	}
	return out
}

// h3PortUnit is a unit vector from degrees; h3PortDeg the way back.
func h3PortUnit(latDeg, lngDeg float64) [3]float64 {
	la, ln := latDeg*math.Pi/180, lngDeg*math.Pi/180
	return [3]float64{math.Cos(la) * math.Cos(ln), math.Cos(la) * math.Sin(ln), math.Sin(la)}
}

func h3PortDeg(v [3]float64) (lat, lng float64) {
	n := math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
	return math.Asin(v[2]/n) * 180 / math.Pi, math.Atan2(v[1], v[0]) * 180 / math.Pi
}

// h3PortAround samples points at distances dists (degrees of arc) in eight
// directions round a centre, at every resolution.
func h3PortAround(latDeg, lngDeg float64, dists []float64) []h3PortPoint {
	out := h3PortAllRes(latDeg, lngDeg)
	c := h3PortUnit(latDeg, lngDeg)
	// east and north unit vectors at the centre
	e := [3]float64{-math.Sin(lngDeg * math.Pi / 180), math.Cos(lngDeg * math.Pi / 180), 0}
	if math.Abs(latDeg) > 89.99 {
		e = [3]float64{1, 0, 0}
	}
	nv := [3]float64{c[1]*e[2] - c[2]*e[1], c[2]*e[0] - c[0]*e[2], c[0]*e[1] - c[1]*e[0]}
	for _, d := range dists {
		a := d * math.Pi / 180
		for k := range 8 {
			az := float64(k) * math.Pi / 4
			var v [3]float64
			for i := range 3 {
				v[i] = c[i]*math.Cos(a) + math.Sin(a)*(math.Cos(az)*nv[i]+math.Sin(az)*e[i])
			}
			la, ln := h3PortDeg(v)
			out = append(out, h3PortAllRes(la, ln)...)
		}
	}
	return out
}

var h3PortDists = []float64{1e-13, 1e-11, 1e-9, 1e-7, 1e-5, 1e-3, 0.1, 1}

// TestLatLngToCellGoRandom: uniform random points on the sphere, one
// resolution each, cycling through 0–15 (H3PORT_RANDOM points; 200,000 by
// default, 1,000,000 for the long run).
func TestLatLngToCellGoRandom(t *testing.T) {
	n := h3PortEnvInt(t, "H3PORT_RANDOM", 200_000)
	rng := rand.New(rand.NewPCG(1, 2))
	pts := make([]h3PortPoint, n)
	for i := range pts {
		lat := math.Asin(2*rng.Float64()-1) * 180 / math.Pi
		lng := 360*rng.Float64() - 180
		pts[i] = h3PortPoint{lat, lng, i % (h3MaxRes + 1)}
	}
	var tl h3PortTally
	tl.check(t, "random", pts)
}

// TestLatLngToCellGoPentagons: round the twelve pentagons (the icosahedron
// vertices, where five faces meet).
func TestLatLngToCellGoPentagons(t *testing.T) {
	var pts []h3PortPoint
	for _, c := range h3.Pentagons(0) {
		ll := h3.CellToLatLng(c)
		pts = append(pts, h3PortAround(ll.Lat, ll.Lng, h3PortDists)...)
	}
	var tl h3PortTally
	tl.check(t, "pentagons", pts)
}

// TestLatLngToCellGoFaceCentres: round the twenty face centres, where the
// C code's acos(1 - sqd/2) is least precise.
func TestLatLngToCellGoFaceCentres(t *testing.T) {
	var pts []h3PortPoint
	for _, g := range h3FaceCenterGeo {
		pts = append(pts, h3PortAround(g[0]*180/math.Pi, g[1]*180/math.Pi, h3PortDists)...)
	}
	var tl h3PortTally
	tl.check(t, "face centres", pts)
}

// TestLatLngToCellGoFaceEdges: along the thirty icosahedron edges (great
// circles between adjacent pentagon centres), on them and at tiny
// offsets either side, where the closest face changes.
func TestLatLngToCellGoFaceEdges(t *testing.T) {
	steps := h3PortEnvInt(t, "H3PORT_EDGE_STEPS", 60)
	var pts []h3PortPoint
	for _, v := range icosaEdgePoints(t, steps, 0, 1e-15, -1e-15, 1e-13, -1e-13, 1e-10, -1e-10, 1e-7, -1e-7) {
		la, ln := h3PortDeg(v)
		pts = append(pts, h3PortAllRes(la, ln)...)
	}
	var tl h3PortTally
	tl.check(t, "face edges", pts)
}

// TestLatLngToCellGoPolesAntimeridian: the poles, near-poles and the
// antimeridian from both sides.
func TestLatLngToCellGoPolesAntimeridian(t *testing.T) {
	lats := []float64{90, -90, 89.9999, -89.9999, 89.9999999, -89.9999999, 0, 45, -45, 1e-9, -1e-9}
	lngs := []float64{180, -180, 179.9999999, -179.9999999, 179.9999, -179.9999, 0, -0.0, 1e-9, -1e-9, 90, -90}
	var pts []h3PortPoint
	for _, la := range lats {
		for _, ln := range lngs {
			pts = append(pts, h3PortAllRes(la, ln)...)
		}
	}
	var tl h3PortTally
	tl.check(t, "poles and antimeridian", pts)
}

// TestLatLngToCellGoCellGeometry: the centres, boundary vertices and edge
// midpoints of random cells at every resolution, each encoded at the
// cell's resolution and the next. Vertices and edge midpoints lie on cell
// edges to within rounding, where any difference from the C arithmetic
// would show.
func TestLatLngToCellGoCellGeometry(t *testing.T) {
	perRes := h3PortEnvInt(t, "H3PORT_CELLS", 400)
	rng := rand.New(rand.NewPCG(3, 4))
	var centres, verts, mids []h3PortPoint
	add := func(dst *[]h3PortPoint, lat, lng float64, res int) {
		*dst = append(*dst, h3PortPoint{lat, lng, res})
		if res < h3MaxRes {
			*dst = append(*dst, h3PortPoint{lat, lng, res + 1})
		}
	}
	for res := 0; res <= h3MaxRes; res++ {
		for range perRes {
			lat := math.Asin(2*rng.Float64()-1) * 180 / math.Pi
			lng := 360*rng.Float64() - 180
			c := h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, res)
			ll := h3.CellToLatLng(c)
			add(&centres, ll.Lat, ll.Lng, res)
			b := h3.CellToBoundary(c)
			for i, v := range b {
				add(&verts, v.Lat, v.Lng, res)
				w := b[(i+1)%len(b)]
				pv, pw := h3PortUnit(v.Lat, v.Lng), h3PortUnit(w.Lat, w.Lng)
				mla, mln := h3PortDeg([3]float64{pv[0] + pw[0], pv[1] + pw[1], pv[2] + pw[2]})
				add(&mids, mla, mln, res)
			}
		}
	}
	var tc, tv, tm h3PortTally
	tc.check(t, "cell centres", centres)
	tv.check(t, "cell vertices", verts)
	tm.check(t, "edge midpoints", mids)
}

// TestLatLngToCellGoInvalid: what the C reports as an error is 0, never a
// panic.
func TestLatLngToCellGoInvalid(t *testing.T) {
	cases := []h3PortPoint{
		{math.NaN(), 0, 5}, {0, math.NaN(), 5}, {math.Inf(1), 0, 5}, {0, math.Inf(-1), 5},
		{10, 10, -1}, {10, 10, 16}, {10, 10, 1 << 40},
	}
	for _, c := range cases {
		if got := latLngToCellGo(c.lat, c.lng, c.res); got != 0 {
			t.Errorf("latLngToCellGo(%v, %v, %d) = %#x, want 0", c.lat, c.lng, c.res, got)
		}
	}
	// out of range but finite: undefined for CellOf, still H3's answer
	var tl h3PortTally
	tl.check(t, "out of range", []h3PortPoint{{91, 0, 7}, {-300, 500, 9}, {0, 1e10, 3}, {1e300, -1e300, 15}})
}

// TestH3RoundDiv7 checks the integer form of lroundl(n / 7.0L).
func TestH3RoundDiv7(t *testing.T) {
	for n := -100_000; n <= 100_000; n++ {
		if got, want := h3RoundDiv7(n), int(math.Round(float64(n)/7)); got != want {
			t.Fatalf("h3RoundDiv7(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestH3TablesPentagons ties the copied base cell table to H3's pentagons.
func TestH3TablesPentagons(t *testing.T) {
	for _, c := range h3.Res0Cells() {
		b := int((uint64(c) >> h3BaseOffset) & 0x7f)
		if h3BaseCellPentagon[b] != c.IsPentagon() {
			t.Errorf("base cell %d: table says pentagon %v, H3 %v", b, h3BaseCellPentagon[b], c.IsPentagon())
		}
	}
}

// TestCellsOf: the cells of one projection at several resolutions are
// CellOf's at each (random points everywhere, the poles, the
// antimeridian, invalid input; resolutions in mixed order and repeated, so
// the per-parity caches are used both ways).
func TestCellsOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	pts := [][2]float64{{90, 0}, {-90, 0}, {0, 180}, {0, -180}, {89.9999, 179.9999}, {math.NaN(), 0}, {0, math.Inf(1)}, {91, 0}, {0, 181}}
	for range 20000 {
		pts = append(pts, [2]float64{math.Asin(2*rng.Float64()-1) * 180 / math.Pi, 360*rng.Float64() - 180})
	}
	// Near pentagons (where a child is never derived from its parent) and
	// many points in one city (the covering index's use: most children are
	// derived, and those near a parent's edge are not).
	for _, c := range []uint64{0x8009fffffffffff, 0x80c3fffffffffff, 0x80ebfffffffffff} {
		ll := h3.Cell(c).LatLng()
		for range 2000 {
			pts = append(pts, [2]float64{ll.Lat + rng.NormFloat64()*3, ll.Lng + rng.NormFloat64()*3})
		}
	}
	for range 20000 {
		pts = append(pts, [2]float64{39.9 + rng.NormFloat64()*0.2, 116.4 + rng.NormFloat64()*0.2})
	}
	res := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 9, 4, -1, 16}
	var got []uint64
	for n, p := range pts {
		perm := slices.Clone(res)
		switch n % 3 {
		case 0:
			rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		case 1:
			perm = perm[:16] // ascending, every resolution
		default:
			perm = []int{7, 8, 9, 10, 11, 12, 13} // the default covering's
		}
		got = CellsOf(p[0], p[1], perm, got[:0])
		for i, r := range perm {
			if want := CellOf(p[0], p[1], r); got[i] != want {
				t.Fatalf("CellsOf(%v, %v) at res %d = %#x, CellOf %#x", p[0], p[1], r, got[i], want)
			}
		}
	}
}

// TestAxialDigit: the axial digit table agrees with _unitIjkToDigit on
// every ijk vector with components in [−3, 3], unit or not.
func TestAxialDigit(t *testing.T) {
	for i := -3; i <= 3; i++ {
		for j := -3; j <= 3; j++ {
			for k := -3; k <= 3; k++ {
				if got, want := h3AxialDigit(i-k, j-k), h3UnitIjkToDigit(i, j, k); got != want {
					t.Errorf("(%d, %d, %d): axial digit %d, _unitIjkToDigit %d", i, j, k, got, want)
				}
			}
		}
	}
}
