package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/tidwall/buntdb"
)

// DataFileName is the buntdb append-only file inside the data dir. Backups
// must copy it while no process holds the dir (or use a snapshot of the
// filesystem): a copy taken mid-append may end in a torn record, which Open
// tolerates (see the package doc).
const DataFileName = "aroundme.db"

// compactTmpSuffix names the file a compaction writes before renaming it over
// the data file. A leftover one is garbage from a crash mid-compaction (the
// rename is the commit point) and is removed at the next Open.
const compactTmpSuffix = ".compact"

// DefaultCompactMinBytes is the data-file size above which Open considers
// compacting it. buntdb's automatic background shrink is disabled (see the
// package doc), so without this the append-only file would grow forever.
const DefaultCompactMinBytes = 64 << 20

// ErrCorrupt is wrapped by the error Open returns when the data file is not a
// valid buntdb file (garbage in the middle, not just a torn tail). The file
// is left untouched so that an operator can inspect, repair or restore it;
// starting on an empty or partial database instead would silently lose data.
var ErrCorrupt = errors.New("store: data file corrupt")

// ErrWriteInScan is returned by Tx.Set and Tx.Delete when they are called
// from inside a Tx.Scan callback: buntdb cannot mutate its b-tree while
// iterating it. Collect the keys and write them after Scan returns.
var ErrWriteInScan = errors.New("store: Set or Delete called inside a Scan callback")

// errTxDone is returned when a Tx is used after the function it was passed
// to has returned.
var errTxDone = errors.New("store: transaction used after its function returned")

// Options configures Open. The zero value is ready to use.
type Options struct {
	// Logger receives open/compaction/failure events. nil discards them.
	Logger *slog.Logger
	// CompactMinBytes is the data-file size at which Open compacts the file
	// if it is also more than twice the size of its live data. 0 means
	// DefaultCompactMinBytes; a negative value disables compaction.
	CompactMinBytes int64
}

// DB is the buntdb-backed Store: one append-only file in a locked data dir,
// every acknowledged Update fsynced. Open it with Open; it is safe for
// concurrent use.
type DB struct {
	dir    string
	path   string
	logger *slog.Logger

	// mu is held shared by every View/Update for its whole duration and
	// exclusively by Close, so that Close never pulls buntdb or the sync fd
	// out from under a running transaction.
	mu sync.RWMutex
	// closed is set by Close under mu; atomic so that Healthy (a health
	// probe) never blocks behind a Close that waits for a long View.
	closed atomic.Bool

	bdb      *buntdb.DB
	syncFile *os.File // our own fd on the data file; see syncData
	lockFile *os.File // holds the flock on dir/LOCK

	// syncData makes everything buntdb has written durable. It is
	// syncFile.Sync in production; a field so tests can make it fail.
	syncData func() error

	// syncMu serialises syncData with the failed-state check, so that an
	// fsync error reported to one Update (Linux reports a writeback error
	// once per file description) also fails every Update whose sync ran
	// concurrently and might have reported success over the same lost pages.
	syncMu sync.Mutex
	// failMu guards failErr: once set, the store refuses writes until it is
	// reopened, because after a failed fsync the kernel may have dropped the
	// dirty pages and there is no way to know what reached the disk.
	failMu  sync.Mutex
	failErr error
}

var _ Store = (*DB)(nil)

// Open opens (creating if needed) the store in dir: it takes the dir's
// exclusive lock (ErrLocked if held), loads dir/aroundme.db (ErrCorrupt if
// it is not valid; a torn final record is discarded), compacts the file if it
// has grown large, and makes all of that durable before returning.
func Open(dir string, opts Options) (*DB, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := mkdirDurable(dir); err != nil {
		return nil, fmt.Errorf("store: create data dir %s: %w", dir, err)
	}
	lockFile, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	d := &DB{
		dir:      dir,
		path:     filepath.Join(dir, DataFileName),
		logger:   logger,
		lockFile: lockFile,
	}
	if err := d.open(opts); err != nil {
		if d.bdb != nil {
			_ = d.bdb.Close()
		}
		if d.syncFile != nil {
			_ = d.syncFile.Close()
		}
		_ = lockFile.Close()
		return nil, err
	}
	return d, nil
}

