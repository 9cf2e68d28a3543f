package ledger

import (
	"context"
	"testing"
	"time"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestRecordDedupe(t *testing.T) {
	cpc := tok{campaign: "c1", n: 1, user: 7, cell: 0x87283082bffffff, price: 500, model: PricingCPC}
	org := tok{n: 2, index: 3, user: 7}
	type step struct {
		ev     func(e *env) Event
		accept bool
		reason string
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"a repeated event_id is rejected, even on another token", []step{
			{func(e *env) Event { return e.ev("a", Impression, cpc) }, true, ""},
			{func(e *env) Event { return e.ev("a", Click, tok{campaign: "c1", n: 99}) }, false, ReasonDuplicateEventID},
		}},
		{"a token used twice for the same type is a replay", []step{
			{func(e *env) Event { return e.ev("a", Click, cpc) }, true, ""},
			{func(e *env) Event { return e.ev("b", Click, cpc) }, false, ReasonTokenReused},
		}},
		{"an impression and a click on one token are both fine, once each", []step{
			{func(e *env) Event { return e.ev("a", Impression, cpc) }, true, ""},
			{func(e *env) Event { return e.ev("b", Click, cpc) }, true, ""},
			{func(e *env) Event { return e.ev("c", Impression, cpc) }, false, ReasonTokenReused},
			{func(e *env) Event { return e.ev("d", Click, cpc) }, false, ReasonTokenReused},
		}},
		{"another index of the same response is another token", []step{
			{func(e *env) Event { return e.ev("a", Click, cpc) }, true, ""},
			{func(e *env) Event { k := cpc; k.index = 1; return e.ev("b", Click, k) }, true, ""},
		}},
		{"organic tokens are accepted and de-duplicated", []step{
			{func(e *env) Event { return e.ev("a", Impression, org) }, true, ""},
			{func(e *env) Event { return e.ev("b", Impression, org) }, false, ReasonTokenReused},
			{func(e *env) Event { return e.ev("a", Click, org) }, false, ReasonDuplicateEventID},
			{func(e *env) Event { return e.ev("c", Click, org) }, true, ""},
		}},
		{"an unknown campaign is rejected and nothing is remembered", []step{
			{func(e *env) Event { return e.ev("a", Click, tok{campaign: "nope", n: 5}) }, false, ReasonUnknownCampaign},
			{func(e *env) Event { return e.ev("a", Click, cpc) }, true, ""},
		}},
		{"a rejected replay does not use up its event_id", []step{
			{func(e *env) Event { return e.ev("a", Click, cpc) }, true, ""},
			{func(e *env) Event { return e.ev("b", Click, cpc) }, false, ReasonTokenReused},
			{func(e *env) Event { k := cpc; k.index = 2; return e.ev("b", Click, k) }, true, ""},
		}},
		{"an unknown event type is rejected", []step{
			{func(e *env) Event { return e.ev("a", 3, cpc) }, false, ReasonEventType},
			{func(e *env) Event { return e.ev("a", Click, cpc) }, true, ""},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, t0, map[string]Terms{"c1": {}}, nil)
			for i, s := range tc.steps {
				r := e.record(s.ev(e))[0]
				if r.Accepted != s.accept || r.Reason != s.reason {
					t.Fatalf("step %d: got %+v, want accepted=%v reason %q", i, r, s.accept, s.reason)
				}
			}
		})
	}
}

func TestDedupeWindow(t *testing.T) {
	e := newEnv(t, t0, map[string]Terms{"c1": {}}, func(o *Options) { o.DedupeWindow = 10 * time.Minute })
	first := e.ev("a", Impression, tok{campaign: "c1", n: 1}) // the token expires at t0+1h
	e.one(first, 0)
	e.clock.Advance(10*time.Minute + time.Second)
	e.flush() // prunes
	// The event id is forgotten after the window...
	e.one(e.ev("a", Impression, tok{campaign: "c1", n: 2}), 0)
	// ...but the token use is kept until the token expires, whatever the window.
	replay := first
	replay.ID = "b"
	if r := e.record(replay)[0]; r.Reason != ReasonTokenReused {
		t.Fatalf("replay inside the token's life: %+v", r)
	}
	e.clock.Advance(time.Hour)
	e.flush()
	if m := e.l.Metrics(); m.DedupeEntries != 0 {
		t.Fatalf("DedupeEntries after everything expired = %d", m.DedupeEntries)
	}
	if ks := e.keys(prefixDedupe); len(ks) != 0 {
		t.Fatalf("expired dedupe batches left in the store: %v", ks)
	}
}

