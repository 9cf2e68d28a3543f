package geo

import "math"

// This file is the first half of H3 v4.1.0's cellToLatLng in Go — the
// integer walk from an index to its face and ijk+ coordinates
// (_h3ToFaceIjk, ported function by function like h3port.go, C names in the
// comments) — followed by the face-IJK → sphere step done without
// trigonometry, as a unit vector. The circle covering needs the centre of
// every cell it classifies (~1,150 for a 5 km circle) to decide most of
// them with one dot product (see cellBoundRad); through cgo each
// centre would cost ~1.5 µs, and H3's own inverse gnomonic step is atan,
// atan2 and a spherical-trigonometry destination (_geoAzDistanceRads).
//
// The integer part is exact, so the face and coordinates are the C's. The
// last step is not bit for bit the C's (different arithmetic, same
// geometry): the tests find the two centres within ~1e-14 rad of each
// other (farther near the poles, where the C's latitude, an asin, loses
// precision), and the classifier only relies on the centre through
// cellBoundRad, whose tests measure every C boundary vertex against this
// centre.

// h3CellToFaceIjk is _h3ToFaceIjk: the face and normalised ijk+
// coordinates of the cell's centre, at the cell's resolution, on the face
// the centre lies on (the base cell's home face, or the neighbour it spills
// onto). The index must be valid (ValidCell).
func h3CellToFaceIjk(h uint64) (face, i, j, k int) {
	baseCell := int((h >> h3BaseOffset) & 0x7f)
	if baseCell >= h3NumBaseCells {
		return 0, 0, 0, 0 // the C's E_CELL_INVALID; undefined for callers
	}
	pent := h3BaseCellPentagon[baseCell]
	// adjust for the pentagonal missing sequence; all of sub-sequence 5
	// needs to be adjusted (and some of sub-sequence 4 below)
	if pent && h3LeadingNonZeroDigit(h) == 5 {
		h = h3RotateDigits(h, &h3Rotate60cwDigit)
	}

	// start with the "home" face and ijk+ coordinates for the base cell
	home := &h3BaseCellHomeFijk[baseCell]
	face, i, j, k = int(home[0]), int(home[1]), int(home[2]), int(home[3])
	res := CellResolution(h)

	// _h3ToFaceIjkWithInitializedFijk: the centre base cell hierarchy is
	// entirely on this face
	possibleOverage := pent || !(res == 0 || (i == 0 && j == 0 && k == 0))
	i, j, k = h3DescendDigits(i, j, k, h, res)
	if !possibleOverage {
		return face, i, j, k // h lies on this face
	}

	// the potential for an "overage": the centre may lie on an adjacent
	// face
	oi, oj, ok := i, j, k

	// if we're in Class III, drop into the next finer Class II grid
	adjRes := res
	if res%2 == 1 {
		i, j, k = h3DownAp7r(i, j, k)
		adjRes++
	}

	// a pentagon base cell with a leading 4 digit requires special handling
	pentLeading4 := pent && h3LeadingNonZeroDigit(h) == 4
	var over bool
	if face, i, j, k, over = h3AdjustOverageClassII(face, i, j, k, adjRes, pentLeading4); over {
		// if the base cell is a pentagon we have the potential for
		// secondary overages
		for pent && over {
			face, i, j, k, over = h3AdjustOverageClassII(face, i, j, k, adjRes, false)
		}
		if adjRes != res {
			i, j, k = h3UpAp7r(i, j, k)
		}
	} else if adjRes != res {
		i, j, k = oi, oj, ok
	}
	return face, i, j, k
}

