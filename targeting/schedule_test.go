package targeting

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the same zone rules on every machine that runs the tests
)

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("zone %s: %v", name, err)
	}
	return loc
}

func TestDaysOf(t *testing.T) {
	tests := []struct {
		api  []int32
		want uint8
	}{
		{nil, 0},
		{[]int32{1}, 1 << time.Monday},
		{[]int32{7}, 1 << time.Sunday},
		{[]int32{6, 7}, 1<<time.Saturday | 1<<time.Sunday},
		{[]int32{1, 2, 3, 4, 5}, 0b0111110},
		{[]int32{1, 2, 3, 4, 5, 6, 7}, 0b1111111},
		{[]int32{3, 3}, 1 << time.Wednesday},
		{[]int32{0, 8, -1}, 0}, // not days: validation rejects them; here they admit nothing extra
	}
	for _, tc := range tests {
		if got := DaysOf(tc.api); got != tc.want {
			t.Errorf("DaysOf(%v) = %07b, want %07b", tc.api, got, tc.want)
		}
	}
}

func TestInDayparts(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	sh := mustZone(t, "Asia/Shanghai")
	weekdays := DaysOf([]int32{1, 2, 3, 4, 5})
	morning := Daypart{Days: weekdays, StartMinute: 7 * 60, EndMinute: 9 * 60}
	lateNight := Daypart{StartMinute: 23 * 60, EndMinute: MinutesPerDay}
	twoAM := Daypart{StartMinute: 2 * 60, EndMinute: 3 * 60}
	oneAM := Daypart{StartMinute: 60, EndMinute: 2 * 60}
	utc := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name string
		s    Schedule
		now  time.Time
		want bool
	}{
		{"no dayparts: always", Schedule{}, utc("2026-11-21T03:00:00Z"), true},
		{"start minute is inclusive", Schedule{Dayparts: []Daypart{morning}}, utc("2026-11-23T07:00:00Z"), true},
		{"a second before start", Schedule{Dayparts: []Daypart{morning}}, utc("2026-11-23T06:59:59Z"), false},
		{"last second of the last minute", Schedule{Dayparts: []Daypart{morning}}, utc("2026-11-23T08:59:59.999Z"), true},
		{"end minute is exclusive", Schedule{Dayparts: []Daypart{morning}}, utc("2026-11-23T09:00:00Z"), false},
		{"weekday window on a Saturday", Schedule{Dayparts: []Daypart{morning}}, utc("2026-11-21T08:00:00Z"), false},
		{"end 1440 admits 23:59:59", Schedule{Dayparts: []Daypart{lateNight}}, utc("2026-11-21T23:59:59.999Z"), true},
		{"end 1440 stops at midnight", Schedule{Dayparts: []Daypart{lateNight}}, utc("2026-11-22T00:00:00Z"), false},
		{"any of several", Schedule{Dayparts: []Daypart{morning, lateNight}}, utc("2026-11-21T23:30:00Z"), true},
		{"nil zone is UTC", Schedule{Loc: nil, Dayparts: []Daypart{twoAM}}, utc("2026-11-21T02:30:00Z"), true},
		// Shanghai is UTC+8 all year: 23:30Z Sunday is 07:30 Monday there.
		{"Shanghai: local weekday and minute", Schedule{Loc: sh, Dayparts: []Daypart{morning}}, utc("2026-11-22T23:30:00Z"), true},
		{"Shanghai: Sunday evening UTC is not Monday morning UTC", Schedule{Loc: sh, Dayparts: []Daypart{morning}}, utc("2026-11-23T07:30:00Z"), false},
		// New York springs forward on 2026-03-08 at 02:00 EST → 03:00 EDT:
		// 02:00–03:00 never happens, 01:59:59 EST is followed by 03:00 EDT.
		{"NY spring forward: 01:59 EST", Schedule{Loc: ny, Dayparts: []Daypart{oneAM}}, utc("2026-03-08T06:59:59Z"), true},
		{"NY spring forward: next second is 03:00 EDT", Schedule{Loc: ny, Dayparts: []Daypart{twoAM}}, utc("2026-03-08T07:00:00Z"), false},
		{"NY spring forward: 03:00 EDT is not 01:00", Schedule{Loc: ny, Dayparts: []Daypart{oneAM}}, utc("2026-03-08T07:00:00Z"), false},
		{"NY summer: 07:00 EDT is 11:00Z", Schedule{Loc: ny, Dayparts: []Daypart{morning}}, utc("2026-03-09T11:00:00Z"), true},
		{"NY summer: 12:00Z is 08:00 EDT", Schedule{Loc: ny, Dayparts: []Daypart{morning}}, utc("2026-03-09T12:00:00Z"), true},
		{"NY summer: 13:00Z is 09:00 EDT", Schedule{Loc: ny, Dayparts: []Daypart{morning}}, utc("2026-03-09T13:00:00Z"), false},
		// New York falls back on 2026-11-01 at 02:00 EDT → 01:00 EST: the
		// 01:00 hour is lived twice, and admitted both times.
		{"NY fall back: first 01:30 (EDT)", Schedule{Loc: ny, Dayparts: []Daypart{oneAM}}, utc("2026-11-01T05:30:00Z"), true},
		{"NY fall back: second 01:30 (EST)", Schedule{Loc: ny, Dayparts: []Daypart{oneAM}}, utc("2026-11-01T06:30:00Z"), true},
		{"NY fall back: 02:00 EST", Schedule{Loc: ny, Dayparts: []Daypart{oneAM}}, utc("2026-11-01T07:00:00Z"), false},
		{"NY fall back: 02:00 EST is in 02:00–03:00", Schedule{Loc: ny, Dayparts: []Daypart{twoAM}}, utc("2026-11-01T07:00:00Z"), true},
		{"NY winter: 07:00 EST is 12:00Z", Schedule{Loc: ny, Dayparts: []Daypart{morning}}, utc("2026-11-02T12:00:00Z"), true},
		{"NY winter: 11:30Z is 06:30 EST", Schedule{Loc: ny, Dayparts: []Daypart{morning}}, utc("2026-11-02T11:30:00Z"), false},
	}
	for _, tc := range tests {
		if got := tc.s.InDayparts(tc.now); got != tc.want {
			t.Errorf("%s: InDayparts(%v) = %v, want %v", tc.name, tc.now, got, tc.want)
		}
	}
}

