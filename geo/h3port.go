package geo

import (
	"math"

	h3 "github.com/uber/h3-go/v4"
)

// This file is H3 v4.1.0's latLngToCell in Go, ported function by function
// from the C sources vendored in github.com/uber/h3-go/v4@v4.1.0 (the C
// names are kept in the comments), with the floating-point operations in
// the C order. A cgo call costs ~1.7 µs, nearly all of it crossing into C;
// the port costs about a quarter of that (BenchmarkLatLngToCell), and the
// Nearby path calls it once per covering resolution.
//
// Bit-for-bit equality with the C library cannot come from the port alone:
// Go's math.Sin, Cos, Tan, Acos and Atan2 are not glibc's and differ from
// them in the last place for some arguments, and the C code computes some
// steps in x87 long double (its constants carry an L suffix). Those
// differences move the point's hex-grid coordinates by a few units in the
// last place, which changes the answer only for a point that close to a
// cell edge (or equidistant from two face centres). So the port also
// bounds how far its coordinates can be from the C ones (h3Encode's
// tolerance, a generous multiple of the worst case) and, when the point
// lies within that bound of a decision, defers to the C library. The
// result is then H3's wherever the bound holds (the oracle tests find it
// a thousand times larger than needed), and the cgo call is paid by ~2
// random points in 10,000 at resolution 15 and far fewer at coarser ones,
// plus points near a face centre at the finest resolutions, where H3's own
// acos(1 - sqd/2) is coarsest (at resolution 15, most points within a few
// hundred metres of one of the twenty).

// Constants of h3_constants.h and h3_faceijk.c. The C declares most of
// them long double; here they round to float64, one of the last-place
// differences the tolerance covers.
const (
	h3NumFaces     = 20 // NUM_ICOSA_FACES
	h3NumBaseCells = 122
	h3MaxFaceCoord = 2 // MAX_FACE_COORD

	h3M2Pi          = 6.28318530717958647692528676655900576839433 // M_2PI
	h3Epsilon       = 0.0000000000000001                          // EPSILON
	h3Sin60         = 0.8660254037844386467637231707529361834714  // M_SIN60 = M_SQRT3_2
	h3Ap7RotRads    = 0.333473172251832115336090755351601070065900389
	h3Res0UGnomonic = 0.38196601125010500003                     // RES0_U_GNOMONIC
	h3Sqrt7         = 2.6457513110645905905016157536392604257102 // M_SQRT7

	// h3DegsToRads is h3-go's DegsToRads: h3-go converts degrees in Go
	// before the cgo call, so this product is the C code's input exactly.
	h3DegsToRads = math.Pi / 180.0

	// h3Init is H3_INIT: every digit 7, everything else 0.
	h3Init       = uint64(35184372088831)
	h3ModeOffset = 59
	h3BaseOffset = 45
	h3CellMode   = 1

	// h3KAxesDigit is K_AXES_DIGIT, the digit a pentagon's children skip.
	h3KAxesDigit = 1
)

// h3Tolerance scales h3Encode's bound on the distance, in hex-grid units,
// between its coordinates and the C library's. The worst cases it covers
// are a few units in the last place (~1e-15 relative); 1e-12 leaves three
// orders of magnitude of margin (the oracle tests find no wrong answer
// the port would certify even at a thousandth of it) and still sends only
// ~2e-4 of random points at resolution 15 to the C library.
const h3Tolerance = 1e-12

// latLngToCellGo returns H3's latLngToCell(latDeg, lngDeg, res), the same
// uint64 as h3.LatLngToCell, mostly without a cgo call. It returns 0 where
// the C returns an error (res outside 0–15, NaN or infinite coordinates);
// latitudes beyond ±90° and longitudes beyond ±180° go to the C library
// whole, since the error bound assumes reduced arguments.
func latLngToCellGo(latDeg, lngDeg float64, res int) uint64 {
	if res < 0 || res > h3MaxRes || math.IsNaN(latDeg) || math.IsNaN(lngDeg) ||
		math.IsInf(latDeg, 0) || math.IsInf(lngDeg, 0) {
		return 0
	}
	if math.Abs(latDeg) <= 90 && math.Abs(lngDeg) <= 180 {
		if cell, certain := h3Encode(latDeg, lngDeg, res, 1); certain {
			return cell
		}
	}
	return uint64(h3.LatLngToCell(h3.LatLng{Lat: latDeg, Lng: lngDeg}, res))
}