// h3DescendDigits is the loop of _h3ToFaceIjkWithInitializedFijk: from
// the base cell's coordinates, for each resolution r = 1…res, the centre
// child (_downAp7 at Class III, _downAp7r at Class II) and then the
// neighbour in digit r's direction (_neighbor). The C normalises after
// every step; every step is linear and maps (1,1,1) — which normalising
// removes — to a multiple of itself, so normalising once at the end gives
// the same coordinates. The steps are done on the axial pair (a, b) =
// (i−k, j−k), which drops that component altogether: _downAp7's
// (3i+j, 3j+k, i+3k) is (2a+b, 3b−a), _downAp7r's (3i+k, i+3j, j+3k) is
// (3a−b, a+2b), and UNIT_VECS[d] is (d_i−d_k, d_j−d_k). This is ~4 times
// faster than the C's sequence (two branchy normalisations per digit),
// and |a|, |b| < 2·7^8 at resolution 15, far from overflow.
func h3DescendDigits(i, j, k int, h uint64, res int) (int, int, int) {
	a, b := i-k, j-k
	for r := 1; r <= res; r++ {
		if r%2 == 1 { // Class III == rotate ccw
			a, b = 2*a+b, 3*b-a
		} else { // Class II == rotate cw
			a, b = 3*a-b, a+2*b
		}
		if d := h3Digit(h, r); d > 0 && d < 7 {
			dk := int(d & 1)
			a += int(d>>2&1) - dk
			b += int(d>>1&1) - dk
		}
	}
	return h3IjkNormalize(a, b, 0)
}

// h3AdjustOverageClassII is _adjustOverageClassII without the substrate
// grid (cell centres only): if the Class II coordinates (i, j, k) at res
// lie beyond the face's edge, they are moved onto the neighbouring face
// across it, and over is true.
func h3AdjustOverageClassII(face, i, j, k, res int, pentLeading4 bool) (int, int, int, int, bool) {
	maxDim := h3MaxDimByCIIres[res]
	if i+j+k <= maxDim {
		return face, i, j, k, false
	}
	var o *h3FaceOrientIJK
	if k > 0 {
		if j > 0 { // jk "quadrant"
			o = &h3FaceNeighbors[face][3]
		} else { // ik "quadrant"
			o = &h3FaceNeighbors[face][2]
			// adjust for the pentagonal missing sequence
			if pentLeading4 {
				// translate the origin to the centre of the pentagon,
				// rotate to adjust for the missing sequence, translate
				// back (_ijkSub and _ijkAdd do not normalise)
				ti, tj, tk := h3IjkRotate60cw(i-maxDim, j, k)
				i, j, k = ti+maxDim, tj, tk
			}
		}
	} else { // ij "quadrant"
		o = &h3FaceNeighbors[face][1]
	}
	face = int(o.face)

	// rotate and translate for the adjacent face
	for range o.ccwRot60 {
		i, j, k = h3IjkRotate60ccw(i, j, k)
	}
	unit := h3UnitScaleByCIIres[res]
	i, j, k = h3IjkNormalize(i+int(o.ti)*unit, j+int(o.tj)*unit, k+int(o.tk)*unit)
	return face, i, j, k, true
}

// h3IjkRotate60ccw is _ijkRotate60ccw: i → (1,1,0), j → (0,1,1),
// k → (1,0,1).
func h3IjkRotate60ccw(i, j, k int) (int, int, int) {
	return h3IjkNormalize(i+k, i+j, j+k)
}

// h3IjkRotate60cw is _ijkRotate60cw: i → (1,0,1), j → (1,1,0),
// k → (0,1,1).
func h3IjkRotate60cw(i, j, k int) (int, int, int) {
	return h3IjkNormalize(i+j, j+k, i+k)
}

// h3FaceFrame is a face's gnomonic plane in 3D: the unit tangent vectors
// at the face centre along the hex2d x and y axes, one pair for the Class
// II resolutions and one for the Class III ones (rotated by M_AP7_ROT_RADS).
type h3FaceFrame struct{ x, y [2]Point }

