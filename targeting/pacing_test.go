package targeting

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestPaceEven(t *testing.T) {
	start := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	end := start.Add(24 * time.Hour)
	at := func(h float64) time.Time { return start.Add(time.Duration(h * float64(time.Hour))) }
	const daily = 1_000_000
	tests := []struct {
		name  string
		daily int64
		spent int64
		now   time.Time
		want  bool
	}{
		{"no daily budget", 0, 5_000_000, at(1), true},
		{"negative daily budget reads as none", -5, 5, at(1), true},
		{"midnight, nothing spent: the allowance lets it start", daily, 0, start, true},
		{"midnight, allowance used", daily, 20_000, start, false},
		{"midnight, just inside the allowance", daily, 19_999, start, true},
		{"noon on the curve", daily, 500_000, at(12), true},
		{"noon, ahead by the allowance", daily, 520_000, at(12), false},
		{"noon, behind", daily, 100_000, at(12), true},
		{"before the day: curve at 0", daily, 19_999, start.Add(-time.Hour), true},
		{"after the day: curve at 1", daily, 999_999, end.Add(time.Hour), true},
		{"spent out", daily, daily, at(23.99), false},
		{"overspent", daily, daily + 1, end, false},
		{"last minute, budget left", daily, 990_000, at(23.99), true},
		{"degenerate day: only the budget counts", daily, 999_999, start, true},
	}
	for _, tc := range tests {
		e := end
		if tc.name == "degenerate day: only the budget counts" {
			e = start
		}
		if got := PaceEven(tc.daily, tc.spent, start, e, tc.now); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestPaceEvenProperties: never throttles a campaign that is behind the
// curve with budget left; always throttles one ahead by more than the
// allowance; allowing is monotone in time and in spend.
func TestPaceEvenProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	start := time.Date(2026, 3, 8, 5, 0, 0, 0, time.UTC)
	end := start.Add(23 * time.Hour)
	span := end.Sub(start)
	for range 100000 {
		daily := 1 + rng.Int64N(1e12)
		now := start.Add(time.Duration(rng.Int64N(int64(span))))
		f := float64(now.Sub(start)) / float64(span)
		curve := float64(daily) * f
		spent := rng.Int64N(daily + daily/10)
		got := PaceEven(daily, spent, start, end, now)
		if float64(spent) < curve && spent < daily && !got {
			t.Fatalf("behind the curve and throttled: daily %d spent %d f %.4f", daily, spent, f)
		}
		if float64(spent) > curve+PaceAllowance*float64(daily)+1 && got {
			t.Fatalf("ahead beyond the allowance and allowed: daily %d spent %d f %.4f", daily, spent, f)
		}
		if got {
			later := now.Add(time.Duration(rng.Int64N(int64(span))))
			if !PaceEven(daily, spent, start, end, later) {
				t.Fatalf("allowed at %v, throttled later at %v", now, later)
			}
			if less := rng.Int64N(spent + 1); !PaceEven(daily, less, start, end, now) {
				t.Fatalf("allowed at spend %d, throttled at %d", spent, less)
			}
		}
	}
}

// pacingSim is one simulated day of auction opportunities for one
// EVEN-paced campaign.
type pacingSim struct {
	zone string
	date [3]int // local date simulated
	// rate is the demand: the expected value of the opportunities arriving
	// per minute, as a multiple of the budget's linear rate (daily / minutes
	// in the day), at the given local wall-clock hour.
	rate func(hour float64) float64
}

// TestPacingSimulatedDay is the pacing test on a simulated clock: a day (in
// a non-UTC zone, including both New York DST days) of auction
// opportunities arriving at a diurnal rate, each won opportunity billed its
// clearing price (billing clamps to what is left of the day, Remaining),
// with PaceEven deciding whether the campaign enters. The band, checked
// after every charge and at every simulated minute:
//
//   - ahead: spent ≤ daily × f + daily × PaceAllowance + one price (the
//     check precedes the charge), f the elapsed fraction of the local day;
//   - behind: once demand suffices (the campaign has been throttled, so it
//     had caught up, and the demand rate has stayed at or above the budget's
//     linear rate since), spent ≥ daily × f − 3% of daily;
//   - end of day: spent ≤ daily, and ≥ 95% of daily when the day's demand
//     exceeds the budget; when demand never exceeds the budget rate, nothing
//     is throttled and all of it is served.
func TestPacingSimulatedDay(t *testing.T) {
	const (
		daily     = int64(50_000_000) // 50 units a day
		meanPrice = 25_000            // ~2000 charges a day: 1/2000 of the budget each
		maxPrice  = meanPrice * 3 / 2
	)
	// diurnal: a trough of 0.5× the budget rate at 04:00 local and a peak of
	// 3× at 16:00; below 1× from about 00:30 to 07:30, ~1.75× over the day.
	diurnal := func(h float64) float64 { return 0.5 + 2.5*(0.5-0.5*math.Cos(2*math.Pi*(h-4)/24)) }
	ample := func(h float64) float64 { return 2 + math.Sin(2*math.Pi*h/24) } // 1×–3×
	scarce := func(float64) float64 { return 0.5 }
	sims := []struct {
		name        string
		sim         pacingSim
		exceedsDay  bool // the day's demand exceeds the budget
		neverExceed bool // the demand rate never exceeds the budget rate
	}{
		{"Shanghai, diurnal", pacingSim{"Asia/Shanghai", [3]int{2026, 11, 21}, diurnal}, true, false},
		{"New York spring forward (23 h), diurnal", pacingSim{"America/New_York", [3]int{2026, 3, 8}, diurnal}, true, false},
		{"New York fall back (25 h), diurnal", pacingSim{"America/New_York", [3]int{2026, 11, 1}, diurnal}, true, false},
		{"Kolkata, ample demand", pacingSim{"Asia/Kolkata", [3]int{2026, 6, 1}, ample}, true, false},
		{"Sydney, scarce demand", pacingSim{"Australia/Sydney", [3]int{2026, 4, 5}, scarce}, false, true},
	}
	for i, s := range sims {
		t.Run(s.name, func(t *testing.T) {
			loc := mustZone(t, s.sim.zone)
			rng := rand.New(rand.NewPCG(uint64(i), 99))
			dayStart, dayEnd := DayBounds(time.Date(s.sim.date[0], time.Month(s.sim.date[1]), s.sim.date[2], 12, 0, 0, 0, loc), loc)
			span := dayEnd.Sub(dayStart)
			minutes := int(span / time.Minute)
			budgetRate := float64(daily) / float64(minutes) // micros per minute on the curve
			allowance := PaceAllowance * float64(daily)
			curve := func(at time.Time) float64 { return float64(daily) * float64(at.Sub(dayStart)) / float64(span) }

			var spent, offered int64
			var throttles, caughtUpMinutes int
			caughtUp := false
			worstAhead, worstBehind := math.Inf(-1), 0.0
			for m := range minutes {
				minStart := dayStart.Add(time.Duration(m) * time.Minute)
				local := minStart.In(loc)
				rate := s.sim.rate(float64(local.Hour()) + float64(local.Minute())/60)
				if rate < 1 {
					caughtUp = false // demand no longer suffices
				}
				n := poisson(rng, rate*budgetRate/meanPrice)
				for j := range n {
					at := minStart.Add(time.Duration(j) * time.Minute / time.Duration(n))
					price := int64(meanPrice/2 + rng.IntN(meanPrice+1)) // uniform in [0.5, 1.5] × mean
					offered += price
					if !PaceEven(daily, spent, dayStart, dayEnd, at) {
						throttles++
						if rate >= 1 {
							caughtUp = true
						}
						continue
					}
					spent += min(price, Remaining(0, daily, 0, spent))
					ahead := float64(spent) - curve(at)
					worstAhead = max(worstAhead, ahead)
					if ahead > allowance+maxPrice {
						t.Fatalf("%v (minute %d): spent %d is ahead of the curve %.0f by %.0f > allowance %.0f + price %d",
							at.In(loc), m, spent, curve(at), ahead, allowance, maxPrice)
					}
				}
				end := minStart.Add(time.Minute)
				behind := curve(end) - float64(spent)
				if caughtUp {
					worstBehind = max(worstBehind, behind)
					caughtUpMinutes++
					if behind > 0.03*float64(daily) {
						t.Fatalf("%v (minute %d): demand suffices but spent %d is behind the curve %.0f by %.1f%% of daily",
							end.In(loc), m, spent, curve(end), 100*behind/float64(daily))
					}
				}
			}
			t.Logf("%d-minute day, offered %.2f× the budget, spent %.2f%%, %d throttled, worst ahead %.2f%%, worst behind once caught up %.2f%% (%d minutes checked)",
				minutes, float64(offered)/float64(daily), 100*float64(spent)/float64(daily), throttles,
				100*worstAhead/float64(daily), 100*worstBehind/float64(daily), caughtUpMinutes)
			if spent > daily {
				t.Fatalf("spent %d > daily %d", spent, daily)
			}
			if s.exceedsDay {
				if offered <= daily {
					t.Fatalf("the simulation offered only %d: it does not exceed the budget", offered)
				}
				if float64(spent) < 0.95*float64(daily) {
					t.Fatalf("demand exceeded the budget, but only %.1f%% was spent", 100*float64(spent)/float64(daily))
				}
				if caughtUpMinutes < minutes/4 {
					t.Fatalf("demand sufficed for only %d minutes: the behind band was hardly checked", caughtUpMinutes)
				}
			}
			if s.neverExceed && (throttles != 0 || spent != offered) {
				t.Fatalf("scarce demand: %d throttled, spent %d of %d offered", throttles, spent, offered)
			}
		})
	}
}

// poisson draws from a Poisson distribution of mean lambda (small lambda:
// Knuth's product of uniforms).
func poisson(rng *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}
