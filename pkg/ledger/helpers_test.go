package ledger

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aroundme/aroundme/pkg/eventtoken"
	"github.com/aroundme/aroundme/pkg/store"
)

// clock is a fake clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// termsTable is the server's side of Options.Terms.
type termsTable struct {
	mu sync.Mutex
	m  map[string]Terms
}

func newTerms(m map[string]Terms) *termsTable { return &termsTable{m: m} }

func (tt *termsTable) Get(id string) (Terms, bool) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	t, ok := tt.m[id]
	return t, ok
}

func (tt *termsTable) Put(id string, t Terms) {
	tt.mu.Lock()
	tt.m[id] = t
	tt.mu.Unlock()
}

// openStore opens a real buntdb store in dir.
func openStore(t testing.TB, dir string) *store.DB {
	t.Helper()
	db, err := store.Open(dir, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("store.Open: %v", err)
	}
	return db
}

// env is a ledger over a real store, with a fake clock and a terms table.
type env struct {
	t     testing.TB
	dir   string
	db    *store.DB
	st    store.Store // what the ledger writes to (db, or a wrapper of it)
	clock *clock
	terms *termsTable
	opts  Options
	l     *Ledger
}

func newEnv(t testing.TB, start time.Time, terms map[string]Terms, tweak func(*Options)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: newClock(start), terms: newTerms(terms)}
	e.opts = Options{Now: e.clock.Now, Terms: e.terms.Get, KAnonymity: 3, DedupeWindow: time.Hour + 5*time.Minute}
	if tweak != nil {
		tweak(&e.opts)
	}
	e.db = openStore(t, e.dir)
	e.st = e.db
	e.open()
	t.Cleanup(func() { _ = e.db.Close() })
	return e
}

func (e *env) open() {
	e.t.Helper()
	o := e.opts
	o.Store = e.st
	l, err := Open(context.Background(), o)
	if err != nil {
		e.t.Fatalf("ledger.Open: %v", err)
	}
	e.l = l
}

// restart closes the ledger (a clean shutdown) and the store, and opens both
// again.
func (e *env) restart() {
	e.t.Helper()
	if err := e.l.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.crash()
}

// crash abandons the ledger without flushing, as kill -9 would, closes the
// store and opens both again (at the clock's time: set it first to compare
// with an earlier state).
func (e *env) crash() {
	e.t.Helper()
	e.l.closed.Store(true) // the abandoned ledger must not be used again
	if err := e.db.Close(); err != nil {
		e.t.Fatalf("store Close: %v", err)
	}
	e.db = openStore(e.t, e.dir)
	e.st = e.db
	e.open()
}

// reopenOn reopens the ledger (abandoning the current one) on st, a wrapper
// of the store; crash and restart go back to the store itself.
func (e *env) reopenOn(st store.Store) {
	e.t.Helper()
	e.l.closed.Store(true)
	e.st = st
	e.open()
}

func (e *env) flush() {
	e.t.Helper()
	if err := e.l.Flush(context.Background()); err != nil {
		e.t.Fatalf("Flush: %v", err)
	}
}

// record records evs in one call and returns the results.
func (e *env) record(evs ...Event) []Result {
	out := make([]Result, len(evs))
	e.l.Record(evs, out)
	return out
}

// one records a single event and fails the test unless it is accepted with
// the given charge (charge < 0: any).
func (e *env) one(ev Event, charge int64) {
	e.t.Helper()
	r := e.record(ev)[0]
	if !r.Accepted || (charge >= 0 && r.ChargedMicros != charge) {
		e.t.Fatalf("event %q: got %+v, want accepted with charge %d", ev.ID, r, charge)
	}
}

