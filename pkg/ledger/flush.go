package ledger

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aroundme/aroundme/pkg/store"
)

// batchRef names a persisted dedupe or frequency batch: its kind and the
// expiry of its last entry. With the generation it makes the key.
type batchRef struct {
	kind byte
	exp  int64
	gen  uint64
}

func (b batchRef) key() string {
	if b.kind == kindDedupe {
		return batchKey(prefixDedupe, b.exp, b.gen)
	}
	return batchKey(prefixFreq, b.exp, b.gen)
}

// snapshot is what one flush writes: everything changed since the last
// successful flush.
type snapshot struct {
	recs      map[string]rec // counter records (campaign, day, cell) by key
	dedupe    []dentry
	freq      []freqGroup
	events    int64
	campaigns map[*campaign]struct{} // whose old days may be evicted once this is durable
}

func newSnapshot() *snapshot {
	return &snapshot{recs: map[string]rec{}, campaigns: map[*campaign]struct{}{}}
}

func (s *snapshot) put(r rec) { s.recs[r.key(0)] = r }

// snapshot moves c's changes into s and marks c clean.
func (c *campaign) snapshot(s *snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dirty = false
	s.campaigns[c] = struct{}{}
	if c.fracDirty {
		s.put(campRec{cid: c.id, frac: c.frac})
		c.fracDirty = false
	}
	for _, d := range c.dirtyDays {
		d.dirty = false
		s.put(dayRec{cid: c.id, day: d.day, Counts: d.counts()})
		for _, x := range d.dirtyCells {
			x.dirty = false
			s.put(cellRec{cid: c.id, day: d.day, cell: x.cell, users: sortedUsers(x.users), Counts: x.Counts})
		}
		d.dirtyCells = d.dirtyCells[:0]
	}
	c.dirtyDays = c.dirtyDays[:0]
	if w := c.freqWindow.Load(); len(c.freqNew) > 0 && w > 0 {
		s.freq = append(s.freq, freqGroup{cid: c.id, window: w, hits: c.freqNew})
	}
	c.freqNew = nil
}

// Flush persists everything changed since the last successful flush in one
// store.Update: the changed counter records, one batch of the new dedupe
// entries, one batch of the new impression times, the deletion of expired
// batches, and the commit marker. If the Update fails, the changes stay in
// memory and the next Flush writes them with its own.
func (l *Ledger) Flush(ctx context.Context) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	began := time.Now()
	now := l.now().UnixNano()
	defer l.pruneMemory(now)

	s := l.retry
	l.retry = nil
	if s == nil {
		s = newSnapshot()
	}
	l.dirtyMu.Lock()
	dirty := l.dirty
	l.dirty = nil
	l.dirtyMu.Unlock()
	// Counters first, dedupe entries second: an event claims its dedupe
	// entries before it is counted, so every event counted in this
	// snapshot has its entries in it too.
	for _, c := range dirty {
		c.snapshot(s)
	}
	for _, e := range l.dedupe.take() {
		if e.exp > now {
			s.dedupe = append(s.dedupe, e)
		}
	}
	s.events += l.pending.Swap(0)

	var expired []batchRef
	for _, b := range l.batches {
		if b.exp <= now {
			expired = append(expired, b)
		}
	}
	if len(s.recs) == 0 && len(s.dedupe) == 0 && len(s.freq) == 0 && len(expired) == 0 {
		l.evict(s)
		return nil
	}

	l.gen++ // a generation is never reused, even after a failed attempt
	var written []batchRef
	var n int
	err := l.st.Update(ctx, func(tx store.Tx) error {
		var err error
		written, n, err = write(tx, l.gen, s, expired)
		return err
	})
	if err != nil {
		l.retry = s
		l.retryEvents.Store(s.events)
		l.flushFailures.Add(1)
		return fmt.Errorf("ledger: flush: %w", err)
	}
	l.retryEvents.Store(0)
	l.batches = slices.DeleteFunc(l.batches, func(b batchRef) bool { return b.exp <= now })
	l.batches = append(l.batches, written...)
	l.evict(s)
	l.flushes.Add(1)
	l.lastRecords.Store(int64(n))
	l.lastFlushNanos.Store(int64(time.Since(began)))
	return nil
}

