package reach

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aroundme/aroundme/geo"
	h3 "github.com/uber/h3-go/v4"
)

// fakeClock is a clock tests move by hand; safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// testCells returns n distinct resolution-7 cells around Shanghai.
func testCells(t testing.TB, n int) []uint64 {
	t.Helper()
	origin := h3.Cell(int64(geo.CellOf(31.2304, 121.4737, Res)))
	k := 0
	for 1+3*k*(k+1) < n {
		k++
	}
	out := make([]uint64, 0, n)
	for _, c := range origin.GridDisk(k)[:n] {
		out = append(out, uint64(c))
	}
	return out
}

var day0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func TestObserveRecent(t *testing.T) {
	clk := newClock(day0)
	c := New(clk.now)
	cells := testCells(t, 3)
	a, b := cells[0], cells[1]
	if c.Dirty() || c.Cells() != 0 || c.Recent(a) != 0 {
		t.Fatal("a new counter is not empty and clean")
	}
	for range 5 {
		c.Observe(a)
	}
	c.Observe(b)
	if got := c.Recent(a); got != 5 {
		t.Fatalf("Recent(a) = %d, want 5", got)
	}
	if !c.Dirty() || c.Cells() != 2 {
		t.Fatalf("dirty %v cells %d", c.Dirty(), c.Cells())
	}
	// Not cells of resolution 7: ignored.
	c.Observe(uint64(h3.Cell(int64(a)).Parent(6)))
	c.Observe(uint64(h3.Cell(int64(a)).CenterChild(9)))
	c.Observe(0)
	c.Observe(a &^ (1 << 18)) // a res-9 digit that is not 7: not a valid index
	if c.Cells() != 2 {
		t.Fatalf("invalid cells were counted: %d cells", c.Cells())
	}
}

// TestWindowRollover walks a fake clock across UTC midnights: a day's
// count is in Recent for 7 UTC days (today and the 6 before), then drops
// out, and its ring slot is reused 8 days later.
func TestWindowRollover(t *testing.T) {
	start := time.Date(2026, 11, 21, 23, 59, 59, 0, time.UTC)
	clk := newClock(start)
	c := New(clk.now)
	cell := testCells(t, 1)[0]
	for range 3 {
		c.Observe(cell) // day D (Nov 21)
	}
	clk.advance(time.Second) // 00:00:00 Nov 22: D+1
	c.Observe(cell)
	if got := c.Recent(cell); got != 4 {
		t.Fatalf("after midnight: %d, want 4", got)
	}
	// On D+6 the first day is still in; at D+7 00:00 it drops out.
	clk.ns.Store(time.Date(2026, 11, 27, 23, 59, 59, 0, time.UTC).UnixNano())
	if got := c.Recent(cell); got != 4 {
		t.Fatalf("D+6: %d, want 4", got)
	}
	clk.advance(time.Second)
	if got := c.Recent(cell); got != 1 {
		t.Fatalf("D+7: %d, want 1 (day D out of the window)", got)
	}
	// D+8 reuses day D's slot: the new day starts from zero.
	clk.ns.Store(time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC).UnixNano())
	c.Observe(cell)
	if got := c.Recent(cell); got != 1 {
		t.Fatalf("D+8: %d, want 1 (D+1 out, D+8's one in)", got)
	}
	if s := c.Snapshot(); !slices.Equal(s, []Entry{{cell, DayOf(clk.now()), 1}}) {
		t.Fatalf("snapshot %+v", s)
	}
	// A clock that goes back a day neither overwrites nor counts the later
	// day: the observation lands on its own day's slot (D+7), and the
	// window is D+1…D+7 again.
	clk.advance(-24 * time.Hour)
	c.Observe(cell)
	if got := c.Recent(cell); got != 2 {
		t.Fatalf("clock back: %d, want 2 (D+1 and D+7; D+8 is in the future)", got)
	}
	clk.advance(24 * time.Hour)
	if got := c.Recent(cell); got != 2 {
		t.Fatalf("clock forward again: %d, want 2 (D+7 and D+8)", got)
	}
}

