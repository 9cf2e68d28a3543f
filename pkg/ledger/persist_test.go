package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/aroundme/aroundme/pkg/store"
)

var (
	persistCIDs  = []string{"cpm", "cpc", "capped"}
	persistUsers = []uint64{1, 2, 3, 4, 5}
)

func persistTerms(loc *time.Location) map[string]Terms {
	return map[string]Terms{
		"cpm":    {Loc: loc, FreqWindow: 6 * time.Hour},
		"cpc":    {Loc: loc, DailyMicros: 5000, FreqWindow: time.Hour},
		"capped": {Loc: loc, TotalMicros: 3000},
	}
}

// traffic records a pseudo-random mix of n events (prefix makes the ids and
// nonces unique), spread over an hour, and returns them.
func traffic(e *env, r *rand.Rand, prefix string, n int) []Event {
	var evs []Event
	for i := range n {
		cid := persistCIDs[r.IntN(len(persistCIDs))]
		k := tok{campaign: cid, n: uint64(r.Uint32()) << 8, index: uint8(i % 100),
			user: uint64(r.IntN(6)), cell: 0x870 + uint64(r.IntN(3)), price: 1000 + r.Int64N(5000), model: PricingCPC}
		if cid == "cpm" {
			k.model = PricingCPM
		}
		typ := Impression
		if r.IntN(3) == 0 {
			typ = Click
		}
		if r.IntN(10) == 0 {
			k.campaign = "" // organic
		}
		ev := e.ev(fmt.Sprintf("%s-%d", prefix, i), typ, k)
		evs = append(evs, ev)
		e.record(ev)
		e.clock.Advance(time.Duration(r.IntN(60)) * time.Second)
	}
	return evs
}

// remembered returns the events of evs (accepted, with the token issued at
// acceptance) whose dedupe entries have not expired yet.
func remembered(e *env, evs []Event) []Event {
	var out []Event
	for _, ev := range evs {
		if ev.Claims.IssuedAt.Add(e.opts.DedupeWindow).After(e.clock.Now().Add(time.Second)) {
			out = append(out, ev)
		}
	}
	if len(out) == 0 {
		e.t.Fatal("test setup: no event is still remembered")
	}
	return out
}

func TestRestartKeepsEverything(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	e := newEnv(t, time.Date(2025, 6, 1, 14, 0, 0, 0, time.UTC), persistTerms(shanghai), nil)
	r := rand.New(rand.NewPCG(1, 2))
	evs := traffic(e, r, "a", 300) // crosses midnight in Shanghai (16:00 UTC)
	e.flush()
	evs = append(evs, traffic(e, r, "b", 200)...)
	before := e.state(persistCIDs, persistUsers)
	e.restart()
	sameState(t, "after a restart", e.state(persistCIDs, persistUsers), before)
	for _, rep := range before.Stats {
		checkReport(t, rep)
		if len(rep.Days) < 2 {
			t.Fatalf("the traffic should span two days: %+v", rep.Days)
		}
	}
	// Every event still in the dedupe window is still remembered: replays
	// are rejected.
	for _, ev := range remembered(e, evs) {
		if res := e.record(ev)[0]; res.Accepted {
			t.Fatalf("replay of %s accepted after a restart", ev.ID)
		}
	}
	// And the ledger goes on from where it was.
	traffic(e, r, "c", 100)
	again := e.state(persistCIDs, persistUsers)
	e.restart()
	sameState(t, "after a second restart", e.state(persistCIDs, persistUsers), again)
}