// write is the body of a flush's Update. It returns the batches it wrote and
// the number of records.
func write(tx store.Tx, gen uint64, s *snapshot, expired []batchRef) ([]batchRef, int, error) {
	meta := metaRec{}
	for _, k := range slices.Sorted(maps.Keys(s.recs)) {
		var prev []byte
		old, err := tx.Get(k)
		switch {
		case err == nil:
			if _, prev, _, err = envelope(old); err != nil {
				return nil, 0, fmt.Errorf("%w %q: %v", ErrCorrupt, k, err)
			}
		case !errors.Is(err, store.ErrNotFound):
			return nil, 0, err
		}
		if err := tx.Set(k, encodeRecord(gen, s.recs[k], prev)); err != nil {
			return nil, 0, err
		}
		meta.count++
	}
	var written []batchRef
	for _, r := range []rec{dedupeRec{entries: s.dedupe}, freqRec{groups: s.freq}} {
		var exp int64
		switch r := r.(type) {
		case dedupeRec:
			if len(r.entries) == 0 {
				continue
			}
			exp = r.maxExpiry()
		case freqRec:
			if len(r.groups) == 0 {
				continue
			}
			exp = r.maxExpiry()
		}
		b := batchRef{kind: r.kind(), exp: exp, gen: gen}
		if err := tx.Set(b.key(), encodeRecord(gen, r, nil)); err != nil {
			return nil, 0, err
		}
		written = append(written, b)
	}
	meta.batches = written
	for _, b := range expired {
		if err := tx.Delete(b.key()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, 0, err
		}
	}
	if err := tx.Set(keyMeta, encodeRecord(gen, meta, nil)); err != nil {
		return nil, 0, err
	}
	return written, int(meta.count) + len(written), nil
}

// evict drops the days of s's campaigns that are neither current nor
// changed since s: they are durable now and never change again.
func (l *Ledger) evict(s *snapshot) {
	for c := range s.campaigns {
		c.mu.Lock()
		cur := c.cur.Load()
		for day, d := range c.days {
			if d != cur && !d.dirty {
				delete(c.days, day)
			}
		}
		c.mu.Unlock()
	}
}

// idleDay is how long after its end a campaign's last day leaves memory.
// It is longer than any zone change could move the end of a day (26 hours
// between UTC−12 and UTC+14), so no event can be counted in it any more.
const idleDay = 27 * time.Hour

// pruneMemory forgets expired dedupe entries, the users of one frequency
// shard of every campaign whose times are all out of the window (a full
// round every 16 flushes), and, when everything is durable, the last day of
// campaigns idle for idleDay (Stats then reads it from the store).
func (l *Ledger) pruneMemory(now int64) {
	l.dedupe.prune(now)
	shard := l.sweep % freqShards
	l.sweep++
	durable := l.retry == nil
	l.keptMu.Lock()
	kept := l.kept // appends never change the elements up to len
	l.keptMu.Unlock()
	for _, c := range kept {
		l.freqUsers.Add(-c.sweepFreq(shard, now))
		if durable {
			c.dropIdleDay(now)
		}
	}
}

// dropIdleDay drops the current day from memory once it ended idleDay ago
// and its last change is durable. c.cur keeps it for Spend and so that days
// never go backwards; the next event starts a new day.
func (c *campaign) dropIdleDay(now int64) {
	d := c.cur.Load()
	if d == nil || now-idleDay.Nanoseconds() < d.end.Load() {
		return
	}
	c.mu.Lock()
	if !d.dirty && c.days[d.day] == d {
		delete(c.days, d.day)
		d.cells, d.dropped = nil, true
	}
	c.mu.Unlock()
}
