package targeting

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestReasonNumbers pins the reasons to the API's IneligibilityReason
// numbers (campaign.proto), which the server converts by a cast.
func TestReasonNumbers(t *testing.T) {
	api := map[string]Reason{
		"OUTSIDE_GEOFENCE": 1, "EXCLUDED_AREA": 2, "AGE": 3, "GENDER": 4, "OPERATING_SYSTEM": 5,
		"CREDIT_SCORE": 6, "MINOR": 7, "NOT_STARTED": 8, "ENDED": 9, "OUTSIDE_DAYPARTS": 10,
		"PAUSED": 11, "ARCHIVED": 12, "BUDGET_EXHAUSTED": 13, "FREQUENCY_CAPPED": 14,
	}
	for r := Reason(1); r <= maxReason; r++ {
		if n, ok := api[r.String()]; !ok || n != r {
			t.Errorf("reason %d is %s, the API numbers that %d", r, r, n)
		}
	}
	if len(api) != int(maxReason) {
		t.Fatalf("%d API reasons, %d here", len(api), maxReason)
	}
	if ReasonFrequencyCapped != 14 || Reason(0).String() != "UNSPECIFIED" || Reason(15).String() != "UNSPECIFIED" {
		t.Fatal("numbering or names drifted")
	}
}

func TestReasonsSet(t *testing.T) {
	var r Reasons
	if r.List() != nil || r.String() != "" || r.Has(ReasonAge) {
		t.Fatal("empty set is not empty")
	}
	r = r.With(ReasonMinor).With(ReasonAge).With(ReasonFrequencyCapped).With(ReasonAge)
	if want := []Reason{ReasonAge, ReasonMinor, ReasonFrequencyCapped}; !slices.Equal(r.List(), want) {
		t.Fatalf("List %v, want %v", r.List(), want)
	}
	if !r.Has(ReasonMinor) || r.Has(ReasonGender) || r.Has(Reason(40)) {
		t.Fatal("Has")
	}
	if got := r.String(); got != "AGE,MINOR,FREQUENCY_CAPPED" {
		t.Fatalf("String %q", got)
	}
}

