package geo

// This file is the part of H3 v4.1.0's cellToBoundary that the circle
// classifier needs in Go: the six vertices of a hexagon whose vertices all
// lie on the face of its centre (_faceIjkToVerts, then _hex2dToGeo on the
// substrate grid, without trigonometry as in h3center.go). Every other cell
// — a pentagon, or a hexagon with a vertex past its face's edge, where the
// C moves that vertex onto the next face and may insert vertices where the
// edges cross — is left to the C library. A cgo cellToBoundary costs
// ~3.6 µs, nearly all of it the C's trigonometry; the cells near a circle's
// edge that its centre bound cannot decide (~300 for a 5 km circle) were
// most of the time of covering it.

// h3VertexTolRad bounds the angle between a vertex from h3HexVertices and
// the C library's, farther than h3PolarRad from the poles
// (TestHexVerticesOracle finds < 1e-14: the C's trigonometry and this
// arithmetic each round differently).
const h3VertexTolRad = 1e-12

// h3VertsCII and h3VertsCIII are _faceIjkToVerts's vertsCII and vertsCIII:
// the vertices of an origin-centred cell on the aperture 3 substrate of the
// Class II grid (33r, and 33r7r for Class III), ccw from the i axis.
var (
	h3VertsCII  = [6][3]int{{2, 1, 0}, {1, 2, 0}, {0, 2, 1}, {0, 1, 2}, {1, 0, 2}, {2, 0, 1}}
	h3VertsCIII = [6][3]int{{5, 4, 0}, {1, 5, 0}, {0, 5, 4}, {0, 1, 5}, {4, 0, 5}, {5, 0, 1}}
)

// h3DownAp3 is _downAp3: i → (2,0,1), j → (1,2,0), k → (0,1,2).
func h3DownAp3(i, j, k int) (int, int, int) {
	return h3IjkNormalize(2*i+j, 2*j+k, i+2*k)
}

// h3DownAp3r is _downAp3r: i → (2,1,0), j → (0,2,1), k → (1,0,2).
func h3DownAp3r(i, j, k int) (int, int, int) {
	return h3IjkNormalize(2*i+k, i+2*j, j+2*k)
}

// h3CellIsPentagon is isPentagon: a pentagon base cell and every digit 0.
func h3CellIsPentagon(h uint64) bool {
	return h3BaseCellPentagon[int((h>>h3BaseOffset)&0x7f)] && h3LeadingNonZeroDigit(h) == 0
}

// h3HexVertices returns the six boundary vertices of the hexagon whose
// centre is (face, i, j, k) at res (h3CellToFaceIjk), in cellToBoundary's
// order, if all six lie on that face; ok is false otherwise (the C would
// put a vertex on the neighbouring face). The caller must not pass a
// pentagon. The vertices are the C's to within ~1e-15 rad
// (TestHexVerticesOracle).
func h3HexVertices(face, i, j, k, res int) (v [6]Point, ok bool) {
	// _faceIjkToVerts: the centre on the aperture 33r substrate, and 7r
	// more for Class III, which makes it the Class II grid of res+1
	i, j, k = h3DownAp3(i, j, k)
	i, j, k = h3DownAp3r(i, j, k)
	verts := &h3VertsCII
	adjRes := res
	if res%2 == 1 {
		i, j, k = h3DownAp7r(i, j, k)
		adjRes++
		verts = &h3VertsCIII
	}
	// _adjustOverageClassII on the substrate: a vertex whose ijk sum
	// exceeds the face edge's is on the next face; one on the edge
	// (FACE_EDGE) keeps its coordinates.
	maxDim := 3 * h3MaxDimByCIIres[adjRes]
	var ijk [6][3]int
	for n, d := range verts {
		a, b, c := h3IjkNormalize(i+d[0], j+d[1], k+d[2])
		if a+b+c > maxDim {
			return v, false
		}
		ijk[n] = [3]int{a, b, c}
	}
	// _hex2dToGeo with substrate: the Class II axes (the substrate is
	// never rotated) and a unit of a third of the Class II grid's.
	u := h3GnomonicUnit[adjRes] / 3
	fr := &h3FaceFrames[face]
	ex, ey := &fr.x[0], &fr.y[0]
	c := &h3FaceCenterPoint[face]
	for n, q := range ijk {
		x, y := h3IjkToHex2d(q[0], q[1], q[2])
		x *= u
		y *= u
		v[n] = Point{
			c[0] + x*ex.X + y*ey.X,
			c[1] + x*ex.Y + y*ey.Y,
			c[2] + x*ex.Z + y*ey.Z,
		}.Normalize()
	}
	return v, true
}
