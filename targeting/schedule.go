package targeting

import "time"

// MinutesPerDay bounds Daypart minutes: a daypart ends at most at 1440, the
// next local midnight.
const MinutesPerDay = 24 * 60

// Daypart is a weekly window of a schedule, in the schedule's zone and on
// its wall clock: "weekdays 07:00–09:00" stays 07:00–09:00 local across a
// DST change, which is what an advertiser means.
type Daypart struct {
	// Days has bit d set when time.Weekday(d) is admitted (Sunday=0 …
	// Saturday=6); 0 admits every day. It is Go's numbering, not the API's:
	// convert API days with DaysOf.
	Days uint8
	// [StartMinute, EndMinute) in minutes after local midnight, read off the
	// wall clock. Validation guarantees 0 ≤ start < end ≤ 1440; a daypart
	// outside that admits only the minutes it shares with [0, 1440).
	StartMinute, EndMinute int32
}

// DaysOf converts API DayOfWeek numbers (1=MONDAY … 7=SUNDAY, as in
// campaign.proto) into a Daypart.Days mask. Numbers outside 1–7 are ignored
// (validation rejects them), so an empty or all-invalid list gives 0, which
// admits every day, as the API's empty list does.
func DaysOf(apiDays []int32) uint8 {
	var m uint8
	for _, d := range apiDays {
		if d >= 1 && d <= 7 {
			m |= 1 << (d % 7) // 7 (Sunday) → time.Sunday = 0; 1…6 are Monday…Saturday
		}
	}
	return m
}

// admits reports whether the daypart admits local weekday wd at minute m.
func (d Daypart) admits(wd time.Weekday, m int32) bool {
	return (d.Days == 0 || d.Days&(1<<wd) != 0) && m >= d.StartMinute && m < d.EndMinute
}

// Schedule says when a campaign may serve (the API's Schedule, converted).
type Schedule struct {
	// Start and End bound the campaign, both inclusive, as in
	// CampaignStatus; a zero time is no bound.
	Start, End time.Time
	// Loc is the zone of the dayparts and of the daily budget; nil is UTC.
	Loc *time.Location
	// Dayparts are the weekly windows; empty is all day, every day.
	Dayparts []Daypart
}

// Location returns the schedule's zone, UTC when none is set.
func (s Schedule) Location() *time.Location {
	if s.Loc == nil {
		return time.UTC
	}
	return s.Loc
}

// InDayparts reports whether now falls in some daypart, read on the wall
// clock of the schedule's zone at minute precision (10:59:59 is minute 659).
// That is what makes it DST-correct: on a spring-forward day the skipped
// local hour simply never occurs, and on a fall-back day the repeated hour is
// admitted both times it is lived, each time by the daypart that covers it.
func (s Schedule) InDayparts(now time.Time) bool {
	if len(s.Dayparts) == 0 {
		return true
	}
	local := now.In(s.Location())
	wd := local.Weekday()
	m := int32(local.Hour()*60 + local.Minute())
	for _, d := range s.Dayparts {
		if d.admits(wd, m) {
			return true
		}
	}
	return false
}

// NotStarted reports whether now is before the schedule's start.
func (s Schedule) NotStarted(now time.Time) bool { return !s.Start.IsZero() && now.Before(s.Start) }

// Ended reports whether now is after the schedule's end (the end itself
// still serves).
func (s Schedule) Ended(now time.Time) bool { return !s.End.IsZero() && now.After(s.End) }

// Check returns the schedule reasons that apply at now: NOT_STARTED, ENDED,
// OUTSIDE_DAYPARTS, every one that applies.
func (s Schedule) Check(now time.Time) Reasons {
	var r Reasons
	if s.NotStarted(now) {
		r = r.With(ReasonNotStarted)
	}
	if s.Ended(now) {
		r = r.With(ReasonEnded)
	}
	if !s.InDayparts(now) {
		r = r.With(ReasonOutsideDayparts)
	}
	return r
}

// DayBounds returns the local calendar day containing now in loc (nil =
// UTC): start is the first instant whose local date is now's, end the first
// instant of a later local date. So the day is 24 hours long, except on DST
// days (23 or 25 hours) and where the zone's rules skip a midnight (the day
// then starts at the end of the gap, e.g. 01:00 in America/Santiago on its
// spring-forward day). Daily budgets and pacing run on these bounds, so a
// "day" is what the advertiser's zone calls one.
//
// start ≤ now < end always holds. Where a zone's local date once went
// backwards (St. John's fell back from 00:01 to 23:01 of the previous day
// until 2011) the repeated stretch of the earlier date is a day of its own,
// bounded by the transition, with the same DayNumber as the first part.
func DayBounds(now time.Time, loc *time.Location) (start, end time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	local := now.In(loc)
	y, m, d := local.Date()
	start, end = dayStart(y, m, d, loc), dayStart(y, m, d+1, loc)
	if !now.Before(start) && now.Before(end) {
		return start, end
	}
	// The local date went backwards near now: keep to now's zone period,
	// where the wall clock is monotone.
	zs, ze := local.ZoneBounds()
	_, off := local.Zone()
	day := floorDiv(now.Unix()+int64(off), 86400)
	start = time.Unix(day*86400-int64(off), 0).In(loc)
	end = time.Unix((day+1)*86400-int64(off), 0).In(loc)
	if !zs.IsZero() && zs.After(start) {
		start = zs
	}
	if !ze.IsZero() && ze.Before(end) {
		end = ze
	}
	return start, end
}

// dayStart returns the first instant whose local date in loc is (y, m, d)
// or later. time.Date leaves the choice open when local midnight falls in a
// gap or is lived twice, so its answer is checked (one second earlier must
// be an earlier date: zone offsets and transitions are whole seconds) and
// otherwise the date change is found by bisection over the hours around it.
func dayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	want := civilDay(y, m, d)
	on := func(u int64) bool { return localDay(time.Unix(u, 0), loc) >= want }
	u := t.Unix()
	if on(u) && !on(u-1) {
		return t
	}
	const window = 12 * 3600 // far beyond any DST shift
	lo, hi := u-window, u+window
	if on(lo) || !on(hi) {
		return t
	}
	for hi-lo > 1 { // invariant: !on(lo), on(hi)
		mid := lo + (hi-lo)/2
		if on(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return time.Unix(hi, 0).In(loc)
}

// localDay is the local date of t in loc as days since 1970-01-01.
func localDay(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return civilDay(y, m, d)
}

// civilDay is the number of days from 1970-01-01 to the date (y, m, d),
// normalised as time.Date does (day 32 of a month is the next month's 1st).
func civilDay(y int, m time.Month, d int) int64 {
	return floorDiv(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix(), 86400)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// DayNumber returns the local date of now in loc (nil = UTC) as days since
// 1970-01-01: the key of per-day counters (daily spend, daily stats), so
// that a campaign's "today" is its own zone's today.
func DayNumber(now time.Time, loc *time.Location) int32 {
	if loc == nil {
		loc = time.UTC
	}
	return int32(localDay(now, loc))
}

// DayString formats a DayNumber as YYYY-MM-DD (the API's DailyStats.date).
func DayString(n int32) string {
	return time.Unix(int64(n)*86400, 0).UTC().Format(time.DateOnly)
}
