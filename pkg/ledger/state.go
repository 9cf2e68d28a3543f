package ledger

import (
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

const freqShards = 16

// campaign is the in-memory state of one campaign.
type campaign struct {
	id string

	// Read without c.mu (Spend, Clicks, Impressions).
	total, imps, clicks atomic.Int64
	cur                 atomic.Pointer[dayState] // the latest local day
	freqWindow          atomic.Int64             // ns, as of the last event
	// freq is allocated at the campaign's first impression by a known
	// user: the server opens an Account for every campaign it serves, and
	// most never need one (256 bytes each).
	freq atomic.Pointer[[freqShards]freqShard]
	kept atomic.Bool // in Ledger.kept

	mu        sync.Mutex // serialises charging; guards what follows and dayState/cellState
	frac      int64      // thousandths of a micro carried to the next CPM impression
	fracDirty bool
	dirty     bool                // registered in Ledger.dirty
	days      map[int32]*dayState // cur, and older days until their last change is flushed
	dirtyDays []*dayState
	freqNew   []freqHit // impression times not yet taken by a flush
}

// dayState is one local day of a campaign. Days never go backwards: once a
// day has begun, events are counted in it or a later one, even if the clock
// steps back or the zone moves west, so a day left behind never changes
// again and can be evicted once flushed (Stats reads it from the store).
type dayState struct {
	day   int32
	end   atomic.Int64 // Unix ns: the end of the day in loc; Spend reads it
	spend atomic.Int64
	// zoned is false for a day loaded by Open while Terms did not know
	// the campaign yet (the server loads its campaigns after the ledger):
	// end is then UTC's, and the first Spend fixes it (learnZone).
	zoned atomic.Bool

	// Guarded by campaign.mu.
	loc          *time.Location
	imps, clicks int64
	cells        map[uint64]*cellState
	dirty        bool
	dirtyCells   []*cellState
	dropped      bool // left memory (dropIdleDay): never counted in again
}

// cellState is one (day, cell) of a campaign: its figures and its distinct
// users, kept only until there are k of them ("enough").
type cellState struct {
	cell  uint64
	users []uint64
	dirty bool
	Counts
}

type freqShard struct {
	mu sync.Mutex
	m  map[uint64][]int64 // user → accepted impression times (Unix ns), ascending
}

func (d *dayState) counts() Counts {
	return Counts{Impressions: d.imps, Clicks: d.clicks, SpendMicros: d.spend.Load()}
}

func (d *dayState) cellOf(cell uint64) *cellState {
	x := d.cells[cell]
	if x == nil {
		if d.cells == nil {
			d.cells = make(map[uint64]*cellState)
		}
		x = &cellState{cell: cell}
		d.cells[cell] = x
	}
	return x
}

// count adds one event of user to the cell; anonymous users (0) count in the
// figures but not as distinct users.
func (x *cellState) count(delta Counts, user uint64, k int, d *dayState) {
	x.add(delta)
	if user != 0 && len(x.users) < k && !slices.Contains(x.users, user) {
		x.users = append(x.users, user)
	}
	if !x.dirty {
		x.dirty = true
		d.dirtyCells = append(d.dirtyCells, x)
	}
}

// dayAt returns the day an event at now is counted in, starting a new one
// at local midnight; c.mu must be held.
func (c *campaign) dayAt(now time.Time, ns int64, loc *time.Location) *dayState {
	cur := c.cur.Load()
	if cur != nil && !cur.dropped {
		cur.rezone(loc)
		if ns < cur.end.Load() {
			return cur
		}
	}
	day, end := localDay(now, loc)
	if cur != nil && day <= cur.day {
		if !cur.dropped {
			return cur // not reached (now is past cur's end in loc); days never go back
		}
		// The clock stepped back more than idleDay after cur left memory:
		// count in the day after it rather than rewrite it.
		day = cur.day + 1
		_, e := dayBounds(day, loc)
		end = e.UnixNano()
	}
	d := &dayState{day: day, loc: loc}
	d.end.Store(end)
	d.zoned.Store(true)
	if c.days == nil {
		c.days = make(map[int32]*dayState)
	}
	c.days[day] = d
	c.cur.Store(d)
	return d
}

// rezone makes loc the zone of d: if it changed, the date ends at its
// midnight in the new zone. campaign.mu must be held.
func (d *dayState) rezone(loc *time.Location) {
	if d.loc != loc && d.loc.String() != loc.String() {
		d.loc = loc
		_, end := dayBounds(d.day, loc)
		d.end.Store(end.UnixNano())
	}
	d.zoned.Store(true)
}

// learnZone gives d, loaded before Terms knew the campaign, its zone as
// soon as Terms knows it.
func (c *campaign) learnZone(l *Ledger, d *dayState) {
	t, ok := l.terms(c.id)
	if !ok {
		return
	}
	loc := t.Loc
	if loc == nil {
		loc = time.UTC
	}
	c.mu.Lock()
	if !d.dropped {
		d.rezone(loc)
	}
	c.mu.Unlock()
}

// localDay returns the local date of t in loc as a day number (days since
// 1970-01-01) and the end of that day (the next local midnight), Unix ns.
func localDay(t time.Time, loc *time.Location) (day int32, end int64) {
	y, m, d := t.In(loc).Date()
	return civilDay(y, m, d), time.Date(y, m, d+1, 0, 0, 0, 0, loc).UnixNano()
}

func civilDay(y int, m time.Month, d int) int32 {
	s := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
	if s < 0 {
		return int32((s - 86399) / 86400)
	}
	return int32(s / 86400)
}

// dayBounds returns the local midnights that start and end day in loc (23
// or 25 hours apart across a DST change).
func dayBounds(day int32, loc *time.Location) (start, end time.Time) {
	y, m, d := time.Unix(int64(day)*86400, 0).UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
}

// hit keeps an accepted impression time of user, pruning the times that fell
// out of the window and the oldest beyond MaxFrequencyTimes.
func (c *campaign) hit(l *Ledger, user uint64, at, window int64) {
	f := c.freq.Load()
	if f == nil {
		c.freq.CompareAndSwap(nil, new([freqShards]freqShard))
		f = c.freq.Load()
		l.keep(c)
	}
	s := &f[user%freqShards]
	s.mu.Lock()
	ts, had := s.m[user]
	if s.m == nil {
		s.m = make(map[uint64][]int64)
	}
	cut := sort.Search(len(ts), func(i int) bool { return ts[i] > at-window })
	ts = ts[:copy(ts, ts[cut:])]
	i := sort.Search(len(ts), func(i int) bool { return ts[i] > at })
	ts = slices.Insert(ts, i, at)
	if len(ts) > MaxFrequencyTimes {
		ts = ts[:copy(ts, ts[len(ts)-MaxFrequencyTimes:])]
	}
	s.m[user] = ts
	s.mu.Unlock()
	if !had {
		l.freqUsers.Add(1)
	}
}

// impressions counts user's kept times after since.
func (c *campaign) impressions(user uint64, since int64) int32 {
	f := c.freq.Load()
	if f == nil {
		return 0
	}
	s := &f[user%freqShards]
	s.mu.Lock()
	ts := s.m[user]
	n := len(ts) - sort.Search(len(ts), func(i int) bool { return ts[i] > since })
	s.mu.Unlock()
	return int32(n)
}

// sweepFreq forgets the users of one shard whose newest time is out of the
// window, and returns how many.
func (c *campaign) sweepFreq(shard int, now int64) int64 {
	cut := now - c.freqWindow.Load()
	f := c.freq.Load()
	if f == nil {
		return 0
	}
	s := &f[shard]
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for u, ts := range s.m {
		if len(ts) == 0 || ts[len(ts)-1] <= cut {
			delete(s.m, u)
			n++
		}
	}
	return n
}