// cellsOfGo appends latLngToCellGo(latDeg, lngDeg, r) for each r of res,
// projecting the point once. Where res lists consecutive resolutions in
// ascending order (the covering index's lookup: 7, 8, … 13), a cell is
// usually the child of the one before: its coordinates at the coarser
// resolution, one aperture-7 step up, are those the coarser cell was
// computed from, and then every digit above is that cell's — the C would
// compute the same digits again from the same coordinates — so only the
// new digit is computed, before the base cell's rotations are applied to
// the whole index (h3Orient, as the C does). Near a cell's edge the
// hierarchy and the geometry part (the step up lands in a neighbour) and
// the cell is computed in full. The digit loop, with its branchy
// normalisations, is most of latLngToCell's cost: seven resolutions cost
// ~two lookups' worth instead of seven.
func cellsOfGo(latDeg, lngDeg float64, res []int, dst []uint64) []uint64 {
	if math.IsNaN(latDeg) || math.IsNaN(lngDeg) || math.IsInf(latDeg, 0) || math.IsInf(lngDeg, 0) ||
		math.Abs(latDeg) > 90 || math.Abs(lngDeg) > 180 {
		for _, r := range res {
			dst = append(dst, latLngToCellGo(latDeg, lngDeg, r))
		}
		return dst
	}
	p := h3Project(latDeg, lngDeg)
	var prev h3Step // the last cell computed, if it can be extended
	for _, r := range res {
		if r < 0 || r > h3MaxRes {
			dst = append(dst, 0)
			prev = h3Step{}
			continue
		}
		x, y, scale := p.hex2d(r)
		i, j, k := h3Hex2dToCoordIJK(x, y)
		raw, bcr, ok := prev.child(r, i, j, k)
		if !ok {
			raw, bcr, ok = h3FaceIjkToRaw(p.face, i, j, k, r)
		}
		var cell uint64
		if ok {
			cell = h3Orient(raw, p.face, bcr)
		}
		if !p.certainAt(x, y, scale, i, j, k, 1) {
			cell, ok = uint64(h3.LatLngToCell(h3.LatLng{Lat: latDeg, Lng: lngDeg}, r)), false
		}
		dst = append(dst, cell)
		prev = h3Step{res: r, i: i, j: j, k: k, raw: raw, bcr: bcr, ok: ok}
	}
	return dst
}

// h3Step is a cell cellsOfGo computed, before its base cell's rotations
// (h3FaceIjkToRaw), with the coordinates it was computed from. ok is
// false when it cannot be extended (no cell, or one from the C library).
type h3Step struct {
	res     int
	i, j, k int
	raw     uint64
	bcr     h3BaseCellRotation
	ok      bool
}

// child returns the unrotated cell at res of the point whose coordinates
// at res are (i, j, k), if s is its parent (see cellsOfGo): s's digits
// and base cell, and one digit more.
func (s *h3Step) child(res, i, j, k int) (raw uint64, bcr h3BaseCellRotation, ok bool) {
	if !s.ok || s.res != res-1 {
		return 0, bcr, false
	}
	pa, pb, d := h3AxialUp(i-k, j-k, res) // as h3FaceIjkToRaw steps up from res
	if pa != s.i-s.k || pb != s.j-s.k {
		return 0, bcr, false
	}
	h := s.raw&^h3ResMask | uint64(res)<<h3ResOffset
	return h3SetDigit(h, res, d), s.bcr, true
}

// h3Encode is latLngToCell on valid input. certain reports whether the
// point is farther than tolScale·h3Tolerance-based bounds from every
// decision the C code takes on floating-point values (the closest face,
// the containing hex), in which case cell is the C library's answer; when
// it is false cell is still the port's answer, usually the same. tolScale
// is 1 except in tests that probe how much of the margin is needed.
func h3Encode(latDeg, lngDeg float64, res int, tolScale float64) (cell uint64, certain bool) {
	p := h3Project(latDeg, lngDeg)
	return p.encode(res, tolScale)
}

// h3Proj is the part of latLngToCell that does not depend on the
// resolution — the closest face and the point's polar coordinates about
// its centre, most of the trigonometry — so that the cells of one point at
// several resolutions (a covering index lookup) pay it once. encode then
// does, per resolution, exactly the C's remaining arithmetic, in the same
// order, so each cell is the one h3Encode alone would give.
type h3Proj struct {
	face      int
	sqd, sqd2 float64 // squared chords to the closest face centre and the runner-up
	angle     float64
	r         float64 // tan(angle)/res0UGnomonic: the radius at resolution 0
	theta     [2]float64
	sc        [2][2]float64 // sin, cos of theta[parity], once computed
	have      [2]bool
}

