package geo

import (
	"math"

	h3 "github.com/uber/h3-go/v4"
)

// Circle radius bounds of the API (CampaignService Circle.radius_m).
const (
	MinCircleRadiusM = 10
	MaxCircleRadiusM = 50000
)

// Circle is the set of points whose great-circle distance from Center is at
// most RadiusM: a spherical cap. Unlike a polygon it has no seam: it may
// cross the antimeridian or contain a pole.
type Circle struct {
	Center  LatLngDeg
	RadiusM float64
}

func (Circle) apiField() string { return "circle" }

// Validate checks the centre and that the radius is finite and within
// [MinCircleRadiusM, MaxCircleRadiusM]. Paths: "center", "radius_m".
func (c Circle) Validate() []Problem {
	var ps problems
	checkLatLng(&ps, "center", c.Center)
	if math.IsNaN(c.RadiusM) || c.RadiusM < MinCircleRadiusM || c.RadiusM > MaxCircleRadiusM {
		ps.add("radius_m", "radius %v m is outside [%d, %d]", c.RadiusM, MinCircleRadiusM, MaxCircleRadiusM)
	}
	return ps.result()
}

// ContainsDeg reports whether the position is within RadiusM of the centre
// (the circle itself included), comparing chords: no trigonometry beyond
// the position's own unit vector.
func (c Circle) ContainsDeg(latDeg, lngDeg float64) bool {
	ch := RadToChord(MetersToRad(c.RadiusM))
	return PointFromDeg(c.Center.Lat, c.Center.Lng).Chord2(PointFromDeg(latDeg, lngDeg)) <= ch*ch
}

// AreaKm2 is the exact area of the spherical cap, 2πR²(1−cos ρ).
func (c Circle) AreaKm2() float64 {
	rho := MetersToRad(c.RadiusM)
	r := EarthRadiusM / 1000
	// 1−cos ρ = 2 sin²(ρ/2), without cancellation for small ρ.
	s := math.Sin(rho / 2)
	return 2 * math.Pi * r * r * 2 * s * s
}

// PerimeterM is the circumference of the cap, 2πR·sin ρ.
func (c Circle) PerimeterM() float64 {
	return 2 * math.Pi * EarthRadiusM * math.Sin(MetersToRad(c.RadiusM))
}

// Cover covers the circle, classifying cells exactly against the cap rather
// than against a polygon approximation of it. A cell (its edges are
// great-circle arcs) is Interior when all its boundary vertices are within
// the radius less a margin: a cap of radius < 90° is convex, so it holds the
// geodesic edges between those vertices and everything they enclose. That
// is why vertex distances suffice for cells; the margin (circleMarginRad,
// ~6 mm) absorbs rounding in H3's own vertices. A cell is Outside when its
// nearest point (the centre's own cell, else the nearest point of its edge
// arcs) is farther than the radius plus the margin; otherwise Boundary.
// That is the definition (classifyExact); most cells are decided in Go
// (classifyGo) where it is certain to give the same answer.
func (c Circle) Cover(p CoverPolicy) (*Covering, error) {
	return c.cover(p, false)
}

// cover is Cover; exactOnly classifies every cell from the C library's
// boundary vertices (classifyExact), without classifyGo, so that tests can
// check the two coverings are the same.
func (c Circle) cover(p CoverPolicy, exactOnly bool) (*Covering, error) {
	p = p.withDefaults()
	res := p.ResolutionFor(c.PerimeterM())
	cl := newCircleClassifier(c, exactOnly)
	r0, seeds := seedCells(cl, cl.center, cl.rho, res)
	return coverTopDown(cl, seeds, r0, res, p.MaxCells)
}

// newCircleClassifier prepares the classifier of c's covering, with the
// thresholds that do not depend on the resolution.
func newCircleClassifier(c Circle, exactOnly bool) *circleClassifier {
	cl := &circleClassifier{
		center:    PointFromDeg(c.Center.Lat, c.Center.Lng),
		rho:       MetersToRad(c.RadiusM),
		exactOnly: exactOnly,
	}
	cl.cosIn = math.Cos(cl.rho - circleMarginRad)
	// The vertex thresholds of byVertices. A C vertex within thetaIn of
	// the centre passes the exact code's test, and one farther than
	// thetaOut fails it (startLevel); the Go vertex is within
	// h3VertexTolRad of the C's, so a Go vertex within thetaIn −
	// h3VertexTolRad, or farther than thetaOut + h3VertexTolRad, decides
	// for both — as cosines, less or more circleDotErr for the rounding of
	// the dot product.
	cl.cosVertIn, cl.cosVertOut = math.Inf(1), math.Inf(-1)
	if t := math.Acos(math.Min(1, cl.cosIn+circleDotErr)) - h3VertexTolRad; t >= 0 {
		cl.cosVertIn = math.Cos(t) + circleDotErr
	}
	if t := math.Acos(math.Max(-1, cl.cosIn-circleDotErr)) + h3VertexTolRad; t < math.Pi {
		cl.cosVertOut = math.Cos(t) - circleDotErr
	}
	return cl
}