func TestCrashLosesOnlyTheUnflushedEvents(t *testing.T) {
	e := newEnv(t, t0, persistTerms(nil), nil)
	r := rand.New(rand.NewPCG(3, 4))
	a := traffic(e, r, "a", 300)
	e.flush()
	flushed := e.state(persistCIDs, persistUsers)
	now := e.clock.Now()
	b := traffic(e, r, "b", 200)
	if m := e.l.Metrics(); m.PendingEvents == 0 {
		t.Fatal("no pending events before the crash")
	}
	e.clock.Set(now) // compare at the instant of the flush
	e.crash()
	sameState(t, "after a crash", e.state(persistCIDs, persistUsers), flushed)
	// The flushed events stay de-duplicated; the lost ones were lost with
	// their dedupe entries, so a client's retry counts them again.
	for _, ev := range remembered(e, a) {
		if res := e.record(ev)[0]; res.Accepted {
			t.Fatalf("replay of flushed %s accepted after a crash", ev.ID)
		}
	}
	for _, ev := range b {
		if res := e.record(ev)[0]; !res.Accepted && res.Reason != ReasonUnknownCampaign {
			t.Fatalf("retry of lost %s rejected: %+v", ev.ID, res)
		}
	}
}

func TestTornFlushIsUndone(t *testing.T) {
	cases := []struct {
		name string
		drop func(key string, del bool) bool
	}{
		{"the commit marker is lost", func(k string, _ bool) bool { return k == keyMeta }},
		{"the dedupe batch is lost", isPrefix(prefixDedupe)},
		{"the frequency batch is lost", isPrefix(prefixFreq)},
		{"a day record is lost", isPrefix(prefixDay + "cpc/")},
		{"cell records are lost", isPrefix(prefixCell)},
		{"everything but the marker is lost", func(k string, _ bool) bool { return k != keyMeta }},
		{"the marker is lost, with the campaign records", func(k string, _ bool) bool {
			return k == keyMeta || strings.HasPrefix(k, prefixCamp)
		}},
		{"only deletions land", func(_ string, del bool) bool { return !del }},
		{"everything is lost", func(string, bool) bool { return true }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, t0, persistTerms(nil), nil)
			torn := &tornStore{Store: e.db}
			e.reopenOn(torn)
			r := rand.New(rand.NewPCG(5, 6))
			traffic(e, r, "a", 200)
			e.flush()
			// The next flush also deletes the first one's dedupe batch,
			// expired by then.
			e.clock.Advance(2 * time.Hour)
			good := e.state(persistCIDs, persistUsers)
			now := e.clock.Now()
			b := traffic(e, r, "b", 200)
			torn.drop = tc.drop
			e.flush() // "returns" only in the test: the crash cut it
			e.clock.Set(now)
			e.crash()
			sameState(t, "after the torn flush", e.state(persistCIDs, persistUsers), good)
			// The repair is durable, and idempotent.
			e.crash()
			sameState(t, "after a second restart", e.state(persistCIDs, persistUsers), good)
			// The lost events count again, once.
			for _, ev := range b {
				if res := e.record(ev)[0]; !res.Accepted {
					t.Fatalf("retry of lost %s rejected: %+v", ev.ID, res)
				}
			}
			after := e.state(persistCIDs, persistUsers)
			e.restart()
			sameState(t, "after the next flush", e.state(persistCIDs, persistUsers), after)
		})
	}
}

func TestFailedFlushKeepsChangesForTheNext(t *testing.T) {
	e := newEnv(t, t0, persistTerms(nil), nil)
	fs := &failingStore{Store: e.db, fail: true}
	e.reopenOn(fs)
	r := rand.New(rand.NewPCG(7, 8))
	traffic(e, r, "b", 100)
	if err := e.l.Flush(context.Background()); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Flush on a failing store: %v", err)
	}
	pending := e.l.Metrics().PendingEvents
	traffic(e, r, "c", 100)
	if err := e.l.Flush(context.Background()); err == nil {
		t.Fatal("second Flush on a failing store succeeded")
	}
	if m := e.l.Metrics(); m.PendingEvents <= pending || m.FlushFailures != 2 {
		t.Fatalf("metrics after two failures: %+v", m)
	}
	fs.set(false)
	e.flush()
	if m := e.l.Metrics(); m.PendingEvents != 0 {
		t.Fatalf("pending after the retry: %d", m.PendingEvents)
	}
	want := e.state(persistCIDs, persistUsers)
	e.crash() // nothing unflushed: nothing lost
	sameState(t, "after the retried flush", e.state(persistCIDs, persistUsers), want)
}

