package targeting

import (
	"math/bits"
	"strings"
	"time"
)

// Reason is why a campaign may not be shown. The numbers equal the API's
// IneligibilityReason values, so that conversion is a cast.
type Reason uint8

// Reasons, in the API's order.
const (
	ReasonOutsideGeofence Reason = 1 + iota
	ReasonExcludedArea
	ReasonAge
	ReasonGender
	ReasonOperatingSystem
	ReasonCreditScore
	ReasonMinor
	ReasonNotStarted
	ReasonEnded
	ReasonOutsideDayparts
	ReasonPaused
	ReasonArchived
	ReasonBudgetExhausted
	ReasonFrequencyCapped

	maxReason = ReasonFrequencyCapped
)

var reasonNames = [...]string{
	ReasonOutsideGeofence: "OUTSIDE_GEOFENCE",
	ReasonExcludedArea:    "EXCLUDED_AREA",
	ReasonAge:             "AGE",
	ReasonGender:          "GENDER",
	ReasonOperatingSystem: "OPERATING_SYSTEM",
	ReasonCreditScore:     "CREDIT_SCORE",
	ReasonMinor:           "MINOR",
	ReasonNotStarted:      "NOT_STARTED",
	ReasonEnded:           "ENDED",
	ReasonOutsideDayparts: "OUTSIDE_DAYPARTS",
	ReasonPaused:          "PAUSED",
	ReasonArchived:        "ARCHIVED",
	ReasonBudgetExhausted: "BUDGET_EXHAUSTED",
	ReasonFrequencyCapped: "FREQUENCY_CAPPED",
}

// String is the API's name without its INELIGIBILITY_REASON_ prefix, for
// explanations and logs.
func (r Reason) String() string {
	if r >= 1 && r <= maxReason {
		return reasonNames[r]
	}
	return "UNSPECIFIED"
}

// Reasons is a set of Reason (bit r set = reason r applies): Eligibility
// reports every reason at once without allocating.
type Reasons uint32

// Has reports whether x is in the set.
func (r Reasons) Has(x Reason) bool { return x < 32 && r&(1<<x) != 0 }

// With returns the set with x added.
func (r Reasons) With(x Reason) Reasons { return r | 1<<x }

// List returns the reasons in ascending order (nil when none), as the API
// lists them.
func (r Reasons) List() []Reason {
	if r == 0 {
		return nil
	}
	out := make([]Reason, 0, bits.OnesCount32(uint32(r)))
	for x := uint32(r); x != 0; x &= x - 1 {
		out = append(out, Reason(bits.TrailingZeros32(x)))
	}
	return out
}

// String joins the names, "AGE,MINOR"; "" for none.
func (r Reasons) String() string {
	var b strings.Builder
	for i, x := range r.List() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x.String())
	}
	return b.String()
}

// Campaign is what the eligibility rules need of a campaign, converted once
// from the API message when the campaign is indexed.
type Campaign struct {
	State          CampaignState
	Schedule       Schedule
	Audience       Audience // age, gender and OS bounds
	MinCreditScore int32    // 0 = no bound
	TotalMicros    int64    // 0 = no bound
	DailyMicros    int64    // 0 = no bound; a day is Schedule's local day (DayBounds)
	FreqMax        int32    // 0 = no cap
	FreqWindow     time.Duration
}

// Counters are the campaign's live figures that eligibility depends on; the
// server reads them from its counters, Diagnose the same way, so both agree.
type Counters struct {
	// SpentMicros and SpentTodayMicros are billed so far, in total and in
	// the campaign's current local day.
	SpentMicros, SpentTodayMicros int64
	// Impressions is this user's impressions of this campaign within
	// FreqWindow (0 for anonymous users, who cannot be capped).
	Impressions int32
}

// Eligibility returns every reason (all that apply, not only the first) why
// campaign c may not be shown to u at now; 0 means eligible. inInclude says
// the user stands inside some include area, inExclude inside some exclude
// area: the geometry is the caller's (the index), the verdict is here.
//
//   - not inInclude → OUTSIDE_GEOFENCE; inExclude → EXCLUDED_AREA (both may
//     apply);
//   - the audience bounds, as Audience.Check (an unknown attribute fails a
//     bound that needs it) → AGE, GENDER, OPERATING_SYSTEM;
//   - MinCreditScore > 0 and the score unknown or lower → CREDIT_SCORE;
//   - a minor (User.Minor) is never shown sponsored results → MINOR, whatever
//     the targeting (unlike organic audiences, where only restricted ones
//     exclude minors);
//   - the schedule → NOT_STARTED, ENDED, OUTSIDE_DAYPARTS (Schedule.Check);
//   - the state → PAUSED, ARCHIVED;
//   - spent ≥ total > 0, or spentToday ≥ daily > 0 → BUDGET_EXHAUSTED;
//   - FreqMax > 0 and Impressions ≥ FreqMax → FREQUENCY_CAPPED.
//
// Pacing is not a reason: a throttled campaign is eligible, it just sits out
// some auctions (PaceEven).
func Eligibility(c *Campaign, u User, now time.Time, inInclude, inExclude bool, k Counters) Reasons {
	var r Reasons
	if !inInclude {
		r = r.With(ReasonOutsideGeofence)
	}
	if inExclude {
		r = r.With(ReasonExcludedArea)
	}
	f := c.Audience.Check(u)
	if f&FailAge != 0 {
		r = r.With(ReasonAge)
	}
	if f&FailGender != 0 {
		r = r.With(ReasonGender)
	}
	if f&FailOS != 0 {
		r = r.With(ReasonOperatingSystem)
	}
	if !QualifiesFor(u, c.MinCreditScore) {
		r = r.With(ReasonCreditScore)
	}
	if u.Minor() {
		r = r.With(ReasonMinor)
	}
	r |= c.Schedule.Check(now)
	switch c.State {
	case StatePaused:
		r = r.With(ReasonPaused)
	case StateArchived:
		r = r.With(ReasonArchived)
	}
	if BudgetExhausted(c.TotalMicros, c.DailyMicros, k.SpentMicros, k.SpentTodayMicros) {
		r = r.With(ReasonBudgetExhausted)
	}
	if c.FreqMax > 0 && k.Impressions >= c.FreqMax {
		r = r.With(ReasonFrequencyCapped)
	}
	return r
}

// BudgetExhausted reports whether either budget is spent: spent ≥ total > 0
// or spentToday ≥ daily > 0.
func BudgetExhausted(totalMicros, dailyMicros, spentMicros, spentTodayMicros int64) bool {
	return (totalMicros > 0 && spentMicros >= totalMicros) || (dailyMicros > 0 && spentTodayMicros >= dailyMicros)
}

// Remaining is what may still be billed now: the smaller of what is left of
// the total and of today's budget (a zero budget is no bound; with neither
// bound it is math.MaxInt64), never negative. Billing clamps each charge to
// it, which is what keeps spend within the budgets even when several charges
// race for the last micros.
func Remaining(totalMicros, dailyMicros, spentMicros, spentTodayMicros int64) int64 {
	left := int64(1<<63 - 1)
	if totalMicros > 0 {
		left = min(left, totalMicros-spentMicros)
	}
	if dailyMicros > 0 {
		left = min(left, dailyMicros-spentTodayMicros)
	}
	return max(left, 0)
}