// circleMarginRad is how far inside (outside) the circle a cell must be to
// be called Interior (Outside): 1e-9 rad ≈ 6 mm.
const circleMarginRad = 1e-9

type circleClassifier struct {
	center     Point
	rho, cosIn float64
	exactOnly  bool    // classify every cell from the C's vertices (tests)
	centerCell h3.Cell // the centre's cell at the current level
	level      circleLevel
	// cosVertIn, cosVertOut: a vertex from h3HexVertices whose dot with
	// the centre is ≥ cosVertIn passes the Interior test with the C's
	// vertex too; one below cosVertOut fails it; in between the C must
	// decide (see newCircleClassifier).
	cosVertIn, cosVertOut float64
	verts                 []Point
}

// circleLevel holds the thresholds of classifyGo at one resolution, the
// centre bound's as cosines of the angle between the circle's centre and a
// cell's centre so that its test is one dot product (see startLevel).
type circleLevel struct {
	// cosInterior: a cell whose centre is at least this close (in cosine)
	// is Interior; +Inf for none.
	cosInterior float64
	// cosOutside: a cell whose centre is farther (smaller cosine) is
	// Outside, if it is not the centre's cell and not a Class III cell
	// near a face edge; -Inf for none.
	cosOutside float64
	// sinFaceClear: a Class III cell's centre must be farther than this
	// (sine of the angle) from its face's edges for the Outside shortcut.
	sinFaceClear float64
	// polarZ: cells whose centre's |z| exceeds it may have boundary
	// vertices near a pole; they are classified from the C's vertices.
	polarZ float64
	// arcTolRad: how far the nearest edge computed from h3HexVertices's
	// vertices may be from the one computed from the C's.
	arcTolRad float64
}

// The rounding allowances of classifyGo.
const (
	// circleDotErr bounds the error of a dot product of two of these unit
	// vectors (each of length 1 ± 2⁻⁵²) against the cosine of their angle,
	// and of a computed cosine: ~1e-15 at most, ten times that here.
	circleDotErr = 1e-14
	// circleMaxBoundRad: beyond this angle between a cell and the circle's
	// centre the exact code's asin loses accuracy (error ∝ 1/cos); the
	// Outside shortcut is kept to cells decided well inside it. Circles
	// of the API are < 0.008 rad, so this only concerns Cover on circles
	// no campaign can have.
	circleMaxBoundRad = 1.2
)

// circleArcErrRad bounds the error of arcDistance, as the exact code below
// computes it, on an edge of a cell of circumradius bound boundRad whose
// hexagon lies within one face: the cross product of two vertices ℓ apart
// carries an absolute error of ~4e-16, so the normal's direction, and with
// it the distance, is off by ~8e-16/ℓ; such a cell's edges are at least
// cos²(37.4°)·boundRad ≈ 0.63·boundRad long (37.4° is the farthest a face
// reaches from its centre, where the gnomonic projection shrinks lengths
// most), so ~1.3e-15/boundRad, and 2⁻⁴⁴/boundRad ≈ 5.7e-14/boundRad is
// forty times that. (At resolution 9 it is 1.6e-9 rad, 1 cm; at 13, 8e-8
// rad, 51 cm, against 3.5 m cells.) A Class II cell that straddles a face
// edge keeps its six vertices, each projected on its own face and as far
// apart, and a Class II pentagon has five, as far apart. Class III cells
// that straddle a face edge get extra vertices where they cross it, and
// edges between those and the hexagon's can be arbitrarily short, which is
// why the Outside shortcut leaves those cells to the exact code.
func circleArcErrRad(boundRad float64) float64 { return 1e-12 + 0x1p-44/boundRad }

