package geo

import (
	"fmt"
	"math"
	"sort"
)

// Ring and hole bounds. MinRingVertices and MaxRingVertices are the API's
// (3–1000 points per ring); MaxHoles is this package's own bound, so that
// validation stays O(n log n) in practice on bounded input.
const (
	MinRingVertices = 3
	MaxRingVertices = 1000
	MaxHoles        = 100
)

// Polygon is an outer ring with optional holes, as in GeoJSON (RFC 7946):
// each edge is a straight line in latitude/longitude going the short way
// round in longitude (|Δlng| < 180°), and rings are implicitly closed.
//
// Rings are unwrapped: each vertex's longitude is moved by a multiple of
// 360° so that it is within 180° of the previous one, which lets a ring cross
// the antimeridian; a point is in the polygon if it, or its copy 360° east
// or west, is in the unwrapped polygon.
//
// Decisions (Validate enforces them):
//   - Poles: a ring whose unwrapped longitudes wind through 360° (it goes
//     round a pole) is rejected rather than read as "the cap containing the
//     pole": the lat/lng plane has no single answer for which side of such a
//     ring is inside, and GeoJSON itself leaves it undefined. Cover such an
//     area with a Circle or a CellSet, or split it in two polygons. Vertices
//     at ±90° are allowed; since the plane stretches a pole into a line, a
//     point exactly at a pole is answered by the longitude it is given.
//   - Boundaries: points on an edge or vertex (to floating-point rounding),
//     of the outer ring or of a hole, are inside.
//   - Duplicates: a repeated closing vertex and consecutive duplicate
//     vertices (also 180° vs −180°) are dropped silently; the vertex count
//     limits apply to the vertices as given, less a repeated closing vertex,
//     and at least 3 distinct vertices must remain.
//   - An edge spanning exactly 180° of longitude is rejected: "the short way
//     round" is ambiguous.
//   - Rings must be simple (no two edges meet except consecutive ones at
//     their shared vertex), span less than 360° of longitude, and have
//     non-zero area; holes must lie strictly inside the outer ring and
//     neither touch nor contain each other.
//
// Build polygons that are queried repeatedly with NewPolygon, which
// prepares them once; a Polygon literal works but prepares on every call.
// Do not modify Outer or Holes of a prepared polygon.
type Polygon struct {
	Outer []LatLngDeg
	Holes [][]LatLngDeg

	prep *polyPrep
}

func (Polygon) apiField() string { return "polygon" }

// NewPolygon validates and prepares a polygon. On problems the returned
// Polygon is unprepared and its methods are undefined.
func NewPolygon(outer []LatLngDeg, holes ...[]LatLngDeg) (Polygon, []Problem) {
	p := Polygon{Outer: outer, Holes: holes}
	pp, ps := preparePolygon(p)
	if len(ps) > 0 {
		return p, ps
	}
	p.prep = pp
	return p, nil
}

// Validate returns every problem of the polygon. Paths are "vertices",
// "vertices[i]", "holes", "holes[h]", "holes[h].vertices[i]", with indices
// into the rings as given.
func (p Polygon) Validate() []Problem {
	if p.prep != nil {
		return nil
	}
	_, ps := preparePolygon(p)
	return ps
}

func (p Polygon) prepared() *polyPrep {
	if p.prep != nil {
		return p.prep
	}
	pp, ps := preparePolygon(p)
	if len(ps) > 0 {
		return nil
	}
	return pp
}

// ContainsDeg reports whether the position is in the polygon (boundary
// included, holes excluded). O(vertices). False for an invalid polygon;
// undefined for invalid positions.
func (p Polygon) ContainsDeg(latDeg, lngDeg float64) bool {
	pp := p.prepared()
	return pp != nil && pp.containsDeg(latDeg, lngDeg)
}

