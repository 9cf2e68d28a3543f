package store

import (
	"context"
	"sync"
)

// Committer runs write transactions that describe their own changes, and
// hands each committed batch of changes to its listeners — after the write
// is durable and before the caller acknowledges it, in commit order — so
// that in-memory indexes follow the store exactly. The record types
// (mini-programs, campaigns) each embed one, with their own change type.
type Committer[C any] struct {
	st Store

	// mu orders commits and listener calls, so that listeners see changes
	// in the same order as the store.
	mu        sync.Mutex
	listeners []func([]C)
}

// NewCommitter returns a Committer writing to st.
func NewCommitter[C any](st Store) *Committer[C] { return &Committer[C]{st: st} }

// Listen adds l to the listeners of committed changes. Listeners must not
// modify what they receive.
func (c *Committer[C]) Listen(l func([]C)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listeners = append(c.listeners, l)
}

// Update runs fn in a store transaction; once it is durable, the changes fn
// returned go to every listener. If fn or the commit fails, nothing is
// written and no listener is called.
func (c *Committer[C]) Update(ctx context.Context, fn func(Tx) ([]C, error)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var changes []C
	err := c.st.Update(ctx, func(tx Tx) error {
		var err error
		changes, err = fn(tx)
		return err
	})
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		for _, l := range c.listeners {
			l(changes)
		}
	}
	return nil
}