func TestConcurrentDuplicatesOnlyOnceAccepted(t *testing.T) {
	e := newEnv(t, t0, map[string]Terms{"c1": {}}, nil)
	const n = 200
	done := make(chan int, 8)
	for g := range 8 {
		go func() {
			acc := 0
			for i := range n {
				// Goroutines pairwise share event ids (g/2), and all share tokens (i).
				id := string(rune('a'+g/2)) + "-" + string(rune(i))
				if e.record(e.ev(id, Click, tok{campaign: "c1", n: uint64(i), model: PricingCPC, price: 1}))[0].Accepted {
					acc++
				}
			}
			done <- acc
		}()
	}
	total := 0
	for range 8 {
		total += <-done
	}
	if total != n {
		t.Fatalf("accepted %d events of %d distinct tokens", total, n)
	}
	if tot, _ := e.l.Spend("c1"); tot != n {
		t.Fatalf("spend %d, want %d", tot, n)
	}
}

func TestCharging(t *testing.T) {
	e := newEnv(t, t0, map[string]Terms{
		"cpm":   {},
		"cpc":   {TotalMicros: 1000},
		"daily": {DailyMicros: 700, TotalMicros: 100000},
	}, nil)
	cpm := func(n uint64, price int64) tok { return tok{campaign: "cpm", n: n, price: price, model: PricingCPM} }
	// CPM 1500: thousandths carry over, 1 + 2 + 1 = floor(4500/1000).
	e.one(e.ev("m1", Impression, cpm(1, 1500)), 1)
	e.one(e.ev("m2", Impression, cpm(2, 1500)), 2)
	e.one(e.ev("m3", Impression, cpm(3, 1500)), 1)
	// Prices below 1000 charge when the carried thousandths reach a micro:
	// 500 carried, +400 = 900, +400 = 1300, +400 = 700.
	e.one(e.ev("m4", Impression, cpm(4, 400)), 0)
	e.one(e.ev("m5", Impression, cpm(5, 400)), 1)
	e.one(e.ev("m6", Impression, cpm(6, 400)), 0)
	// A click on a CPM token is counted, not charged.
	e.one(e.ev("m7", Click, cpm(1, 1500)), 0)
	if tot, today := e.l.Spend("cpm"); tot != 5 || today != 5 {
		t.Fatalf("cpm spend %d/%d, want 5/5", tot, today)
	}
	if c, i := e.l.Clicks("cpm"); c != 1 || i != 6 {
		t.Fatalf("cpm clicks/impressions %d/%d", c, i)
	}

	cpc := func(n uint64) tok { return tok{campaign: "cpc", n: 100 + n, price: 400, model: PricingCPC} }
	e.one(e.ev("c0", Impression, cpc(1)), 0) // an impression on a CPC token is free
	e.one(e.ev("c1", Click, cpc(1)), 400)
	e.one(e.ev("c2", Click, cpc(2)), 400)
	e.one(e.ev("c3", Click, cpc(3)), 200) // capped at what is left of the total
	e.one(e.ev("c4", Click, cpc(4)), 0)   // nothing left: accepted, counted, free
	if tot, _ := e.l.Spend("cpc"); tot != 1000 {
		t.Fatalf("cpc spend %d, want the budget 1000", tot)
	}
	// Lowering the budget below the spend leaves nothing.
	e.terms.Put("cpc", Terms{TotalMicros: 10})
	e.one(e.ev("c5", Click, cpc(5)), 0)

	d := func(n uint64) tok { return tok{campaign: "daily", n: 200 + n, price: 300, model: PricingCPC} }
	e.one(e.ev("d1", Click, d(1)), 300)
	e.one(e.ev("d2", Click, d(2)), 300)
	e.one(e.ev("d3", Click, d(3)), 100)
	e.one(e.ev("d4", Click, d(4)), 0)
	e.clock.Advance(12 * time.Hour) // past midnight UTC
	if tot, today := e.l.Spend("daily"); tot != 700 || today != 0 {
		t.Fatalf("daily spend after midnight %d/%d, want 700/0", tot, today)
	}
	e.one(e.ev("d5", Click, d(5)), 300)

	r := e.l.Stats("cpc", time.Time{}, time.Time{})
	checkReport(t, r)
	if want := (Counts{Impressions: 1, Clicks: 5, SpendMicros: 1000}); r.Totals != want {
		t.Fatalf("cpc totals %+v, want %+v", r.Totals, want)
	}
}

