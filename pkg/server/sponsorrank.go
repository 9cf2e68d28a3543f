package server

import "math"

// An auction rank is a campaign's eCPM rounded up onto a fine logarithmic
// scale in 32 bits, which the auction's table (sponsors.hot) holds per
// campaign key: ranking the ~90 candidates of an average city-centre query
// reads 4 bytes each from one array of 400 KB for 100,000 campaigns (it
// stays in the core's cache) instead of 16 from one of 1.6 MB, and the
// candidates are heaped as plain integers. Rounding up makes a rank an
// upper bound of the eCPM: the auction orders candidates by rank and
// resolves the exact eCPM (and the tie by id) only for those whose rank
// could still beat the best resolved one (see pick).
//
// The scale spans eCPMs of 2^-16 to 2^48 micros per thousand impressions
// in 2^26 steps per doubling (a step is 1e-8 relative): rank 0 means
// "cannot win" (an eCPM of zero or less), and the top rank stands for
// every eCPM from 2^48 up (its value is +Inf).
const (
	rankScale  = 1 << 26
	rankOffset = 16 * rankScale
	rankTop    = math.MaxUint32
)

// rankOf returns the smallest rank whose value is at least ecpm.
func rankOf(ecpm float64) uint32 {
	if !(ecpm > 0) {
		return 0
	}
	if math.IsInf(ecpm, 1) {
		return rankTop
	}
	f := math.Ceil(math.Log2(ecpm)*rankScale) + rankOffset
	switch {
	case f < 1:
		return 1
	case f >= rankTop:
		return rankTop
	}
	r := uint32(f)
	// Log2 and the product can be an ulp off: settle on the exact bound.
	for r < rankTop && rankValue(r) < ecpm {
		r++
	}
	for r > 1 && rankValue(r-1) >= ecpm {
		r--
	}
	return r
}

// rankValue is the largest eCPM of rank r (0 for rank 0).
func rankValue(r uint32) float64 {
	switch r {
	case 0:
		return 0
	case rankTop:
		return math.Inf(1)
	}
	return math.Exp2(float64(int64(r)-rankOffset) / rankScale)
}
