package geo

import (
	"math"
	"strings"
	"testing"
)

func TestValidation(t *testing.T) {
	sq := []LatLngDeg{{0, 0}, {0, 1}, {1, 1}, {1, 0}}
	hole := []LatLngDeg{{0.2, 0.2}, {0.2, 0.4}, {0.4, 0.4}, {0.4, 0.2}}
	tests := []struct {
		name     string
		fence    Geofence
		path     string // expected path of the first problem; "" = valid
		contains string // in its message
	}{
		{"valid square", Geofence{Include: []Shape{Polygon{Outer: sq}}}, "", ""},
		{"closing vertex repeated", Geofence{Include: []Shape{Polygon{Outer: append(sq, sq[0])}}}, "", ""},
		{"consecutive duplicate dropped", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{0, 0}, {0, 1}, {0, 1}, {1, 1}}}}}, "", ""},
		{"antimeridian", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{0, 179}, {0, -179}, {1, -179}, {1, 179}}}}}, "", ""},
		{"no include", Geofence{}, "include", "at least one"},
		{"nil shape", Geofence{Include: []Shape{nil}}, "include[0]", "no shape"},
		{"NaN lat", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{0, 0}, {math.NaN(), 1}, {1, 1}}}}}, "include[0].polygon.vertices[1]", "not finite"},
		{"lng out of range", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{0, 0}, {0, 181}, {1, 1}}}}}, "include[0].polygon.vertices[1]", "outside [-180, 180]"},
		{"lat out of range", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{0, 0}, {91, 1}, {1, 1}}}}}, "include[0].polygon.vertices[1]", "outside [-90, 90]"},
		{"empty ring", Geofence{Include: []Shape{Polygon{}}}, "include[0].polygon.vertices", "0 vertices"},
		{"too few", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{0, 0}, {0, 1}, {0, 1}}}}}, "include[0].polygon.vertices", "at least 3"},
		{"too many", Geofence{Include: []Shape{Polygon{Outer: regular(1001)}}}, "include[0].polygon.vertices", "at most 1000"},
		{"collinear", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{0, 0}, {0, 1}, {0, 2}}}}}, "include[0].polygon.vertices", "zero area"},
		{"bow tie", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{0, 0}, {1, 2}, {1, 0}, {0, 1}}}}}, "include[0].polygon.vertices[0]", "intersects itself"},
		{"touching vertex", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{0, 0}, {0, 2}, {1, 1}, {2, 2}, {2, 0}, {1, 1}}}}}, "include[0].polygon.vertices[1]", "intersects itself"},
		{"spike", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{0, 0}, {0, 2}, {0, 3}, {0, 2.5}, {1, 1}}}}}, "include[0].polygon.vertices[2]", "doubles back"},
		{"180° edge", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{0, -90}, {0, 90}, {1, 0}}}}}, "include[0].polygon.vertices[1]", "exactly 180°"},
		{"around the pole", Geofence{Include: []Shape{Polygon{Outer: []LatLngDeg{{80, 0}, {80, 120}, {80, -120}}}}}, "include[0].polygon.vertices", "winds round a pole"},
		{"valid hole", Geofence{Include: []Shape{Polygon{Outer: sq, Holes: [][]LatLngDeg{hole}}}}, "", ""},
		{"hole outside", Geofence{Include: []Shape{Polygon{Outer: sq, Holes: [][]LatLngDeg{{{2, 2}, {2, 3}, {3, 3}}}}}}, "include[0].polygon.holes[0]", "not inside"},
		{"hole crossing outer", Geofence{Include: []Shape{Polygon{Outer: sq, Holes: [][]LatLngDeg{{{0.5, 0.5}, {0.5, 1.5}, {0.7, 0.5}}}}}}, "include[0].polygon.holes[0]", "crosses the outer ring"},
		{"holes crossing", Geofence{Include: []Shape{Polygon{Outer: sq, Holes: [][]LatLngDeg{hole, {{0.3, 0.3}, {0.3, 0.6}, {0.6, 0.6}}}}}}, "include[0].polygon.holes[1]", "crosses holes[0]"},
		{"hole in hole", Geofence{Include: []Shape{Polygon{Outer: sq, Holes: [][]LatLngDeg{hole, {{0.25, 0.25}, {0.25, 0.3}, {0.3, 0.3}}}}}}, "include[0].polygon.holes[1]", "inside holes[0]"},
		{"bad hole vertex", Geofence{Include: []Shape{Polygon{Outer: sq, Holes: [][]LatLngDeg{{{0.2, 0.2}, {0.2, math.Inf(1)}, {0.4, 0.4}}}}}}, "include[0].polygon.holes[0].vertices[1]", "not finite"},
		{"circle ok", Geofence{Include: []Shape{Circle{LatLngDeg{10, 10}, 500}}}, "", ""},
		{"radius small", Geofence{Include: []Shape{Circle{LatLngDeg{10, 10}, 5}}}, "include[0].circle.radius_m", "outside [10, 50000]"},
		{"radius NaN", Geofence{Exclude: []Shape{Circle{LatLngDeg{10, 10}, math.NaN()}}, Include: []Shape{Circle{LatLngDeg{10, 10}, 500}}}, "exclude[0].circle.radius_m", "outside"},
		{"circle centre", Geofence{Include: []Shape{Circle{LatLngDeg{100, 10}, 500}}}, "include[0].circle.center", "latitude"},
		{"cells ok", Geofence{Include: []Shape{CellSet{Cells: []uint64{CellOf(1, 2, 9)}}}}, "", ""},
		{"cell invalid", Geofence{Include: []Shape{CellSet{Cells: []uint64{CellOf(1, 2, 9), 12345}}}}, "include[0].cells.h3_cells[1]", "not a valid"},
		{"cell repeated", Geofence{Include: []Shape{CellSet{Cells: []uint64{CellOf(1, 2, 9), CellOf(1, 2, 9)}}}}, "include[0].cells.h3_cells[1]", "repeats"},
		{"cell nested", Geofence{Include: []Shape{CellSet{Cells: []uint64{CellOf(1, 2, 9), CellOf(1, 2, 7)}}}}, "include[0].cells.h3_cells[0]", "lies within h3_cells[1]"},
		{"too many cells", Geofence{Include: []Shape{Circle{LatLngDeg{10, 10}, 50000}}}, "include[0].circle", "more than 100 cells"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pol := CoverPolicy{}
			if tc.name == "too many cells" {
				pol.MaxCells = 100
			}
			ps := tc.fence.Validate(pol)
			if tc.path == "" {
				if len(ps) > 0 {
					t.Fatalf("want valid, got %v", ps)
				}
				return
			}
			if len(ps) == 0 {
				t.Fatalf("want %s: …%s…, got valid", tc.path, tc.contains)
			}
			for _, p := range ps {
				if p.Path == tc.path && strings.Contains(p.Message, tc.contains) {
					return
				}
			}
			t.Fatalf("want %s: …%s…, got %v", tc.path, tc.contains, ps)
		})
	}
}