func (cl *circleClassifier) startLevel(res int) {
	lat, lng := cl.center.Deg()
	cl.centerCell = h3.Cell(CellOf(lat, lng, res)) // h3.LatLngToCell's cell, in Go
	if cl.exactOnly {
		return
	}
	// The centre bound's thresholds. With δ the angle between the circle's
	// centre and a cell's centre p, and R = cellBoundRad(res), every point
	// of the cell is within [δ−R, δ+R] of the circle's centre.
	R := cellBoundRad(res)
	lv := circleLevel{cosInterior: math.Inf(1), cosOutside: math.Inf(-1)}

	// Interior: the exact code wants every vertex's computed dot with the
	// centre to be ≥ cosIn. A vertex within thetaIn (cos thetaIn = cosIn +
	// circleDotErr) passes despite rounding; δ + R ≤ thetaIn puts every
	// vertex there, and a computed dot(center, p) ≥ cos(thetaIn − R) +
	// circleDotErr guarantees δ ≤ thetaIn − R.
	thetaIn := math.Acos(math.Min(1, cl.cosIn+circleDotErr))
	if t := thetaIn - R; t >= 0 {
		lv.cosInterior = math.Cos(t) + circleDotErr
	}

	// Outside: the exact code says Outside when not every vertex passes
	// the Interior test, the cell is not the centre's, and its edges are
	// all farther than rho + circleMarginRad as arcDistance computes them.
	// Every point farther than thetaOut satisfies the first (its dot is
	// below cosIn by more than the rounding) and is farther than the third
	// needs by more than arcDistance's error; δ − R > thetaOut puts the
	// whole cell there, and a computed dot(center, p) < cos(thetaOut + R)
	// − circleDotErr guarantees it. The centre's cell is compared in
	// byBound (it could not pass anyway: its centre is within R of the
	// circle's).
	arcErr := circleArcErrRad(R)
	thetaOut := math.Max(cl.rho+circleMarginRad+arcErr,
		math.Acos(math.Max(-1, cl.cosIn-circleDotErr)))
	if t := thetaOut + R; t < circleMaxBoundRad {
		lv.cosOutside = math.Cos(t) - circleDotErr
	}
	lv.sinFaceClear = math.Sin(R) + circleDotErr
	lv.polarZ = math.Cos(min(math.Pi, R+h3PolarRad))
	// Each computation of the nearest edge is within arcErr of the exact
	// distance to its vertices' edges, and those move by at most the
	// vertices' distance (doubled for the curvature of long edges).
	lv.arcTolRad = 2*arcErr + 2*h3VertexTolRad
	cl.level = lv
}

// classifyGo decides a cell in Go where it can be certain of what the
// exact code (classifyExact, from the C library's vertices) would return:
// the same covering, for a fraction of the cost (a Go centre, no cgo call,
// against H3's cellToBoundary at ~3.6 µs). ok is false when the exact
// code must decide. First the centre bound (byBound), then, for the cells
// near the circle's edge, the vertices: for a hexagon whose vertices all
// lie on its centre's face, h3HexVertices computes them in Go and
// byVertices tests them. Pentagons, hexagons reaching past their face,
// results too close to a decision, and cells that may reach within
// h3PolarRad of a pole go to the exact code.
func (cl *circleClassifier) classifyGo(c h3.Cell, res int) (st CellState, ok bool) {
	h := uint64(c)
	face, i, j, k := h3CellToFaceIjk(h)
	p := h3FaceIjkToPoint(face, i, j, k, res)
	if math.Abs(p.Z) > cl.level.polarZ {
		return 0, false
	}
	if st, ok := cl.byBound(c, res, p, face); ok {
		return st, true
	}
	if h3CellIsPentagon(h) {
		return 0, false
	}
	v, ok := h3HexVertices(face, i, j, k, res)
	if !ok {
		return 0, false
	}
	return cl.byVertices(c, &v)
}

// byBound is the centre bound: every point of the cell is within
// cellBoundRad of its centre p (on face), so a cell whose centre is far
// enough inside or outside the circle is Interior or Outside with one dot
// product (startLevel has the thresholds). ~3/4 of the cells a 5 km
// circle classifies are decided so. The cell must not reach within
// h3PolarRad of a pole.
func (cl *circleClassifier) byBound(c h3.Cell, res int, p Point, face int) (st CellState, ok bool) {
	lv := &cl.level
	d := dot(cl.center, p)
	if d >= lv.cosInterior {
		return Interior, true
	}
	if d < lv.cosOutside && c != cl.centerCell &&
		(res%2 == 0 || h3FaceEdgeClearance(p, face) > lv.sinFaceClear) {
		return Outside, true
	}
	return 0, false
}