func TestEligibility(t *testing.T) {
	const female, male, ios, android = 1, 2, 1, 2
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC) // Saturday
	base := Campaign{State: StateActive, TotalMicros: 1000, DailyMicros: 100}
	adult := User{Age: 30, Gender: female, OS: ios, CreditScore: 700}
	tests := []struct {
		name       string
		edit       func(c *Campaign)
		u          User
		in, ex     bool
		k          Counters
		wantReason []Reason
	}{
		{"eligible", nil, adult, true, false, Counters{}, nil},
		{"anonymous user, open campaign", nil, User{}, true, false, Counters{}, nil},
		{"outside", nil, adult, false, false, Counters{}, []Reason{ReasonOutsideGeofence}},
		{"excluded", nil, adult, true, true, Counters{}, []Reason{ReasonExcludedArea}},
		{"outside and excluded", nil, adult, false, true, Counters{}, []Reason{ReasonOutsideGeofence, ReasonExcludedArea}},
		{"too young", func(c *Campaign) { c.Audience.MinAge = 35 }, adult, true, false, Counters{}, []Reason{ReasonAge}},
		{"unknown age fails a bound", func(c *Campaign) { c.Audience.MaxAge = 60 }, User{}, true, false, Counters{}, []Reason{ReasonAge}},
		{"gender", func(c *Campaign) { c.Audience.Genders = 1 << male }, adult, true, false, Counters{}, []Reason{ReasonGender}},
		{"os", func(c *Campaign) { c.Audience.OSes = 1 << android }, adult, true, false, Counters{}, []Reason{ReasonOperatingSystem}},
		{"credit score low", func(c *Campaign) { c.MinCreditScore = 701 }, adult, true, false, Counters{}, []Reason{ReasonCreditScore}},
		{"credit score met", func(c *Campaign) { c.MinCreditScore = 700 }, adult, true, false, Counters{}, nil},
		{"credit score unknown", func(c *Campaign) { c.MinCreditScore = 1 }, User{Age: 30}, true, false, Counters{}, []Reason{ReasonCreditScore}},
		{"minor, open campaign", nil, User{Age: 13}, true, false, Counters{}, []Reason{ReasonMinor}},
		{"minor, age-bounded campaign", func(c *Campaign) { c.Audience.MinAge = 18 }, User{Age: 13}, true, false, Counters{}, []Reason{ReasonAge, ReasonMinor}},
		{"14 is not a minor", nil, User{Age: MinorAge}, true, false, Counters{}, nil},
		{"not started", func(c *Campaign) { c.Schedule.Start = now.Add(time.Minute) }, adult, true, false, Counters{}, []Reason{ReasonNotStarted}},
		{"ended", func(c *Campaign) { c.Schedule.End = now.Add(-time.Minute) }, adult, true, false, Counters{}, []Reason{ReasonEnded}},
		{"outside dayparts", func(c *Campaign) { c.Schedule.Dayparts = []Daypart{{StartMinute: 0, EndMinute: 60}} }, adult, true, false, Counters{}, []Reason{ReasonOutsideDayparts}},
		{"paused", func(c *Campaign) { c.State = StatePaused }, adult, true, false, Counters{}, []Reason{ReasonPaused}},
		{"archived", func(c *Campaign) { c.State = StateArchived }, adult, true, false, Counters{}, []Reason{ReasonArchived}},
		{"total spent", nil, adult, true, false, Counters{SpentMicros: 1000}, []Reason{ReasonBudgetExhausted}},
		{"daily spent", nil, adult, true, false, Counters{SpentMicros: 100, SpentTodayMicros: 100}, []Reason{ReasonBudgetExhausted}},
		{"daily nearly spent", nil, adult, true, false, Counters{SpentMicros: 99, SpentTodayMicros: 99}, nil},
		{"no daily budget", func(c *Campaign) { c.DailyMicros = 0 }, adult, true, false, Counters{SpentTodayMicros: 500}, nil},
		{"capped", func(c *Campaign) { c.FreqMax, c.FreqWindow = 3, time.Hour }, adult, true, false, Counters{Impressions: 3}, []Reason{ReasonFrequencyCapped}},
		{"under the cap", func(c *Campaign) { c.FreqMax, c.FreqWindow = 3, time.Hour }, adult, true, false, Counters{Impressions: 2}, nil},
		{"no cap", nil, adult, true, false, Counters{Impressions: 1000}, nil},
		{"everything at once", func(c *Campaign) {
			c.State = StateArchived
			c.Audience = Audience{MinAge: 18, Genders: 1 << male, OSes: 1 << android}
			c.MinCreditScore = 600
			c.Schedule = Schedule{Start: now.Add(time.Hour), End: now.Add(-time.Hour), Dayparts: []Daypart{{Days: DaysOf([]int32{1}), EndMinute: 1}}}
			c.FreqMax = 1
		}, User{Age: 10, Gender: female, OS: ios}, false, true, Counters{SpentMicros: 1000, Impressions: 1},
			[]Reason{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14}},
	}
	for _, tc := range tests {
		c := base
		if tc.edit != nil {
			tc.edit(&c)
		}
		got := Eligibility(&c, tc.u, now, tc.in, tc.ex, tc.k)
		if !slices.Equal(got.List(), tc.wantReason) {
			t.Errorf("%s: got %v, want %v", tc.name, got.List(), tc.wantReason)
		}
	}
}