func TestValidationReportsAll(t *testing.T) {
	ps := Geofence{Include: []Shape{
		Polygon{Outer: []LatLngDeg{{0, 0}, {math.NaN(), 1}, {100, 1}}},
		Circle{LatLngDeg{0, 0}, 1e9},
	}}.Validate(CoverPolicy{})
	if len(ps) != 3 {
		t.Fatalf("want 3 problems, got %v", ps)
	}
}

func TestParseCellSet(t *testing.T) {
	good := h3CellString(CellOf(39.9, 116.4, 8))
	cs, ps := ParseCellSet([]string{good, "zz", "", "0x" + good, "ffffffffffffffff"})
	if len(ps) != 4 {
		t.Fatalf("want 4 problems, got %v", ps)
	}
	for i, p := range ps {
		if want := []string{"h3_cells[1]", "h3_cells[2]", "h3_cells[3]", "h3_cells[4]"}[i]; p.Path != want {
			t.Errorf("problem %d: path %q, want %q", i, p.Path, want)
		}
	}
	cs, ps = ParseCellSet([]string{good})
	if len(ps) > 0 || !cs.ContainsDeg(39.9, 116.4) || cs.ContainsDeg(0, 0) {
		t.Fatalf("ParseCellSet(%q) = %v, %v", good, cs, ps)
	}
}