// open does the part of Open that runs under the dir lock.
func (d *DB) open(opts Options) error {
	start := time.Now()
	tmp := d.path + compactTmpSuffix
	if err := os.Remove(tmp); err == nil {
		d.logger.Warn("store: removed leftover compaction file", "file", tmp)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: remove leftover %s: %w", tmp, err)
	}

	var sizeBefore int64 = -1
	if fi, err := os.Stat(d.path); err == nil {
		sizeBefore = fi.Size()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: stat %s: %w", d.path, err)
	}
	bdb, err := openBunt(d.path)
	if err != nil {
		return err
	}
	d.bdb = bdb
	if fi, err := os.Stat(d.path); err == nil && sizeBefore > fi.Size() {
		// buntdb truncated a torn final record (see the package doc).
		d.logger.Warn("store: discarded torn record at end of data file",
			"file", d.path, "offset", fi.Size(), "bytes", sizeBefore-fi.Size())
	}

	minBytes := opts.CompactMinBytes
	if minBytes == 0 {
		minBytes = DefaultCompactMinBytes
	}
	if minBytes > 0 {
		// Must run before syncFile is opened: compaction replaces the file
		// (new inode), and syncFile has to refer to the one buntdb appends to.
		if err := d.maybeCompact(minBytes); err != nil {
			return err
		}
	}

	// Our own descriptor on the data file, opened after buntdb's and kept for
	// the lifetime of the DB. buntdb ignores fsync errors; Linux reports a
	// writeback error to every file description that was open when it
	// happened, so fsync on this fd tells us what buntdb's fsync swallowed.
	f, err := os.Open(d.path)
	if err != nil {
		return fmt.Errorf("store: open %s for sync: %w", d.path, err)
	}
	d.syncFile = f
	d.syncData = f.Sync
	// Make creation, a torn-tail truncation or a compaction durable now,
	// before the first write is acknowledged on top of it.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: fsync %s: %w", d.path, err)
	}
	if err := syncDir(d.dir); err != nil {
		return fmt.Errorf("store: fsync data dir %s: %w", d.dir, err)
	}

	var keys int
	_ = d.bdb.View(func(tx *buntdb.Tx) error {
		keys, _ = tx.Len()
		return nil
	})
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	d.logger.Info("store: opened", "file", d.path, "keys", keys, "bytes", size,
		"took", time.Since(start))
	return nil
}

// openBunt opens the buntdb file at path with our durability settings and
// classifies load failures: a file buntdb cannot parse is ErrCorrupt (and
// left untouched), anything else (permissions, I/O) is returned as is.
func openBunt(path string) (bdb *buntdb.DB, err error) {
	defer func() {
		// buntdb v1.3.0 indexes into command parts without bounds checks, so
		// some garbage (e.g. an empty command name) panics inside Open. That
		// is corruption too. (The panicking Open leaks its file descriptor;
		// there is nothing we can do about that from outside.)
		if r := recover(); r != nil {
			bdb = nil
			err = corruptError(path, fmt.Errorf("buntdb panicked while loading: %v", r))
		}
	}()
	bdb, err = buntdb.Open(path)
	if err != nil {
		var numErr *strconv.NumError
		if errors.Is(err, buntdb.ErrInvalid) || errors.As(err, &numErr) {
			return nil, corruptError(path, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	var cfg buntdb.Config
	if err := bdb.ReadConfig(&cfg); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store: read buntdb config: %w", err)
	}
	// Always: buntdb fsyncs (under its write lock) before a commit becomes
	// visible, so readers never see data that is not on disk yet; we fsync
	// again on our own fd to learn about errors (see DB.Update).
	cfg.SyncPolicy = buntdb.Always
	// The background shrink renames a new file over the data file, which
	// would leave syncFile pointing at the old, unlinked inode (our fsyncs
	// would then cover nothing); it also never fsyncs the new file before
	// the rename. We compact at Open instead (maybeCompact).
	cfg.AutoShrinkDisabled = true
	if err := bdb.SetConfig(cfg); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store: set buntdb config: %w", err)
	}
	return bdb, nil
}

func corruptError(path string, cause error) error {
	return fmt.Errorf("store: data file %s is corrupt and was left untouched "+
		"(restore it from a backup or repair it, then restart): %w: %w",
		path, ErrCorrupt, cause)
}

// maybeCompact rewrites the data file with one SET per live key when it is
// larger than minBytes and more than twice its live size. It writes a
// snapshot to a temporary file, fsyncs it, renames it over the data file,
// fsyncs the dir and reopens buntdb on the result, so a crash at any point
// leaves either the old file or the complete new one. (buntdb's own Shrink
// does not fsync the new file before the rename, so it is not used.)
func (d *DB) maybeCompact(minBytes int64) error {
	fi, err := os.Stat(d.path)
	if err != nil {
		return fmt.Errorf("store: stat %s: %w", d.path, err)
	}
	if fi.Size() < minBytes {
		return nil
	}
	var live int64
	_ = d.bdb.View(func(tx *buntdb.Tx) error {
		return tx.Ascend("", func(k, v string) bool {
			live += aofSetSize(k, v)
			return true
		})
	})
	if fi.Size() <= 2*live {
		return nil
	}
	start := time.Now()
	tmp := d.path + compactTmpSuffix
	if err := d.writeSnapshot(tmp); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: compact %s: %w", d.path, err)
	}
	if err := d.bdb.Close(); err != nil {
		d.bdb = nil
		_ = os.Remove(tmp)
		return fmt.Errorf("store: compact %s: close: %w", d.path, err)
	}
	d.bdb = nil
	if err := os.Rename(tmp, d.path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("store: compact %s: %w", d.path, err)
	}
	if err := syncDir(d.dir); err != nil {
		return fmt.Errorf("store: compact %s: fsync dir: %w", d.path, err)
	}
	bdb, err := openBunt(d.path)
	if err != nil {
		return fmt.Errorf("store: reopen after compaction: %w", err)
	}
	d.bdb = bdb
	var after int64
	if fi, err := os.Stat(d.path); err == nil {
		after = fi.Size()
	}
	d.logger.Info("store: compacted data file", "file", d.path,
		"bytes_before", fi.Size(), "bytes_after", after, "took", time.Since(start))
	return nil
}