// TestEligibilityOracle compares Eligibility on random campaigns, users and
// counters with the rules restated one reason at a time, from the API's
// words rather than from Audience.Check.
func TestEligibilityOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	sh := mustZone(t, "Asia/Shanghai")
	base := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	pick := func(vs ...int32) int32 { return vs[rng.IntN(len(vs))] }
	counts := make(map[Reason]int)
	for range 200000 {
		now := base.Add(time.Duration(rng.Int64N(int64(14 * 24 * time.Hour))))
		var c Campaign
		c.State = CampaignState(rng.IntN(4))
		c.Audience.MinAge = pick(0, 0, 13, 18, 30)
		c.Audience.MaxAge = pick(0, 0, 17, 40)
		var genders, oses []uint8
		for g := uint8(1); g <= 3; g++ {
			if rng.IntN(3) == 0 {
				genders = append(genders, g)
				c.Audience.Genders |= 1 << g
			}
		}
		for o := uint8(1); o <= 4; o++ {
			if rng.IntN(3) == 0 {
				oses = append(oses, o)
				c.Audience.OSes |= 1 << o
			}
		}
		c.MinCreditScore = pick(0, 0, 600, 700)
		if rng.IntN(3) == 0 {
			c.Schedule.Start = base.Add(time.Duration(rng.Int64N(int64(14 * 24 * time.Hour))))
		}
		if rng.IntN(3) == 0 {
			c.Schedule.End = base.Add(time.Duration(rng.Int64N(int64(14 * 24 * time.Hour))))
		}
		if rng.IntN(2) == 0 {
			c.Schedule.Loc = sh
		}
		for range rng.IntN(3) {
			a := int32(rng.IntN(MinutesPerDay))
			c.Schedule.Dayparts = append(c.Schedule.Dayparts, Daypart{Days: uint8(rng.IntN(128)), StartMinute: a, EndMinute: a + 1 + int32(rng.IntN(int(MinutesPerDay-a)))})
		}
		c.TotalMicros = int64(pick(0, 1000, 5000))
		c.DailyMicros = int64(pick(0, 100, 1000))
		c.FreqMax = pick(0, 0, 1, 3)
		u := User{Age: pick(0, 10, 13, 14, 17, 18, 25, 35, 50), Gender: uint8(rng.IntN(4)), OS: uint8(rng.IntN(5)), CreditScore: pick(0, 550, 600, 650, 700, 800)}
		k := Counters{SpentMicros: rng.Int64N(6000), SpentTodayMicros: rng.Int64N(1200), Impressions: int32(rng.IntN(5))}
		in, ex := rng.IntN(4) != 0, rng.IntN(4) == 0

		var want []Reason
		add := func(cond bool, r Reason) {
			if cond {
				want = append(want, r)
			}
		}
		add(!in, ReasonOutsideGeofence)
		add(ex, ReasonExcludedArea)
		ageKnown := u.Age != 0
		add((c.Audience.MinAge != 0 && (!ageKnown || u.Age < c.Audience.MinAge)) ||
			(c.Audience.MaxAge != 0 && (!ageKnown || u.Age > c.Audience.MaxAge)), ReasonAge)
		add(len(genders) > 0 && !slices.Contains(genders, u.Gender), ReasonGender)
		add(len(oses) > 0 && !slices.Contains(oses, u.OS), ReasonOperatingSystem)
		add(c.MinCreditScore != 0 && (u.CreditScore == 0 || u.CreditScore < c.MinCreditScore), ReasonCreditScore)
		add(ageKnown && u.Age < 14, ReasonMinor)
		add(!c.Schedule.Start.IsZero() && now.Before(c.Schedule.Start), ReasonNotStarted)
		add(!c.Schedule.End.IsZero() && now.After(c.Schedule.End), ReasonEnded)
		if len(c.Schedule.Dayparts) > 0 {
			loc := time.UTC
			if c.Schedule.Loc != nil {
				loc = c.Schedule.Loc
			}
			l := now.In(loc)
			admitted := false
			for _, d := range c.Schedule.Dayparts {
				minute := int32(l.Hour()*60 + l.Minute())
				dayOK := d.Days == 0 || d.Days&(1<<uint(l.Weekday())) != 0
				admitted = admitted || (dayOK && minute >= d.StartMinute && minute < d.EndMinute)
			}
			add(!admitted, ReasonOutsideDayparts)
		}
		add(c.State == StatePaused, ReasonPaused)
		add(c.State == StateArchived, ReasonArchived)
		add((c.TotalMicros != 0 && k.SpentMicros >= c.TotalMicros) || (c.DailyMicros != 0 && k.SpentTodayMicros >= c.DailyMicros), ReasonBudgetExhausted)
		add(c.FreqMax != 0 && k.Impressions >= c.FreqMax, ReasonFrequencyCapped)

		got := Eligibility(&c, u, now, in, ex, k)
		if !slices.Equal(got.List(), want) {
			t.Fatalf("campaign %+v user %+v at %v in=%v ex=%v %+v:\n got %v\nwant %v", c, u, now, in, ex, k, got.List(), want)
		}
		for _, r := range want {
			counts[r]++
		}
	}
	for r := Reason(1); r <= maxReason; r++ {
		if counts[r] < 1000 {
			t.Errorf("reason %s came up only %d times: the generator is too narrow", r, counts[r])
		}
	}
}

func TestRemaining(t *testing.T) {
	tests := []struct{ total, daily, spent, today, want int64 }{
		{1000, 100, 0, 0, 100},
		{1000, 100, 950, 20, 50},
		{1000, 0, 400, 400, 600},
		{0, 100, 5000, 30, 70},
		{0, 0, 5, 5, 1<<63 - 1},
		{1000, 100, 1200, 0, 0},
		{1000, 100, 0, 150, 0},
	}
	for _, tc := range tests {
		if got := Remaining(tc.total, tc.daily, tc.spent, tc.today); got != tc.want {
			t.Errorf("Remaining(%d, %d, %d, %d) = %d, want %d", tc.total, tc.daily, tc.spent, tc.today, got, tc.want)
		}
		if BudgetExhausted(tc.total, tc.daily, tc.spent, tc.today) != (tc.want == 0) {
			t.Errorf("BudgetExhausted(%d, %d, %d, %d) disagrees with Remaining", tc.total, tc.daily, tc.spent, tc.today)
		}
	}
}
