package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aroundme/aroundme/pkg/store"
)

// loaded is one decoded record and its key.
type loaded struct {
	key string
	stored
}

// scan decodes every record under prefix in its own View (see scanTx).
func scan(ctx context.Context, st store.Store, prefix string, fn func(loaded)) error {
	return st.View(ctx, func(tx store.Tx) error {
		return scanTx(tx, prefix, func(k string, s stored) { fn(loaded{key: k, stored: s}) })
	})
}

// load builds the in-memory state from the store in two passes: the first
// reads every record except the cells' (counting them), decides whether the
// last flush was torn and repairs it; the second reads the cells of each
// campaign's latest day only, as older days stay in the store.
func (l *Ledger) load(ctx context.Context) error {
	now := l.now().UnixNano()
	var (
		meta    *loaded
		others  []loaded           // campaign, day and batch records
		perGen  = map[uint64]int{} // counter records per generation
		maxGen  uint64
		present = map[string]bool{} // batch keys
	)
	err := scan(ctx, l.st, keyPrefix, func(r loaded) {
		k := r.cur.rec.kind()
		switch k {
		case kindMeta:
			meta = &r
			return
		case kindDedupe, kindFreq:
			present[r.key] = true
		default:
			perGen[r.cur.gen]++
		}
		maxGen = max(maxGen, r.cur.gen)
		if k != kindCell { // cells are read in the second pass, only those still needed
			others = append(others, r)
		}
	})
	if err != nil {
		return fmt.Errorf("ledger: loading: %w", err)
	}

	torn, err := tornGen(meta, perGen, maxGen, present, now)
	if err != nil {
		return err
	}
	var repairs []loaded // records to put back as they were before the torn flush (prev nil = delete)
	keep := others[:0]
	for _, r := range others {
		if r.cur.gen == torn && torn != 0 {
			repairs = append(repairs, r)
			if r.prev == nil {
				continue
			}
			r.stored = stored{cur: *r.prev}
		}
		keep = append(keep, r)
	}
	others = keep

	// Counters and batches.
	latest := map[*campaign]*dayRec{}
	for _, r := range others {
		switch x := r.cur.rec.(type) {
		case campRec:
			l.campaign(x.cid).frac = x.frac
		case dayRec:
			c := l.campaign(x.cid)
			c.total.Add(x.SpendMicros)
			c.imps.Add(x.Impressions)
			c.clicks.Add(x.Clicks)
			if d := latest[c]; d == nil || x.day > d.day {
				latest[c] = &x
			}
		case dedupeRec:
			l.batches = append(l.batches, batchRef{kind: kindDedupe, exp: x.maxExpiry(), gen: r.cur.gen})
			var live []dentry
			for _, e := range x.entries {
				if e.exp > now {
					live = append(live, e)
				}
			}
			l.dedupe.load(live)
		case freqRec:
			l.batches = append(l.batches, batchRef{kind: kindFreq, exp: x.maxExpiry(), gen: r.cur.gen})
			for _, g := range x.groups {
				c := l.campaign(g.cid)
				c.freqWindow.Store(max(c.freqWindow.Load(), g.window))
				for _, h := range g.hits {
					if h.at > now-g.window {
						c.hit(l, h.user, h.at, g.window)
					}
				}
			}
		}
	}
	for c, x := range latest {
		t, known := l.terms(c.id)
		loc := t.Loc
		if loc == nil {
			loc = time.UTC
		}
		d := &dayState{day: x.day, loc: loc, imps: x.Impressions, clicks: x.Clicks}
		d.spend.Store(x.SpendMicros)
		_, end := dayBounds(x.day, loc)
		d.end.Store(end.UnixNano())
		d.zoned.Store(known)
		c.days = map[int32]*dayState{x.day: d}
		c.cur.Store(d)
		l.keep(c)
	}

	// Cells of the latest days (and those the torn flush wrote).
	err = scan(ctx, l.st, prefixCell, func(r loaded) {
		if r.cur.gen == torn && torn != 0 {
			repairs = append(repairs, r)
			if r.prev == nil {
				return
			}
			r.stored = stored{cur: *r.prev}
		}
		x := r.cur.rec.(cellRec)
		c := l.lookup(x.cid)
		if c == nil {
			return
		}
		if d := c.cur.Load(); d != nil && d.day == x.day {
			cs := d.cellOf(x.cell)
			cs.Counts, cs.users = x.Counts, x.users
		}
	})
	if err != nil {
		return fmt.Errorf("ledger: loading cells: %w", err)
	}
	l.gen = max(maxGen, genOf(meta))
	return l.repair(ctx, torn, repairs)
}

func genOf(m *loaded) uint64 {
	if m == nil {
		return 0
	}
	return m.cur.gen
}

// tornGen returns the generation of a flush that did not land whole (0 if
// none): a flush whose records are there but not its commit marker, or whose
// marker is there but not every record it names (a batch that is gone but
// expired counts as there: expired batches are deleted by later flushes, and
// their entries would not be loaded anyway).
func tornGen(meta *loaded, perGen map[uint64]int, maxGen uint64, present map[string]bool, now int64) (uint64, error) {
	mg := genOf(meta)
	if maxGen > mg {
		// Flushes between mg and maxGen failed and wrote nothing (their
		// Update was rolled back): generations are never reused.
		return maxGen, nil
	}
	if meta == nil {
		return 0, nil
	}
	m := meta.cur.rec.(metaRec)
	if n := uint64(perGen[mg]); n != m.count {
		if n > m.count {
			return 0, fmt.Errorf("%w: flush %d wrote %d counter records, %d are there", ErrCorrupt, mg, m.count, n)
		}
		return mg, nil
	}
	for _, b := range m.batches {
		if !present[b.key()] && b.exp > now {
			return mg, nil
		}
	}
	return 0, nil
}

// repair puts back what the torn flush overwrote and deletes what it
// created, keeping the generations the records had, so that a crash during
// the repair leaves a state that the next Open repairs the same way.
func (l *Ledger) repair(ctx context.Context, torn uint64, rs []loaded) error {
	if len(rs) == 0 {
		return nil
	}
	err := l.st.Update(ctx, func(tx store.Tx) error {
		for _, r := range rs {
			if r.prev == nil {
				if err := tx.Delete(r.key); err != nil && !errors.Is(err, store.ErrNotFound) {
					return err
				}
				continue
			}
			if err := tx.Set(r.key, stored{cur: *r.prev}.encode()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ledger: undoing the torn flush %d: %w", torn, err)
	}
	l.logger.Warn("ledger: the last flush before the restart was torn; its records were put back as they were",
		"flush", torn, "records", len(rs))
	return nil
}