// keys lists the store keys under prefix.
func (e *env) keys(prefix string) []string {
	e.t.Helper()
	var ks []string
	err := e.db.View(context.Background(), func(tx store.Tx) error {
		return tx.Scan(prefix, "", func(k string, _ []byte) bool {
			ks = append(ks, k)
			return true
		})
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return ks
}

// tok builds the claims of a token; n makes the nonce.
type tok struct {
	campaign string
	n        uint64
	index    uint8
	user     uint64
	cell     uint64
	price    int64
	model    uint8
}

func (k tok) claims(issued time.Time) eventtoken.Claims {
	c := eventtoken.Claims{
		Index: k.index, IssuedAt: issued.Truncate(time.Second), ExpiresAt: issued.Truncate(time.Second).Add(time.Hour),
		MiniProgramID: "mp", PlaceID: "p", CampaignID: k.campaign,
		UserHash: k.user, Cell: k.cell, PriceMicros: k.price, PricingModel: k.model,
	}
	binary.BigEndian.PutUint64(c.Nonce[:], k.n)
	return c
}

func (e *env) ev(id string, typ EventType, k tok) Event {
	return Event{ID: id, Type: typ, Claims: k.claims(e.clock.Now())}
}

// state is everything observable of a ledger for a set of campaigns and
// users, to compare before and after a restart.
type state struct {
	Spend       map[string][2]int64
	Clicks      map[string][2]int64
	Impressions map[string]int32
	Stats       map[string]Report
	Dedupe      int64
	FreqUsers   int64
}

func (e *env) state(cids []string, users []uint64) state {
	e.t.Helper()
	// Forget what expired, as a flush would, so that memory holds what a
	// fresh Open would load.
	now := e.clock.Now().UnixNano()
	e.l.dedupe.prune(now)
	e.l.campaigns.Range(func(_, v any) bool {
		for i := range freqShards {
			e.l.freqUsers.Add(-v.(*campaign).sweepFreq(i, now))
		}
		return true
	})
	s := state{Spend: map[string][2]int64{}, Clicks: map[string][2]int64{}, Impressions: map[string]int32{}, Stats: map[string]Report{}}
	for _, c := range cids {
		tot, today := e.l.Spend(c)
		s.Spend[c] = [2]int64{tot, today}
		cl, im := e.l.Clicks(c)
		s.Clicks[c] = [2]int64{cl, im}
		for _, u := range users {
			s.Impressions[fmt.Sprintf("%s/%d", c, u)] = e.l.Impressions(c, u, 24*time.Hour)
		}
		r, err := e.l.StatsContext(context.Background(), c, time.Time{}, time.Time{})
		if err != nil {
			e.t.Fatalf("Stats(%s): %v", c, err)
		}
		s.Stats[c] = r
	}
	m := e.l.Metrics()
	s.Dedupe, s.FreqUsers = m.DedupeEntries, m.FrequencyUsers
	return s
}

func sameState(t testing.TB, what string, got, want state) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: state differs\n got %+v\nwant %+v", what, got, want)
	}
}

// checkReport checks that a report adds up: Totals is the sum of Days.
func checkReport(t testing.TB, r Report) {
	t.Helper()
	var sum Counts
	for _, d := range r.Days {
		sum.add(d.Counts)
	}
	if sum != r.Totals {
		t.Fatalf("Totals %+v != sum of days %+v", r.Totals, sum)
	}
}

// tornStore passes Updates through, except that while drop is set, the
// writes whose key it matches are silently left out: the subset of a
// transaction that a crash in the middle of its commit may leave.
type tornStore struct {
	store.Store
	drop func(key string, del bool) bool
}

func (s *tornStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	if s.drop == nil {
		return s.Store.Update(ctx, fn)
	}
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(tornTx{tx, s.drop}) })
}

type tornTx struct {
	store.Tx
	drop func(string, bool) bool
}

func (t tornTx) Set(k string, v []byte) error {
	if t.drop(k, false) {
		return nil
	}
	return t.Tx.Set(k, v)
}

func (t tornTx) Delete(k string) error {
	if t.drop(k, true) {
		return nil
	}
	return t.Tx.Delete(k)
}

// failingStore fails every Update while fail is set, as a full disk would.
type failingStore struct {
	store.Store
	mu   sync.Mutex
	fail bool
}

func (s *failingStore) set(fail bool) {
	s.mu.Lock()
	s.fail = fail
	s.mu.Unlock()
}

func (s *failingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.mu.Lock()
	fail := s.fail
	s.mu.Unlock()
	if fail {
		return fmt.Errorf("%w: disk full (test)", store.ErrUnavailable)
	}
	return s.Store.Update(ctx, fn)
}

func isPrefix(prefix string) func(string, bool) bool {
	return func(k string, _ bool) bool { return strings.HasPrefix(k, prefix) }
}
