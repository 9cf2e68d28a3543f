package geo

import (
	"math"

	h3 "github.com/uber/h3-go/v4"
)

// Cover covers the polygon. Each candidate cell is replaced by a region of
// the unwrapped plane that surely contains it (cellRegion) and classified
// by a topological argument rather than by sampling: if no polygon edge
// meets that connected region, the region is wholly inside or wholly
// outside, and one point of it decides which. Testing only the cell's
// vertices would not do: a cell whose vertices are all inside can still
// contain a hole or a concave notch. Cells near a pole are represented by
// the whole polar strip, so they are never Interior; nothing is lost since
// they are then Boundary and get the exact test.
//
// Returns ErrTooManyCells if the covering would exceed p.MaxCells; the
// result is undefined for an invalid polygon (nil and an error).
func (p Polygon) Cover(pol CoverPolicy) (*Covering, error) {
	pp := p.prepared()
	if pp == nil {
		return nil, errInvalidShape
	}
	pol = pol.withDefaults()
	res := pol.ResolutionFor(p.PerimeterM())
	cl := newPolyClassifier(pp)
	center, rho := pp.boundingCap()
	r0, seeds := seedCells(cl, center, rho, res)
	return coverTopDown(cl, seeds, r0, res, pol.MaxCells)
}

// boundingCap returns a cap holding the polygon: the mean of its outer
// vertices and the largest angle to points sampled along its edges, with a
// margin for the samples' spacing.
func (pp *polyPrep) boundingCap() (Point, float64) {
	o := &pp.rings[0]
	var sum Point
	for i := range o.x {
		sum = sum.Add(PointFromDeg(o.y[i], o.x[i]))
	}
	if norm(sum) < 1e-6 {
		return Point{0, 0, 1}, math.Pi
	}
	c := sum.Normalize()
	var rho, step float64
	n := len(o.x)
	const samples = 16
	for i := range n {
		j := (i + 1) % n
		for s := range samples {
			t := float64(s) / samples
			q := PointFromDeg(o.y[i]+t*(o.y[j]-o.y[i]), o.x[i]+t*(o.x[j]-o.x[i]))
			rho = math.Max(rho, angle(c, q))
		}
		seg := math.Hypot(o.y[j]-o.y[i], o.x[j]-o.x[i]) * math.Pi / 180 / samples
		step = math.Max(step, seg)
	}
	return c, math.Min(math.Pi, rho*1.01+step+1e-6)
}

var errInvalidShape = errorString("geo: shape is invalid (see Validate)")

type errorString string

func (e errorString) Error() string { return string(e) }

// polyEdge is an edge in the polygon's frame with its bounding box.
type polyEdge struct {
	x1, y1, x2, y2 float64
	bb             box
}

// edgeList is the subset of a polygon's edges that meet filter.
type edgeList struct {
	filter box
	idx    []int32
}

type polyClassifier struct {
	pp           *polyPrep
	edges        []polyEdge
	all          *edgeList
	north, south h3.Cell // the cells holding the poles at the current level
	boxes        []box
	cOnly        bool // every region from the C's boundary (tests)
	// polarZ: a cell whose Go centre has |z| above it may reach within
	// h3PolarRad of a pole (goRegion leaves it to the C); per level.
	polarZ float64
}

func newPolyClassifier(pp *polyPrep) *polyClassifier {
	cl := &polyClassifier{pp: pp, all: &edgeList{filter: box{math.Inf(-1), math.Inf(1), math.Inf(-1), math.Inf(1)}}}
	for _, r := range pp.rings {
		n := len(r.x)
		for i := range n {
			j := (i + 1) % n
			e := polyEdge{x1: r.x[i], y1: r.y[i], x2: r.x[j], y2: r.y[j]}
			e.bb = box{math.Min(e.x1, e.x2), math.Max(e.x1, e.x2), math.Min(e.y1, e.y2), math.Max(e.y1, e.y2)}
			cl.all.idx = append(cl.all.idx, int32(len(cl.edges)))
			cl.edges = append(cl.edges, e)
		}
	}
	return cl
}

func (cl *polyClassifier) startLevel(res int) {
	cl.north = h3.LatLngToCell(h3.LatLng{Lat: 90, Lng: 0}, res)
	cl.south = h3.LatLngToCell(h3.LatLng{Lat: -90, Lng: 0}, res)
	cl.polarZ = math.Cos(min(math.Pi, cellBoundRad(res)+h3PolarRad))
}

