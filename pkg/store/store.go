package store

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Tx.Get and Tx.Delete when the key does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrUnavailable wraps every failure to make a write durable (a full disk, an
// unwritable data dir, a failed fsync). A write that returns it was NOT
// acknowledged; callers map it to gRPC UNAVAILABLE. Reads keep working.
var ErrUnavailable = errors.New("store: unavailable")

// ErrReadOnlyTx is returned by Set and Delete inside View.
var ErrReadOnlyTx = errors.New("store: write in a read-only transaction")

// Store is the persistence seam of the service: ordered keys, opaque values,
// serialisable transactions. Services speak only this interface so that a
// distributed engine (e.g. Redis with WATCH/MULTI) can replace the embedded
// buntdb file without touching them.
type Store interface {
	// View runs fn in a read-only transaction that sees a consistent state.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction. If fn returns an error,
	// nothing it wrote is applied. If Update returns nil, every write of fn
	// is on stable storage (fsynced): the caller may acknowledge it.
	Update(ctx context.Context, fn func(Tx) error) error
	// Healthy reports nil while writes can be made durable, or the error
	// that made the store stop accepting writes.
	Healthy() error
	// Close flushes and releases the store (and its data-dir lock).
	Close() error
}

// Tx is one transaction. It must not be used after the function it was
// passed to returns.
type Tx interface {
	// Get returns the value of key, or ErrNotFound.
	Get(key string) ([]byte, error)
	// Peek calls fn with the value of key, or returns ErrNotFound without
	// calling it; it returns fn's error. The value is not copied: it is
	// only valid during the call and must not be modified. Use it to read
	// a few fields of a large value without copying it whole (Get copies).
	Peek(key string, fn func(value []byte) error) error
	// Set writes value under key.
	Set(key string, value []byte) error
	// SetOwned is Set for a value the caller hands over: the store keeps
	// value itself instead of a copy, so the caller must never modify it
	// afterwards (nor may anyone else holding it). It saves a copy of every
	// record of a bulk write.
	SetOwned(key string, value []byte) error
	// Delete removes key, or returns ErrNotFound.
	Delete(key string) error
	// Scan calls fn for every key that starts with prefix and sorts strictly
	// after `after` ("" = from the first), in ascending byte order, until fn
	// returns false. The value slice is only valid during the call and must
	// not be modified (it may alias the engine's memory). fn must not call
	// Set or Delete on the same Tx (the buntdb implementation returns
	// ErrWriteInScan): collect the keys and write them after Scan returns.
	Scan(prefix, after string, fn func(key string, value []byte) bool) error
}