// h3FaceFrames derives the frames from H3's own angles, once.
// _hex2dToGeo turns hex2d (x, y) = r·(cos θ, sin θ) into the point at
// azimuth az0 − θ (az0 = faceAxesAzRadsCII[face][0], and θ + M_AP7_ROT_RADS
// for Class III, i.e. az0 − M_AP7_ROT_RADS) and angular distance atan(r·u)
// from the face centre, u the resolution's gnomonic unit. That point is
// the unit vector along f + r·u·(cos az·N + sin az·E), f the centre, N and
// E the unit north and east tangents there (this is the gnomonic
// projection: the tangent-plane point at distance tan δ along the azimuth).
// Expanding cos(az0 − θ) and sin(az0 − θ), r·cos(az0 − θ)·N + r·sin(az0 −
// θ)·E = x·(cos az0·N + sin az0·E) + y·(sin az0·N − cos az0·E): x runs
// along azimuth az0 and y along azimuth az0 − 90°.
var h3FaceFrames = func() (t [h3NumFaces]h3FaceFrame) {
	for f, g := range h3FaceCenterGeo {
		sinLat, cosLat := math.Sincos(g[0])
		sinLng, cosLng := math.Sincos(g[1])
		n := Point{-sinLat * cosLng, -sinLat * sinLng, cosLat}
		e := Point{-sinLng, cosLng, 0}
		for class, az := range [2]float64{h3FaceAxesAzRadsCII[f][0], h3FaceAxesAzRadsCII[f][0] - h3Ap7RotRads} {
			s, c := math.Sincos(az)
			t[f].x[class] = Point{c*n.X + s*e.X, c*n.Y + s*e.Y, c*n.Z + s*e.Z}
			t[f].y[class] = Point{s*n.X - c*e.X, s*n.Y - c*e.Y, s*n.Z - c*e.Z}
		}
	}
	return t
}()

// h3GnomonicUnit is, per resolution, the gnomonic length of one hex2d unit
// (the distance between neighbouring cell centres): RES0_U_GNOMONIC /
// √7^res, the scaling _hex2dToGeo applies before its atan. It runs to
// resolution 16, the Class II substrate of resolution 15's vertices.
var h3GnomonicUnit = func() (t [h3MaxRes + 2]float64) {
	for r := range t {
		t[r] = h3Res0UGnomonic / math.Pow(h3Sqrt7, float64(r))
	}
	return t
}()

// h3FaceIjkToPoint is _faceIjkToGeo as a unit vector: the point of the
// sphere whose gnomonic projection on the face's plane is the centre of
// hex (i, j, k) of the resolution's grid (see h3FaceFrames).
func h3FaceIjkToPoint(face, i, j, k, res int) Point {
	x, y := h3IjkToHex2d(i, j, k)
	u := h3GnomonicUnit[res]
	x *= u
	y *= u
	fr := &h3FaceFrames[face]
	ex, ey := &fr.x[res%2], &fr.y[res%2]
	c := &h3FaceCenterPoint[face]
	return Point{
		c[0] + x*ex.X + y*ey.X,
		c[1] + x*ex.Y + y*ey.Y,
		c[2] + x*ex.Z + y*ey.Z,
	}.Normalize()
}

// cellCenterPoint returns the unit vector of the centre of an H3 cell, the
// point h3.Cell.LatLng gives (within ~1e-15 rad), without a cgo call or
// trigonometry. Undefined for an invalid index (ValidCell false).
func cellCenterPoint(cell uint64) Point {
	p, _ := cellCenterFace(cell)
	return p
}

// cellCenterFace is cellCenterPoint and the face the centre lies on.
func cellCenterFace(cell uint64) (Point, int) {
	face, i, j, k := h3CellToFaceIjk(cell)
	return h3FaceIjkToPoint(face, i, j, k, CellResolution(cell)), face
}