func TestCPMRoundingTotals(t *testing.T) {
	// N impressions at CPM p charge floor(N·p/1000) in total, across calls,
	// batches and days, and the per-event charges add up to it.
	for _, p := range []int64{1, 999, 1000, 1001, 1234567, 2500} {
		e := newEnv(t, t0, map[string]Terms{"c": {}}, nil)
		var sum int64
		const n = 777
		for i := range n {
			if i == 400 {
				e.clock.Advance(24 * time.Hour)
			}
			r := e.record(e.ev(string(rune(i+1)), Impression, tok{campaign: "c", n: uint64(i), price: p, model: PricingCPM}))[0]
			sum += r.ChargedMicros
		}
		tot, _ := e.l.Spend("c")
		if want := n * p / 1000; tot != want || sum != want {
			t.Fatalf("p=%d: spend %d, sum of charges %d, want %d", p, tot, sum, want)
		}
		rep := e.l.Stats("c", time.Time{}, time.Time{})
		checkReport(t, rep)
		if rep.Totals.SpendMicros != tot || len(rep.Days) != 2 {
			t.Fatalf("p=%d: report %+v", p, rep)
		}
	}
}

func TestDailyBudgetResetsAtLocalMidnightAcrossDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	cases := []struct {
		name  string
		day   time.Time // local midnight starting a DST-change day
		hours int       // its length
	}{
		{"spring forward, 23h", time.Date(2025, 3, 9, 0, 0, 0, 0, ny), 23},
		{"fall back, 25h", time.Date(2025, 11, 2, 0, 0, 0, 0, ny), 25},
		{"ordinary day", time.Date(2025, 6, 2, 0, 0, 0, 0, ny), 24},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.day, map[string]Terms{"c": {DailyMicros: 1000, Loc: ny}}, nil)
			n := uint64(0)
			click := func(charge int64) {
				n++
				e.one(e.ev("e"+string(rune(n)), Click, tok{campaign: "c", n: n, price: 600, model: PricingCPC}), charge)
			}
			click(600)
			click(400)
			// One second before the local midnight that ends the day
			// (tc.hours after it began): still the same day, nothing left.
			end := tc.day.Add(time.Duration(tc.hours) * time.Hour)
			if !end.Equal(time.Date(tc.day.Year(), tc.day.Month(), tc.day.Day()+1, 0, 0, 0, 0, ny)) {
				t.Fatalf("test setup: the day is not %dh long", tc.hours)
			}
			e.clock.Set(end.Add(-time.Second))
			click(0)
			if _, today := e.l.Spend("c"); today != 1000 {
				t.Fatalf("today before midnight = %d", today)
			}
			e.clock.Set(end)
			if _, today := e.l.Spend("c"); today != 0 {
				t.Fatalf("today at midnight = %d, want 0", today)
			}
			click(600)
			click(400)
			click(0)
			r := e.l.Stats("c", time.Time{}, time.Time{})
			checkReport(t, r)
			next := end.Format(time.DateOnly)
			if len(r.Days) != 2 || r.Days[0].Date != tc.day.Format(time.DateOnly) || r.Days[1].Date != next ||
				r.Days[0].SpendMicros != 1000 || r.Days[1].SpendMicros != 1000 || r.Days[0].Clicks != 3 {
				t.Fatalf("days %+v", r.Days)
			}
			// [from, to) selects the days by their local dates.
			one := e.l.Stats("c", end, end.Add(time.Minute))
			if len(one.Days) != 1 || one.Days[0].Date != next || one.Totals.SpendMicros != 1000 {
				t.Fatalf("stats of the second day only: %+v", one)
			}
			one = e.l.Stats("c", time.Time{}, end)
			if len(one.Days) != 1 || one.Days[0].Date != tc.day.Format(time.DateOnly) {
				t.Fatalf("stats up to midnight: %+v", one)
			}
		})
	}
}