func (cl *polyClassifier) classify(c h3.Cell, res int, ctx any) (CellState, any) {
	parent, _ := ctx.(*edgeList)
	if parent == nil {
		parent = cl.all
	}
	var reg cellRegionT
	ok := false
	if !cl.cOnly {
		reg, ok = cl.goRegion(c, res, parent)
	}
	if !ok {
		reg = cellRegion(c, cl.north, cl.south)
	}
	switch reg.kind {
	case regionDecided:
		return reg.state, nil
	case regionAll:
		return Boundary, nil
	case regionNorth, regionSouth:
		// The strip is unbounded in the plane and the polygon bounded, so
		// with no edge in the strip the strip is outside.
		for i := range cl.edges {
			e := &cl.edges[i]
			if (reg.kind == regionNorth && e.bb.maxY >= reg.lat0) || (reg.kind == regionSouth && e.bb.minY <= reg.lat0) {
				return Boundary, nil
			}
		}
		return Outside, nil
	}
	if st := cl.boxState(reg.b, parent); st != Boundary {
		return st, nil
	}
	// Boundary: hand the next level the edges near this cell. Its
	// candidates lie within about one child's width of the cell, so a filter
	// of one cell's width on each side holds them.
	f := cl.boxes[0]
	for _, s := range cl.boxes[1:] {
		f = box{math.Min(f.minX, s.minX), math.Max(f.maxX, s.maxX), math.Min(f.minY, s.minY), math.Max(f.maxY, s.maxY)}
	}
	b := reg.b
	w, h := b.maxX-b.minX, b.maxY-b.minY
	f = box{f.minX - w, f.maxX + w, f.minY - h, f.maxY + h}
	src := parent
	if !src.filter.containsBox(f) {
		src = cl.all
	}
	out := &edgeList{filter: f}
	for _, i := range src.idx {
		if cl.edges[i].bb.overlaps(f) {
			out.idx = append(out.idx, i)
		}
	}
	return Boundary, out
}

// boxState classifies a connected region of the plane, the box b, that
// holds a cell: Outside when no copy of it (b shifted by multiples of 360°
// of longitude) meets the polygon's box or, meeting no edge, lies outside;
// Interior when no edge meets it and it lies inside; else Boundary, with
// the copies that meet the polygon's box left in cl.boxes. parent holds
// the edges that can meet boxes within its filter.
func (cl *polyClassifier) boxState(b box, parent *edgeList) CellState {
	pb := cl.pp.bb
	cl.boxes = cl.boxes[:0]
	for k := math.Ceil((pb.minX - b.maxX) / 360); k <= math.Floor((pb.maxX-b.minX)/360); k++ {
		s := box{b.minX + 360*k, b.maxX + 360*k, b.minY, b.maxY}
		if s.overlaps(pb) {
			cl.boxes = append(cl.boxes, s)
		}
	}
	if len(cl.boxes) == 0 {
		return Outside
	}
	for _, s := range cl.boxes {
		el := parent
		if !el.filter.containsBox(s) {
			el = cl.all
		}
		for _, i := range el.idx {
			e := &cl.edges[i]
			if e.bb.overlaps(s) && segmentMeetsBox(e.x1, e.y1, e.x2, e.y2, s) {
				return Boundary
			}
		}
	}
	for _, s := range cl.boxes {
		if cl.pp.containsPlane((s.minX+s.maxX)/2, (s.minY+s.maxY)/2) {
			return Interior
		}
	}
	return Outside
}

// goRegion finds, without the C library, a region of the plane that
// holds cell c, or decides the cell outright (regionDecided); ok is false
// when the C's boundary must be used (cellRegion). First the cap around the
// cell's Go centre of radius cellBoundRad, which holds the whole cell: its
// bounding box (a cap of angular radius R around latitude φ spans φ ± R
// and ±asin(sin R / cos φ) of longitude) decides most cells away from the
// polygon's edges, by the same test as cellRegion's box. For the rest, a
// hexagon whose vertices lie on its centre's face gets cellRegion's box
// from h3HexVertices, which are within h3VertexTolRad (~6e-11°) of the C's
// — far inside regionMarginDeg. Cells that may reach within h3PolarRad of
// a pole, where the C's own vertices are less precise and regions become
// polar strips, and pentagons go to the C.
func (cl *polyClassifier) goRegion(c h3.Cell, res int, parent *edgeList) (reg cellRegionT, ok bool) {
	h := uint64(c)
	face, i, j, k := h3CellToFaceIjk(h)
	p := h3FaceIjkToPoint(face, i, j, k, res)
	r := cellBoundRad(res)
	if math.Abs(p.Z) > cl.polarZ {
		return reg, false
	}
	lat, lng := p.Deg()
	latRad := lat * math.Pi / 180
	// Not polar: |φ| + R < 90°, so sin R < cos φ and the asin is defined.
	half := math.Asin(math.Min(1, math.Sin(r)/math.Cos(latRad))) * 180 / math.Pi
	rDeg := r * 180 / math.Pi
	if half <= 45 {
		m := regionMarginDeg
		capBox := box{lng - half - m, lng + half + m, lat - rDeg - m, lat + rDeg + m}
		if st := cl.boxState(capBox, parent); st != Boundary {
			return cellRegionT{kind: regionDecided, state: st}, true
		}
	}
	if h3CellIsPentagon(h) {
		return reg, false
	}
	v, ok := h3HexVertices(face, i, j, k, res)
	if !ok {
		return reg, false
	}
	var bnd [6]h3.LatLng
	for n := range v {
		bnd[n].Lat, bnd[n].Lng = v[n].Deg()
	}
	return regionOf(c, bnd[:], cl.north, cl.south), true
}

