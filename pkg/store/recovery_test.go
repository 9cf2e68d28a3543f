package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tornRecords writes n records, each in its own Update, closes the store and
// returns the keys, values and the file's bytes.
func tornRecords(t *testing.T, n int) (keys []string, vals [][]byte, data []byte) {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		k := fmt.Sprintf("rec/%02d", i)
		// Binary, with things that look like record boundaries inside.
		v := fmt.Appendf(nil, "\x00val %d\r\n*3\r\n$3\r\nset\r\n\x00\r", i)
		mustSet(t, db, k, v)
		keys, vals = append(keys, k), append(vals, v)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return keys, vals, readData(t, dir)
}

// checkRecords asserts that the first n records are intact.
func checkRecords(t *testing.T, db Store, keys []string, vals [][]byte, n int) {
	t.Helper()
	for i := range n {
		if v, ok := get(t, db, keys[i]); !ok || !bytes.Equal(v, vals[i]) {
			t.Fatalf("record %s: got %q (found=%v); want %q", keys[i], v, ok, vals[i])
		}
	}
}

// A crash mid-append leaves the file ending anywhere inside the last record.
// For every such length, Open must succeed with all earlier records intact
// and the torn one absent, and the store must keep working on top of it.
func TestTornTail(t *testing.T) {
	const n = 5
	keys, vals, data := tornRecords(t, n)
	last := aofSet(keys[n-1], vals[n-1])
	if !bytes.HasSuffix(data, last) {
		t.Fatalf("file does not end with the last record's encoding %q", last)
	}
	start := len(data) - len(last)
	base := t.TempDir()

	for off := start; off <= len(data); off++ {
		dir := filepath.Join(base, strconv.Itoa(off))
		writeData(t, dir, data[:off])
		db, err := Open(dir, quiet)
		if err != nil {
			t.Fatalf("Open with file cut at %d (last record spans %d..%d): %v", off, start, len(data), err)
		}
		checkRecords(t, db, keys, vals, n-1)
		_, ok := get(t, db, keys[n-1])
		if complete := off == len(data); ok != complete {
			t.Fatalf("cut at %d: last record present=%v; want %v", off, ok, complete)
		}
		// buntdb truncated the torn record away (and nothing else).
		wantSize := start
		if off == len(data) {
			wantSize = len(data)
		}
		if got := len(readData(t, dir)); got != wantSize {
			t.Fatalf("cut at %d: file is %d bytes after Open; want %d", off, got, wantSize)
		}
		// Appending after the truncation yields a valid file.
		mustSet(t, db, "after", []byte("a\r\nb"))
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		db, err = Open(dir, quiet)
		if err != nil {
			t.Fatalf("cut at %d: reopen after a write: %v", off, err)
		}
		checkRecords(t, db, keys, vals, n-1)
		if v, _ := get(t, db, "after"); string(v) != "a\r\nb" {
			t.Fatalf("cut at %d: write after recovery lost: %q", off, v)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Some filesystems can leave the blocks of an unsynced append zero-filled
// after a crash. buntdb skips NUL bytes between commands, so a tail of
// zeros where whole records should be is harmless.
func TestZeroFilledTail(t *testing.T) {
	const n = 3
	keys, vals, data := tornRecords(t, n)
	for _, zeros := range []int{1, 10, 4096} {
		t.Run(strconv.Itoa(zeros), func(t *testing.T) {
			dir := t.TempDir()
			writeData(t, dir, append(bytes.Clone(data), make([]byte, zeros)...))
			db, err := Open(dir, quiet)
			if err != nil {
				t.Fatal(err)
			}
			checkRecords(t, db, keys, vals, n)
			mustSet(t, db, "after", []byte("x")) // overwrites the zeros
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = openT(t, dir, quiet)
			checkRecords(t, db, keys, vals, n)
			if v, _ := get(t, db, "after"); string(v) != "x" {
				t.Fatalf("after = %q", v)
			}
		})
	}
}

func TestCorruptFileIsRefusedAndLeftUntouched(t *testing.T) {
	keys, vals, data := tornRecords(t, 4)
	// Where record 2 begins and its value's length line.
	rec2 := bytes.Index(data, aofSet(keys[2], vals[2]))
	lenLine := []byte("$" + strconv.Itoa(len(vals[2])) + "\r\n")
	valLen := rec2 + bytes.Index(data[rec2:], lenLine)
	last := aofSet(keys[3], vals[3])
	lastStart := len(data) - len(last)
	lastHeader := last[:bytes.Index(last, []byte("$"+strconv.Itoa(len(vals[3]))+"\r\n"))+len(lenLine)]

	splice := func(at int, insert string) []byte {
		return append(append(bytes.Clone(data[:at]), insert...), data[at:]...)
	}
	replace := func(at int, with string) []byte {
		b := bytes.Clone(data)
		copy(b[at:], with)
		return b
	}
	tests := []struct {
		name string
		file []byte
	}{
		{"garbage between records", splice(rec2, "garbage\r\n")},
		{"record marker overwritten", replace(rec2, "#")},
		{"value length off by one", replace(valLen+1, strconv.Itoa(len(vals[2])-1))},
		{"unknown command", splice(rec2, "*2\r\n$4\r\nincr\r\n$1\r\nk\r\n")},
		{"empty command name (buntdb panics)", splice(rec2, "*1\r\n$0\r\n\r\n")},
		{"short command name (buntdb panics)", splice(rec2, "*1\r\n$1\r\ns\r\n")},
		// A crash that extended the file but left the new record's data
		// zero-filled after its header is also refused (not a clean prefix).
		{"last record zero-filled after its header", append(
			append(bytes.Clone(data[:lastStart]), lastHeader...),
			make([]byte, len(vals[3])+2)...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeData(t, dir, tc.file)
			db, err := Open(dir, testOptions(t))
			if err == nil {
				_ = db.Close()
				t.Fatal("Open of a corrupt file succeeded")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v; want ErrCorrupt", err)
			}
			path := filepath.Join(dir, DataFileName)
			if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "left untouched") {
				t.Errorf("error %q should name %s and say it was left untouched", msg, path)
			}
			t.Logf("error: %v", err)
			if got := readData(t, dir); !bytes.Equal(got, tc.file) {
				t.Fatalf("Open modified the corrupt file (%d -> %d bytes)", len(tc.file), len(got))
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != DataFileName && e.Name() != LockFileName {
					t.Errorf("Open left %s behind", e.Name())
				}
			}
			// The lock was released: a retry fails the same way.
			if _, err := Open(dir, quiet); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("second Open = %v; want ErrCorrupt again", err)
			}
		})
	}
}

// Characterises a limit of buntdb's format (documented in doc.go): an Update
// is written as consecutive commands without a transaction frame, so a crash
// in the middle of writing a multi-key Update can leave some of its keys
// applied after the restart. (That Update was never acknowledged.)
func TestTornMultiKeyUpdateLeavesPrefix(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, quiet)
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, db, "base", []byte("b"))
	multi := map[string][]byte{"m/1": []byte("one"), "m/2": []byte("two"), "m/3": []byte("three")}
	mustUpdate(t, db, func(tx Tx) error {
		for k, v := range multi {
			if err := tx.Set(k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data := readData(t, dir)
	// buntdb writes a transaction's keys in map order; find the first one.
	tail := len(data)
	for _, v := range multi {
		tail -= len(aofSet("m/x", v))
	}
	first := ""
	for k, v := range multi {
		if bytes.HasPrefix(data[tail:], aofSet(k, v)) {
			first = k
		}
	}
	if first == "" {
		t.Fatal("could not find the multi-key Update's first record")
	}
	cut := tail + len(aofSet(first, multi[first])) + 3 // into the second one

	torn := t.TempDir()
	writeData(t, torn, data[:cut])
	db = openT(t, torn, quiet)
	for k := range multi {
		_, ok := get(t, db, k)
		if ok != (k == first) {
			t.Errorf("%s present=%v; want only %s (the complete prefix) present", k, ok, first)
		}
	}
	if v, _ := get(t, db, "base"); string(v) != "b" {
		t.Error("base lost")
	}
}

// Open's own I/O errors are not reported as corruption.
func TestOpenIOErrorIsNotCorrupt(t *testing.T) {
	dir := t.TempDir()
	// A directory where the data file should be: open(2) fails with EISDIR.
	if err := os.Mkdir(filepath.Join(dir, DataFileName), 0o750); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, quiet)
	if err == nil || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v; want a non-corruption error", err)
	}
	t.Logf("error: %v", err)
	if _, err := Open(dir, quiet); errors.Is(err, ErrLocked) {
		t.Fatal("failed Open did not release the lock")
	}
}