func TestDaysNeverGoBackwards(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	// 2025-06-01 20:00 UTC is 06-02 05:00 in Tokyo.
	start := time.Date(2025, 6, 1, 20, 0, 0, 0, time.UTC)
	e := newEnv(t, start, map[string]Terms{"c": {DailyMicros: 1000, Loc: tokyo}}, nil)
	click := func(id string, n uint64, charge int64) {
		e.one(e.ev(id, Click, tok{campaign: "c", n: n, price: 600, model: PricingCPC}), charge)
	}
	click("a", 1, 600)
	// The clock steps back an hour: still the same (latest) day.
	e.clock.Advance(-time.Hour)
	click("b", 2, 400)
	// The zone moves to UTC, where it is still 06-01: the day in progress
	// (06-02) goes on until its midnight in the new zone (06-03 00:00 UTC).
	e.terms.Put("c", Terms{DailyMicros: 1000})
	click("c", 3, 0)
	e.clock.Set(time.Date(2025, 6, 2, 23, 59, 0, 0, time.UTC))
	click("d", 4, 0)
	e.clock.Set(time.Date(2025, 6, 3, 0, 0, 0, 0, time.UTC))
	click("e", 5, 600)
	r := e.l.Stats("c", time.Time{}, time.Time{})
	checkReport(t, r)
	if len(r.Days) != 2 || r.Days[0].Date != "2025-06-02" || r.Days[0].Clicks != 4 || r.Days[1].Date != "2025-06-03" {
		t.Fatalf("days %+v", r.Days)
	}
}

func TestFrequencyWindow(t *testing.T) {
	e := newEnv(t, t0, map[string]Terms{"c": {FreqWindow: time.Hour}, "nocap": {}}, nil)
	n := uint64(0)
	imp := func(cid string, user uint64) {
		n++
		e.one(e.ev("i"+string(rune(n)), Impression, tok{campaign: cid, n: n, user: user}), 0)
	}
	// User 7 at t0, t0+10m and t0+50m; user 8 at t0+10m. Anonymous users,
	// campaigns without a window and clicks keep nothing.
	imp("c", 7)
	e.clock.Advance(10 * time.Minute)
	imp("c", 7)
	imp("c", 8)
	imp("c", 0)
	imp("nocap", 7)
	e.one(e.ev("click", Click, tok{campaign: "c", n: 1000, user: 7}), 0)
	e.clock.Advance(40 * time.Minute)
	imp("c", 7)
	for _, tc := range []struct {
		at     time.Duration // after t0
		window time.Duration
		user   uint64
		want   int32
	}{
		{50 * time.Minute, time.Hour, 7, 3},
		{50 * time.Minute, 30 * time.Minute, 7, 1},
		{50 * time.Minute, time.Hour, 8, 1},
		{65 * time.Minute, time.Hour, 7, 2}, // the t0 one fell out
		{65 * time.Minute, 24 * time.Hour, 7, 2},
		{111 * time.Minute, time.Hour, 7, 0},
		{50 * time.Minute, time.Hour, 0, 0},
	} {
		e.clock.Set(t0.Add(tc.at))
		if got := e.l.Impressions("c", tc.user, tc.window); got != tc.want {
			t.Errorf("at +%v, window %v, user %d: %d impressions, want %d", tc.at, tc.window, tc.user, got, tc.want)
		}
	}
	if got := e.l.Impressions("nocap", 7, time.Hour); got != 0 {
		t.Errorf("nocap kept %d times", got)
	}
	if got := e.l.Impressions("unknown", 7, time.Hour); got != 0 {
		t.Errorf("unknown campaign: %d", got)
	}
	// Sweeps drop users whose times are all out of the window.
	e.clock.Set(t0.Add(2 * time.Hour))
	for range freqShards {
		e.flush()
	}
	if m := e.l.Metrics(); m.FrequencyUsers != 0 {
		t.Fatalf("FrequencyUsers after the window = %d", m.FrequencyUsers)
	}
}

