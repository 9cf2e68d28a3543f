package ledger

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"time"

	"github.com/aroundme/aroundme/pkg/store"
)

// Stats is StatsContext without a context, for callers that cannot act on
// an error. If the store cannot be read (it is closed or failing), it logs
// the error and reports only the days still held in memory: the server
// should call StatsContext and answer UNAVAILABLE instead.
func (l *Ledger) Stats(campaignID string, from, to time.Time) Report {
	r, err := l.StatsContext(context.Background(), campaignID, from, to)
	if err != nil {
		l.logger.Error("ledger: stats from memory only", "err", err)
	}
	return r
}

// StatsContext reports the campaign's days whose local date (in its current
// zone) overlaps [from, to) (a zero from or to is unbounded), their sum, and
// its cells over those days, leaving out cells seen by fewer than
// KAnonymity distinct users over the range. Days still in memory (the
// current one, and older ones until their last change is flushed) are read
// there; earlier days from the store.
func (l *Ledger) StatsContext(ctx context.Context, campaignID string, from, to time.Time) (Report, error) {
	loc := time.UTC
	if t, ok := l.terms(campaignID); ok && t.Loc != nil {
		loc = t.Loc
	}
	in := func(day int32) bool {
		start, end := dayBounds(day, loc)
		return (from.IsZero() || end.After(from)) && (to.IsZero() || start.Before(to))
	}

	days := map[int32]*dayAgg{}
	// Memory first: a day missing from it was evicted after its last
	// change was durable, so the store read next has its final figures.
	if c := l.lookup(campaignID); c != nil {
		c.mu.Lock()
		for day, d := range c.days {
			if !in(day) {
				continue
			}
			a := &dayAgg{Counts: d.counts()}
			for _, x := range d.cells {
				a.cells = append(a.cells, cellRec{cell: x.cell, users: slices.Clone(x.users), Counts: x.Counts})
			}
			days[day] = a
		}
		c.mu.Unlock()
	}
	inMemory := maps.Clone(days)
	err := l.st.View(ctx, func(tx store.Tx) error {
		err := scanTx(tx, prefixDay+campaignID+"/", func(_ string, s stored) {
			if x, ok := s.cur.rec.(dayRec); ok && x.cid == campaignID && inMemory[x.day] == nil && in(x.day) {
				days[x.day] = &dayAgg{Counts: x.Counts}
			}
		})
		if err != nil {
			return err
		}
		return scanTx(tx, prefixCell+campaignID+"/", func(_ string, s stored) {
			if x, ok := s.cur.rec.(cellRec); ok && x.cid == campaignID && inMemory[x.day] == nil && days[x.day] != nil {
				days[x.day].cells = append(days[x.day].cells, x)
			}
		})
	})

	var rep Report
	cells := map[uint64]*cellAgg{}
	for _, day := range slices.Sorted(maps.Keys(days)) {
		a := days[day]
		rep.Days = append(rep.Days, Day{Date: dateString(day), Counts: a.Counts})
		rep.Totals.add(a.Counts)
		for _, x := range a.cells {
			c := cells[x.cell]
			if c == nil {
				c = &cellAgg{users: map[uint64]struct{}{}}
				cells[x.cell] = c
			}
			c.add(x.Counts)
			c.addUsers(x.users, l.k)
		}
	}
	for cell, c := range cells {
		if c.enough {
			rep.Cells = append(rep.Cells, Cell{Cell: cell, Counts: c.Counts})
		}
	}
	slices.SortFunc(rep.Cells, func(a, b Cell) int { return cmp.Compare(a.Cell, b.Cell) })
	return rep, err
}

type dayAgg struct {
	Counts
	cells []cellRec
}

// cellAgg sums one cell over a range of days. Each day's user set is exact
// below k and "enough" at k, so the union of the sets below k is exact and
// decides whether the range reaches k.
type cellAgg struct {
	Counts
	users  map[uint64]struct{}
	enough bool
}

func (c *cellAgg) addUsers(users []uint64, k int) {
	if c.enough {
		return
	}
	if len(users) >= k {
		c.enough, c.users = true, nil
		return
	}
	for _, u := range users {
		c.users[u] = struct{}{}
	}
	if len(c.users) >= k {
		c.enough, c.users = true, nil
	}
}

// scanTx decodes the records under prefix in tx, calling fn for each, and
// stops at the first corrupt one.
func scanTx(tx store.Tx, prefix string, fn func(key string, s stored)) error {
	var derr error
	err := tx.Scan(prefix, "", func(k string, v []byte) bool {
		s, err := decodeRecord(k, v)
		if err != nil {
			derr = err
			return false
		}
		fn(k, s)
		return true
	})
	if err != nil {
		return err
	}
	return derr
}
