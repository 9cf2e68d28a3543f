// Package store is the persistence seam of the service (the Store and Tx
// interfaces) and its embedded implementation on top of buntdb
// (github.com/tidwall/buntdb v1.3.0): an in-memory b-tree of all keys backed
// by one append-only file, dir/aroundme.db.
//
// # Records
//
// One key per record: every entity is stored under its own key with an
// opaque (proto-encoded) value, and buntdb appends one RESP command per
// written key ("*3\r\n$3\r\nset\r\n$<n>\r\n<key>\r\n$<n>\r\n<value>\r\n", or
// "*2 del key"). Every part is length-prefixed, so values may contain any
// bytes, including "\r\n" and NUL, and round-trip through a reload. Keys are
// ordered bytewise, which Tx.Scan relies on.
//
// # Durability: fsync before acknowledging
//
// Update returns nil only after the commit's bytes are on stable storage.
// buntdb is configured with SyncPolicy Always (it fsyncs under its write lock
// before the commit becomes visible to readers), but it discards the result
// of that fsync ("_ = file.Sync()"). A failed fsync must not be acknowledged
// as durable, so DB keeps its own descriptor on the data file, opened after
// buntdb's, and fsyncs it after every commit that wrote something: Linux
// (since 4.13) reports a writeback error to every file description that was
// open when it occurred, so our fsync sees the error buntdb swallowed. On a
// failed fsync or a failed commit write, Update returns an error wrapping
// ErrUnavailable and the store stops accepting writes until it is reopened
// (after a failed fsync the kernel may have dropped the dirty pages, so what
// is on disk is unknown); reads keep working. Healthy reports the cause.
//
// buntdb's background auto-shrink is disabled: it renames a new file over the
// data file (our descriptor would then fsync the old, unlinked inode) and
// does not fsync the new file before the rename. Instead Open compacts the
// file itself when it exceeds Options.CompactMinBytes (default 64 MiB) and is
// more than twice its live size: snapshot to a temporary file, fsync, rename
// over the data file, fsync the directory, reopen — a crash at any point
// leaves either the old or the new complete file.
//
// Crash atomicity of a multi-key Update is NOT guaranteed by the file format:
// buntdb writes an Update's commands in one write(2) but without a
// transaction frame, so if the process dies mid-write, a complete prefix of
// that (never acknowledged) Update's commands survives the restart. Updates
// that were acknowledged are always complete.
//
// # Torn tail
//
// A crash during an append can leave the file ending in the middle of a
// command. buntdb tolerates that: readLoad (buntdb.go v1.3.0) turns an EOF in
// the middle of a command into io.ErrUnexpectedEOF and returns the byte size
// of the complete commands before it, and load then truncates the file to
// that size ("The db file has ended mid-command, which is allowed but the
// data file should be truncated to the end of the last valid command") and
// appends from there. The discarded command belongs to an Update that was
// never acknowledged. Open logs a warning with the number of bytes buntdb
// discarded; the truncation is fsynced before Open returns. NUL bytes between
// commands (e.g. a zero-filled tail left by some filesystems after a crash)
// are skipped.
//
// # Corruption
//
// Anything else buntdb cannot parse (garbage in the middle, a bad length
// prefix, an unknown command) makes Open fail with an error wrapping
// ErrCorrupt that names the file. The file is never rewritten, truncated or
// deleted in that case: starting on a partial database would silently drop
// acknowledged data, so an operator must restore or repair it. buntdb has no
// checksums, so a flipped bit inside a value is not detected.
//
// # Lock
//
// Only one process may append to the file. Open takes flock(LOCK_EX|LOCK_NB)
// on dir/LOCK and fails with ErrLocked if another process (or another DB in
// this process: flock locks belong to open file descriptions) holds it. The
// kernel releases the lock when the process exits, however it exits, so a
// crash never leaves a stale lock behind.
package store