func TestFrequencyTimesAreCapped(t *testing.T) {
	e := newEnv(t, t0, map[string]Terms{"c": {FreqWindow: 24 * time.Hour}}, nil)
	for i := range MaxFrequencyTimes + 50 {
		e.clock.Advance(time.Second)
		e.one(e.ev("i"+string(rune(i+1)), Impression, tok{campaign: "c", n: uint64(i), user: 9}), 0)
	}
	if got := e.l.Impressions("c", 9, 24*time.Hour); got != MaxFrequencyTimes {
		t.Fatalf("kept %d times, want the cap %d", got, MaxFrequencyTimes)
	}
	if got := e.l.Impressions("c", 9, 10*time.Second); got != 10 {
		t.Fatalf("the newest are kept: %d in the last 10s, want 10", got)
	}
}

func TestKAnonymityAcrossDays(t *testing.T) {
	const a, b, c, d = 0x871, 0x872, 0x873, 0x874
	e := newEnv(t, t0, map[string]Terms{"x": {}}, func(o *Options) { o.KAnonymity = 3 })
	n := uint64(0)
	imp := func(cell, user uint64) {
		n++
		e.one(e.ev("i"+string(rune(n)), Impression, tok{campaign: "x", n: n, user: user, cell: cell}), 0)
	}
	// Day 1: cell a has users 1, 2; b has 1 and anonymous ones; c has 5
	// users; d has users 1, 2.
	for _, u := range []uint64{1, 2, 2} {
		imp(a, u)
	}
	for _, u := range []uint64{1, 0, 0, 0, 1} {
		imp(b, u)
	}
	for u := range uint64(5) {
		imp(c, u+1)
	}
	imp(d, 1)
	imp(d, 2)
	day1 := e.clock.Now()
	e.flush()
	e.clock.Advance(24 * time.Hour)
	// Day 2: cell a gets users 2, 3 (the union over both days reaches 3);
	// d gets 1, 2 again (the union stays at 2).
	imp(a, 2)
	imp(a, 3)
	imp(d, 1)
	imp(d, 2)
	e.flush() // day 1 leaves memory: it is read from the store now
	if len(e.l.campaign("x").days) != 1 {
		t.Fatalf("day 1 still in memory after its flush")
	}
	// The kept user sets stop at k.
	if us := e.l.campaign("x").cur.Load().cells[a].users; len(us) != 2 {
		t.Fatalf("day 2 users of a: %v", us)
	}
	check := func(what string, from, to time.Time, want map[uint64]int64) {
		t.Helper()
		r := e.l.Stats("x", from, to)
		checkReport(t, r)
		got := map[uint64]int64{}
		for _, x := range r.Cells {
			got[x.Cell] = x.Impressions
		}
		if len(got) != len(want) {
			t.Fatalf("%s: cells %v, want %v", what, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%s: cells %v, want %v", what, got, want)
			}
		}
	}
	check("both days", time.Time{}, time.Time{}, map[uint64]int64{a: 5, c: 5})
	check("day 1", time.Time{}, day1.Add(time.Hour), map[uint64]int64{c: 5})
	check("day 2", day1.Add(24*time.Hour), time.Time{}, map[uint64]int64{})
	e.restart()
	check("both days after a restart", time.Time{}, time.Time{}, map[uint64]int64{a: 5, c: 5})
	check("day 1 after a restart", time.Time{}, day1.Add(time.Hour), map[uint64]int64{c: 5})
}

