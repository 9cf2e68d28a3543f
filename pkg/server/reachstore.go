package server

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aroundme/aroundme/pkg/reach"
	"github.com/aroundme/aroundme/pkg/store"
)

// Request counters (EstimateReach) are persisted apart from the ledger, one
// record per UTC day under reachKeyPrefix, and less often: they are an
// estimate, so a crash may lose up to reachFlushInterval of them (the
// README says so), while the ledger's money counters flush every second.
const (
	reachKeyPrefix     = "rch/v1/"
	reachFlushInterval = time.Minute
)

func reachKey(day int32) string { return reachKeyPrefix + strconv.Itoa(int(day)) }

// saveReach writes the request counters of every day in the window, and
// deletes the records of days that left it, in one transaction.
func (sp *sponsors) saveReach(ctx context.Context, st store.Store) error {
	if !sp.reach.Dirty() {
		return nil
	}
	byDay := map[int32][]reach.Entry{}
	for _, e := range sp.reach.Snapshot() {
		byDay[e.Day] = append(byDay[e.Day], e)
	}
	err := st.Update(ctx, func(tx store.Tx) error {
		var stale []string
		if err := tx.Scan(reachKeyPrefix, "", func(key string, _ []byte) bool {
			if d, err := strconv.Atoi(key[len(reachKeyPrefix):]); err != nil || byDay[int32(d)] == nil {
				stale = append(stale, key)
			}
			return true
		}); err != nil {
			return err
		}
		for _, k := range stale {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		for day, es := range byDay {
			if err := tx.Set(reachKey(day), reach.Encode(es)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		sp.reach.MarkDirty() // Snapshot marked it clean: try again next time
	}
	return err
}

// loadReach restores the persisted request counters (days outside the
// window are ignored by the counter). A record that does not decode is
// corruption and stops the start, like any other.
func (sp *sponsors) loadReach(ctx context.Context, st store.Store) error {
	return st.View(ctx, func(tx store.Tx) error {
		var derr error
		err := tx.Scan(reachKeyPrefix, "", func(key string, val []byte) bool {
			es, err := reach.Decode(val)
			if err != nil {
				derr = fmt.Errorf("request counters %q are corrupt: %w", key, err)
				return false
			}
			sp.reach.Restore(es)
			return true
		})
		if err != nil {
			return err
		}
		return derr
	})
}

// persistReach saves the request counters every interval until ctx ends
// (Server.Close saves them a last time) and prunes cells that left the
// window.
func (sp *sponsors) persistReach(ctx context.Context, st store.Store, interval time.Duration) {
	every(ctx, interval, func() {
		sp.reach.Prune()
		if err := sp.saveReach(ctx, st); err != nil && ctx.Err() == nil {
			sp.log.Warn("request counters not persisted; retrying at the next interval", "error", err.Error())
		}
	})
}
