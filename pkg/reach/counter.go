package reach

import (
	"cmp"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aroundme/aroundme/geo"
	h3 "github.com/uber/h3-go/v4"
)

// Res is the resolution of the counted cells: ~5 km², coarse enough to
// keep no one's whereabouts, fine enough to size a neighbourhood's fence.
const Res = 7

// WindowDays is how many UTC days Recent counts: today and the 6 before.
const WindowDays = 7

// ring is the number of day slots per cell: one more than the window, so
// that the slot today reuses never holds a day still in the window.
const ring = 8

// A slot packs a UTC day number (high 32 bits, as uint32) and its count
// (low 32 bits). A count of 0 is an empty slot whatever its day. Counts
// saturate at maxCount, 4 billion requests in one ~5 km² cell in one day,
// which no real city reaches; tomb marks a cell being pruned.
const (
	maxCount = 1<<32 - 2
	tomb     = ^uint64(0)
)

func pack(day int32, n uint64) uint64 { return uint64(uint32(day))<<32 | n }

func unpack(s uint64) (day int32, n uint64) { return int32(uint32(s >> 32)), s & 0xffffffff }

func slotOf(day int32) int { return int(uint32(day) % ring) }

// Entry is one persisted count: Count requests in Cell on UTC day Day
// (days since 1970-01-01).
type Entry struct {
	Cell  uint64
	Day   int32
	Count int64
}

// Counter counts requests per resolution-7 cell and UTC day. It is safe for
// concurrent use; the zero value is not usable, call New.
type Counter struct {
	now   func() time.Time
	cells sync.Map // uint64 cell → *cellCounts
	n     atomic.Int64
	dirty atomic.Bool
}

// cellCounts is one cell's ring of day slots.
type cellCounts struct {
	slots [ring]atomic.Uint64
}

// New returns an empty Counter reading the clock from now (time.Now when
// nil); tests pass a fake clock.
func New(now func() time.Time) *Counter {
	if now == nil {
		now = time.Now
	}
	return &Counter{now: now}
}

// today is the current UTC day number.
func (c *Counter) today() int32 { return DayOf(c.now()) }

// inWindow reports whether day is counted by Recent on day today.
func inWindow(day, today int32) bool { return day <= today && day > today-WindowDays }

// ValidCell reports whether cell is a valid H3 cell of resolution Res, the
// only cells a Counter holds and Decode accepts.
func ValidCell(cell uint64) bool {
	return geo.CellResolution(cell) == Res && h3.Cell(int64(cell)).IsValid()
}

// Observe counts one request in cell7, the resolution-7 cell of its
// position, on today's UTC date. A cell that is not a valid resolution-7
// cell is ignored (checked only the first time a cell is seen).
func (c *Counter) Observe(cell7 uint64) {
	if c.add(cell7, c.today(), 1) {
		// After the count, so that a Snapshot that clears the flag either
		// sees this count or is followed by the flag set again.
		if !c.dirty.Load() {
			c.dirty.Store(true)
		}
	}
}

// add adds n to cell's count for day, creating the cell if it is new and
// valid; it reports whether anything was added.
func (c *Counter) add(cell uint64, day int32, n uint64) bool {
	for {
		v, ok := c.cells.Load(cell)
		if !ok {
			if !ValidCell(cell) {
				return false
			}
			var loaded bool
			v, loaded = c.cells.LoadOrStore(cell, new(cellCounts))
			if !loaded {
				c.n.Add(1)
			}
		}
		added, live := v.(*cellCounts).add(day, n)
		if live {
			return added
		}
		// Prune is retiring this cell: wait until it has either removed it
		// from the map (then the next round stores a fresh one) or given
		// up (then the slot is usable again). It holds the tombstones for
		// a handful of compare-and-swaps.
		runtime.Gosched()
	}
}

// add adds n to the slot of day. A slot holding an earlier day is taken
// over; one holding a later day (so day is out of any window that includes
// it) keeps it, and n is dropped. live is false when the slot is a
// tombstone.
func (cc *cellCounts) add(day int32, n uint64) (added, live bool) {
	s := &cc.slots[slotOf(day)]
	for {
		old := s.Load()
		if old == tomb {
			return false, false
		}
		od, on := unpack(old)
		var next uint64
		switch {
		case on != 0 && od == day:
			next = pack(day, min(on+n, maxCount))
		case on == 0 || od < day:
			next = pack(day, min(n, maxCount))
		default:
			return false, true
		}
		if next == old || s.CompareAndSwap(old, next) {
			return next != old, true
		}
	}
}

