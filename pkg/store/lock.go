package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFileName is the file inside the data dir that Open locks with
// flock(2). It is never deleted: deleting a lock file while another process
// may be about to lock it would let two processes each hold a "lock" on a
// different inode. Its content (the holder's PID) is only a diagnostic.
const LockFileName = "LOCK"

// ErrLocked is wrapped by the error Open returns when another process (or
// another DB in this process) already holds the data dir. Two writers on one
// append-only file would interleave their records and corrupt it, so the
// second one must refuse to start rather than wait.
var ErrLocked = errors.New("store: data dir locked")

// lockDir takes an exclusive, non-blocking flock on dir/LOCK and returns the
// open file that holds it; closing that file (or the process dying, however
// it dies) releases the lock.
//
// flock locks belong to the open file description, not to the process, so a
// second lockDir on the same dir conflicts even inside one process (unlike
// POSIX fcntl locks, which a process never conflicts with itself on).
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockFileName)
	// os.OpenFile sets O_CLOEXEC, so a child process never inherits the lock.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: open lock file: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		holder := readLockHolder(f)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("store: data dir %s is in use by another aroundme process%s: %w",
				dir, holder, ErrLocked)
		}
		return nil, fmt.Errorf("store: lock %s: %w", path, err)
	}
	// Record who holds the lock, for the error message of the next contender
	// and for humans. Best effort: the lock itself is what matters.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// readLockHolder returns " (pid N)" from a lock file written by lockDir, or
// "" if it holds nothing usable (e.g. the holder has not written it yet).
func readLockHolder(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid := strings.TrimSpace(string(buf[:n]))
	if _, err := strconv.Atoi(pid); err != nil || pid == "" {
		return ""
	}
	return " (pid " + pid + ")"
}