// writeSnapshot writes every live key of d.bdb to path as buntdb SET records
// and fsyncs it.
func (d *DB) writeSnapshot(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = d.bdb.Save(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// aofSetSize is the size of the buntdb AOF record "SET k v"
// (*3\r\n$3\r\nset\r\n$len\r\nk\r\n$len\r\nv\r\n).
func aofSetSize(k, v string) int64 {
	bulk := func(n int) int64 { return int64(1 + len(strconv.Itoa(n)) + 2 + n + 2) }
	return 4 + bulk(3) + bulk(len(k)) + bulk(len(v))
}

// View implements Store.View. It keeps working after the store has entered
// the failed state (Healthy() != nil). Note that the failed Update whose
// fsync failed had already been applied in memory, so reads in that state may
// see it; a restart reloads what is actually on disk.
func (d *DB) View(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed.Load() {
		return d.closedError()
	}
	btx, err := d.bdb.Begin(false)
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	t := &tx{btx: btx}
	defer func() {
		t.btx = nil
		_ = btx.Rollback()
	}()
	return fn(t)
}

// Update implements Store.Update: fn's writes are committed to buntdb and
// then fsynced through our own descriptor before Update returns nil.
//
// If fn returns an error (or panics), everything it wrote is rolled back and
// fn's error is returned unchanged. If the commit's write or the fsync fails,
// Update returns an error wrapping ErrUnavailable and the store enters the
// failed state: every later Update returns that error at once and Healthy
// reports it, until the process reopens the store.
func (d *DB) Update(ctx context.Context, fn func(Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed.Load() {
		return d.closedError()
	}
	if err := d.failure(); err != nil {
		return err
	}
	btx, err := d.bdb.Begin(true)
	if err != nil {
		return fmt.Errorf("store: begin write: %w", err)
	}
	t := &tx{btx: btx, writable: true}
	// We drive Begin/Commit ourselves rather than through buntdb's Update:
	// its managed transaction commits (!) the partial writes of an fn that
	// panics, because its deferred commit sees a nil error.
	finished := false
	defer func() {
		t.btx = nil
		if !finished { // fn returned an error, panicked or called Goexit
			_ = btx.Rollback()
		}
	}()
	if err := fn(t); err != nil {
		return err
	}
	finished = true
	t.btx = nil
	if err := btx.Commit(); err != nil {
		// buntdb has rolled back memory and truncated any partial write.
		return d.fail(fmt.Errorf("store: write to %s failed, refusing further writes: %w: %w",
			d.path, ErrUnavailable, err))
	}
	if !t.dirty {
		return nil // nothing was written, nothing to make durable
	}
	d.syncMu.Lock()
	defer d.syncMu.Unlock()
	if err := d.syncData(); err != nil {
		return d.fail(fmt.Errorf("store: fsync %s failed, refusing further writes until restart: %w: %w",
			d.path, ErrUnavailable, err))
	}
	// Another Update's fsync may have failed over the same dirty pages just
	// before ours succeeded; our data is then not known to be durable.
	return d.failure()
}

// Healthy implements Store.Healthy: nil while writes are accepted, otherwise
// the error that put the store into the failed state (or a closed error).
func (d *DB) Healthy() error {
	if err := d.failure(); err != nil {
		return err
	}
	if d.closed.Load() {
		return d.closedError()
	}
	return nil
}

// Close implements Store.Close. It waits for running transactions, closes
// buntdb and our sync descriptor, and releases the data-dir lock. Closing
// twice is a no-op.
func (d *DB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() {
		return nil
	}
	d.closed.Store(true)
	var errs []error
	if err := d.bdb.Close(); err != nil {
		errs = append(errs, fmt.Errorf("store: close buntdb: %w", err))
	}
	if err := d.syncFile.Close(); err != nil {
		errs = append(errs, fmt.Errorf("store: close %s: %w", d.path, err))
	}
	if err := d.lockFile.Close(); err != nil {
		errs = append(errs, fmt.Errorf("store: release lock: %w", err))
	}
	d.logger.Info("store: closed", "file", d.path)
	return errors.Join(errs...)
}

func (d *DB) closedError() error {
	return fmt.Errorf("store: %s is closed: %w", d.path, ErrUnavailable)
}

func (d *DB) failure() error {
	d.failMu.Lock()
	defer d.failMu.Unlock()
	return d.failErr
}

// fail puts the store into the failed state (keeping the first cause) and
// returns err.
func (d *DB) fail(err error) error {
	d.failMu.Lock()
	first := d.failErr == nil
	if first {
		d.failErr = err
	}
	d.failMu.Unlock()
	if first {
		d.logger.Error("store: writes disabled", "file", d.path, "err", err)
	}
	return err
}

// tx adapts a buntdb transaction to Tx.
type tx struct {
	btx      *buntdb.Tx // nil once the transaction's function has returned
	writable bool
	dirty    bool // a Set or Delete took effect, so Update must fsync
}

func (t *tx) Get(key string) ([]byte, error) {
	if t.btx == nil {
		return nil, errTxDone
	}
	v, err := t.btx.Get(key)
	if err != nil {
		return nil, mapErr(err)
	}
	return []byte(v), nil // a copy: the caller may keep it
}

func (t *tx) Peek(key string, fn func([]byte) error) error {
	if t.btx == nil {
		return errTxDone
	}
	v, err := t.btx.Get(key)
	if err != nil {
		return mapErr(err)
	}
	// buntdb's value is an immutable string; fn must not modify it.
	return fn(unsafe.Slice(unsafe.StringData(v), len(v)))
}

func (t *tx) Set(key string, value []byte) error {
	// string(value) copies, so the caller may reuse its buffer.
	return t.set(key, string(value))
}

func (t *tx) SetOwned(key string, value []byte) error {
	// The caller gave value up: buntdb may keep it as its (immutable)
	// string without a copy.
	return t.set(key, unsafe.String(unsafe.SliceData(value), len(value)))
}

func (t *tx) set(key, value string) error {
	if t.btx == nil {
		return errTxDone
	}
	if !t.writable {
		return ErrReadOnlyTx
	}
	if _, _, err := t.btx.Set(key, value, nil); err != nil {
		return mapErr(err)
	}
	t.dirty = true
	return nil
}

func (t *tx) Delete(key string) error {
	if t.btx == nil {
		return errTxDone
	}
	if !t.writable {
		return ErrReadOnlyTx
	}
	if _, err := t.btx.Delete(key); err != nil {
		return mapErr(err)
	}
	t.dirty = true
	return nil
}

// Scan walks buntdb's key b-tree (the "" index, ordered by Go string
// comparison, i.e. bytewise) from max(prefix, after) and stops at the first
// key without the prefix. The value slice aliases buntdb's immutable string
// without copying: fn must not modify it (retaining it is harmless but not
// part of the contract).
func (t *tx) Scan(prefix, after string, fn func(key string, value []byte) bool) error {
	if t.btx == nil {
		return errTxDone
	}
	start := prefix
	if after > prefix {
		start = after
	}
	err := t.btx.AscendGreaterOrEqual("", start, func(k, v string) bool {
		if after != "" && k == after {
			return true // strictly after
		}
		if !strings.HasPrefix(k, prefix) {
			return false
		}
		return fn(k, unsafe.Slice(unsafe.StringData(v), len(v)))
	})
	return mapErr(err)
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, buntdb.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, buntdb.ErrTxIterating):
		return ErrWriteInScan
	case errors.Is(err, buntdb.ErrTxNotWritable):
		return ErrReadOnlyTx
	case errors.Is(err, buntdb.ErrTxClosed):
		return errTxDone
	}
	return fmt.Errorf("store: %w", err)
}

// mkdirDurable creates dir (and parents) if missing, fsyncing the parent of
// every directory it creates so the new entries survive a crash.
func mkdirDurable(dir string) error {
	dir = filepath.Clean(dir)
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirDurable(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it are durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
