package geo

import (
	"math"
	"math/rand/v2"
	"testing"
)

// bruteInRing is an independent point-in-ring test for the oracle: winding
// number by summing signed angles (no crossing rule), with boundary points
// (within 1e-12° of an edge) inside.
func bruteInRing(x, y float64, xs, ys []float64) (in, on bool) {
	n := len(xs)
	var sum float64
	for i := range n {
		j := (i + 1) % n
		ax, ay, bx, by := xs[i]-x, ys[i]-y, xs[j]-x, ys[j]-y
		// distance from the point to the segment
		dx, dy := bx-ax, by-ay
		t := 0.0
		if l := dx*dx + dy*dy; l > 0 {
			t = math.Max(0, math.Min(1, -(ax*dx+ay*dy)/l))
		}
		if math.Hypot(ax+t*dx, ay+t*dy) <= 1e-12 {
			return false, true
		}
		sum += math.Atan2(ax*by-ay*bx, ax*bx+ay*by)
	}
	return math.Abs(sum) > math.Pi, false
}

// bruteUnwrap unwraps a ring's longitudes independently of prepareRing.
func bruteUnwrap(vs []LatLngDeg) (xs, ys []float64) {
	for i, v := range vs {
		x := v.Lng
		if i > 0 {
			prev := xs[i-1]
			for x-prev > 180 {
				x -= 360
			}
			for prev-x > 180 {
				x += 360
			}
		}
		xs, ys = append(xs, x), append(ys, v.Lat)
	}
	return
}

func brutePolygon(p Polygon, lat, lng float64) bool {
	ox, oy := bruteUnwrap(p.Outer)
	for k := -2; k <= 2; k++ {
		x := lng + 360*float64(k)
		in, on := bruteInRing(x, lat, ox, oy)
		if on {
			return true
		}
		if !in {
			continue
		}
		inside := true
		for _, h := range p.Holes {
			hx, hy := bruteUnwrap(h)
			for kh := -2; kh <= 2; kh++ { // the hole in any frame
				sx := make([]float64, len(hx))
				for i := range hx {
					sx[i] = hx[i] + 360*float64(kh)
				}
				hin, hon := bruteInRing(x, lat, sx, hy)
				if hon {
					return true
				}
				if hin {
					inside = false
				}
			}
		}
		if inside {
			return true
		}
	}
	return false
}

// randomStar returns a star-shaped ring (simple in the lat/lng plane) of n
// vertices round (lat, lng) with radii in [rMin, rMax] metres, longitudes
// wrapped into [-180, 180]. Concave when rMin < rMax·cos(π/n).
func randomStar(rng *rand.Rand, lat, lng, rMin, rMax float64, n int) []LatLngDeg {
	scale := 180 / math.Pi / EarthRadiusM
	out := make([]LatLngDeg, n)
	for i := range n {
		th := 2 * math.Pi * (float64(i) + 0.8*rng.Float64()) / float64(n)
		r := rMin + (rMax-rMin)*rng.Float64()
		out[i] = LatLngDeg{lat + r*math.Cos(th)*scale, wrapLng(lng + r*math.Sin(th)*scale/math.Cos(lat*math.Pi/180))}
	}
	return out
}

type oracleCounts struct {
	points, interior, boundary, outside, inside, nearEdge int
	disagree                                              int
}

// checkShape looks points up in s's covering and compares with the exact
// test; exact is compared with brute when brute is non-nil.
func checkShape(t *testing.T, s Shape, pts []LatLngDeg, brute func(lat, lng float64) bool, oc *oracleCounts) {
	t.Helper()
	cv, err := s.Cover(CoverPolicy{})
	if err != nil {
		t.Fatalf("%+v: %v", s, err)
	}
	l := cv.Lookup()
	for _, p := range pts {
		exact := s.ContainsDeg(p.Lat, p.Lng)
		st := l.Locate(p.Lat, p.Lng)
		oc.points++
		switch st {
		case Interior:
			oc.interior++
		case Boundary:
			oc.boundary++
		default:
			oc.outside++
		}
		if exact {
			oc.inside++
		}
		if (st == Interior && !exact) || (st == Outside && exact) {
			oc.disagree++
			if oc.disagree < 5 {
				t.Errorf("covering says %v, exact %v at %v,%v for %+v", st, exact, p.Lat, p.Lng, s)
			}
		}
		if brute != nil && brute(p.Lat, p.Lng) != exact {
			oc.disagree++
			if oc.disagree < 5 {
				t.Errorf("exact %v, brute force %v at %v,%v", exact, !exact, p.Lat, p.Lng)
			}
		}
	}
}

// nearRing returns points close to the ring's edges (both sides, at
// distances from 1e-9° to 1e-3° of the ring's size) and at its vertices.
func nearRing(rng *rand.Rand, ring []LatLngDeg, k int) []LatLngDeg {
	xs, ys := bruteUnwrap(ring)
	var out []LatLngDeg
	for range k {
		i := rng.IntN(len(xs))
		j := (i + 1) % len(xs)
		x2 := xs[j]
		if j == 0 { // closing edge: bring vertex 0 next to the last one
			x2 = xs[i] + math.Remainder(xs[0]-xs[i], 360)
		}
		t := rng.Float64()
		x, y := xs[i]+t*(x2-xs[i]), ys[i]+t*(ys[j]-ys[i])
		off := math.Pow(10, -9+6*rng.Float64()) * (rng.Float64()*2 - 1)
		dx, dy := -(ys[j] - ys[i]), x2-xs[i]
		l := math.Hypot(dx, dy)
		x, y = x+off*dx/l, y+off*dy/l
		if rng.IntN(20) == 0 {
			x, y = xs[i], ys[i]
		}
		out = append(out, LatLngDeg{clampLat(y), wrapLng(x)})
	}
	return out
}

func TestPolygonOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var oc oracleCounts
	var shapes, antimeridian, polar, holes, small, rejected int
	for i := range 60 {
		lat, lng := rng.Float64()*140-70, rng.Float64()*360-180
		switch i % 4 {
		case 1:
			lng = 179.9 + rng.Float64()*0.2
			antimeridian++
		case 2:
			lat = 80 + rng.Float64()*9.5
			if rng.IntN(2) == 0 {
				lat = -lat
			}
			polar++
		}
		rMax := 5000.0
		if i%3 == 0 {
			rMax = 200
			small++
		}
		n := 3 + rng.IntN(40)
		outer := randomStar(rng, lat, lng, rMax*0.3, rMax, n)
		var hs [][]LatLngDeg
		if i%2 == 0 {
			hs = append(hs, randomStar(rng, lat, lng, rMax*0.05, rMax*0.2, 3+rng.IntN(8)))
		}
		p, ps := NewPolygon(outer, hs...)
		if len(ps) > 0 {
			rejected++
			continue
		}
		if len(hs) > 0 {
			holes++
		}
		shapes++
		var pts []LatLngDeg
		scale := rMax * 1.3 * 180 / math.Pi / EarthRadiusM
		for range 300 {
			pts = append(pts, LatLngDeg{clampLat(lat + (rng.Float64()*2-1)*scale), wrapLng(lng + (rng.Float64()*2-1)*scale/math.Cos(lat*math.Pi/180))})
		}
		pts = append(pts, nearRing(rng, outer, 400)...)
		for _, h := range hs {
			pts = append(pts, nearRing(rng, h, 200)...)
		}
		before, bd := oc.points, oc.disagree
		defer func() {
			if oc.disagree > bd && bd == 0 {
				t.Logf("polygon %d: outer %v holes %v", i, outer, hs)
			}
		}()
		checkShape(t, p, pts, func(la, ln float64) bool { return brutePolygon(p, la, ln) }, &oc)
		oc.nearEdge += oc.points - before - 300
	}
	t.Logf("polygons %d (antimeridian %d, polar %d, with holes %d, 200 m %d, rejected %d); points %d: interior %d boundary %d outside %d, inside %d, near edges %d; disagreements %d",
		shapes, antimeridian, polar, holes, small, rejected, oc.points, oc.interior, oc.boundary, oc.outside, oc.inside, oc.nearEdge, oc.disagree)
	if oc.disagree != 0 {
		t.Fatalf("%d disagreements", oc.disagree)
	}
	if shapes < 50 || oc.interior < 1000 || oc.boundary < oc.points/10 || oc.inside < oc.points/5 || antimeridian < 10 || polar < 10 {
		t.Fatalf("hard cases not exercised")
	}
}

func TestCircleOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	var oc oracleCounts
	var polar, anti int
	for i := range 60 {
		lat, lng := rng.Float64()*170-85, rng.Float64()*360-180
		switch i % 4 {
		case 1:
			lng = 179.95 + rng.Float64()*0.1
			anti++
		case 2:
			lat = 89 + rng.Float64()
			if i%8 == 2 {
				lat = 89.99 + rng.Float64()*0.01 // the cap holds the pole
			}
			polar++
		}
		lng = wrapLng(lng)
		radius := []float64{10, 200, 5000, 20000}[i%4]
		c := Circle{Center: LatLngDeg{lat, lng}, RadiusM: radius}
		ctr := PointFromDeg(lat, lng)
		var pts []LatLngDeg
		for j := range 600 {
			d := radius * 1.3 * math.Sqrt(rng.Float64())
			if j%2 == 0 { // near the circle, both sides
				d = radius * (1 + math.Pow(10, -7+5*rng.Float64())*(rng.Float64()*2-1))
			}
			q := destination(ctr, d, rng.Float64()*2*math.Pi)
			la, ln := q.Deg()
			pts = append(pts, LatLngDeg{la, ln})
		}
		checkShape(t, c, pts, func(la, ln float64) bool { return HaversineM(lat, lng, la, ln) <= radius }, &oc)
	}
	t.Logf("circles 60 (polar %d, antimeridian %d); points %d: interior %d boundary %d outside %d, inside %d; disagreements %d",
		polar, anti, oc.points, oc.interior, oc.boundary, oc.outside, oc.inside, oc.disagree)
	if oc.disagree != 0 {
		t.Fatalf("%d disagreements", oc.disagree)
	}
	if oc.interior < oc.points/10 || oc.boundary < oc.points/10 {
		t.Fatalf("hard cases not exercised")
	}
}

// destination is the point d metres from p along bearing brg (radians).
func destination(p Point, d, brg float64) Point {
	// local east and north at p
	up := Point{0, 0, 1}
	east := cross(up, p)
	if norm(east) < 1e-12 {
		east = Point{0, 1, 0}
	}
	east = east.Normalize()
	north := cross(p, east)
	a := MetersToRad(d)
	dir := Point{north.X*math.Cos(brg) + east.X*math.Sin(brg), north.Y*math.Cos(brg) + east.Y*math.Sin(brg), north.Z*math.Cos(brg) + east.Z*math.Sin(brg)}
	return Point{p.X*math.Cos(a) + dir.X*math.Sin(a), p.Y*math.Cos(a) + dir.Y*math.Sin(a), p.Z*math.Cos(a) + dir.Z*math.Sin(a)}
}