// TestInDaypartsOracle checks InDayparts on random instants and dayparts
// against the wall clock worked out from the zone offset with plain
// arithmetic (no time.Time.Hour/Weekday).
func TestInDaypartsOracle(t *testing.T) {
	zones := []*time.Location{time.UTC, mustZone(t, "America/New_York"), mustZone(t, "Asia/Shanghai"),
		mustZone(t, "Australia/Lord_Howe"), mustZone(t, "Asia/Kathmandu"), mustZone(t, "America/Santiago")}
	rng := rand.New(rand.NewPCG(7, 7))
	lo := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	hi := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for range 200000 {
		loc := zones[rng.IntN(len(zones))]
		now := time.Unix(lo+rng.Int64N(hi-lo), 0)
		s := Schedule{Loc: loc}
		for range rng.IntN(4) {
			a, b := int32(rng.IntN(MinutesPerDay)), int32(rng.IntN(MinutesPerDay+1))
			if a >= b {
				a, b = b, a+1
			}
			s.Dayparts = append(s.Dayparts, Daypart{Days: uint8(rng.IntN(128)), StartMinute: a, EndMinute: b})
		}
		_, off := now.In(loc).Zone()
		wall := now.Unix() + int64(off)
		day := floorDiv(wall, 86400)
		wd := int(((day+4)%7 + 7) % 7) // 1970-01-01 was a Thursday
		minute := int32((wall - day*86400) / 60)
		want := len(s.Dayparts) == 0
		for _, d := range s.Dayparts {
			if (d.Days == 0 || d.Days>>wd&1 == 1) && minute >= d.StartMinute && minute < d.EndMinute {
				want = true
			}
		}
		if got := s.InDayparts(now); got != want {
			t.Fatalf("%v in %v, dayparts %+v: got %v, want %v", now, loc, s.Dayparts, got, want)
		}
	}
}

