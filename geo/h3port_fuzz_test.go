package geo

import (
	"math"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

// FuzzLatLngToCell compares latLngToCellGo with H3's C latLngToCell on
// any input: equal cells for every position and resolution (0 for the
// inputs the C rejects: NaN, infinities, res outside 0–15), and never a
// panic; and CellsOf's cells at every resolution up to res.
func FuzzLatLngToCell(f *testing.F) {
	f.Add(37.775938728915946, -122.41795063018799, uint8(9))
	f.Add(90.0, 180.0, uint8(15))
	f.Add(-89.9999, -179.9999999, uint8(0))
	f.Add(h3FaceCenterGeo[3][0]*180/math.Pi, h3FaceCenterGeo[3][1]*180/math.Pi, uint8(14))
	f.Add(58.2876, -10.5334, uint8(11)) // near a pentagon
	f.Add(math.NaN(), 0.0, uint8(5))
	f.Add(12.0, 34.0, uint8(16))
	f.Fuzz(func(t *testing.T, lat, lng float64, res uint8) {
		r := int(res)
		want := uint64(h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, r))
		if got := latLngToCellGo(lat, lng, r); got != want {
			t.Fatalf("latLngToCellGo(%v, %v, %d) = %#x, H3 says %#x", lat, lng, r, got, want)
		}
		// CellsOf derives each resolution from the one before where it
		// can (see cellsOfGo): the resolutions up to r, ascending, must
		// each be the C's.
		var upTo []int
		for x := range min(r, 15) + 1 {
			upTo = append(upTo, x)
		}
		for x, cell := range CellsOf(lat, lng, upTo, nil) {
			if want := uint64(h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, x)); cell != want {
				t.Fatalf("CellsOf(%v, %v) at res %d = %#x, H3 says %#x", lat, lng, x, cell, want)
			}
		}
	})
}

// FuzzCellCenterPoint compares cellCenterPoint, cellBoundRad and
// h3HexVertices with H3's C cellToLatLng and cellToBoundary, for the cell
// of any valid position at any resolution and its neighbours up to three
// steps away (pentagons' neighbourhoods, face overages): the centre within
// h3CenterTolAt, every C vertex within cellBoundRad of it, and the Go
// vertices, where given, the C's one by one (both away from the poles, as
// the classifier uses them).
func FuzzCellCenterPoint(f *testing.F) {
	f.Add(37.775938728915946, -122.41795063018799, uint8(9), uint8(1))
	f.Add(58.2876, -10.5334, uint8(11), uint8(3)) // near a pentagon
	f.Add(h3FaceCenterGeo[3][0]*180/math.Pi, h3FaceCenterGeo[3][1]*180/math.Pi, uint8(14), uint8(2))
	f.Add(89.9999, 10.0, uint8(7), uint8(2))
	f.Add(-90.0, 0.0, uint8(15), uint8(0))
	f.Add(0.0, 180.0, uint8(0), uint8(1))
	f.Fuzz(func(t *testing.T, lat, lng float64, res, ring uint8) {
		if !ValidLatLng(lat, lng) || res > h3MaxRes {
			return
		}
		origin := h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, int(res))
		for _, c := range withDisk(origin, int(ring%4)) {
			checkCellCenter(t, c)
			r := c.Resolution()
			face, i, j, k := h3CellToFaceIjk(uint64(c))
			p := h3FaceIjkToPoint(face, i, j, k, r)
			if math.Abs(p.Z) > math.Cos(cellBoundRad(r)+h3PolarRad) {
				continue
			}
			b := c.Boundary()
			for _, ll := range b {
				if a := angle(p, PointFromDeg(ll.Lat, ll.Lng)); !(a <= cellBoundRad(r)) {
					t.Fatalf("%#x: vertex %v, %v is %g rad from the centre, bound %g", uint64(c), ll.Lat, ll.Lng, a, cellBoundRad(r))
				}
			}
			if c.IsPentagon() {
				continue
			}
			v, ok := h3HexVertices(face, i, j, k, r)
			if !ok {
				continue
			}
			if len(b) != 6 {
				t.Fatalf("%#x: 6 Go vertices, H3 gives %d", uint64(c), len(b))
			}
			for n, ll := range b {
				if a := angle(v[n], PointFromDeg(ll.Lat, ll.Lng)); !(a < h3VertexTolRad) {
					t.Fatalf("%#x vertex %d: %g rad from H3's", uint64(c), n, a)
				}
			}
		}
	})
}
