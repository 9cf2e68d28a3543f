package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

// TestDistanceOracle compares the vector distance with the haversine formula
// on random pairs everywhere on Earth, near and far, across the antimeridian
// and at the poles.
func TestDistanceOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range 200000 {
		lat1, lng1 := rng.Float64()*180-90, rng.Float64()*360-180
		var lat2, lng2 float64
		switch i % 4 {
		case 0: // anywhere
			lat2, lng2 = rng.Float64()*180-90, rng.Float64()*360-180
		case 1: // near: within ~1 km
			lat2, lng2 = clampLat(lat1+rng.NormFloat64()*0.005), wrapLng(lng1+rng.NormFloat64()*0.005)
		case 2: // across the antimeridian
			lng1, lng2 = 179.9+rng.Float64()*0.1, -180+rng.Float64()*0.1
			lat2 = clampLat(lat1 + rng.NormFloat64()*0.01)
		default: // near a pole
			lat1, lat2 = 89.9+rng.Float64()*0.1, 89.9+rng.Float64()*0.1
			lng2 = rng.Float64()*360 - 180
		}
		want := HaversineM(lat1, lng1, lat2, lng2)
		got := PointFromDeg(lat1, lng1).DistanceM(PointFromDeg(lat2, lng2))
		if math.Abs(got-want) > 1e-6*want+1e-3 {
			t.Fatalf("(%v,%v)-(%v,%v): vector %v m, haversine %v m", lat1, lng1, lat2, lng2, got, want)
		}
	}
}

func TestPointRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for range 10000 {
		lat, lng := rng.Float64()*179.98-89.99, rng.Float64()*359.98-179.99
		la, ln := PointFromDeg(lat, lng).Deg()
		if math.Abs(la-lat) > 1e-9 || math.Abs(ln-lng) > 1e-9 {
			t.Fatalf("(%v,%v) -> (%v,%v)", lat, lng, la, ln)
		}
	}
}

func TestChordConversions(t *testing.T) {
	for _, rad := range []float64{0, 1e-9, 1e-4, 0.5, 1, 3, math.Pi} {
		if got := ChordToRad(RadToChord(rad)); math.Abs(got-rad) > 1e-12 {
			t.Errorf("%v -> %v", rad, got)
		}
	}
	if ChordToRad(2.0000001) != math.Pi || RadToChord(4) != 2 {
		t.Error("clamping")
	}
}

// TestChordToRadSeries checks the series against math.Asin on random and
// edge chords below the switch, and that the result never falls below the
// chord (a bound the index relies on) nor decreases across the switch.
func TestChordToRadSeries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(c float64) {
		t.Helper()
		got, want := ChordToRad(c), 2*math.Asin(c/2)
		if math.Abs(got-want) > 2*ulp(want) {
			t.Fatalf("ChordToRad(%g) = %.17g, asin gives %.17g (%.1f ulp)", c, got, want, math.Abs(got-want)/ulp(want))
		}
		if got < c {
			t.Fatalf("ChordToRad(%g) = %.17g < chord", c, got)
		}
	}
	for _, c := range []float64{0, 5e-324, 1e-300, 1e-12, 1e-6, 3.1e-4, 1e-3, shortChord / 2, math.Nextafter(shortChord, 0), shortChord} {
		check(c)
	}
	for i := 0; i < 200000; i++ {
		check(rng.Float64() * shortChord)
		check(math.Exp(-rng.Float64()*40) * shortChord) // small chords, log-uniform
	}
	prev := 0.0
	for c := shortChord * (1 - 1e-12); c < shortChord*(1+1e-12); c = math.Nextafter(c, 1) {
		got := ChordToRad(c)
		if got < prev {
			t.Fatalf("ChordToRad decreases at %.17g: %.17g after %.17g", c, got, prev)
		}
		prev = got
	}
}

// ulp is the spacing of float64s at x (x > 0), or the smallest subnormal.
func ulp(x float64) float64 {
	if x == 0 {
		return math.SmallestNonzeroFloat64
	}
	return math.Nextafter(x, math.Inf(1)) - x
}

func TestValidLatLng(t *testing.T) {
	for _, c := range []struct {
		lat, lng float64
		ok       bool
	}{
		{0, 0, true}, {90, 180, true}, {-90, -180, true}, {90.0001, 0, false}, {0, -180.0001, false},
		{math.NaN(), 0, false}, {0, math.NaN(), false}, {math.Inf(1), 0, false}, {0, math.Inf(-1), false},
	} {
		if ValidLatLng(c.lat, c.lng) != c.ok {
			t.Errorf("ValidLatLng(%v, %v) != %v", c.lat, c.lng, c.ok)
		}
	}
}

// TestCellParent checks the bit arithmetic against the H3 library, including
// pentagons and every resolution.
func TestCellParent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	cells := []h3.Cell{}
	for _, p := range h3.Pentagons(9) {
		cells = append(cells, p)
	}
	for range 2000 {
		cells = append(cells, h3.LatLngToCell(h3.LatLng{Lat: rng.Float64()*180 - 90, Lng: rng.Float64()*360 - 180}, rng.IntN(16)))
	}
	for _, c := range cells {
		if CellResolution(uint64(c)) != c.Resolution() {
			t.Fatalf("resolution of %v", c)
		}
		for res := 0; res <= c.Resolution(); res++ {
			if got, want := CellParent(uint64(c), res), uint64(c.Parent(res)); got != want {
				t.Fatalf("parent(%v, %d) = %x, want %x", c, res, got, want)
			}
		}
		if CellParent(uint64(c), c.Resolution()+1) != 0 || CellParent(uint64(c), -1) != 0 {
			t.Fatalf("out-of-range parent of %v", c)
		}
	}
}

func clampLat(v float64) float64 { return math.Max(-90, math.Min(90, v)) }

func wrapLng(v float64) float64 {
	for v > 180 {
		v -= 360
	}
	for v < -180 {
		v += 360
	}
	return v
}