func h3Project(latDeg, lngDeg float64) h3Proj {
	lat, lng := latDeg*h3DegsToRads, lngDeg*h3DegsToRads

	// _geoToClosestFace: the face whose centre is at the smallest chord;
	// the runner-up is kept to tell how clear the choice is.
	// (math.Sincos gives the same values as math.Sin and math.Cos; each
	// sine and cosine is computed once and reused where the C recomputes
	// it, which changes no result.)
	sinLat, cosLat := math.Sincos(lat)
	sinLng, cosLng := math.Sincos(lng)
	vz := sinLat
	vx := cosLng * cosLat
	vy := sinLng * cosLat
	p := h3Proj{sqd: 5, sqd2: 5}
	for f := range h3NumFaces {
		c := &h3FaceCenterPoint[f]
		dx, dy, dz := c[0]-vx, c[1]-vy, c[2]-vz
		sqdT := float64(dx*dx) + float64(dy*dy) + float64(dz*dz)
		if sqdT < p.sqd {
			p.face, p.sqd, p.sqd2 = f, sqdT, p.sqd
		} else if sqdT < p.sqd2 {
			p.sqd2 = sqdT
		}
	}

	// _geoToHex2d, up to the resolution: polar coordinates about the face
	// centre, gnomonic projection.
	p.angle = math.Acos(1 - p.sqd/2)
	if p.angle >= h3Epsilon {
		// _geoAzimuthRads from the face centre (lat1, lng1) to the point
		sinDLng, cosDLng := math.Sincos(lng - h3FaceCenterGeo[p.face][1])
		fsc := &h3FaceCenterSinCosLat[p.face]
		az := math.Atan2(cosLat*sinDLng, fsc[1]*sinLat-fsc[0]*cosLat*cosDLng)
		p.theta[0] = h3PosAngleRads(h3FaceAxesAzRadsCII[p.face][0] - h3PosAngleRads(az))
		// Class III (odd resolutions): axes rotated by asin(sqrt(3/28))
		p.theta[1] = h3PosAngleRads(p.theta[0] - h3Ap7RotRads)
		p.r = math.Tan(p.angle)
		p.r /= h3Res0UGnomonic
	}
	return p
}

// encode finishes latLngToCell at res (see h3Encode for certain).
func (p *h3Proj) encode(res int, tolScale float64) (cell uint64, certain bool) {
	x, y, scale := p.hex2d(res)
	i, j, k := h3Hex2dToCoordIJK(x, y)
	cell = h3FaceIjkToH3(p.face, i, j, k, res)
	return cell, p.certainAt(x, y, scale, i, j, k, tolScale)
}

// hex2d is the rest of _geoToHex2d: the point's coordinates in the face's
// hex plane at res, scaled to the resolution's unit (the distance between
// neighbouring cell centres), and that scale.
func (p *h3Proj) hex2d(res int) (x, y, scale float64) {
	scale = 1 / h3Res0UGnomonic // hex units per gnomonic unit at res
	if p.angle >= h3Epsilon {
		r := p.r
		for range res {
			r *= h3Sqrt7
			scale *= h3Sqrt7
		}
		par := res % 2
		if !p.have[par] {
			p.sc[par][0], p.sc[par][1] = math.Sincos(p.theta[par])
			p.have[par] = true
		}
		x = r * p.sc[par][1]
		y = r * p.sc[par][0]
	} else {
		for range res {
			scale *= h3Sqrt7
		}
	}
	return x, y, scale
}

// certainAt reports whether the hex (i, j, k) found for (x, y) is the C
// library's answer (see h3Encode).
func (p *h3Proj) certainAt(x, y, scale float64, i, j, k int, tolScale float64) bool {
	// How far this computation can be from the C one, in hex units: a few
	// ulps relative to the radius, to the scale (azimuth errors grow as
	// 1/sin(angle) while the radius shrinks as tan(angle)), and to
	// scale/angle (cos(angle) is quantised near 1, so acos of a last-place
	// different argument moves the angle by ~1e-16/angle).
	tol := tolScale * h3Tolerance * (math.Abs(x) + math.Abs(y) + scale + scale/p.angle)
	return p.sqd2-p.sqd > tolScale*h3Tolerance && h3HexMargin(x, y, i, j, k) > tol
}

