package ledger

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// benchEnv is a ledger with campaigns "c0".."c<n-1>": CPC, a budget that
// never runs out, a frequency window, New York days.
func benchEnv(b *testing.B, campaigns int) *env {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Skip("no tzdata")
	}
	terms := map[string]Terms{}
	for i := range campaigns {
		terms["c"+strconv.Itoa(i)] = Terms{TotalMicros: 1 << 60, DailyMicros: 1 << 59, Loc: ny, FreqWindow: time.Hour}
	}
	return newEnv(b, t0, terms, nil)
}

// benchEvent is the i-th distinct event (its own id and token) on one of
// the campaigns, from one of 10000 users in one of 50 cells.
func benchEvent(i uint64, campaigns int) Event {
	k := tok{campaign: "c" + strconv.Itoa(int(i%uint64(campaigns))), n: i / 100, index: uint8(i % 100),
		user: 1 + i%10000, cell: 0x870 + i%50, price: 1500, model: PricingCPC}
	typ := Impression
	if i%4 == 0 {
		typ = Click
	}
	return Event{ID: strconv.FormatUint(i, 36), Type: typ, Claims: k.claims(t0)}
}

// BenchmarkRecord measures Record of one event per call and of batches of
// 100 (reported per event), on one goroutine; the event's construction
// (an id string) is included.
func BenchmarkRecord(b *testing.B) {
	for _, size := range []int{1, 100} {
		b.Run("batch="+strconv.Itoa(size), func(b *testing.B) {
			e := benchEnv(b, 8)
			evs := make([]Event, size)
			out := make([]Result, size)
			var n uint64
			b.ReportAllocs()
			for b.Loop() {
				for j := range evs {
					evs[j] = benchEvent(n, 8)
					n++
				}
				e.l.Record(evs, out)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
			if !out[0].Accepted {
				b.Fatal(out[0])
			}
		})
	}
}

// BenchmarkRecordParallel measures concurrent Record calls (batches of 10)
// when every goroutine charges one campaign (the per-campaign mutex is
// contended) and when they spread over 64.
func BenchmarkRecordParallel(b *testing.B) {
	for _, campaigns := range []int{1, 64} {
		b.Run("campaigns="+strconv.Itoa(campaigns), func(b *testing.B) {
			e := benchEnv(b, campaigns)
			var next atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				evs := make([]Event, 10)
				out := make([]Result, 10)
				for pb.Next() {
					base := next.Add(10) - 10
					for j := range evs {
						evs[j] = benchEvent(base+uint64(j), campaigns)
					}
					e.l.Record(evs, out)
				}
			})
		})
	}
}

// BenchmarkSpend and BenchmarkImpressions are Nearby's per-candidate reads.
func BenchmarkSpend(b *testing.B) {
	e := benchEnv(b, 8)
	for i := range uint64(10000) {
		e.record(benchEvent(i, 8))
	}
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			e.l.Spend("c3")
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				e.l.Spend("c3")
			}
		})
	})
}

func BenchmarkImpressions(b *testing.B) {
	e := benchEnv(b, 8)
	for i := range uint64(100000) { // 10 impressions or clicks per user
		e.record(benchEvent(i, 8))
	}
	b.Run("serial", func(b *testing.B) {
		u := uint64(0)
		for b.Loop() {
			e.l.Impressions("c3", 1+u%10000, time.Hour)
			u++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			u := uint64(0)
			for pb.Next() {
				e.l.Impressions("c3", 1+u%10000, time.Hour)
				u++
			}
		})
	})
}

// BenchmarkFlush measures a flush of 10000 events over 8 campaigns (about
// 400 changed day and cell records, one dedupe batch of 20000 entries).
func BenchmarkFlush(b *testing.B) {
	e := benchEnv(b, 8)
	var n uint64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for range 10000 {
			e.record(benchEvent(n, 8))
			n++
		}
		b.StartTimer()
		if err := e.l.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