// sum returns the requests of the days in the window ending on today.
func (cc *cellCounts) sum(today int32) int64 {
	var t int64
	for i := range cc.slots {
		if s := cc.slots[i].Load(); s != tomb {
			if d, n := unpack(s); n != 0 && inWindow(d, today) {
				t += int64(n)
			}
		}
	}
	return t
}

// Recent returns the requests counted in cell7 over the last WindowDays UTC
// days, today included.
func (c *Counter) Recent(cell7 uint64) int64 { return c.recent(cell7, c.today()) }

func (c *Counter) recent(cell7 uint64, today int32) int64 {
	v, ok := c.cells.Load(cell7)
	if !ok {
		return 0
	}
	return v.(*cellCounts).sum(today)
}

// Snapshot returns every non-zero (cell, day) count in the window, sorted by
// cell then day, for persistence, and marks the counter clean: Dirty turns
// true again at the next Observe. A count observed while the snapshot is
// taken may or may not be in it; if not, the counter is dirty again.
func (c *Counter) Snapshot() []Entry {
	c.dirty.Store(false)
	today := c.today()
	var out []Entry
	c.cells.Range(func(k, v any) bool {
		cc := v.(*cellCounts)
		for i := range cc.slots {
			s := cc.slots[i].Load()
			if s == tomb {
				continue
			}
			if d, n := unpack(s); n != 0 && inWindow(d, today) {
				out = append(out, Entry{Cell: k.(uint64), Day: d, Count: int64(n)})
			}
		}
		return true
	})
	slices.SortFunc(out, compareEntries)
	return out
}

func compareEntries(a, b Entry) int {
	if c := cmp.Compare(a.Cell, b.Cell); c != 0 {
		return c
	}
	return cmp.Compare(a.Day, b.Day)
}

// Restore adds persisted counts to what the counter holds (so a restore
// after the first requests loses neither). Entries whose day is outside
// today's window, whose count is not positive or whose cell is not a valid
// resolution-7 cell are ignored; a count beyond a slot's capacity
// saturates. It does not make the counter dirty: the counts came from the
// store.
func (c *Counter) Restore(es []Entry) {
	today := c.today()
	for _, e := range es {
		if e.Count > 0 && inWindow(e.Day, today) {
			c.add(e.Cell, e.Day, uint64(min(e.Count, maxCount)))
		}
	}
}

// Dirty reports whether a request was observed since the last Snapshot, so
// that a periodic flusher can skip idle rounds.
func (c *Counter) Dirty() bool { return c.dirty.Load() }

// MarkDirty makes the counter dirty again: a flusher whose write of a
// Snapshot failed calls it, so that the next round retries even if no
// request arrives in between.
func (c *Counter) MarkDirty() { c.dirty.Store(true) }

// Cells returns the number of distinct cells held (for a gauge): those
// observed or restored and not yet pruned.
func (c *Counter) Cells() int { return int(c.n.Load()) }

// Prune drops the cells with no count in the window, so that the map does
// not grow with every cell ever seen. Call it periodically (once an hour is
// plenty: a cell costs ~100 bytes). A cell is retired by turning each of
// its slots into a tombstone with a compare-and-swap; if a request or a
// restore writes one of them first, the cell is kept and the tombstones
// already set are cleared, so no count is ever lost.
func (c *Counter) Prune() {
	today := c.today()
	c.cells.Range(func(k, v any) bool {
		cc := v.(*cellCounts)
		var seen [ring]uint64
		for i := range cc.slots {
			seen[i] = cc.slots[i].Load()
			if d, n := unpack(seen[i]); seen[i] == tomb || (n != 0 && inWindow(d, today)) {
				return true // live, or another Prune is at it
			}
		}
		for i := range cc.slots {
			if !cc.slots[i].CompareAndSwap(seen[i], tomb) {
				for j := range i {
					cc.slots[j].Store(0) // held only out-of-window counts
				}
				return true
			}
		}
		if c.cells.CompareAndDelete(k, v) {
			c.n.Add(-1)
		}
		return true
	})
}

// DayOf is the UTC day number (days since 1970-01-01) a Counter files t
// under.
func DayOf(t time.Time) int32 {
	u := t.Unix()
	d := u / 86400
	if u%86400 < 0 {
		d-- // before 1970: round towards the earlier day
	}
	return int32(d)
}
