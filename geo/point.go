package geo

import "math"

// Point is a position on the unit sphere as a unit vector (x towards
// latitude 0, longitude 0; z towards the north pole). Unlike latitude and
// longitude it has no singularity at the poles and no seam at the
// antimeridian, which is why the indexes store it.
type Point struct{ X, Y, Z float64 }

// PointFromDeg returns the unit vector of a latitude and longitude in degrees.
// The result is undefined for non-finite input (validate with ValidLatLng).
func PointFromDeg(latDeg, lngDeg float64) Point {
	lat, lng := latDeg*math.Pi/180, lngDeg*math.Pi/180
	cl := math.Cos(lat)
	return Point{cl * math.Cos(lng), cl * math.Sin(lng), math.Sin(lat)}
}

// Deg returns the latitude and longitude of p in degrees. p must be non-zero;
// it need not be unit length. At the poles the longitude is 0.
func (p Point) Deg() (latDeg, lngDeg float64) {
	lat := math.Atan2(p.Z, math.Hypot(p.X, p.Y))
	lng := math.Atan2(p.Y, p.X)
	return lat * 180 / math.Pi, lng * 180 / math.Pi
}

// Chord2 returns the squared straight-line distance between p and q. For
// unit vectors it is 4·sin²(θ/2) with θ their angle: monotone in θ, so it
// orders and compares distances without any trigonometry.
func (p Point) Chord2(q Point) float64 {
	dx, dy, dz := p.X-q.X, p.Y-q.Y, p.Z-q.Z
	return dx*dx + dy*dy + dz*dz
}

// DistanceM returns the great-circle distance between unit vectors p and q in
// metres, accurate to well under a millimetre at every distance.
func (p Point) DistanceM(q Point) float64 {
	return RadToMeters(ChordToRad(math.Sqrt(p.Chord2(q))))
}

// Normalize returns p scaled to unit length; the zero vector is returned
// unchanged (its direction is undefined).
func (p Point) Normalize() Point {
	n := math.Sqrt(p.X*p.X + p.Y*p.Y + p.Z*p.Z)
	if n == 0 {
		return p
	}
	return Point{p.X / n, p.Y / n, p.Z / n}
}

// Add returns p+q (used to average points; Normalize the sum).
func (p Point) Add(q Point) Point { return Point{p.X + q.X, p.Y + q.Y, p.Z + q.Z} }

// ValidLatLng reports whether latitude and longitude (degrees) are finite and
// within [-90, 90] and [-180, 180].
func ValidLatLng(latDeg, lngDeg float64) bool {
	return latDeg >= -90 && latDeg <= 90 && lngDeg >= -180 && lngDeg <= 180 // false for NaN; ±Inf are out of range
}

// HaversineM is the great-circle distance in metres between two positions in
// degrees, by the haversine formula. It is the textbook reference the tests
// use as an oracle for the vector arithmetic above.
func HaversineM(lat1, lng1, lat2, lng2 float64) float64 {
	const r = math.Pi / 180
	dLat, dLng := (lat2-lat1)*r, (lng2-lng1)*r
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*r)*math.Cos(lat2*r)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * EarthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}