// byVertices is the exact code on h3HexVertices's vertices instead of the
// C's, to within h3VertexTolRad of them: each test is widened by the
// difference that can make (cosVertIn, cosVertOut, arcTolRad), and a
// result within that of a decision is left to the exact code (ok false):
// at resolution 9 a cell whose nearest edge is within ~2 cm of the circle.
// Of the 296 cells of the 5 km benchmark circle the centre bound leaves,
// one.
func (cl *circleClassifier) byVertices(c h3.Cell, v *[6]Point) (st CellState, ok bool) {
	// The Interior test, vertex by vertex: it fails if one vertex
	// certainly fails, passes if all certainly pass.
	fail, unsure := false, false
	for n := range v {
		switch dv := dot(v[n], cl.center); {
		case dv < cl.cosVertOut:
			fail = true
		case dv < cl.cosVertIn:
			unsure = true
		}
	}
	if !fail {
		if unsure {
			return 0, false
		}
		return Interior, true
	}
	if c == cl.centerCell {
		return Boundary, true
	}
	m := math.Pi
	for n := range v {
		m = math.Min(m, arcDistance(cl.center, v[n], v[(n+1)%len(v)]))
	}
	switch lim := cl.rho + circleMarginRad; {
	case m > lim+cl.level.arcTolRad:
		return Outside, true
	case m < lim-cl.level.arcTolRad:
		return Boundary, true
	}
	return 0, false
}

func (cl *circleClassifier) classify(c h3.Cell, res int, _ any) (CellState, any) {
	if !cl.exactOnly {
		if st, ok := cl.classifyGo(c, res); ok {
			return st, nil
		}
	}
	return cl.classifyExact(c), nil
}

// classifyExact classifies a cell from the C library's boundary vertices
// (see Cover): the definition classifyGo reproduces.
func (cl *circleClassifier) classifyExact(c h3.Cell) CellState {
	cl.verts = cellVertices(c, cl.verts[:0])
	in := true
	for _, v := range cl.verts {
		if dot(v, cl.center) < cl.cosIn {
			in = false
			break
		}
	}
	if in {
		return Interior
	}
	if c == cl.centerCell {
		return Boundary
	}
	d := math.Pi
	for i, a := range cl.verts {
		b := cl.verts[(i+1)%len(cl.verts)]
		d = math.Min(d, arcDistance(cl.center, a, b))
	}
	if d > cl.rho+circleMarginRad {
		return Outside
	}
	return Boundary
}

// cellVertices appends the unit vectors of c's boundary vertices to dst.
func cellVertices(c h3.Cell, dst []Point) []Point {
	for _, ll := range c.Boundary() {
		dst = append(dst, PointFromDeg(ll.Lat, ll.Lng))
	}
	return dst
}

func dot(a, b Point) float64 { return a.X*b.X + a.Y*b.Y + a.Z*b.Z }

func cross(a, b Point) Point {
	return Point{a.Y*b.Z - a.Z*b.Y, a.Z*b.X - a.X*b.Z, a.X*b.Y - a.Y*b.X}
}

func norm(a Point) float64 { return math.Sqrt(dot(a, a)) }

// angle is the angle between unit vectors, accurate at every angle.
func angle(a, b Point) float64 { return math.Atan2(norm(cross(a, b)), dot(a, b)) }

// arcDistance is the angle from p to the shorter great-circle arc a–b.
// Undefined for antipodal a, b (the arc is not unique).
func arcDistance(p, a, b Point) float64 {
	n := cross(a, b)
	nn := norm(n)
	if nn < 1e-15 {
		return math.Min(angle(p, a), angle(p, b))
	}
	n = Point{n.X / nn, n.Y / nn, n.Z / nn}
	// p's foot on the great circle lies within the arc iff it is on the
	// inner side of both endpoints' planes.
	if dot(cross(a, p), n) > 0 && dot(cross(p, b), n) > 0 {
		return math.Asin(math.Min(1, math.Abs(dot(p, n))))
	}
	return math.Min(angle(p, a), angle(p, b))
}
