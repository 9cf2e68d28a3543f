package geo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

// BenchmarkLatLngToCell compares H3's latLngToCell through cgo with the Go
// port (CellOf) on the same random positions, at the places resolution
// and at the finest.
func BenchmarkLatLngToCell(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	pts := make([][2]float64, 1024)
	for i := range pts {
		pts[i] = [2]float64{math.Asin(2*rng.Float64()-1) * 180 / math.Pi, 360*rng.Float64() - 180}
	}
	var sink uint64
	for _, res := range []int{PlaceCellRes, h3MaxRes} {
		b.Run("cgo/res="+strconv.Itoa(res), func(b *testing.B) {
			for i := range b.N {
				p := pts[i%len(pts)]
				sink += uint64(h3.LatLngToCell(h3.LatLng{Lat: p[0], Lng: p[1]}, res))
			}
		})
		b.Run("go/res="+strconv.Itoa(res), func(b *testing.B) {
			for i := range b.N {
				p := pts[i%len(pts)]
				sink += latLngToCellGo(p[0], p[1], res)
			}
		})
	}
	_ = sink
}

// BenchmarkCellsOf is the covering index's lookup of one position: its
// cells at the seven resolutions 7–13 (the default covering policy's), one
// projection for all.
func BenchmarkCellsOf(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	pts := make([][2]float64, 1024)
	for i := range pts {
		pts[i] = [2]float64{39.9 + rng.NormFloat64()*0.1, 116.4 + rng.NormFloat64()*0.1}
	}
	res := []int{7, 8, 9, 10, 11, 12, 13}
	var buf [16]uint64
	var sink uint64
	for i := range b.N {
		p := pts[i%len(pts)]
		sink += CellsOf(p[0], p[1], res, buf[:0])[0]
	}
	_ = sink
}

// BenchmarkCellCenterPoint compares H3's cellToLatLng through cgo (made a
// unit vector, as the circle classifier would need it) with the Go
// cellCenterPoint on the same random cells, at the resolutions of a 5 km
// circle's covering and at the finest.
func BenchmarkCellCenterPoint(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, res := range []int{PlaceCellRes, h3MaxRes} {
		cells := make([]h3.Cell, 1024)
		for i := range cells {
			cells[i] = h3.LatLngToCell(h3.LatLng{Lat: math.Asin(2*rng.Float64()-1) * 180 / math.Pi, Lng: 360*rng.Float64() - 180}, res)
		}
		var sink float64
		b.Run("cgo/res="+strconv.Itoa(res), func(b *testing.B) {
			for i := range b.N {
				ll := cells[i%len(cells)].LatLng()
				sink += PointFromDeg(ll.Lat, ll.Lng).Z
			}
		})
		b.Run("go/res="+strconv.Itoa(res), func(b *testing.B) {
			for i := range b.N {
				sink += cellCenterPoint(uint64(cells[i%len(cells)])).Z
			}
		})
		_ = sink
	}
}
