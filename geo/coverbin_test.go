package geo

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

func sortedCovering(gc GeofenceCovering) GeofenceCovering {
	var out GeofenceCovering
	sortOne := func(c *Covering) *Covering {
		cells := slices.Clone(c.Cells)
		slices.SortFunc(cells, func(a, b CoverCell) int { return cmp.Compare(a.Cell, b.Cell) })
		return &Covering{Cells: cells}
	}
	for _, c := range gc.Include {
		out.Include = append(out.Include, sortOne(c))
	}
	for _, c := range gc.Exclude {
		out.Exclude = append(out.Exclude, sortOne(c))
	}
	return out
}

func TestCoveringBinaryRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for i := range 30 {
		lat, lng := rng.Float64()*140-70, rng.Float64()*360-180
		g := Geofence{Include: []Shape{Circle{Center: LatLngDeg{Lat: lat, Lng: lng}, RadiusM: 200 + rng.Float64()*5000}}}
		if i%3 == 0 {
			g.Exclude = []Shape{Circle{Center: LatLngDeg{Lat: lat, Lng: lng}, RadiusM: 100}}
		}
		gc, err := g.Cover(CoverPolicy{})
		if err != nil {
			t.Fatal(err)
		}
		b := gc.AppendBinary(nil)
		got, err := DecodeGeofenceCovering(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if want := sortedCovering(gc); !reflect.DeepEqual(got, want) {
			t.Fatalf("fence %d: round trip differs", i)
		}
		if i == 0 {
			t.Logf("%d cells in %d bytes", gc.CellCount(), len(b))
		}
		// Every strict prefix is corrupt, never a panic or a shorter covering.
		for n := range len(b) {
			if _, err := DecodeGeofenceCovering(b[:n]); !errors.Is(err, ErrBadCovering) {
				t.Fatalf("prefix of %d bytes: err %v, want ErrBadCovering", n, err)
			}
		}
	}
}

func FuzzDecodeGeofenceCovering(f *testing.F) {
	g := Geofence{Include: []Shape{Circle{Center: LatLngDeg{Lat: 39.9, Lng: 116.4}, RadiusM: 300}}}
	gc, err := g.Cover(CoverPolicy{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(gc.AppendBinary(nil))
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{1, 1, 0, 200})
	f.Fuzz(func(t *testing.T, b []byte) {
		gc, err := DecodeGeofenceCovering(b)
		if err != nil {
			return
		}
		// What decodes re-encodes to the same bytes: one reading per value.
		if again := gc.AppendBinary(nil); !slices.Equal(again, b) {
			t.Fatalf("decoded value re-encodes differently:\n%x\n%x", b, again)
		}
	})
}
