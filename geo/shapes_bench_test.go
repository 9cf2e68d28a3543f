package geo

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkCoverCircle5km(b *testing.B) {
	c := Circle{Center: LatLngDeg{39.9087, 116.3975}, RadiusM: 5000}
	var cells int
	for b.Loop() {
		cv, err := c.Cover(CoverPolicy{})
		if err != nil {
			b.Fatal(err)
		}
		cells = cv.Len()
	}
	b.ReportMetric(float64(cells), "cells")
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
	var cells int
	for b.Loop() {
		cv, err := p.Cover(CoverPolicy{})
		if err != nil {
			b.Fatal(err)
		}
		cells = cv.Len()
	}
	b.ReportMetric(float64(cells), "cells")
}
