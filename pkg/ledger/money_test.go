package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestMoneyUnderConcurrency sends every event of a pool twice, in shuffled
// batches from many goroutines that also move the clock across local
// midnights (one of them a DST change), while another goroutine flushes and
// another reads Spend, Impressions and Stats. Budgets are small, so they run
// out. Run it with -race.
func TestMoneyUnderConcurrency(t *testing.T) {
	ny, err1 := time.LoadLocation("America/New_York")
	kolkata, err2 := time.LoadLocation("Asia/Kolkata")
	if err1 != nil || err2 != nil {
		t.Skip("no tzdata")
	}
	terms := map[string]Terms{
		"cpc":       {TotalMicros: 50_000, DailyMicros: 20_000, Loc: ny, FreqWindow: time.Hour},
		"cpm":       {TotalMicros: 7_000, DailyMicros: 3_000, Loc: time.UTC, FreqWindow: 30 * time.Minute},
		"unlimited": {Loc: kolkata},
	}
	cids := []string{"cpc", "cpm", "unlimited"}
	// Saturday 22:00 in New York; the night after is the spring-forward one.
	start := time.Date(2025, 3, 8, 22, 0, 0, 0, ny)
	// The test's clock runs for days while the pool's copies are sent: the
	// window keeps every event remembered meanwhile (in production the
	// caller rejects expired tokens first).
	e := newEnv(t, start, terms, func(o *Options) { o.DedupeWindow = 7 * 24 * time.Hour })

	const unique, workers, batch = 20000, 32, 20
	r := rand.New(rand.NewPCG(9, 10))
	pool := make([]Event, unique)
	for i := range pool {
		cid := cids[r.IntN(3)]
		k := tok{campaign: cid, n: uint64(i / 100), index: uint8(i % 100), user: uint64(r.IntN(40)),
			cell: 0x870 + uint64(r.IntN(4)), price: 100 + r.Int64N(3000), model: PricingCPC}
		if cid == "cpm" {
			k.model, k.price = PricingCPM, 100_000+r.Int64N(2_900_000)
		}
		if r.IntN(20) == 0 {
			k.campaign, k.price, k.model = "", 0, 0
		}
		typ := Click
		if r.IntN(2) == 0 {
			typ = Impression
		}
		pool[i] = Event{ID: fmt.Sprintf("ev-%d", i), Type: typ, Claims: k.claims(start)}
	}
	work := make([]int, 0, 2*unique)
	for i := range pool {
		work = append(work, i, i)
	}
	r.Shuffle(len(work), func(i, j int) { work[i], work[j] = work[j], work[i] })

	var (
		next     atomic.Int64
		mu       sync.Mutex
		accepted = make([]int, unique) // acceptances per pool event
		charged  = map[string]int64{}
		counted  = map[string]int64{}
	)
	stop := make(chan struct{})
	var bg sync.WaitGroup
	// until runs fn in a goroutine, again and again until stop is closed.
	until := func(fn func()) {
		bg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					fn()
				}
			}
		})
	}
	until(func() {
		if err := e.l.Flush(context.Background()); err != nil {
			t.Error(err)
		}
		time.Sleep(time.Millisecond)
	})
	until(func() {
		for _, c := range cids {
			tot, today := e.l.Spend(c)
			if tt := terms[c]; (tt.TotalMicros > 0 && tot > tt.TotalMicros) || (tt.DailyMicros > 0 && today > tt.DailyMicros) || today > tot {
				t.Errorf("%s: spend %d, today %d over the budget %+v", c, tot, today, tt)
			}
			e.l.Impressions(c, 7, time.Hour)
		}
		checkReport(t, e.l.Stats("cpc", time.Time{}, time.Time{}))
	})

	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			evs := make([]Event, 0, batch)
			out := make([]Result, batch)
			for {
				lo := next.Add(batch) - batch
				if lo >= int64(len(work)) {
					return
				}
				// The clock moves 2 minutes a batch: 2000 batches, about
				// 2.8 days.
				e.clock.Advance(2 * time.Minute)
				idx := work[lo:min(lo+batch, int64(len(work)))]
				evs = evs[:0]
				for _, i := range idx {
					evs = append(evs, pool[i])
				}
				e.l.Record(evs, out[:len(evs)])
				mu.Lock()
				for j, i := range idx {
					if res := out[j]; res.Accepted {
						accepted[i]++
						charged[pool[i].Claims.CampaignID] += res.ChargedMicros
						counted[pool[i].Claims.CampaignID]++
					} else if res.Reason != ReasonDuplicateEventID && res.Reason != ReasonTokenReused {
						t.Errorf("event %s rejected: %q", pool[i].ID, res.Reason)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	bg.Wait()
	e.flush()

	for i, n := range accepted {
		if n != 1 {
			t.Fatalf("event %d accepted %d times", i, n)
		}
	}
	check := func(what string) {
		t.Helper()
		for _, c := range cids {
			tot, _ := e.l.Spend(c)
			rep, err := e.l.StatsContext(context.Background(), c, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, rep)
			clicks, imps := e.l.Clicks(c)
			if tot != charged[c] || rep.Totals.SpendMicros != tot {
				t.Fatalf("%s %s: charges %d, Spend %d, Stats %d", what, c, charged[c], tot, rep.Totals.SpendMicros)
			}
			if clicks+imps != counted[c] || rep.Totals.Clicks != clicks || rep.Totals.Impressions != imps {
				t.Fatalf("%s %s: %d accepted, Clicks %d+%d, Stats %+v", what, c, counted[c], clicks, imps, rep.Totals)
			}
			tt := terms[c]
			if tt.TotalMicros > 0 && tot > tt.TotalMicros {
				t.Fatalf("%s %s: spend %d over the total budget %d", what, c, tot, tt.TotalMicros)
			}
			for _, d := range rep.Days {
				if tt.DailyMicros > 0 && d.SpendMicros > tt.DailyMicros {
					t.Fatalf("%s %s: %s spend %d over the daily budget %d", what, c, d.Date, d.SpendMicros, tt.DailyMicros)
				}
			}
			if len(rep.Days) < 2 {
				t.Fatalf("%s %s: the clock should have crossed midnight: %+v", what, c, rep.Days)
			}
			t.Logf("%s %s: spend %d in %d days, %d clicks, %d impressions", what, c, tot, len(rep.Days), clicks, imps)
		}
	}
	check("live")
	if tot, _ := e.l.Spend("cpc"); tot != terms["cpc"].TotalMicros {
		t.Fatalf("the cpc budget should be spent exactly: %d", tot)
	}
	e.restart()
	check("after a restart")
}