// h3HexMargin returns how far (x, y) lies inside the hex (i, j, k) of the
// unit hex grid: 0.5 (the apothem) minus its largest distance from the
// centre along the three directions to neighbouring centres. It is
// negative if the point is outside.
func h3HexMargin(x, y float64, i, j, k int) float64 {
	cx, cy := h3IjkToHex2d(i, j, k)
	dx, dy := x-cx, y-cy
	d0 := math.Abs(dx)
	d60 := math.Abs(0.5*dx + h3Sin60*dy)
	d120 := math.Abs(-0.5*dx + h3Sin60*dy)
	return 0.5 - max(d0, d60, d120)
}

// h3PosAngleRads is _posAngleRads: an angle in radians brought into
// [0, 2π) by one turn at most.
func h3PosAngleRads(rads float64) float64 {
	tmp := rads
	if rads < 0 {
		tmp = rads + h3M2Pi
	}
	if rads >= h3M2Pi {
		tmp -= h3M2Pi
	}
	return tmp
}

// h3FaceCenterSinCosLat holds the sine and cosine of each face centre's
// latitude, which _geoAzimuthRads recomputes on every call.
var h3FaceCenterSinCosLat = func() (t [h3NumFaces][2]float64) {
	for f, g := range h3FaceCenterGeo {
		t[f][0], t[f][1] = math.Sincos(g[0])
	}
	return t
}()

// h3Hex2dToCoordIJK is _hex2dToCoordIJK (from DGGRID): the normalised ijk+
// coordinates of the hex containing a point of the face's hex plane.
func h3Hex2dToCoordIJK(x, y float64) (i, j, k int) {
	a1 := math.Abs(x)
	a2 := math.Abs(y)

	// first do a reverse conversion
	x2 := a2 / h3Sin60
	x1 := a1 + x2/2.0

	// check if we have the center of a hex
	m1 := int(x1)
	m2 := int(x2)

	// otherwise round correctly
	r1 := x1 - float64(m1)
	r2 := x2 - float64(m2)

	if r1 < 0.5 {
		if r1 < 1.0/3.0 {
			if r2 < (1.0+r1)/2.0 {
				i, j = m1, m2
			} else {
				i, j = m1, m2+1
			}
		} else {
			if r2 < (1.0 - r1) {
				j = m2
			} else {
				j = m2 + 1
			}
			if (1.0-r1) <= r2 && r2 < (2.0*r1) {
				i = m1 + 1
			} else {
				i = m1
			}
		}
	} else {
		if r1 < 2.0/3.0 {
			if r2 < (1.0 - r1) {
				j = m2
			} else {
				j = m2 + 1
			}
			if (2.0*r1-1.0) < r2 && r2 < (1.0-r1) {
				i = m1
			} else {
				i = m1 + 1
			}
		} else {
			if r2 < (r1 / 2.0) {
				i, j = m1+1, m2
			} else {
				i, j = m1+1, m2+1
			}
		}
	}

	// now fold across the axes if necessary
	if x < 0 {
		if j%2 == 0 { // even
			axisi := j / 2
			diff := i - axisi
			i = i - 2*diff
		} else {
			axisi := (j + 1) / 2
			diff := i - axisi
			i = i - (2*diff + 1)
		}
	}
	if y < 0 {
		i = i - (2*j+1)/2
		j = -1 * j
	}
	return h3IjkNormalize(i, j, 0)
}

// h3IjkToHex2d is _ijkToHex2d: the centre of hex (i, j, k) in the plane.
func h3IjkToHex2d(i, j, k int) (x, y float64) {
	ii, jj := i-k, j-k
	return float64(ii) - 0.5*float64(jj), float64(jj) * h3Sin60
}

// h3IjkNormalize is _ijkNormalize: the ijk coordinates with no negative
// component and at least one zero.
func h3IjkNormalize(i, j, k int) (int, int, int) {
	// remove any negative values
	if i < 0 {
		j -= i
		k -= i
		i = 0
	}
	if j < 0 {
		i -= j
		k -= j
		j = 0
	}
	if k < 0 {
		i -= k
		j -= k
		k = 0
	}
	// remove the min value if needed
	if m := min(i, j, k); m > 0 {
		i -= m
		j -= m
		k -= m
	}
	return i, j, k
}

// h3RoundDiv7 is lroundl(n / 7.0L) for an integer n: no n/7 is a half, so
// rounding to nearest needs no tie rule and integer arithmetic is exact.
func h3RoundDiv7(n int) int {
	if n < 0 {
		return -((-n + 3) / 7)
	}
	return (n + 3) / 7
}

