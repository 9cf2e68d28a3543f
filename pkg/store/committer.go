package store

import (
	"context"
	"slices"
	"sync"
)

// Committer runs write transactions that describe their own changes, and
// hands each committed batch of changes to its listeners — after the write
// is durable and before the caller acknowledges it, in commit order — so
// that in-memory indexes follow the store exactly. The record types
// (mini-programs, campaigns) each embed one, with their own change type.
//
// A writer that acknowledges late (an import stream answers once, at its
// end) may have its changes held back (UpdateHeld) so that the listeners
// get the changes of many transactions in one call: an index rebuilds the
// nodes a batch touches once per call, so ten transactions' changes in one
// call cost it far less than ten calls. Held changes keep their place in
// commit order: any later Update hands them over with its own, and the
// holder calls Flush before it acknowledges anything.
//
// Held changes handed over because there are more than maxHeld go to the
// listeners on a goroutine of their own, while the writer commits its next
// transactions: a large hand-over (an index rebuilding for 100,000 items)
// would otherwise leave the writer, and the client streaming to it, idle.
// One such hand-over is under way at a time; Update, Flush and the next one
// wait for it, so listeners are never called concurrently and always in
// commit order.
type Committer[C any] struct {
	st Store

	// mu orders commits and listener calls, so that listeners see changes
	// in the same order as the store.
	mu        sync.Mutex
	listeners []func([]C)
	held      []C // committed, not yet handed to the listeners
	// handing is closed once the changes being handed over in the
	// background have reached every listener; nil when none are.
	handing chan struct{}
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
// returned go to every listener (after any held ones). If fn or the commit
// fails, nothing is written and no listener gets its changes.
func (c *Committer[C]) Update(ctx context.Context, fn func(Tx) ([]C, error)) error {
	return c.update(ctx, fn, 0)
}

// UpdateHeld is Update for a writer that acknowledges later: once durable,
// fn's changes are held back, and handed to the listeners — with every
// change held before them — only when more than maxHeld changes are held
// (then in the background, unless maxHeld is 0), at the next Update, or at
// Flush. The caller must Flush before it acknowledges the write (or reports
// it as committed, even in an error), so that whoever it answers sees the
// change in the next read. Up to twice maxHeld changes may be in memory:
// those being handed over and those held since.
func (c *Committer[C]) UpdateHeld(ctx context.Context, fn func(Tx) ([]C, error), maxHeld int) error {
	return c.update(ctx, fn, max(maxHeld, 0))
}

func (c *Committer[C]) update(ctx context.Context, fn func(Tx) ([]C, error), maxHeld int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var changes []C
	err := c.st.Update(ctx, func(tx Tx) error {
		var err error
		changes, err = fn(tx)
		return err
	})
	if err != nil {
		if maxHeld == 0 {
			c.flushLocked() // held changes never wait on a failed write
		}
		return err
	}
	c.held = append(c.held, changes...)
	switch {
	case len(c.held) <= maxHeld:
	case maxHeld > 0:
		c.handOverLocked()
	default:
		c.flushLocked()
	}
	return nil
}

// Flush hands every held change to the listeners, and returns once they
// (and any being handed over in the background) have reached them.
func (c *Committer[C]) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
}

func (c *Committer[C]) flushLocked() {
	c.waitLocked()
	if len(c.held) == 0 {
		return
	}
	held := c.held
	c.held = nil
	for _, l := range c.listeners {
		l(held)
	}
}

// handOverLocked hands the held changes to the listeners on a goroutine,
// after the previous hand-over has finished.
func (c *Committer[C]) handOverLocked() {
	c.waitLocked()
	held, listeners, done := c.held, slices.Clone(c.listeners), make(chan struct{})
	c.held, c.handing = nil, done
	go func() {
		defer close(done)
		for _, l := range listeners {
			l(held)
		}
	}()
}

// waitLocked waits for the hand-over under way, if any.
func (c *Committer[C]) waitLocked() {
	if c.handing != nil {
		<-c.handing
		c.handing = nil
	}
}
