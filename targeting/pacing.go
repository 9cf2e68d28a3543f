package targeting

import "time"

// PaceAllowance is how far ahead of the linear curve an EVEN-paced campaign
// may run, as a fraction of its daily budget: 2%, about 29 minutes of a
// 24-hour day's spend. Without it a campaign could spend nothing at the
// stroke of midnight (the curve is at 0) and would be held back by every
// single charge; with it, the first charges of the day go through at once
// and spend then tracks the curve from just above.
const PaceAllowance = 0.02

// PaceEven reports whether an EVEN-paced campaign may enter an auction at
// now, given its daily budget and what it has spent today, the day being
// [dayStart, dayEnd) (DayBounds in the schedule's zone, so 23 or 25 hours
// on DST days and the curve is linear in elapsed real time).
//
// The curve is daily × f, f the elapsed fraction of the day clamped to
// [0, 1]; the campaign may enter while
//
//	spentToday < daily × (f + PaceAllowance)   and   spentToday < daily.
//
// So it is throttled only when it is ahead of the curve by the allowance,
// never when it is behind (a campaign that found little demand at night
// catches up as soon as demand returns), and it can be ahead by at most the
// allowance plus one charge. Spend the server has not yet billed (an
// impression served but not reported) is not seen here: the lag adds to the
// overshoot, and billing, not pacing, is what keeps spend within the budget
// (Remaining).
//
// A daily budget ≤ 0 is no daily budget: there is nothing to pace, it
// returns true. The same curve paces a lifetime budget over the schedule when
// called with (total, spent, start, end, now). A pure function of its inputs.
func PaceEven(dailyMicros, spentTodayMicros int64, dayStart, dayEnd, now time.Time) bool {
	if dailyMicros <= 0 {
		return true
	}
	if spentTodayMicros >= dailyMicros {
		return false
	}
	f := 1.0
	if span := dayEnd.Sub(dayStart); span > 0 {
		f = float64(now.Sub(dayStart)) / float64(span)
		f = max(0, min(1, f))
	}
	return float64(spentTodayMicros) < float64(dailyMicros)*(f+PaceAllowance)
}
