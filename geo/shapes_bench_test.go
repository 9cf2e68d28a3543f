package geo

import (
	"math/rand/v2"
	"testing"
)

// benchCover covers s (default policy) in a loop, reporting its cells.
func benchCover(b *testing.B, s interface {
	Cover(CoverPolicy) (*Covering, error)
}) {
	var cells int
	for b.Loop() {
		cv, err := s.Cover(CoverPolicy{})
		if err != nil {
			b.Fatal(err)
		}
		cells = cv.Len()
	}
	b.ReportMetric(float64(cells), "cells")
}

func BenchmarkCoverCircle5km(b *testing.B) {
	c := Circle{Center: LatLngDeg{39.9087, 116.3975}, RadiusM: 5000}
	benchCover(b, c)
}

func BenchmarkCoverCircle200m(b *testing.B) {
	c := Circle{Center: LatLngDeg{39.9087, 116.3975}, RadiusM: 200}
	var cells int
	for b.Loop() {
		cv, _ := c.Cover(CoverPolicy{})
		cells = cv.Len()
	}
	b.ReportMetric(float64(cells), "cells")
}

func bigPolygon(b *testing.B) Polygon {
	rng := rand.New(rand.NewPCG(3, 3))
	p, ps := NewPolygon(randomStar(rng, 39.9, 116.4, 3000, 5000, 1000))
	if ps != nil {
		b.Fatal(ps)
	}
	return p
}

func BenchmarkContains1000(b *testing.B) {
	p := bigPolygon(b)
	rng := rand.New(rand.NewPCG(4, 4))
	pts := make([]LatLngDeg, 1024)
	for i := range pts {
		pts[i] = LatLngDeg{39.9 + (rng.Float64()*2-1)*0.05, 116.4 + (rng.Float64()*2-1)*0.06}
	}
	i := 0
	for b.Loop() {
		q := pts[i%len(pts)]
		p.ContainsDeg(q.Lat, q.Lng)
		i++
	}
}

func BenchmarkValidate1000(b *testing.B) {
	p := bigPolygon(b)
	for b.Loop() {
		if ps := (Polygon{Outer: p.Outer}).Validate(); ps != nil {
			b.Fatal(ps)
		}
	}
}

func BenchmarkCoverPolygon1000(b *testing.B) {
	p := bigPolygon(b)
	benchCover(b, p)
}

// BenchmarkDecodeGeofenceCovering: reading a stored 5 km circle's covering,
// as a start-up does for every campaign (30 million cells for 100,000):
// ns per cell.
func BenchmarkDecodeGeofenceCovering(b *testing.B) {
	c := Circle{Center: LatLngDeg{39.9087, 116.3975}, RadiusM: 5000}
	cv, err := c.Cover(CoverPolicy{})
	if err != nil {
		b.Fatal(err)
	}
	enc := GeofenceCovering{Include: []*Covering{cv}}.AppendBinary(nil)
	for b.Loop() {
		if _, err := DecodeGeofenceCovering(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*cv.Len()), "ns/cell")
}

// BenchmarkValidCell: the check DecodeGeofenceCovering makes of every cell.
func BenchmarkValidCell(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	cells := make([]uint64, 1024)
	for i := range cells {
		cells[i] = CellOf(rng.Float64()*180-90, rng.Float64()*360-180, 5+i%6)
	}
	n := 0
	for i := 0; b.Loop(); i++ {
		if ValidCell(cells[i%len(cells)]) {
			n++
		}
	}
	if n == 0 {
		b.Fatal("no valid cell")
	}
}

// BenchmarkCoverPolygon5km: a 24-gon of radius 5 km, the polygon
// counterpart of BenchmarkCoverCircle5km (a campaign's typical fence).
func BenchmarkCoverPolygon5km(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	p, ps := NewPolygon(randomStar(rng, 39.9087, 116.3975, 5000, 5000, 24))
	if ps != nil {
		b.Fatal(ps)
	}
	benchCover(b, p)
}
