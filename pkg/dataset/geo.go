package dataset

import (
	"math"
	"math/rand/v2"
)

// metresPerDegree is the length of one degree of latitude (and of longitude
// at the equator) on a sphere of the mean Earth radius, 6,371,008.8 m.
const metresPerDegree = 6_371_008.8 * math.Pi / 180

// area is the spatial distribution of a Spec: a mixture of isotropic 2D
// Gaussians, one per city, mixed by city weight.
type area struct {
	cities []City
	cum    []float64 // cumulative weights
	dLat   float64   // degrees of latitude per σ
	dLng   []float64 // degrees of longitude per σ, per city
}

func newArea(s Spec) area {
	sigma := s.SigmaM
	if sigma == 0 {
		sigma = DefaultSigmaM
	}
	a := area{
		cities: append([]City(nil), s.Cities...),
		cum:    make([]float64, len(s.Cities)),
		dLat:   sigma / metresPerDegree,
		dLng:   make([]float64, len(s.Cities)),
	}
	allZero := true
	for _, c := range a.cities {
		if c.Weight > 0 {
			allZero = false
		}
	}
	total := 0.0
	for i, c := range a.cities {
		if allZero {
			total++
		} else {
			total += c.Weight
		}
		a.cum[i] = total
		// Longitude degrees shrink with cos(latitude); keep the scale finite
		// for a centre on a pole.
		a.dLng[i] = a.dLat / math.Max(math.Cos(c.Lat*math.Pi/180), 1e-6)
	}
	return a
}

// pickCity returns the index of a city chosen by weight.
func (a *area) pickCity(r *rand.Rand) int {
	x := r.Float64() * a.cum[len(a.cum)-1]
	for i, c := range a.cum {
		if x < c {
			return i
		}
	}
	return len(a.cum) - 1
}

// weight returns the (normalised) weight of city c.
func (a *area) weight(c int) float64 {
	if c == 0 {
		return a.cum[0]
	}
	return a.cum[c] - a.cum[c-1]
}

// point draws a position from the Gaussian around city c: latitude clamped
// to [-90, 90], longitude wrapped into [-180, 180].
func (a *area) point(r *rand.Rand, c int) (lat, lng float64) {
	lat = a.cities[c].Lat + r.NormFloat64()*a.dLat
	lng = a.cities[c].Lng + r.NormFloat64()*a.dLng[c]
	return clampLat(lat), wrapLng(lng)
}

func clampLat(lat float64) float64 {
	return math.Max(-90, math.Min(90, lat))
}

func wrapLng(lng float64) float64 {
	if lng >= -180 && lng <= 180 {
		return lng
	}
	lng = math.Mod(lng+180, 360)
	if lng < 0 {
		lng += 360
	}
	return lng - 180
}

// mix is the SplitMix64 finaliser: it turns counters and seeds into
// well-spread PCG seeds.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Seed domains, so that the catalog, the queries and the users of one seed
// are independent streams.
const (
	domainCatalog uint64 = 0x63617461 // "cata"
	domainQuery   uint64 = 0x71756572 // "quer"
	domainUser    uint64 = 0x75736572 // "user"
)

// reseed points src at the stream of item i of a domain and seed.
func reseed(src *rand.PCG, domain uint64, seed int64, i uint64) {
	src.Seed(mix(uint64(seed)^mix(domain)), mix(i))
}