func TestScheduleCheck(t *testing.T) {
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC) // a Saturday
	sunday := []Daypart{{Days: DaysOf([]int32{7})}}
	sunday[0].EndMinute = MinutesPerDay
	tests := []struct {
		name string
		s    Schedule
		want []Reason
	}{
		{"open", Schedule{}, nil},
		{"start inclusive", Schedule{Start: now}, nil},
		{"end inclusive", Schedule{End: now}, nil},
		{"not started", Schedule{Start: now.Add(time.Nanosecond)}, []Reason{ReasonNotStarted}},
		{"ended", Schedule{End: now.Add(-time.Nanosecond)}, []Reason{ReasonEnded}},
		{"wrong day", Schedule{Dayparts: sunday}, []Reason{ReasonOutsideDayparts}},
		{"all three", Schedule{Start: now.Add(time.Hour), End: now.Add(-time.Hour), Dayparts: sunday},
			[]Reason{ReasonNotStarted, ReasonEnded, ReasonOutsideDayparts}},
	}
	for _, tc := range tests {
		if got := tc.s.Check(now).List(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDayBounds(t *testing.T) {
	ny := mustZone(t, "America/New_York")
	sh := mustZone(t, "Asia/Shanghai")
	scl := mustZone(t, "America/Santiago")
	tests := []struct {
		name       string
		now        time.Time
		loc        *time.Location
		start, end string // RFC 3339 in UTC
		day        string
	}{
		{"UTC, nil zone", time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), nil, "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z", "2026-11-21"},
		{"UTC midnight belongs to the new day", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), time.UTC, "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z", "2026-11-22"},
		{"UTC last nanosecond", time.Date(2026, 11, 21, 23, 59, 59, 999999999, time.UTC), time.UTC, "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z", "2026-11-21"},
		{"Shanghai: 15:59:59Z is still the 21st", time.Date(2026, 11, 21, 15, 59, 59, 0, time.UTC), sh, "2026-11-20T16:00:00Z", "2026-11-21T16:00:00Z", "2026-11-21"},
		{"Shanghai: 16:00Z is the 22nd", time.Date(2026, 11, 21, 16, 0, 0, 0, time.UTC), sh, "2026-11-21T16:00:00Z", "2026-11-22T16:00:00Z", "2026-11-22"},
		{"NY: 04:59Z is the evening before", time.Date(2026, 11, 21, 4, 59, 0, 0, time.UTC), ny, "2026-11-20T05:00:00Z", "2026-11-21T05:00:00Z", "2026-11-20"},
		{"NY spring forward: 23 hours", time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC), ny, "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z", "2026-03-08"},
		{"NY fall back: 25 hours", time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), ny, "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", "2026-11-01"},
		{"NY fall back: inside the repeated hour", time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC), ny, "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", "2026-11-01"},
		// Santiago springs forward at 24:00 on Saturday 2026-09-05: Sunday
		// has no midnight and starts at 01:00 -03, which is 04:00Z.
		{"Santiago: a day without midnight", time.Date(2026, 9, 6, 12, 0, 0, 0, time.UTC), scl, "2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z", "2026-09-06"},
		// St. John's fell back from 00:01 NDT to 23:01 NST on 2008-11-02
		// (02:31Z): 23:01–24:00 of the 1st is lived again after the 2nd began.
		{"St. John's 2008: the date goes back", time.Date(2008, 11, 2, 3, 0, 0, 0, time.UTC), mustZone(t, "America/St_Johns"), "2008-11-02T02:31:00Z", "2008-11-02T03:30:00Z", "2008-11-01"},
		{"Santiago: the day before ends at the gap", time.Date(2026, 9, 6, 3, 59, 59, 0, time.UTC), scl, "2026-09-05T04:00:00Z", "2026-09-06T04:00:00Z", "2026-09-05"},
	}
	for _, tc := range tests {
		start, end := DayBounds(tc.now, tc.loc)
		if got := start.UTC().Format(time.RFC3339); got != tc.start {
			t.Errorf("%s: start %s, want %s", tc.name, got, tc.start)
		}
		if got := end.UTC().Format(time.RFC3339); got != tc.end {
			t.Errorf("%s: end %s, want %s", tc.name, got, tc.end)
		}
		if got := DayString(DayNumber(tc.now, tc.loc)); got != tc.day {
			t.Errorf("%s: day %s, want %s", tc.name, got, tc.day)
		}
	}
}

