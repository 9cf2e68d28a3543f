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
func (c Circle) Cover(p CoverPolicy) (*Covering, error) {
	p = p.withDefaults()
	res := p.ResolutionFor(c.PerimeterM())
	cl := &circleClassifier{
		center: PointFromDeg(c.Center.Lat, c.Center.Lng),
		rho:    MetersToRad(c.RadiusM),
	}
	cl.cosIn = math.Cos(cl.rho - circleMarginRad)
	r0, seeds := seedCells(cl, cl.center, cl.rho, res)
	return coverTopDown(cl, seeds, r0, res, p.MaxCells)
}

// circleMarginRad is how far inside (outside) the circle a cell must be to
// be called Interior (Outside): 1e-9 rad ≈ 6 mm.
const circleMarginRad = 1e-9

type circleClassifier struct {
	center     Point
	rho, cosIn float64
	centerCell h3.Cell // the centre's cell at the current level
	verts      []Point
}

func (cl *circleClassifier) startLevel(res int) {
	lat, lng := cl.center.Deg()
	cl.centerCell = h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, res)
}

func (cl *circleClassifier) classify(c h3.Cell, _ int, _ any) (CellState, any) {
	cl.verts = cellVertices(c, cl.verts[:0])
	in := true
	for _, v := range cl.verts {
		if dot(v, cl.center) < cl.cosIn {
			in = false
			break
		}
	}
	if in {
		return Interior, nil
	}
	if c == cl.centerCell {
		return Boundary, nil
	}
	d := math.Pi
	for i, a := range cl.verts {
		b := cl.verts[(i+1)%len(cl.verts)]
		d = math.Min(d, arcDistance(cl.center, a, b))
	}
	if d > cl.rho+circleMarginRad {
		return Outside, nil
	}
	return Boundary, nil
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