// h3UpAp7r is _upAp7r: the parent of a cell in a clockwise aperture 7
// grid.
func h3UpAp7r(i, j, k int) (int, int, int) {
	ii, jj := i-k, j-k
	return h3IjkNormalize(h3RoundDiv7(2*ii+jj), h3RoundDiv7(3*jj-ii), 0)
}

// h3DownAp7 is _downAp7: the centre child of a cell, counter-clockwise
// aperture 7 (unit vectors i={3,0,1}, j={1,3,0}, k={0,1,3}).
func h3DownAp7(i, j, k int) (int, int, int) {
	return h3IjkNormalize(3*i+j, 3*j+k, i+3*k)
}

// h3DownAp7r is _downAp7r: the centre child of a cell, clockwise aperture
// 7 (unit vectors i={3,1,0}, j={0,3,1}, k={1,0,3}).
func h3DownAp7r(i, j, k int) (int, int, int) {
	return h3IjkNormalize(3*i+k, i+3*j, j+3*k)
}

// h3UnitIjkToDigit is _unitIjkToDigit: the digit of a unit ijk vector
// (UNIT_VECS[d] has i, j, k as the bits 4, 2, 1 of d), 7 if it is none.
func h3UnitIjkToDigit(i, j, k int) uint64 {
	i, j, k = h3IjkNormalize(i, j, k)
	if i > 1 || j > 1 || k > 1 {
		return 7 // INVALID_DIGIT
	}
	return uint64(i<<2 | j<<1 | k)
}

// h3AxialUp steps from the cell with axial coordinates (a, b) at res to
// its parent's (pa, pb) at res−1, and returns the cell's digit at res: the
// loop body of _faceIjkToH3 (see h3FaceIjkToRaw).
func h3AxialUp(a, b, res int) (pa, pb int, digit uint64) {
	var ca, cb int
	if res%2 == 1 { // Class III: ccw
		pa, pb = h3RoundDiv7(3*a-b), h3RoundDiv7(a+2*b) // _upAp7
		ca, cb = 2*pa+pb, 3*pb-pa                       // _downAp7
	} else { // Class II: cw
		pa, pb = h3RoundDiv7(2*a+b), h3RoundDiv7(3*b-a) // _upAp7r
		ca, cb = 3*pa-pb, pa+2*pb                       // _downAp7r
	}
	return pa, pb, h3AxialDigit(a-ca, b-cb)
}

// h3AxialDigit is h3UnitIjkToDigit of the ijk vector whose axial
// coordinates (i−k, j−k) are (da, db): digit d has i, j, k as its bits 4,
// 2, 1, so its axial coordinates are those of h3AxialDigits' index.
func h3AxialDigit(da, db int) uint64 {
	if uint(da+1) > 2 || uint(db+1) > 2 {
		return 7 // INVALID_DIGIT
	}
	return h3AxialDigits[(da+1)*3+db+1]
}

// h3AxialDigits maps (da+1)·3 + db+1 to the digit: (−1,−1) K, (−1,0) JK,
// (0,−1) IK, (0,0) centre, (0,1) J, (1,0) I, (1,1) IJ; (−1,1) and (1,−1)
// are no unit vector.
var h3AxialDigits = [9]uint64{1, 3, 7, 5, 0, 2, 7, 4, 6}

// h3Rotate60ccwDigit is _rotate60ccw on one digit.
var h3Rotate60ccwDigit = [8]uint64{0, 5, 3, 1, 6, 4, 2, 7}

// h3Rotate60cwDigit is _rotate60cw on one digit.
var h3Rotate60cwDigit = [8]uint64{0, 3, 6, 2, 5, 1, 4, 7}

// h3DigitShift is where digit r of an index starts.
func h3DigitShift(r int) int { return (h3MaxRes - r) * h3DigitBits }

// h3Digit is H3_GET_INDEX_DIGIT.
func h3Digit(h uint64, r int) uint64 { return (h >> h3DigitShift(r)) & 7 }

// h3SetDigit is H3_SET_INDEX_DIGIT.
func h3SetDigit(h uint64, r int, d uint64) uint64 {
	return h&^(uint64(7)<<h3DigitShift(r)) | d<<h3DigitShift(r)
}

