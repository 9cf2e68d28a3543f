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
//
// Chords below shortChord (≈ 127 km on the Earth: every Nearby distance)
// take asin's Taylor series instead of math.Asin, which costs a square
// root, a division and an arctangent: Nearby converts a chord for every
// candidate. With x = chord/2 < 0.01 the first omitted term,
// 63/2816·x¹¹, is below 3e-18 of the result, far under half an ulp, so the
// result is asin's to rounding (TestChordToRadSeries checks it against
// math.Asin). Every term is positive, so the result is never below the
// chord, as the search's bounds assume.
func ChordToRad(chord float64) float64 {
	if chord < shortChord {
		x2 := chord * chord / 4 // x = chord/2; 2·asin(x) = chord·(1 + x²/6 + …)
		return chord + chord*x2*(1.0/6+x2*(3.0/40+x2*(5.0/112+x2*(35.0/1152))))
	}
	if chord >= 2 {
		return math.Pi
	}
	return 2 * math.Asin(chord/2)
}

// shortChord is where ChordToRad switches from the series to math.Asin.
const shortChord = 0.02

// RadToChord converts a central angle in [0, π] into the chord between the
// two unit vectors. Angles above π are treated as π.
func RadToChord(rad float64) float64 {
	if rad >= math.Pi {
		return 2
	}
	return 2 * math.Sin(rad/2)
}