func TestFlushWritesOnlyWhatChanged(t *testing.T) {
	e := newEnv(t, t0, map[string]Terms{"a": {}, "b": {}}, nil)
	e.one(e.ev("1", Click, tok{campaign: "a", n: 1, cell: 0x871, user: 1}), 0)
	e.one(e.ev("2", Click, tok{campaign: "b", n: 2, cell: 0x871, user: 1}), 0)
	e.flush()
	if n := e.l.Metrics().LastFlushRecords; n != 5 { // 2 days, 2 cells, 1 dedupe batch
		t.Fatalf("first flush wrote %d records", n)
	}
	e.one(e.ev("3", Click, tok{campaign: "a", n: 3, user: 1}), 0) // no cell
	e.flush()
	if n := e.l.Metrics().LastFlushRecords; n != 2 { // a's day, 1 dedupe batch
		t.Fatalf("second flush wrote %d records", n)
	}
	flushes := e.l.Metrics().Flushes
	e.flush()
	if m := e.l.Metrics(); m.Flushes != flushes {
		t.Fatal("a flush with nothing to write wrote something")
	}
}

func TestOpenRejectsCorruptRecords(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{prefixDay + "c/2025-06-01", "garbage"},
		{keyMeta, "\x01m\x01\x03\x05\x00\x00\x00"}, // a byte after the payload
		{prefixDay + "c/2025-06-01", string(encodeRecord(1, dayRec{cid: "other", day: 20240}, nil))},
		{prefixDay + "c/2025-06-01", string(encodeRecord(1, dayRec{cid: "c", day: 20241}, nil))}, // another day
	} {
		e := newEnv(t, t0, nil, nil)
		err := e.db.Update(context.Background(), func(tx store.Tx) error { return tx.Set(tc.key, []byte(tc.value)) })
		if err != nil {
			t.Fatal(err)
		}
		o := e.opts
		o.Store = e.db
		if _, err := Open(context.Background(), o); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%q = %q: Open returned %v, want ErrCorrupt", tc.key, tc.value, err)
		}
	}
}

func TestTornFlushAfterFailedFlushes(t *testing.T) {
	// Failed attempts use up generations without writing anything, so the
	// torn flush's generation is more than one past the last commit marker.
	e := newEnv(t, t0, persistTerms(nil), nil)
	fs := &failingStore{Store: e.db}
	torn := &tornStore{Store: fs}
	e.reopenOn(torn)
	r := rand.New(rand.NewPCG(11, 12))
	traffic(e, r, "a", 100)
	e.flush()
	good := e.state(persistCIDs, persistUsers)
	now := e.clock.Now()
	fs.set(true)
	for range 3 {
		traffic(e, r, "b", 30)
		if err := e.l.Flush(context.Background()); err == nil {
			t.Fatal("Flush on a failing store succeeded")
		}
	}
	fs.set(false)
	torn.drop = func(k string, _ bool) bool { return k == keyMeta }
	e.flush()
	e.clock.Set(now)
	e.crash()
	sameState(t, "after failed flushes and a torn one", e.state(persistCIDs, persistUsers), good)
}

func TestOpenBeforeTermsKnowTheCampaign(t *testing.T) {
	// The server opens the ledger before it loads its campaigns: the day in
	// progress learns its zone at the first Spend after Terms knows it.
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	terms := Terms{DailyMicros: 1000, Loc: shanghai}
	e := newEnv(t, time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC), map[string]Terms{"c": terms}, nil) // 18:00 in Shanghai
	e.one(e.ev("a", Click, tok{campaign: "c", n: 1, price: 1000, model: PricingCPC}), 1000)
	e.clock.Set(time.Date(2025, 6, 1, 17, 0, 0, 0, time.UTC)) // 01:00 the next day in Shanghai, not yet in UTC
	delete(e.terms.m, "c")
	e.restart()
	e.terms.Put("c", terms)
	if tot, today := e.l.Spend("c"); tot != 1000 || today != 0 {
		t.Fatalf("Spend after Terms learnt the campaign: %d/%d, want 1000/0", tot, today)
	}
	e.one(e.ev("b", Click, tok{campaign: "c", n: 2, price: 1000, model: PricingCPC}), 1000)
}