// h3LeadingNonZeroDigit is _h3LeadingNonZeroDigit.
func h3LeadingNonZeroDigit(h uint64) uint64 {
	for r, res := 1, CellResolution(h); r <= res; r++ {
		if d := h3Digit(h, r); d != 0 {
			return d
		}
	}
	return 0
}

// h3RotateDigits is _h3Rotate60ccw or _h3Rotate60cw, after the table.
func h3RotateDigits(h uint64, rot *[8]uint64) uint64 {
	for r, res := 1, CellResolution(h); r <= res; r++ {
		h = h3SetDigit(h, r, rot[h3Digit(h, r)])
	}
	return h
}

// h3RotatePent60ccw is _h3RotatePent60ccw: a 60° ccw rotation about a
// pentagon, which skips the deleted k-axes subsequence.
func h3RotatePent60ccw(h uint64) uint64 {
	found := false
	for r, res := 1, CellResolution(h); r <= res; r++ {
		h = h3SetDigit(h, r, h3Rotate60ccwDigit[h3Digit(h, r)])
		if !found && h3Digit(h, r) != 0 {
			found = true
			if h3LeadingNonZeroDigit(h) == h3KAxesDigit {
				h = h3RotateDigits(h, &h3Rotate60ccwDigit)
			}
		}
	}
	return h
}

// h3FaceIjkToH3 is _faceIjkToH3: the index of the cell at (face, i, j, k)
// at res, 0 if the coordinates are off the face's base cells.
func h3FaceIjkToH3(face, i, j, k, res int) uint64 {
	raw, bcr, ok := h3FaceIjkToRaw(face, i, j, k, res)
	if !ok {
		return 0
	}
	return h3Orient(raw, face, bcr)
}

// h3FaceIjkToRaw is the first part of _faceIjkToH3: the index with its
// resolution, digits and base cell, before the base cell's rotations, and
// the base cell's record. ok is false where the C returns 0 (coordinates
// off the face's base cells).
func h3FaceIjkToRaw(face, i, j, k, res int) (raw uint64, bcr h3BaseCellRotation, ok bool) {
	h := h3Init
	h = h&^(uint64(0xf)<<h3ModeOffset) | uint64(h3CellMode)<<h3ModeOffset
	h = h&^h3ResMask | uint64(res)<<h3ResOffset

	// Build the index from the finest resolution up, as H3 does, but in
	// axial coordinates (a, b) = (i−k, j−k). Normalising ijk adds the same
	// amount to i, j and k, so (a, b) does not change and the loop needs
	// none of the three branchy normalisations per resolution that H3's
	// makes (they were 40% of this function's time): _upAp7(r) computes in
	// (a, b) already, _downAp7(r) is linear and maps (1, 1, 1) to
	// (4, 4, 4), and the digit is a table of the axial difference.
	a, b := i-k, j-k
	for r := res - 1; r >= 0; r-- {
		var d uint64
		a, b, d = h3AxialUp(a, b, r+1)
		h = h3SetDigit(h, r+1, d)
	}
	i, j, k = h3IjkNormalize(a, b, 0)

	// (i, j, k) is now the base cell in this face's coordinate system
	if i > h3MaxFaceCoord || j > h3MaxFaceCoord || k > h3MaxFaceCoord {
		return 0, bcr, false
	}
	bcr = h3FaceIjkBaseCells[face][i][j][k]
	return h&^(uint64(0x7f)<<h3BaseOffset) | uint64(bcr.baseCell)<<h3BaseOffset, bcr, true
}

// h3Orient is the rest of _faceIjkToH3: the digits rotated into the base
// cell's canonical orientation (the identity at resolution 0, which has no
// digits).
func h3Orient(h uint64, face int, bcr h3BaseCellRotation) uint64 {
	baseCell := int(bcr.baseCell)
	numRots := int(bcr.ccwRot60)
	if h3BaseCellPentagon[baseCell] {
		// force rotation out of the missing k-axes subsequence
		if h3LeadingNonZeroDigit(h) == h3KAxesDigit {
			cw := h3BaseCellCwOffsetPent[baseCell]
			if int(cw[0]) == face || int(cw[1]) == face {
				h = h3RotateDigits(h, &h3Rotate60cwDigit)
			} else {
				h = h3RotateDigits(h, &h3Rotate60ccwDigit)
			}
		}
		for range numRots {
			h = h3RotatePent60ccw(h)
		}
	} else {
		for range numRots {
			h = h3RotateDigits(h, &h3Rotate60ccwDigit)
		}
	}
	return h
}
