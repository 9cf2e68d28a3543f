package geo_test

import (
	"fmt"

	"github.com/aroundme/aroundme/geo"
)

func ExampleCircle() {
	c := geo.Circle{Center: geo.LatLngDeg{Lat: 39.9087, Lng: 116.3975}, RadiusM: 5000}
	fmt.Println(c.Validate() == nil, c.ContainsDeg(39.9334, 116.4540), c.ContainsDeg(39.95, 116.46))
	cv, _ := c.Cover(geo.CoverPolicy{})
	fmt.Println(cv.Resolutions(), cv.Lookup().Locate(39.9087, 116.3975))
	fmt.Printf("%.1f km²\n", c.AreaKm2())
	// Output:
	// true false false
	// [6 7 8 9] interior
	// 78.5 km²
}

func ExamplePolygon() {
	// A square across the antimeridian with a hole.
	p, problems := geo.NewPolygon(
		[]geo.LatLngDeg{{Lat: 0, Lng: 179.9}, {Lat: 0, Lng: -179.9}, {Lat: 0.2, Lng: -179.9}, {Lat: 0.2, Lng: 179.9}},
		[]geo.LatLngDeg{{Lat: 0.05, Lng: 179.95}, {Lat: 0.05, Lng: -179.95}, {Lat: 0.15, Lng: -179.95}, {Lat: 0.15, Lng: 179.95}},
	)
	fmt.Println(problems)
	fmt.Println(p.ContainsDeg(0.02, 180), p.ContainsDeg(0.1, 180), p.ContainsDeg(0.02, -179.95), p.ContainsDeg(0, 179.95))
	_, problems = geo.NewPolygon([]geo.LatLngDeg{{Lat: 80, Lng: 0}, {Lat: 80, Lng: 120}, {Lat: 80, Lng: -120}})
	fmt.Println(problems)
	// Output:
	// []
	// true false true true
	// [vertices: ring winds round a pole (its longitudes turn through 360°); polygons around a pole are not supported: split it in two, or use a circle or H3 cells]
}