func TestSnapshotRestoreDirty(t *testing.T) {
	clk := newClock(day0)
	c := New(clk.now)
	cells := testCells(t, 4)
	today := DayOf(day0)
	for i, cell := range cells {
		for range i + 1 {
			c.Observe(cell)
		}
	}
	clk.advance(24 * time.Hour)
	c.Observe(cells[0])
	snap := c.Snapshot()
	want := []Entry{{cells[0], today, 1}, {cells[0], today + 1, 1}, {cells[1], today, 2}, {cells[2], today, 3}, {cells[3], today, 4}}
	slices.SortFunc(want, compareEntries)
	if !slices.Equal(snap, want) {
		t.Fatalf("snapshot\n got %+v\nwant %+v", snap, want)
	}
	if c.Dirty() {
		t.Fatal("dirty right after a snapshot")
	}
	c.Observe(cells[1])
	if !c.Dirty() {
		t.Fatal("an observation does not make it dirty")
	}
	c.Snapshot()
	c.MarkDirty() // the write of that snapshot failed
	if !c.Dirty() {
		t.Fatal("MarkDirty")
	}
	if DayOf(time.Unix(-1, 0)) != -1 || DayOf(time.Unix(0, 0)) != 0 || DayOf(time.Unix(86399, 0)) != 0 || DayOf(time.Unix(-86400, 0)) != -1 {
		t.Fatal("DayOf around the epoch")
	}

	// Restore into a fresh counter (a restart): same figures, and clean.
	d := New(clk.now)
	d.Restore(snap)
	if d.Dirty() {
		t.Fatal("restore makes it dirty")
	}
	if !slices.Equal(d.Snapshot(), snap) {
		t.Fatal("restore does not reproduce the snapshot")
	}
	// Restore adds to what is there, and ignores what it cannot hold.
	now := DayOf(clk.now()) // today + 1
	d.Restore([]Entry{
		{cells[0], now, 10},
		{cells[0], now - 6, 7}, // the oldest day in the window
		{cells[0], now - 7, 100},
		{cells[0], now + 1, 100}, // tomorrow
		{cells[1], today, 0},
		{cells[1], today, -5},
		{uint64(h3.Cell(int64(cells[2])).CenterChild(8)), today, 100},
	})
	if got := d.Recent(cells[0]); got != 1+1+10+7 {
		t.Fatalf("after the second restore: %d, want 19", got)
	}
	if got := d.Recent(cells[1]); got != 2 {
		t.Fatalf("non-positive counts restored: %d", got)
	}
	if d.Cells() != 4 {
		t.Fatalf("%d cells, want 4", d.Cells())
	}
	// Counts saturate rather than wrap.
	d.Restore([]Entry{{cells[3], today, 1 << 40}})
	if got := d.Recent(cells[3]); got != maxCount {
		t.Fatalf("saturation: %d, want %d", got, int64(maxCount))
	}
}

func TestPrune(t *testing.T) {
	clk := newClock(day0)
	c := New(clk.now)
	cells := testCells(t, 3)
	c.Observe(cells[0])
	clk.advance(3 * 24 * time.Hour)
	c.Observe(cells[1])
	c.Prune()
	if c.Cells() != 2 {
		t.Fatalf("pruned a cell with counts in the window: %d cells", c.Cells())
	}
	clk.advance(4 * 24 * time.Hour) // cells[0]'s day is now 7 days old
	c.Prune()
	if c.Cells() != 1 || c.Recent(cells[1]) != 1 {
		t.Fatalf("after prune: %d cells, recent %d", c.Cells(), c.Recent(cells[1]))
	}
	c.Observe(cells[0]) // a pruned cell comes back
	if c.Cells() != 2 || c.Recent(cells[0]) != 1 {
		t.Fatalf("a pruned cell does not come back: %d cells, recent %d", c.Cells(), c.Recent(cells[0]))
	}
}

// TestConcurrentObserve: many goroutines observe (under -race), while
// others snapshot, read and prune, across day changes and with cells
// retired by Prune while they are being observed; every count of every
// round is there at the end of it.
func TestConcurrentObserve(t *testing.T) {
	clk := newClock(day0)
	c := New(clk.now)
	cells := testCells(t, 16)
	const rounds, workers, perWorker = 100, 8, 300
	for round := range rounds {
		// Eight days on: every cell is now idle, so Prune races Observe
		// to retire the cells being observed.
		clk.advance(8 * 24 * time.Hour)
		start, stop := make(chan struct{}), make(chan struct{})
		var wg, bg sync.WaitGroup
		background := func(f func()) {
			bg.Add(1)
			go func() {
				defer bg.Done()
				<-start
				for {
					select {
					case <-stop:
						return
					default:
						f()
					}
				}
			}()
		}
		background(c.Prune)
		background(func() { _, _, _ = c.Snapshot(), c.Recent(cells[0]), c.Cells() })
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := range perWorker {
					c.Observe(cells[(w*7+i)%len(cells)])
				}
			}()
		}
		close(start)
		wg.Wait()
		close(stop)
		bg.Wait()
		var total int64
		for _, cell := range cells {
			total += c.Recent(cell)
		}
		if total != workers*perWorker {
			t.Fatalf("round %d: counted %d, want %d", round, total, workers*perWorker)
		}
		if c.Cells() != len(cells) {
			t.Fatalf("round %d: %d cells held, want %d", round, c.Cells(), len(cells))
		}
		var snap int64
		for _, e := range c.Snapshot() {
			snap += e.Count
		}
		if snap != total {
			t.Fatalf("round %d: snapshot sums to %d, want %d", round, snap, total)
		}
	}
}

func TestObserveDoesNotAllocate(t *testing.T) {
	c := New(nil)
	cell := testCells(t, 1)[0]
	c.Observe(cell)
	if n := testing.AllocsPerRun(1000, func() { c.Observe(cell) }); n != 0 {
		t.Fatalf("Observe of a known cell allocates %.1f times", n)
	}
}

func BenchmarkObserveParallel(b *testing.B) {
	c := New(nil)
	cells := testCells(b, 256)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			c.Observe(cells[i&255])
			i++
		}
	})
}