func TestOptions(t *testing.T) {
	if _, err := Open(context.Background(), Options{}); err == nil {
		t.Fatal("Open without a store and terms succeeded")
	}
	e := newEnv(t, t0, nil, nil)
	if _, err := Open(context.Background(), Options{Store: e.db, Terms: e.terms.Get, KAnonymity: maxUsersPerCell + 1}); err == nil {
		t.Fatal("Open with a huge KAnonymity succeeded")
	}
	if e.l.k != 3 || e.l.interval != DefaultFlushInterval {
		t.Fatalf("defaults: k %d, interval %v", e.l.k, e.l.interval)
	}
}

func TestRecordAfterCloseIsRejected(t *testing.T) {
	e := newEnv(t, t0, map[string]Terms{"c": {}}, nil)
	if err := e.l.Close(); err != nil {
		t.Fatal(err)
	}
	if r := e.record(e.ev("a", Click, tok{campaign: "c", n: 1}))[0]; r.Accepted || r.Reason != ReasonClosed {
		t.Fatalf("after Close: %+v", r)
	}
}

func TestRunFlushesAndStops(t *testing.T) {
	e := newEnv(t, t0, map[string]Terms{"c": {}}, func(o *Options) { o.FlushInterval = 5 * time.Millisecond })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.l.Run(ctx); close(done) }()
	e.one(e.ev("a", Click, tok{campaign: "c", n: 1, price: 5, model: PricingCPC}), 5)
	deadline := time.Now().Add(5 * time.Second)
	for e.l.Metrics().PendingEvents != 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not flush")
		}
		time.Sleep(time.Millisecond)
	}
	e.one(e.ev("b", Click, tok{campaign: "c", n: 2, price: 5, model: PricingCPC}), 5)
	cancel()
	<-done // the final flush
	if m := e.l.Metrics(); m.PendingEvents != 0 || m.Flushes < 2 {
		t.Fatalf("after Run returned: %+v", m)
	}
}

func TestIdleDayLeavesMemory(t *testing.T) {
	e := newEnv(t, t0, map[string]Terms{"c": {DailyMicros: 1000}}, nil)
	for i := range uint64(4) {
		e.one(e.ev("a"+string(rune('0'+i)), Click, tok{campaign: "c", n: i, user: i + 1, cell: 0x871, price: 300, model: PricingCPC}), min(300, 1000-int64(i)*300))
	}
	e.flush()
	before := e.state([]string{"c"}, nil)
	c := e.l.campaign("c")
	// 12h to midnight, then idleDay.
	e.clock.Advance(12*time.Hour + idleDay - time.Minute)
	e.flush()
	if len(c.days) != 1 {
		t.Fatal("the last day left memory too early")
	}
	e.clock.Advance(time.Minute)
	e.flush()
	if len(c.days) != 0 || c.cur.Load().cells != nil {
		t.Fatalf("the idle day is still in memory: %d days", len(c.days))
	}
	after := e.state([]string{"c"}, nil)
	before.Spend["c"] = [2]int64{1000, 0} // today has changed
	before.Dedupe = 0                     // and the window has passed
	sameState(t, "after the idle day left memory", after, before)
	// The clock steps back into the dropped day: a new day, not a rewrite.
	e.clock.Set(t0)
	e.one(e.ev("b", Click, tok{campaign: "c", n: 9, user: 1, cell: 0x871, price: 300, model: PricingCPC}), 300)
	r := e.l.Stats("c", time.Time{}, time.Time{})
	checkReport(t, r)
	if len(r.Days) != 2 || r.Days[0].Clicks != 4 || r.Days[1].Clicks != 1 || r.Totals.SpendMicros != 1300 {
		t.Fatalf("days %+v", r.Days)
	}
}