// TestDayBoundsEveryTransition walks every zone transition from 2008 to
// 2030 in zones with unusual rules (midnight transitions, half-hour DST, a
// skipped date, Ramadan suspensions) and checks, around each transition and
// each local midnight near it, that DayBounds brackets the instant and, where
// the local date never goes backwards, that its
// start is the first instant of the local date and its end the first of a
// later one, and that DayNumber agrees.
func TestDayBoundsEveryTransition(t *testing.T) {
	names := []string{"UTC", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Shanghai",
		"America/Santiago", "America/Havana", "Asia/Beirut", "America/Asuncion", "Pacific/Apia",
		"Australia/Lord_Howe", "Asia/Kathmandu", "Africa/Casablanca", "America/Sao_Paulo", "Asia/Tehran",
		"America/St_Johns", "Pacific/Chatham", "Antarctica/Troll", "Asia/Gaza", "Europe/Moscow",
		"Asia/Pyongyang", "America/Godthab", "Africa/Cairo", "Asia/Amman", "Asia/Damascus", "Pacific/Kiritimati"}
	from := time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	checked := 0
	for _, name := range names {
		loc := mustZone(t, name)
		check := func(now time.Time) {
			checked++
			start, end := DayBounds(now, loc)
			n := DayNumber(now, loc)
			if now.Before(start) || !now.Before(end) {
				t.Fatalf("%s %v: bounds [%v, %v) do not hold it", name, now, start, end)
			}
			if name == "America/St_Johns" && now.Year() < 2012 {
				return // fell back across midnight: only the bracket holds (below)
			}
			if DayNumber(start, loc) != n || DayNumber(start.Add(-time.Nanosecond), loc) >= n {
				t.Fatalf("%s %v: start %v is not the first instant of day %s", name, now, start.In(loc), DayString(n))
			}
			if DayNumber(end, loc) <= n || DayNumber(end.Add(-time.Nanosecond), loc) != n {
				t.Fatalf("%s %v: end %v is not the first instant after day %s", name, now, end.In(loc), DayString(n))
			}
			if got, want := DayString(n), now.In(loc).Format(time.DateOnly); got != want {
				t.Fatalf("%s %v: DayString %s, want %s", name, now, got, want)
			}
			if h := end.Sub(start).Hours(); h < 22 || h > 26 {
				t.Fatalf("%s %v: a day of %.2f hours", name, now, h)
			}
		}
		for tm := from; tm.Before(to); {
			_, next := tm.In(loc).ZoneBounds()
			if next.IsZero() || !next.Before(to) {
				break
			}
			for _, d := range []time.Duration{-time.Second, 0, time.Second, time.Hour, -time.Hour} {
				check(next.Add(d))
			}
			for _, s := range []time.Time{next.Add(-24 * time.Hour), next, next.Add(24 * time.Hour)} {
				st, _ := DayBounds(s, loc)
				check(st)
				check(st.Add(-time.Nanosecond))
			}
			tm = next
		}
		check(from)
	}
	t.Logf("%d instants checked", checked)
	if checked < 1000 {
		t.Fatalf("only %d instants checked: the zone walk found too few transitions", checked)
	}
}

func TestDayNumber(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	ny := mustZone(t, "America/New_York")
	tests := []struct {
		now  time.Time
		loc  *time.Location
		want int32
		day  string
	}{
		{time.Unix(0, 0), nil, 0, "1970-01-01"},
		{time.Unix(-1, 0), time.UTC, -1, "1969-12-31"},
		{time.Unix(86399, 0), time.UTC, 0, "1970-01-01"},
		{time.Unix(86400, 0), time.UTC, 1, "1970-01-02"},
		{time.Unix(0, 0), sh, 0, "1970-01-01"},     // 08:00 local
		{time.Unix(0, 0), ny, -1, "1969-12-31"},    // 19:00 the evening before
		{time.Unix(57600, 0), sh, 1, "1970-01-02"}, // 16:00Z is midnight in Shanghai
		{time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), nil, 20778, "2026-11-21"},
		{time.Date(2000, 2, 29, 12, 0, 0, 0, time.UTC), nil, 11016, "2000-02-29"},
	}
	for _, tc := range tests {
		got := DayNumber(tc.now, tc.loc)
		if got != tc.want {
			t.Errorf("DayNumber(%v, %v) = %d, want %d", tc.now.UTC(), tc.loc, got, tc.want)
		}
		if s := DayString(got); s != tc.day {
			t.Errorf("DayString(%d) = %s, want %s", got, s, tc.day)
		}
	}
	rng := rand.New(rand.NewPCG(3, 3))
	for range 10000 {
		n := int32(rng.IntN(80000) - 20000)
		now := time.Unix(int64(n)*86400+rng.Int64N(86400), 0)
		if got := DayNumber(now, time.UTC); got != n {
			t.Fatalf("DayNumber(%v) = %d, want %d", now, got, n)
		}
		if got, want := DayString(n), now.UTC().Format(time.DateOnly); got != want {
			t.Fatalf("DayString(%d) = %s, want %s", n, got, want)
		}
	}
}
