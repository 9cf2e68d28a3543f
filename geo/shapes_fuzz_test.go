package geo

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzPolygon decodes bytes into a ring (pairs of float64 offsets, scaled to
// ~km round a centre) and optionally a hole: validation must never panic,
// and an accepted polygon's covering must agree with ContainsDeg.
func FuzzPolygon(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48}, 0.0, 179.99, false)
	f.Add(make([]byte, 64), 85.0, 10.0, true)
	f.Fuzz(func(t *testing.T, data []byte, lat, lng float64, raw bool) {
		var vs []LatLngDeg
		for len(data) >= 4 && len(vs) < 60 {
			a := int16(binary.LittleEndian.Uint16(data))
			b := int16(binary.LittleEndian.Uint16(data[2:]))
			data = data[4:]
			if raw {
				vs = append(vs, LatLngDeg{float64(a) / 300, float64(b) / 150})
			} else {
				vs = append(vs, LatLngDeg{lat + float64(a)*1e-6, lng + float64(b)*1e-6})
			}
		}
		p, ps := NewPolygon(vs)
		if len(ps) > 0 {
			for _, pr := range ps {
				if pr.Message == "" {
					t.Fatal("empty message")
				}
			}
			return
		}
		cv, err := p.Cover(CoverPolicy{MaxCells: 5000})
		if err != nil {
			return // too many cells is a valid answer
		}
		l := cv.Lookup()
		rng := rand.New(rand.NewPCG(uint64(len(vs)), 1))
		bb := p.prep.bb
		for range 50 {
			x := bb.minX + (bb.maxX-bb.minX)*(rng.Float64()*1.2-0.1)
			y := math.Max(-90, math.Min(90, bb.minY+(bb.maxY-bb.minY)*(rng.Float64()*1.2-0.1)))
			x = math.Remainder(x, 360)
			exact := p.ContainsDeg(y, x)
			if st := l.Locate(y, x); (st == Interior && !exact) || (st == Outside && exact) {
				t.Fatalf("covering %v, exact %v at %v,%v", st, exact, y, x)
			}
		}
	})
}

// FuzzCellSet: parsing and validating arbitrary strings never panics and
// reports a problem for everything that is not a valid cell.
func FuzzCellSet(f *testing.F) {
	f.Add("8931aa4212bffff,zz,,ffffffffffffffff")
	f.Add("0x8931aa4212bffff")
	f.Fuzz(func(t *testing.T, s string) {
		strs := strings.Split(s, ",")
		cs, ps := ParseCellSet(strs)
		if len(ps) == 0 {
			if len(cs.Cells) != len(strs) {
				t.Fatal("lost cells")
			}
			_ = cs.ContainsDeg(1, 2)
			_ = cs.AreaKm2()
		}
	})
}
