package targeting

import "time"

// CampaignState is what the advertiser last set (Pause, Resume, Archive),
// mirroring the API's CampaignState numbers so that conversion is a cast.
type CampaignState uint8

// Campaign states.
const (
	StateUnspecified CampaignState = iota
	StateActive
	StatePaused
	StateArchived
)

// ServingStatus is whether a campaign can serve right now, mirroring the
// API's ServingStatus numbers.
type ServingStatus uint8

// Serving statuses.
const (
	StatusUnspecified ServingStatus = iota
	StatusServing
	StatusPending
	StatusEnded
	StatusBudgetExhausted
	StatusPaused
	StatusArchived
)

// CampaignStatus decides a campaign's serving status at now. It is computed
// on every read rather than stored, because it changes with the clock (a
// schedule starts and ends without any write) and with spend.
//
// Precedence, first match wins, from what the advertiser decided to what
// merely happened: ARCHIVED, PAUSED, PENDING (now before start; start is
// inclusive, "not before"), ENDED (now after end; end itself still serves,
// "not after"), BUDGET_EXHAUSTED (spentMicros ≥ totalMicros > 0), SERVING.
// A zero start or end is no bound. An unspecified state is read as active:
// the service never stores one.
func CampaignStatus(state CampaignState, start, end, now time.Time, spentMicros, totalMicros int64) ServingStatus {
	switch {
	case state == StateArchived:
		return StatusArchived
	case state == StatePaused:
		return StatusPaused
	case !start.IsZero() && now.Before(start):
		return StatusPending
	case !end.IsZero() && now.After(end):
		return StatusEnded
	case totalMicros > 0 && spentMicros >= totalMicros:
		return StatusBudgetExhausted
	}
	return StatusServing
}