func h3CellString(c uint64) string { return strings.ToLower(strings.TrimLeft(hex16(c), "0")) }

func hex16(c uint64) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i] = digits[c&15]
		c >>= 4
	}
	return string(b)
}

func TestPolygonBoundaryAndHoles(t *testing.T) {
	p, ps := NewPolygon([]LatLngDeg{{0, 0}, {0, 1}, {1, 1}, {1, 0}}, []LatLngDeg{{0.2, 0.2}, {0.2, 0.4}, {0.4, 0.4}, {0.4, 0.2}})
	if ps != nil {
		t.Fatal(ps)
	}
	for _, tc := range []struct {
		lat, lng float64
		want     bool
	}{{0.5, 0.5, true}, {0, 0.5, true}, {1, 1, true}, {0.3, 0.3, false}, {0.2, 0.3, true}, {1.5, 0.5, false}, {0.5, 360.5 - 360, true}} {
		if got := p.ContainsDeg(tc.lat, tc.lng); got != tc.want {
			t.Errorf("ContainsDeg(%v, %v) = %v, want %v", tc.lat, tc.lng, got, tc.want)
		}
	}
	am, _ := NewPolygon([]LatLngDeg{{0, 179}, {0, -179}, {1, -179}, {1, 179}})
	if !am.ContainsDeg(0.5, 180) || !am.ContainsDeg(0.5, -180) || !am.ContainsDeg(0.5, -179.5) || am.ContainsDeg(0.5, 0) {
		t.Error("antimeridian polygon")
	}
}

func TestAreas(t *testing.T) {
	// A 1°×1° box at the equator: R²·Δλ·(sin φ2 − sin φ1).
	p := Polygon{Outer: []LatLngDeg{{0, 0}, {0, 1}, {1, 1}, {1, 0}}}
	r := EarthRadiusM / 1000
	want := r * r * (math.Pi / 180) * math.Sin(math.Pi/180)
	if got := p.AreaKm2(); math.Abs(got-want) > 1e-9*want {
		t.Fatalf("box area %v, want %v", got, want)
	}
	// Overlapping circles: the sampled estimate of the union against
	// inclusion–exclusion with the exact lens area.
	a := Circle{LatLngDeg{10, 10}, 3000}
	b := Circle{LatLngDeg{10, 10.03}, 3000}
	d := HaversineM(10, 10, 10, 10.03) / 1000
	rr := 3.0
	lens := 2*rr*rr*math.Acos(d/(2*rr)) - d/2*math.Sqrt(4*rr*rr-d*d)
	wantU := a.AreaKm2() + b.AreaKm2() - lens
	got, cells, err := Geofence{Include: []Shape{a, b}}.AreaKm2(CoverPolicy{})
	if err != nil || math.Abs(got-wantU) > 0.02*wantU {
		t.Fatalf("union area %v (%d cells, %v), want %v", got, cells, err, wantU)
	}
	t.Logf("union %.4f km² (exact %.4f, %.1f%% off), %d cells", got, wantU, 100*(got-wantU)/wantU, cells)
	got, _, err = Geofence{Include: []Shape{a}, Exclude: []Shape{b}}.AreaKm2(CoverPolicy{})
	// An exclude cutting through coarse Interior cells is sampled coarsely:
	// the documented bound there is 5%.
	if wantD := a.AreaKm2() - lens; err != nil || math.Abs(got-wantD) > 0.05*wantD {
		t.Fatalf("difference area %v, want %v", got, wantD)
	} else {
		t.Logf("difference %.4f km² (exact %.4f, %.1f%% off)", got, wantD, 100*(got-wantD)/wantD)
	}
}

// regular returns an n-gon of radius 0.1° round (10, 10).
func regular(n int) []LatLngDeg {
	out := make([]LatLngDeg, n)
	for i := range out {
		a := 2 * math.Pi * float64(i) / float64(n)
		out[i] = LatLngDeg{10 + 0.1*math.Sin(a), 10 + 0.1*math.Cos(a)}
	}
	return out
}