type regionKind uint8

const (
	regionBox     regionKind = iota
	regionNorth              // latitude ≥ lat0, every longitude
	regionSouth              // latitude ≤ lat0, every longitude
	regionAll                // the whole plane (huge cells spanning the equator)
	regionDecided            // no region needed: the cell is state (goRegion)
)

type cellRegionT struct {
	kind regionKind
	lat0 float64
	b    box // in the cell's own frame: longitudes within 180° of its first vertex
	// state is the decided cell's state (regionDecided).
	state CellState
}

// regionMarginDeg is added to every cell region: ~0.1 mm, far above the
// rounding of H3's vertices and of LatLngToCell.
const regionMarginDeg = 1e-9

// polarLatDeg: cells reaching beyond it are represented by their polar
// strip (near a pole longitudes along an edge stop behaving smoothly).
const polarLatDeg = 89.9

// cellRegion returns a region of the unwrapped plane that contains cell c.
// H3 cell edges are great-circle arcs, which in the lat/lng plane bulge
// (poleward) away from the straight line between their vertices, so the box
// is taken over points along the arcs (vertices, midpoints, quarter points)
// and widened by twice the largest deviation of a quarter point from its
// neighbours' midpoint: the bulge between samples is about a quarter of
// that. A cell that holds or nears a pole, or spans more than 90° of
// longitude, becomes a polar strip (its lowest latitude is at a vertex:
// great-circle arcs in one hemisphere bulge only poleward).
func cellRegion(c, north, south h3.Cell) cellRegionT {
	return regionOf(c, c.Boundary(), north, south)
}

// regionOf is cellRegion from c's boundary vertices bnd.
func regionOf(c h3.Cell, bnd []h3.LatLng, north, south h3.Cell) cellRegionT {
	minLat, maxLat := 90.0, -90.0
	for _, v := range bnd {
		minLat, maxLat = math.Min(minLat, v.Lat), math.Max(maxLat, v.Lat)
	}
	strip := func() cellRegionT {
		switch {
		case c == north || minLat > 0:
			return cellRegionT{kind: regionNorth, lat0: minLat - regionMarginDeg}
		case c == south || maxLat < 0:
			return cellRegionT{kind: regionSouth, lat0: maxLat + regionMarginDeg}
		}
		return cellRegionT{kind: regionAll}
	}
	if c == north || c == south || maxLat > polarLatDeg || minLat < -polarLatDeg {
		return strip()
	}
	ref := bnd[0].Lng
	unwrap := func(lng float64) float64 { return ref + math.Remainder(lng-ref, 360) }
	b := box{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
	add := func(x, y float64) {
		b.minX, b.maxX = math.Min(b.minX, x), math.Max(b.maxX, x)
		b.minY, b.maxY = math.Min(b.minY, y), math.Max(b.maxY, y)
	}
	var devX, devY float64
	n := len(bnd)
	for i := range n {
		a, z := bnd[i], bnd[(i+1)%n]
		pa, pz := PointFromDeg(a.Lat, a.Lng), PointFromDeg(z.Lat, z.Lng)
		pm := pa.Add(pz).Normalize()
		pq1, pq3 := pa.Add(pm).Normalize(), pm.Add(pz).Normalize()
		ax, ay := unwrap(a.Lng), a.Lat
		zx, zy := unwrap(z.Lng), z.Lat
		my, mx := pm.Deg()
		q1y, q1x := pq1.Deg()
		q3y, q3x := pq3.Deg()
		mx, q1x, q3x = unwrap(mx), unwrap(q1x), unwrap(q3x)
		add(ax, ay)
		add(q1x, q1y)
		add(mx, my)
		add(q3x, q3y)
		devX = math.Max(devX, math.Max(math.Abs(q1x-(ax+mx)/2), math.Abs(q3x-(mx+zx)/2)))
		devY = math.Max(devY, math.Max(math.Abs(q1y-(ay+my)/2), math.Abs(q3y-(my+zy)/2)))
	}
	if b.maxX-b.minX > 90 {
		return strip()
	}
	mx, my := 2*devX+regionMarginDeg, 2*devY+regionMarginDeg
	return cellRegionT{kind: regionBox, b: box{b.minX - mx, b.maxX + mx, b.minY - my, b.maxY + my}}
}
