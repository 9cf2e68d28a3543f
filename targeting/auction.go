package targeting

import (
	"cmp"
	"math"
	"slices"
)

// Pricing models, the API's PricingModel numbers.
const (
	PricingCPM uint8 = 1 // micros per 1000 impressions
	PricingCPC uint8 = 2 // micros per click
)

// Bid is what a campaign offers, in its own model.
type Bid struct {
	Model        uint8 // PricingCPM or PricingCPC
	AmountMicros int64 // CPM: micros per 1000 impressions; CPC: micros per click
}

// The CTR prior: Beta(CTRPriorClicks, CTRPriorImpressions − CTRPriorClicks),
// a mean of 1% weighted as 200 impressions. A new campaign is ranked as a 1%
// CTR campaign; after 200 impressions its own record weighs as much as the
// prior, after 2000 ten times as much. 1% is a common CTR for sponsored
// listings; 200 impressions keep one lucky early click from ranking a CPC
// bid as if its CTR were 50%.
const (
	CTRPriorClicks      = 2.0
	CTRPriorImpressions = 200.0
)

// SmoothedCTR is the click-through rate learned from a campaign's accepted
// events, smoothed with the Beta prior above (the posterior mean):
//
//	(clicks + 2) / (impressions + 200)
//
// It is in (0, 1), rises with clicks and falls with impressions. Negative
// counts read as 0, and clicks beyond impressions (a click whose impression
// was never reported) are capped at impressions, so the result stays a rate.
func SmoothedCTR(clicks, impressions int64) float64 {
	impressions = max(impressions, 0)
	clicks = min(max(clicks, 0), impressions)
	return (float64(clicks) + CTRPriorClicks) / (float64(impressions) + CTRPriorImpressions)
}

// ECPM is the expected revenue of a bid per 1000 impressions, in micros: a
// CPM bid as is, a CPC bid × ctr × 1000. It is what the auction ranks, so
// that CPM and CPC bids compete for the same slots. An unknown model is
// worth 0.
func ECPM(b Bid, ctr float64) float64 {
	switch b.Model {
	case PricingCPM:
		return float64(b.AmountMicros)
	case PricingCPC:
		return float64(b.AmountMicros) * ctr * 1000
	}
	return 0
}

// Entrant is one campaign in an auction.
type Entrant struct {
	ID  string // breaks eCPM ties, ascending, so the outcome is deterministic
	Bid Bid
	CTR float64 // SmoothedCTR of the campaign; used by CPC bids
}

// Win is one sold slot.
type Win struct {
	Entrant int     // index into the entrants slice
	ECPM    float64 // the winner's eCPM at its bid
	// PriceMicros is the clearing price in the winner's own model (CPM:
	// micros per 1000 impressions; CPC: micros per click): the smallest whole
	// number of micros at which the winner would still have ranked above
	// the entrant right below it (or met the reserve, when nobody is below
	// it), never above its bid and never below 1.
	PriceMicros int64
}

// Auction is a generalized second-price auction. Entrants whose eCPM is
// positive and at least reserveCPMMicros are ranked by eCPM, descending,
// ties by ID ascending (then by position in es, for equal IDs); the first
// `slots` win, in rank order. Each winner pays the least that would have
// kept it above the entrant ranked right below it, whether that one won a
// slot or not, or, for the last ranked entrant, the least that meets the
// reserve. Truthful bidding is not dominant in a GSP with several slots,
// but each price is at most the winner's bid and at least what the next
// entrant offered, as in every ad exchange that runs one.
func Auction(es []Entrant, reserveCPMMicros int64, slots int) []Win {
	return AppendAuction(nil, es, reserveCPMMicros, slots)
}

// AppendAuction is Auction appending the wins to dst: the serving path
// reuses one slice per request and, with the few entrants it passes (slots
// + 1), allocates nothing.
func AppendAuction(dst []Win, es []Entrant, reserveCPMMicros int64, slots int) []Win {
	if slots <= 0 {
		return dst
	}
	type ranked struct {
		i    int
		ecpm float64
	}
	var buf [8]ranked
	rs := buf[:0]
	reserve := float64(reserveCPMMicros)
	for i, e := range es {
		if v := ECPM(e.Bid, e.CTR); v > 0 && v >= reserve && e.Bid.AmountMicros > 0 {
			rs = append(rs, ranked{i, v})
		}
	}
	above := func(a, b ranked) int { // < 0 when a ranks above b
		if c := cmp.Compare(b.ecpm, a.ecpm); c != 0 {
			return c
		}
		if c := cmp.Compare(es[a.i].ID, es[b.i].ID); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i)
	}
	slices.SortFunc(rs, above)
	n := min(slots, len(rs))
	for k := range n {
		w := rs[k]
		e := es[w.i]
		// beats reports whether the winner, bidding p, still ranks above
		// the next entrant (or meets the reserve). It is monotone in p, and
		// true at the winner's own bid.
		beats := func(p int64) bool {
			v := ECPM(Bid{e.Bid.Model, p}, e.CTR)
			if k+1 < len(rs) {
				return above(ranked{w.i, v}, rs[k+1]) < 0
			}
			return v >= reserve
		}
		// The smallest p in [1, bid] with beats(p): a binary search,
		// which first probes around the price the eCPM formula inverts to
		// (the answer, or next to it, unless rounding says otherwise), so
		// that it usually takes three evaluations instead of ~25.
		lo, hi := int64(1), e.Bid.AmountMicros
		target := reserve
		if k+1 < len(rs) {
			target = rs[k+1].ecpm
		}
		if g, ok := priceFor(e.Bid.Model, target, e.CTR); ok {
			for _, p := range [3]int64{g - 1, g, g + 1} {
				if p >= lo && p < hi {
					if beats(p) {
						hi = p
					} else {
						lo = p + 1
					}
				}
			}
		}
		for lo < hi {
			mid := lo + (hi-lo)/2
			if beats(mid) {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		dst = append(dst, Win{Entrant: w.i, ECPM: w.ecpm, PriceMicros: lo})
	}
	return dst
}

// priceFor inverts ECPM: the bid amount, rounded up to whole micros, whose
// eCPM in the model is ecpm (ok is false when there is none: an unknown
// model, a CTR that is not positive, a result out of int64's range). It is
// a guess: AppendAuction checks it against the ranking itself.
func priceFor(model uint8, ecpm, ctr float64) (int64, bool) {
	var p float64
	switch model {
	case PricingCPM:
		p = math.Ceil(ecpm)
	case PricingCPC:
		if !(ctr > 0) {
			return 0, false
		}
		p = math.Ceil(ecpm / (ctr * 1000))
	default:
		return 0, false
	}
	if !(p >= 1 && p < math.MaxInt64/2) {
		return 0, false
	}
	return int64(p), true
}
