package targeting_test

import (
	"fmt"
	"time"

	"github.com/aroundme/aroundme/targeting"
)

// A campaign for adult iOS users on weekday mornings, Shanghai time, asked
// about a 16-year-old Android user on a Saturday evening who has already
// seen it three times today.
func ExampleEligibility() {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	c := &targeting.Campaign{
		State:    targeting.StateActive,
		Audience: targeting.Audience{MinAge: 18, OSes: 1 << 1}, // iOS
		Schedule: targeting.Schedule{
			Loc:      shanghai,
			Dayparts: []targeting.Daypart{{Days: targeting.DaysOf([]int32{1, 2, 3, 4, 5}), StartMinute: 7 * 60, EndMinute: 10 * 60}},
		},
		TotalMicros: 100_000_000,
		FreqMax:     3,
		FreqWindow:  24 * time.Hour,
	}
	user := targeting.User{Age: 16, OS: 2} // Android
	now := time.Date(2026, 11, 21, 19, 30, 0, 0, shanghai)
	r := targeting.Eligibility(c, user, now, true, false, targeting.Counters{Impressions: 3})
	fmt.Println(r)
	// Output: AGE,OPERATING_SYSTEM,OUTSIDE_DAYPARTS,FREQUENCY_CAPPED
}

// A CPM bid and a CPC bid compete for two slots on expected revenue per
// thousand impressions; each winner pays just enough to keep its rank
// (ties go to the smaller id, so "noodles" must beat "cinema" by a micro).
func ExampleAuction() {
	es := []targeting.Entrant{
		{ID: "noodles", Bid: targeting.Bid{Model: targeting.PricingCPM, AmountMicros: 8_000_000}},
		{ID: "bikes", Bid: targeting.Bid{Model: targeting.PricingCPC, AmountMicros: 500_000}, CTR: targeting.SmoothedCTR(40, 1800)},
		{ID: "cinema", Bid: targeting.Bid{Model: targeting.PricingCPM, AmountMicros: 6_000_000}},
	}
	for _, w := range targeting.Auction(es, 2_000_000, 2) {
		fmt.Printf("%s: eCPM %.0f, pays %d\n", es[w.Entrant].ID, w.ECPM, w.PriceMicros)
	}
	// Output:
	// bikes: eCPM 10500000, pays 380953
	// noodles: eCPM 8000000, pays 6000001
}

// A campaign with 24 units a day, EVEN pacing, at 06:00 in New York: the
// curve is at a quarter of the day, so 6.2 units spent is within the 2%
// allowance and 6.5 is ahead of it.
func ExamplePaceEven() {
	ny, _ := time.LoadLocation("America/New_York")
	now := time.Date(2026, 11, 21, 6, 0, 0, 0, ny)
	start, end := targeting.DayBounds(now, ny)
	fmt.Println(targeting.PaceEven(24_000_000, 6_200_000, start, end, now))
	fmt.Println(targeting.PaceEven(24_000_000, 6_500_000, start, end, now))
	// Output:
	// true
	// false
}

// On the day New York falls back, the local day is 25 hours long.
func ExampleDayBounds() {
	ny, _ := time.LoadLocation("America/New_York")
	start, end := targeting.DayBounds(time.Date(2026, 11, 1, 12, 0, 0, 0, ny), ny)
	fmt.Println(end.Sub(start), targeting.DayString(targeting.DayNumber(start, ny)))
	// Output: 25h0m0s 2026-11-01
}