// cellBoundRad returns, for a resolution, an angle (radians) that every
// point of every cell of that resolution, pentagons included, is within of
// the cell's centre (cellCenterPoint): a circumradius bound.
//
// Why it holds. H3 lays its grids on the gnomonic projections of the
// icosahedron's faces, with the grids of adjacent faces continuing each
// other across their common edge (faceNeighbors is that unfolding, a
// rotation and translation of the hex coordinates). In that unfolded net a
// cell is a regular hexagon whose neighbouring centres are one hex2d unit
// apart, so its circumradius is 1/√3 unit: RES0_U_GNOMONIC/√3 · 7^(−res/2)
// in gnomonic length (h3GnomonicUnit). A pentagon is the same hexagon
// centred on an icosahedron vertex with one 60° wedge missing, each of its
// five parts lying in one face's plane. The inverse gnomonic projection
// never lengthens a path: its scale factors are cos²δ radially and cos δ
// across, δ the angle from the face centre, both ≤ 1. So the straight
// segment from the centre to any point q of the cell — inside the hexagon,
// which is convex, so no longer than the circumradius — maps onto a path
// on the sphere that is no longer, and the angle from centre to q is at
// most the path's length. If the segment crosses a face edge (a hexagon
// straddling two faces: none reaches a third, as only the pentagon and its
// neighbours come within reach of two of a vertex's edges, and those
// neighbours lie on one edge or 19° from it), split it where it crosses:
// each piece lies in one face's plane, the crossing point is the same
// point of the sphere on both (the edge is one great-circle arc, and the
// unfolding matches its two projections: the reflection swapping the two
// faces fixes it), and the pieces' lengths add up to the segment's. A
// pentagon's segments all start at the vertex and stay within one face.
//
// The factor 1+1e-9 and the 1e-12 rad added absorb rounding: in this
// centre (~1e-14 rad from the C's), in the C library's boundary vertices
// the classifier compares against, and in the unit vectors made from their
// degrees — away from the poles, where the C's vertices are off by up to
// ~1e-9 rad (h3PolarRad). TestCellBoundRad checks every C boundary
// vertex of random cells at every resolution, of every pentagon and its
// neighbours and of cells along face edges against it: the largest
// distance is the unpadded bound itself to 6e-16 rad (a resolution 15
// cell at a face centre, where the projection does not shrink it),
// pentagons 0.74 of it.
func cellBoundRad(res int) float64 { return h3CellBoundRad[res] }

// h3PolarRad: the C library's boundary vertices (_geoAzDistanceRads, whose
// latitude is an asin) carry a rounding error of ~1e-16/ε rad at ε rad
// from a pole, and up to ~1e-8 rad within 1e-8 rad of it (the tests find
// 2e-9). Farther than h3PolarRad (64 km) that is < 1e-13, inside
// cellBoundRad's 1e-12 allowance; the circle classifier sends cells that
// may reach closer to the exact code, which uses the C's vertices as they
// are.
const h3PolarRad = 1e-2

var h3CellBoundRad = func() (t [h3MaxRes + 1]float64) {
	for r := range t {
		t[r] = h3GnomonicUnit[r]/math.Sqrt(3)*(1+1e-9) + 1e-12
	}
	return t
}()

// h3FaceEdgeNormals holds, per face, the inward unit normals of the three
// great circles through its edges: a point is inside the face's spherical
// triangle where all three dot products are ≥ 0, and the smallest is the
// sine of its angle to the nearest edge. The vertices are the face's
// Class II grid corners at resolution 0, ijk (2,0,0), (0,2,0), (0,0,2) —
// the pentagons' centres.
var h3FaceEdgeNormals = func() (t [h3NumFaces][3]Point) {
	for f := range h3NumFaces {
		v := [3]Point{
			h3FaceIjkToPoint(f, 2, 0, 0, 0),
			h3FaceIjkToPoint(f, 0, 2, 0, 0),
			h3FaceIjkToPoint(f, 0, 0, 2, 0),
		}
		c := Point{h3FaceCenterPoint[f][0], h3FaceCenterPoint[f][1], h3FaceCenterPoint[f][2]}
		for e := range 3 {
			n := cross(v[e], v[(e+1)%3]).Normalize()
			if dot(n, c) < 0 {
				n = Point{-n.X, -n.Y, -n.Z}
			}
			t[f][e] = n
		}
	}
	return t
}()

// h3FaceEdgeClearance returns how far inside the face's spherical triangle
// p lies, as the sine of its angle to the nearest of the face's edges
// (negative outside).
func h3FaceEdgeClearance(p Point, face int) float64 {
	n := &h3FaceEdgeNormals[face]
	return min(dot(p, n[0]), dot(p, n[1]), dot(p, n[2]))
}