// AreaKm2 is the exact area of the polygon on the sphere (outer ring less
// holes), with edges straight in latitude/longitude: by Green's theorem the
// area is R²·|∮ sin φ dλ|, which has a closed form along an edge on which
// φ is linear in λ. 0 for an invalid polygon.
func (p Polygon) AreaKm2() float64 {
	pp := p.prepared()
	if pp == nil {
		return 0
	}
	a := pp.rings[0].areaSr()
	for _, h := range pp.rings[1:] {
		a -= h.areaSr()
	}
	r := EarthRadiusM / 1000
	return a * r * r
}

// PerimeterM approximates the length of all rings in metres (each edge
// measured along 8 great-circle steps; within 0.1% for edges up to ~1000 km).
func (p Polygon) PerimeterM() float64 {
	pp := p.prepared()
	if pp == nil {
		return 0
	}
	var m float64
	for _, r := range pp.rings {
		n := len(r.x)
		for i := range n {
			j := (i + 1) % n
			const steps = 8
			for s := range steps {
				t0, t1 := float64(s)/steps, float64(s+1)/steps
				m += HaversineM(r.y[i]+t0*(r.y[j]-r.y[i]), r.x[i]+t0*(r.x[j]-r.x[i]),
					r.y[i]+t1*(r.y[j]-r.y[i]), r.x[i]+t1*(r.x[j]-r.x[i]))
			}
		}
	}
	return m
}

// ring is a prepared ring: unwrapped longitudes x and latitudes y of its
// distinct vertices (edge i runs from vertex i to vertex i+1 mod n) and, for
// messages, each vertex's index in the ring as given.
type ring struct {
	x, y []float64
	idx  []int
	bb   box
}

