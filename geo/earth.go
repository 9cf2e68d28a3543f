package geo

import "math"

// EarthRadiusM is the mean radius of the Earth in metres (the IUGG mean
// radius R1, which H3 also uses for its distances and areas).
const EarthRadiusM = 6371008.8

// MetersToRad converts a great-circle distance in metres into the angle it
// subtends at the Earth's centre.
func MetersToRad(m float64) float64 { return m / EarthRadiusM }

// RadToMeters converts a central angle into a great-circle distance in metres.
func RadToMeters(rad float64) float64 { return rad * EarthRadiusM }

// ChordToRad converts the straight-line distance between two unit vectors into
// their central angle. Defined for chord in [0, 2]; larger values (rounding)
// are clamped to π.
func ChordToRad(chord float64) float64 {
	if chord >= 2 {
		return math.Pi
	}
	return 2 * math.Asin(chord/2)
}

// RadToChord converts a central angle in [0, π] into the chord between the
// two unit vectors. Angles above π are treated as π.
func RadToChord(rad float64) float64 {
	if rad >= math.Pi {
		return 2
	}
	return 2 * math.Sin(rad/2)
}
