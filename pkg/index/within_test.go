package index

import (
	"math/rand/v2"
	"testing"

	"github.com/aroundme/aroundme/geo"
	"github.com/aroundme/aroundme/targeting"
)

// TestCountInsideOracle compares CountInside with a brute-force count over
// every place, for random circles and polygons around the hotspots (the
// antimeridian, the poles and pentagons among them), with excluded areas.
func TestCountInsideOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	cat := randomCatalog(rng, 3000)
	snap := buildIndex(cat, targeting.DefaultWeights()).Snapshot()
	spots := hotspots()
	kinds := map[int]int{} // fence kind → fences with mini-programs inside
	for i := range 90 {
		spot := spots[rng.IntN(len(spots))]
		lat, lng := jitter(rng, spot, 3000)
		var g geo.Geofence
		switch i % 3 {
		case 0:
			g.Include = []geo.Shape{geo.Circle{Center: geo.LatLngDeg{Lat: lat, Lng: lng}, RadiusM: 200 + rng.Float64()*8000}}
		case 1:
			var ring []geo.LatLngDeg
			for range 3 + rng.IntN(6) {
				a, b := jitter(rng, [2]float64{lat, lng}, 4000)
				ring = append(ring, geo.LatLngDeg{Lat: a, Lng: b})
			}
			p, problems := geo.NewPolygon(ring)
			if len(problems) > 0 {
				continue // self-intersecting: not a valid fence
			}
			g.Include = []geo.Shape{p}
		default:
			g.Include = []geo.Shape{
				geo.Circle{Center: geo.LatLngDeg{Lat: lat, Lng: lng}, RadiusM: 5000},
				geo.Circle{Center: geo.LatLngDeg{Lat: spot[0], Lng: spot[1]}, RadiusM: 2000},
			}
			g.Exclude = []geo.Shape{geo.Circle{Center: geo.LatLngDeg{Lat: lat, Lng: lng}, RadiusM: 1500}}
		}
		gc, err := g.Cover(geo.CoverPolicy{})
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, mp := range cat {
			if mp.GetHidden() {
				continue
			}
			for _, p := range mp.GetPlaces() {
				if g.ContainsDeg(p.GetLocation().GetLatitude(), p.GetLocation().GetLongitude()) {
					want++
					break
				}
			}
		}
		if got := snap.CountInside(g, gc); got != want {
			t.Fatalf("fence %d near %v: CountInside %d, brute force %d", i, spot, got, want)
		}
		if want > 0 {
			kinds[i%3]++
		}
	}
	for k := range 3 {
		if kinds[k] < 5 {
			t.Fatalf("only %d fences of kind %d had anything inside: the test tests too little", kinds[k], k)
		}
	}
}