func (r *ring) computeBox() {
	r.bb = box{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	for i := range r.x {
		r.bb.minX, r.bb.maxX = math.Min(r.bb.minX, r.x[i]), math.Max(r.bb.maxX, r.x[i])
		r.bb.minY, r.bb.maxY = math.Min(r.bb.minY, r.y[i]), math.Max(r.bb.maxY, r.y[i])
	}
}

// shift moves the ring by turns·360° of longitude, recomputing each x from
// the given longitude so that vertices stay exactly representable as
// "longitude + whole turns" (see prepareRing).
func (r *ring) shift(turns float64, vs []LatLngDeg) {
	for i := range r.x {
		k := math.Round((r.x[i]-vs[r.idx[i]].Lng)/360) + turns
		r.x[i] = vs[r.idx[i]].Lng + 360*k
	}
	r.computeBox()
}

// signedArea2 is twice the planar signed area (deg²), relative to vertex 0
// to limit cancellation.
func (r *ring) signedArea2() float64 {
	var a float64
	x0, y0 := r.x[0], r.y[0]
	for i := 1; i+1 < len(r.x); i++ {
		a += orient(x0, y0, r.x[i], r.y[i], r.x[i+1], r.y[i+1])
	}
	return a
}

// areaSr is the ring's area in steradians (see Polygon.AreaKm2).
func (r *ring) areaSr() float64 {
	const rad = math.Pi / 180
	var s float64
	n := len(r.x)
	for i := range n {
		j := (i + 1) % n
		l1, l2 := r.x[i]*rad, r.x[j]*rad
		p1, p2 := r.y[i]*rad, r.y[j]*rad
		dl, dp := l2-l1, p2-p1
		if math.Abs(dp) < 1e-9 {
			s += math.Sin((p1+p2)/2) * dl
		} else {
			// ∫ sin φ dλ with dλ = (Δλ/Δφ) dφ; cos φ1 − cos φ2 written as a
			// product to avoid cancellation.
			s += dl / dp * 2 * math.Sin((p1+p2)/2) * math.Sin(dp/2)
		}
	}
	return math.Abs(s)
}

// contains reports whether (x, y) is inside the ring in the plane, and
// whether it is on its boundary (then inside is meaningless). Crossing
// number with a half-open rule on latitude; the same orientation sign
// decides both crossing and boundary, so the two agree.
func (r *ring) contains(x, y float64) (inside, onBoundary bool) {
	n := len(r.x)
	xs, ys := r.x, r.y
	j := n - 1
	for i := range n {
		x1, y1, x2, y2 := xs[j], ys[j], xs[i], ys[i]
		j = i
		if (y1 <= y) != (y2 <= y) {
			o := orient(x1, y1, x2, y2, x, y)
			if o == 0 {
				return false, true
			}
			if (o > 0) == (y2 > y1) {
				inside = !inside
			}
		} else if y1 == y && (x == x1 || (y2 == y && math.Min(x1, x2) <= x && x <= math.Max(x1, x2))) {
			return false, true // at a vertex, or on a horizontal edge
		}
	}
	return inside, false
}

// polyPrep is a validated polygon in one unwrapped frame: the outer ring's
// first vertex keeps its longitude and every hole is shifted to lie under
// the outer ring.
type polyPrep struct {
	rings []ring // [0] outer, then holes
	bb    box    // the outer ring's box
}

// containsPlane tests an unwrapped position (no copies).
func (pp *polyPrep) containsPlane(x, y float64) bool {
	if x < pp.bb.minX || x > pp.bb.maxX || y < pp.bb.minY || y > pp.bb.maxY {
		return false
	}
	in, on := pp.rings[0].contains(x, y)
	if on {
		return true
	}
	if !in {
		return false
	}
	for i := 1; i < len(pp.rings); i++ {
		h := &pp.rings[i]
		if x < h.bb.minX || x > h.bb.maxX || y < h.bb.minY || y > h.bb.maxY {
			continue
		}
		in, on := h.contains(x, y)
		if on {
			return true
		}
		if in {
			return false
		}
	}
	return true
}

func (pp *polyPrep) containsDeg(lat, lng float64) bool {
	for k := -1; k <= 1; k++ {
		if pp.containsPlane(lng+float64(k)*360, lat) {
			return true
		}
	}
	return false
}

// prepareRing validates one ring and unwraps it. pfx is "" for the outer
// ring and "holes[h]." for a hole.
func prepareRing(vs []LatLngDeg, pfx string, ps *problems) (ring, bool) {
	n := len(vs)
	if n > 1 && vs[n-1] == vs[0] {
		n--
	}
	ok := true
	if n > MaxRingVertices {
		ps.add(pfx+"vertices", "has %d vertices; at most %d are allowed", n, MaxRingVertices)
		ok = false
	}
	for i := range n {
		if !checkLatLng(ps, fmt.Sprintf("%svertices[%d]", pfx, i), vs[i]) {
			ok = false
		}
	}
	if !ok {
		return ring{}, false
	}
	if n == 0 {
		ps.add(pfx+"vertices", "has 0 vertices; at least %d are needed", MinRingVertices)
		return ring{}, false
	}
	var r ring
	for i := range n {
		if i == 0 {
			r.x, r.y, r.idx = append(r.x, vs[0].Lng), append(r.y, vs[0].Lat), append(r.idx, 0)
			continue
		}
		last := len(r.x) - 1
		d := math.Remainder(vs[i].Lng-vs[r.idx[last]].Lng, 360)
		if math.Abs(d) == 180 {
			ps.add(fmt.Sprintf("%svertices[%d]", pfx, i), "edge from vertices[%d] spans exactly 180° of longitude, so which way round it goes is ambiguous", r.idx[last])
			ok = false
		}
		// x is the given longitude plus whole turns (not the previous x plus
		// d), so that a point given exactly at a vertex lands exactly on it.
		x := vs[i].Lng + 360*math.Round((r.x[last]-vs[i].Lng)/360)
		if x == r.x[last] && vs[i].Lat == r.y[last] {
			continue // consecutive duplicate
		}
		r.x, r.y, r.idx = append(r.x, x), append(r.y, vs[i].Lat), append(r.idx, i)
	}
	// The closing edge, from the last kept vertex back to the first.
	last := len(r.x) - 1
	d := math.Remainder(vs[0].Lng-vs[r.idx[last]].Lng, 360)
	if last > 0 && math.Abs(d) == 180 {
		ps.add(fmt.Sprintf("%svertices[%d]", pfx, r.idx[last]), "closing edge to vertices[0] spans exactly 180° of longitude, so which way round it goes is ambiguous")
		ok = false
	}
	// Unwrapped longitudes accumulate rounding, so the turn count is rounded.
	if turns := math.Round((r.x[last] + d - r.x[0]) / 360); last > 0 && turns != 0 {
		ps.add(pfx+"vertices", "ring winds round a pole (its longitudes turn through %.0f°); polygons around a pole are not supported: split it in two, or use a circle or H3 cells", turns*360)
		return ring{}, false
	}
	if last > 0 && d == 0 && vs[0].Lat == r.y[last] {
		// the closing vertex repeated in another form (e.g. 180 vs -180)
		r.x, r.y, r.idx = r.x[:last], r.y[:last], r.idx[:last]
	}
	if len(r.x) < MinRingVertices {
		ps.add(pfx+"vertices", "has %d distinct vertices; at least %d are needed", len(r.x), MinRingVertices)
		return ring{}, false
	}
	if !ok {
		return ring{}, false
	}
	r.computeBox()
	if w := r.bb.maxX - r.bb.minX; w >= 360 {
		ps.add(pfx+"vertices", "ring spans %.0f° of longitude; it must span less than 360°", w)
		return ring{}, false
	}
	diag2 := (r.bb.maxX-r.bb.minX)*(r.bb.maxX-r.bb.minX) + (r.bb.maxY-r.bb.minY)*(r.bb.maxY-r.bb.minY)
	if math.Abs(r.signedArea2()) <= 1e-12*diag2 {
		ps.add(pfx+"vertices", "ring has zero area (its vertices are collinear)")
		return ring{}, false
	}
	return r, true
}

func preparePolygon(p Polygon) (*polyPrep, []Problem) {
	var ps problems
	outer, ok := prepareRing(p.Outer, "", &ps)
	if len(p.Holes) > MaxHoles {
		ps.add("holes", "has %d holes; at most %d are allowed", len(p.Holes), MaxHoles)
		ok = false
	}
	rings := []ring{outer}
	pfx := []string{""}
	for h, hv := range p.Holes {
		hr, hok := prepareRing(hv, fmt.Sprintf("holes[%d].", h), &ps)
		if !hok {
			ok = false
			continue
		}
		if ok {
			// Move the hole to the outer ring's frame: its first vertex into
			// [outer.minX, outer.minX+360).
			k := math.Floor((hr.x[0] - outer.bb.minX) / 360)
			if k != 0 {
				hr.shift(-k, hv)
			}
		}
		rings = append(rings, hr)
		pfx = append(pfx, fmt.Sprintf("holes[%d].", h))
	}
	if !ok {
		return nil, ps.result()
	}
	checkEdges(rings, pfx, &ps)
	// Containment: with no edges meeting, one vertex decides for a ring.
	if len(ps.list) == 0 {
		for h := 1; h < len(rings); h++ {
			in, _ := outer.contains(rings[h].x[0], rings[h].y[0])
			if !in {
				ps.add(pfx[h][:len(pfx[h])-1], "is not inside the outer ring")
			}
			for g := 1; g < h; g++ {
				if in, _ := rings[g].contains(rings[h].x[0], rings[h].y[0]); in {
					ps.add(pfx[h][:len(pfx[h])-1], "is inside %s", pfx[g][:len(pfx[g])-1])
				}
				if in, _ := rings[h].contains(rings[g].x[0], rings[g].y[0]); in {
					ps.add(pfx[g][:len(pfx[g])-1], "is inside %s", pfx[h][:len(pfx[h])-1])
				}
			}
		}
	}
	if len(ps.list) > 0 {
		return nil, ps.result()
	}
	return &polyPrep{rings: rings, bb: outer.bb}, nil
}

// checkEdges reports every pair of edges that meet other than consecutive
// edges at their shared vertex: within a ring (self-intersection, including
// a spike that doubles back along itself) and between rings (a hole touching
// the outer ring or another hole). Sort-and-sweep on longitude: O(n log n)
// plus the pairs whose longitude ranges overlap.
func checkEdges(rings []ring, pfx []string, ps *problems) {
	type edge struct {
		ring, i    int
		minX, maxX float64
	}
	var es []edge
	for ri := range rings {
		r := &rings[ri]
		n := len(r.x)
		for i := range n {
			j := (i + 1) % n
			es = append(es, edge{ri, i, math.Min(r.x[i], r.x[j]), math.Max(r.x[i], r.x[j])})
		}
	}
	sort.Slice(es, func(a, b int) bool { return es[a].minX < es[b].minX })
	reportedPair := map[[2]int]bool{}
	for a := range es {
		ea := es[a]
		ra := &rings[ea.ring]
		na := len(ra.x)
		a1, a2 := ea.i, (ea.i+1)%na
		for b := a + 1; b < len(es) && es[b].minX <= ea.maxX; b++ {
			eb := es[b]
			rb := &rings[eb.ring]
			nb := len(rb.x)
			b1, b2 := eb.i, (eb.i+1)%nb
			if ea.ring == eb.ring && (a2 == b1 || b2 == a1) {
				// Consecutive edges: they may only share their vertex. They
				// overlap iff collinear and doubling back.
				var p, q, s int // p→q→s
				if a2 == b1 {
					p, q, s = a1, a2, b2
				} else {
					p, q, s = b1, b2, a2
				}
				if na == 3 && a2 == b1 && b2 == a1 {
					continue // unreachable for distinct edges
				}
				if orient(ra.x[p], ra.y[p], ra.x[q], ra.y[q], ra.x[s], ra.y[s]) == 0 &&
					(ra.x[q]-ra.x[p])*(ra.x[s]-ra.x[q])+(ra.y[q]-ra.y[p])*(ra.y[s]-ra.y[q]) < 0 {
					ps.add(fmt.Sprintf("%svertices[%d]", pfx[ea.ring], ra.idx[q]), "ring doubles back on itself at this vertex (a zero-width spike)")
				}
				continue
			}
			if !segmentsIntersect(ra.x[a1], ra.y[a1], ra.x[a2], ra.y[a2], rb.x[b1], rb.y[b1], rb.x[b2], rb.y[b2]) {
				continue
			}
			ea, eb := ea, eb
			a1, a2 := a1, a2
			if eb.ring < ea.ring || (eb.ring == ea.ring && eb.i < ea.i) {
				ea, eb = eb, ea
				ra, rb = rb, ra
				a1, a2, b1, b2 = b1, b2, a1, a2
			}
			msg := fmt.Sprintf("edge %svertices[%d]–[%d] meets edge %svertices[%d]–[%d]",
				pfx[ea.ring], ra.idx[a1], ra.idx[a2], pfx[eb.ring], rb.idx[b1], rb.idx[b2])
			switch {
			case ea.ring == eb.ring:
				ps.add(fmt.Sprintf("%svertices[%d]", pfx[ea.ring], ra.idx[a1]), "ring intersects itself: %s", msg)
			case !reportedPair[[2]int{ea.ring, eb.ring}]:
				reportedPair[[2]int{ea.ring, eb.ring}] = true
				what := "the outer ring"
				if ea.ring > 0 {
					what = pfx[ea.ring][:len(pfx[ea.ring])-1]
				}
				ps.add(pfx[eb.ring][:len(pfx[eb.ring])-1], "touches or crosses %s: %s", what, msg)
			}
			ra = &rings[es[a].ring]
		}
	}
}
