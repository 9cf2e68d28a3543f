package targeting

import (
	"errors"
	"fmt"
	"math"
)

// Weights parameterise the organic score (all in the server config):
//
//	score = Distance   · 1 / (1 + (d / DistanceHalfM)²)
//	      + Rating     · rating / 5
//	      + Popularity · min(1, log10(1 + popularity) / PopularityLog10Cap)
//	      + Audience   · (bounded audience dimensions) / 3
//
// The distance term halves at DistanceHalfM and decays smoothly, so near
// beats far but a much better-rated, more popular mini-program a little
// farther away can win. The audience term rewards a mini-program that targets
// this kind of user (it only applies to users it admits). Every term is in
// [0, weight], so the score is in [0, sum of weights]; the non-distance
// terms are the "static" part that does not depend on where the user is,
// which is what lets the index bound a whole cell's best score and stop early.
type Weights struct {
	Distance           float64
	DistanceHalfM      float64
	Rating             float64
	Popularity         float64
	PopularityLog10Cap float64
	Audience           float64
}

// DefaultWeights are the weights used when the config sets none.
func DefaultWeights() Weights {
	return Weights{Distance: 0.6, DistanceHalfM: 500, Rating: 0.2, Popularity: 0.15, PopularityLog10Cap: 7, Audience: 0.05}
}

// Validate reports every bad weight at once.
func (w Weights) Validate() error {
	var errs []error
	for _, c := range []struct {
		name string
		v    float64
	}{{"rank-distance", w.Distance}, {"rank-rating", w.Rating}, {"rank-popularity", w.Popularity}, {"rank-audience", w.Audience}} {
		if math.IsNaN(c.v) || c.v < 0 || c.v > 100 {
			errs = append(errs, fmt.Errorf("--%s %v: must be in [0, 100]", c.name, c.v))
		}
	}
	if !(w.DistanceHalfM >= 1 && w.DistanceHalfM <= 1e6) {
		errs = append(errs, fmt.Errorf("--rank-distance-half-m %v: must be in [1, 1000000]", w.DistanceHalfM))
	}
	if !(w.PopularityLog10Cap >= 1 && w.PopularityLog10Cap <= 19) {
		errs = append(errs, fmt.Errorf("--rank-popularity-log10-cap %v: must be in [1, 19]", w.PopularityLog10Cap))
	}
	return errors.Join(errs...)
}

// Terms are the parts of one score, for explanations.
type Terms struct {
	Distance, Rating, Popularity, Audience float64
}

// Sum is the score.
func (t Terms) Sum() float64 { return t.Distance + t.Rating + t.Popularity + t.Audience }

// DistanceTerm is the distance part of the score at dM metres.
func (w Weights) DistanceTerm(dM float64) float64 {
	x := dM / w.DistanceHalfM
	return w.Distance / (1 + x*x)
}

// StaticTerms are the parts of the score that do not depend on the user's
// position. rating is clamped to [0, 5] and popularity to ≥ 0.
func (w Weights) StaticTerms(rating float64, popularity int64, a Audience) Terms {
	rating = math.Max(0, math.Min(5, rating))
	pop := 0.0
	if popularity > 0 {
		pop = math.Min(1, math.Log10(1+float64(popularity))/w.PopularityLog10Cap)
	}
	return Terms{
		Rating:     w.Rating * rating / 5,
		Popularity: w.Popularity * pop,
		Audience:   w.Audience * float64(a.Dimensions()) / 3,
	}
}

// Static is the sum of StaticTerms.
func (w Weights) Static(rating float64, popularity int64, a Audience) float64 {
	return w.StaticTerms(rating, popularity, a).Sum()
}

// Score is the score of a mini-program with static part static at dM metres.
// It is the one formula: the index, the oracle and explanations all call it,
// so they agree to the last bit.
func (w Weights) Score(dM, static float64) float64 { return w.DistanceTerm(dM) + static }
