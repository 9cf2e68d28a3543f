package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestCRUD(t *testing.T) {
	db := openT(t, t.TempDir(), testOptions(t))
	ctx := context.Background()

	if _, ok := get(t, db, "k"); ok {
		t.Fatal("missing key found")
	}
	mustSet(t, db, "k", []byte("v1"))
	if v, ok := get(t, db, "k"); !ok || string(v) != "v1" {
		t.Fatalf("get = %q, %v; want v1", v, ok)
	}
	mustSet(t, db, "k", []byte("v2"))
	if v, _ := get(t, db, "k"); string(v) != "v2" {
		t.Fatalf("after overwrite get = %q; want v2", v)
	}
	mustSet(t, db, "empty", []byte{})
	if v, ok := get(t, db, "empty"); !ok || len(v) != 0 {
		t.Fatalf("empty value: get = %q, %v", v, ok)
	}

	// Set copies its argument; Get returns a copy.
	buf := []byte("orig")
	mustSet(t, db, "copy", buf)
	copy(buf, "XXXX")
	v, _ := get(t, db, "copy")
	if string(v) != "orig" {
		t.Fatalf("Set did not copy: %q", v)
	}
	copy(v, "YYYY")
	if v, _ := get(t, db, "copy"); string(v) != "orig" {
		t.Fatalf("Get did not copy: %q", v)
	}

	mustUpdate(t, db, func(tx Tx) error { return tx.Delete("k") })
	if _, ok := get(t, db, "k"); ok {
		t.Fatal("deleted key still there")
	}
	err := db.Update(ctx, func(tx Tx) error { return tx.Delete("k") })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete(missing) = %v; want ErrNotFound", err)
	}

	// SetOwned keeps the value; Peek reads it in place, and reports
	// ErrNotFound and fn's error.
	mustUpdate(t, db, func(tx Tx) error { return tx.SetOwned("owned", []byte("mine")) })
	if v, _ := get(t, db, "owned"); string(v) != "mine" {
		t.Fatalf("SetOwned wrote %q", v)
	}
	fnErr := errors.New("fn")
	err = db.View(ctx, func(tx Tx) error {
		var got string
		if err := tx.Peek("owned", func(v []byte) error { got = string(v); return nil }); err != nil || got != "mine" {
			return fmt.Errorf("Peek = %q, %v", got, err)
		}
		if err := tx.Peek("missing", func([]byte) error { return fnErr }); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("Peek(missing) = %v; want ErrNotFound", err)
		}
		if err := tx.Peek("owned", func([]byte) error { return fnErr }); err != fnErr {
			return fmt.Errorf("Peek's fn error came back as %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Writes are visible inside their own transaction.
	mustUpdate(t, db, func(tx Tx) error {
		if err := tx.Set("in-tx", []byte("x")); err != nil {
			return err
		}
		v, err := tx.Get("in-tx")
		if err != nil || string(v) != "x" {
			return fmt.Errorf("own write: %q, %v", v, err)
		}
		return nil
	})
}

func TestReadOnlyTx(t *testing.T) {
	db := openT(t, t.TempDir(), testOptions(t))
	mustSet(t, db, "k", []byte("v"))
	err := db.View(context.Background(), func(tx Tx) error {
		if err := tx.Set("k", []byte("x")); !errors.Is(err, ErrReadOnlyTx) {
			t.Errorf("Set in View = %v; want ErrReadOnlyTx", err)
		}
		if err := tx.Delete("k"); !errors.Is(err, ErrReadOnlyTx) {
			t.Errorf("Delete in View = %v; want ErrReadOnlyTx", err)
		}
		if err := tx.SetOwned("k", []byte("x")); !errors.Is(err, ErrReadOnlyTx) {
			t.Errorf("SetOwned in View = %v; want ErrReadOnlyTx", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := get(t, db, "k"); string(v) != "v" {
		t.Fatalf("value changed by View: %q", v)
	}
}

func TestRollbackOnError(t *testing.T) {
	db := openT(t, t.TempDir(), testOptions(t))
	mustSet(t, db, "keep", []byte("old"))
	mustSet(t, db, "gone", []byte("old"))
	sentinel := errors.New("boom")
	err := db.Update(context.Background(), func(tx Tx) error {
		for _, op := range []error{
			tx.Set("keep", []byte("new")),
			tx.Set("fresh", []byte("new")),
			tx.Delete("gone"),
		} {
			if op != nil {
				return op
			}
		}
		return sentinel
	})
	if err != sentinel { // unchanged, not wrapped
		t.Fatalf("Update = %v; want the fn's error unchanged", err)
	}
	if db.Healthy() != nil {
		t.Fatalf("fn error made the store unhealthy: %v", db.Healthy())
	}
	checkRolledBack(t, db)

	// Same after a restart: nothing of the failed Update reached the file.
	dir := filepath.Dir(db.path)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	checkRolledBack(t, openT(t, dir, testOptions(t)))
}

func checkRolledBack(t *testing.T, db *DB) {
	t.Helper()
	if v, _ := get(t, db, "keep"); string(v) != "old" {
		t.Errorf("keep = %q; want old", v)
	}
	if _, ok := get(t, db, "fresh"); ok {
		t.Error("fresh was applied")
	}
	if _, ok := get(t, db, "gone"); !ok {
		t.Error("gone was deleted")
	}
}

// buntdb's own managed Update would commit the partial writes of a panicking
// fn; ours must roll back, re-panic, and leave the store usable.
func TestRollbackOnPanicAndGoexit(t *testing.T) {
	db := openT(t, t.TempDir(), testOptions(t))
	func() {
		defer func() {
			if r := recover(); r != "kaboom" {
				t.Errorf("recovered %v; want kaboom", r)
			}
		}()
		_ = db.Update(context.Background(), func(tx Tx) error {
			_ = tx.Set("panicked", []byte("x"))
			panic("kaboom")
		})
	}()
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = db.Update(context.Background(), func(tx Tx) error {
			_ = tx.Set("goexited", []byte("x"))
			runtime.Goexit()
			return nil
		})
	})
	wg.Wait()
	for _, k := range []string{"panicked", "goexited"} {
		if _, ok := get(t, db, k); ok {
			t.Errorf("%s: write of an aborted Update was applied", k)
		}
	}
	mustSet(t, db, "after", []byte("ok")) // no lock was leaked
}

func TestTxUnusableAfterReturn(t *testing.T) {
	db := openT(t, t.TempDir(), testOptions(t))
	var leaked Tx
	mustUpdate(t, db, func(tx Tx) error { leaked = tx; return nil })
	if err := leaked.Set("k", nil); err == nil {
		t.Error("Set on a finished Tx succeeded")
	}
	if _, err := leaked.Get("k"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Get on a finished Tx = %v", err)
	}
}

func TestContextCanceled(t *testing.T) {
	db := openT(t, t.TempDir(), testOptions(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	fn := func(Tx) error { called = true; return nil }
	if err := db.Update(ctx, fn); !errors.Is(err, context.Canceled) {
		t.Errorf("Update = %v; want context.Canceled", err)
	}
	if err := db.View(ctx, fn); !errors.Is(err, context.Canceled) {
		t.Errorf("View = %v; want context.Canceled", err)
	}
	if called {
		t.Error("fn ran despite a canceled context")
	}
}

func TestScan(t *testing.T) {
	db := openT(t, t.TempDir(), testOptions(t))
	keys := []string{"a", "a/", "a/1", "a/10", "a/2", "a/3", "a0", "b/1", "b/2", "\x00", "a/\xff"}
	mustUpdate(t, db, func(tx Tx) error {
		for _, k := range keys {
			if err := tx.Set(k, []byte("v:"+k)); err != nil {
				return err
			}
		}
		return nil
	})
	all := slices.Clone(keys)
	slices.Sort(all) // bytewise, like Go string comparison

	tests := []struct {
		prefix, after string
		limit         int // stop after this many (0 = no limit)
		want          []string
	}{
		{prefix: "a/", want: []string{"a/", "a/1", "a/10", "a/2", "a/3", "a/\xff"}},
		{prefix: "a/", after: "a/", want: []string{"a/1", "a/10", "a/2", "a/3", "a/\xff"}},
		{prefix: "a/", after: "a/10", want: []string{"a/2", "a/3", "a/\xff"}},
		{prefix: "a/", after: "a/15", want: []string{"a/2", "a/3", "a/\xff"}}, // after need not exist
		{prefix: "a/", after: "a/\xff", want: nil},
		{prefix: "a/", after: "0", want: []string{"a/", "a/1", "a/10", "a/2", "a/3", "a/\xff"}}, // after < prefix
		{prefix: "a/", after: "b", want: nil},
		{prefix: "a/", limit: 2, want: []string{"a/", "a/1"}},
		{prefix: "a/", after: "a/1", limit: 1, want: []string{"a/10"}},
		{prefix: "b/", want: []string{"b/1", "b/2"}},
		{prefix: "c/", want: nil},
		{prefix: "", want: all},
		{prefix: "", after: "a0", want: []string{"b/1", "b/2"}},
		{prefix: "a", want: []string{"a", "a/", "a/1", "a/10", "a/2", "a/3", "a/\xff", "a0"}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q_after_%q_limit_%d", tc.prefix, tc.after, tc.limit), func(t *testing.T) {
			for _, update := range []bool{false, true} {
				var got []string
				fn := func(tx Tx) error {
					return tx.Scan(tc.prefix, tc.after, func(k string, v []byte) bool {
						if string(v) != "v:"+k {
							t.Errorf("value of %q = %q", k, v)
						}
						got = append(got, k)
						return tc.limit == 0 || len(got) < tc.limit
					})
				}
				var err error
				if update {
					err = db.Update(context.Background(), fn)
				} else {
					err = db.View(context.Background(), fn)
				}
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("update=%v: got %q; want %q", update, got, tc.want)
				}
			}
		})
	}
}

func TestScanSeesOwnWritesAndRejectsWritesInCallback(t *testing.T) {
	db := openT(t, t.TempDir(), testOptions(t))
	mustSet(t, db, "p/1", []byte("1"))
	mustUpdate(t, db, func(tx Tx) error {
		if err := tx.Set("p/2", []byte("2")); err != nil {
			return err
		}
		if err := tx.Delete("p/1"); err != nil {
			return err
		}
		var got []string
		err := tx.Scan("p/", "", func(k string, _ []byte) bool {
			got = append(got, k)
			if err := tx.Set("p/3", nil); !errors.Is(err, ErrWriteInScan) {
				t.Errorf("Set in Scan callback = %v; want ErrWriteInScan", err)
			}
			if err := tx.Delete(k); !errors.Is(err, ErrWriteInScan) {
				t.Errorf("Delete in Scan callback = %v; want ErrWriteInScan", err)
			}
			return true
		})
		if !slices.Equal(got, []string{"p/2"}) {
			t.Errorf("Scan in Update saw %q; want [p/2]", got)
		}
		return err
	})
}

// binaryValues are values that would break a line- or NUL-terminated format.
func binaryValues() map[string][]byte {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	return map[string][]byte{
		"bin/all-bytes":     all,
		"bin/crlf":          []byte("\r\n"),
		"bin/crlf-crlf":     []byte("a\r\n\r\nb"),
		"bin/resp":          []byte("*3\r\n$3\r\nset\r\n$1\r\nx\r\n$1\r\ny\r\n"),
		"bin/nul":           {0},
		"bin/nuls":          {0, 0, 0, '\r', '\n', 0},
		"bin/empty":         {},
		"bin/big":           big,
		"bin/key\r\n\x00":   []byte("binary key"),
		"bin/trailing-cr\r": []byte("v\r"),
	}
}

func TestBinaryValuesRoundTripAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	vals := binaryValues()
	db, err := Open(dir, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range vals {
		mustSet(t, db, k, v) // one Update each: one record each
	}
	mustUpdate(t, db, func(tx Tx) error { return tx.Delete("bin/crlf-crlf") })
	delete(vals, "bin/crlf-crlf")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// The file really is length-prefixed RESP: our independent encoding of
	// each record is in it verbatim.
	data := readData(t, dir)
	for k, v := range vals {
		if !bytes.Contains(data, aofSet(k, v)) {
			t.Errorf("record for %q not found in the file in the expected encoding", k)
		}
	}

	db = openT(t, dir, testOptions(t))
	for k, want := range vals {
		if got, ok := get(t, db, k); !ok || !bytes.Equal(got, want) {
			t.Errorf("%q after reopen: got %d bytes (found=%v); want %d bytes", k, len(got), ok, len(want))
		}
	}
	if _, ok := get(t, db, "bin/crlf-crlf"); ok {
		t.Error("deleted key came back after reopen")
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data") // Open creates it
	const n = 5000
	val := func(i int) []byte { return fmt.Appendf(nil, "value-%d-%s", i, strings.Repeat("x", i%97)) }
	db, err := Open(dir, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	for batch := 0; batch < n; batch += 500 {
		mustUpdate(t, db, func(tx Tx) error {
			for i := batch; i < batch+500; i++ {
				if err := tx.Set(fmt.Sprintf("r/%05d", i), val(i)); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil { // idempotent
		t.Fatalf("second Close: %v", err)
	}

	db = openT(t, dir, testOptions(t))
	i := 0
	err = db.View(context.Background(), func(tx Tx) error {
		return tx.Scan("r/", "", func(k string, v []byte) bool {
			if want := fmt.Sprintf("r/%05d", i); k != want || !bytes.Equal(v, val(i)) {
				t.Errorf("record %d: key %q value %q", i, k, v)
				return false
			}
			i++
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("found %d records after restart; want %d", i, n)
	}
}

func TestFailedSyncStopsWrites(t *testing.T) {
	dir := t.TempDir()
	db := openT(t, dir, testOptions(t))
	ctx := context.Background()
	mustSet(t, db, "before", []byte("1"))

	db.syncData = func() error { return syscall.EIO }
	err := db.Update(ctx, func(tx Tx) error { return tx.Set("doomed", []byte("2")) })
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("Update with failing fsync = %v; want ErrUnavailable wrapping EIO", err)
	}
	if h := db.Healthy(); !errors.Is(h, ErrUnavailable) {
		t.Fatalf("Healthy = %v; want ErrUnavailable", h)
	}

	// Later Updates fail fast, without running fn or touching buntdb, even
	// if the disk has "recovered".
	db.syncData = func() error { return nil }
	called := false
	err = db.Update(ctx, func(tx Tx) error { called = true; return nil })
	if !errors.Is(err, ErrUnavailable) || called {
		t.Fatalf("Update in failed state = %v (fn called: %v); want ErrUnavailable, fn not called", err, called)
	}

	// Reads keep working.
	if v, ok := get(t, db, "before"); !ok || string(v) != "1" {
		t.Fatalf("View in failed state: %q, %v", v, ok)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A restart clears the failed state.
	db = openT(t, dir, testOptions(t))
	if db.Healthy() != nil {
		t.Fatalf("Healthy after reopen = %v", db.Healthy())
	}
	mustSet(t, db, "after", []byte("3"))
}

func TestClosedStore(t *testing.T) {
	db, err := Open(t.TempDir(), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	nop := func(Tx) error { return nil }
	if err := db.Update(context.Background(), nop); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Update after Close = %v", err)
	}
	if err := db.View(context.Background(), nop); !errors.Is(err, ErrUnavailable) {
		t.Errorf("View after Close = %v", err)
	}
	if err := db.Healthy(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Healthy after Close = %v", err)
	}
}

// Writers do read-modify-write on a shared counter plus one key of their own
// in one Update; readers check that the two never disagree.
func TestConcurrentUpdatesAndViews(t *testing.T) {
	db := openT(t, t.TempDir(), testOptions(t))
	ctx := context.Background()
	const writers, perWriter, readers = 8, 10, 4
	mustSet(t, db, "count", []byte("0"))

	check := func(tx Tx) error {
		c, err := tx.Get("count")
		if err != nil {
			return err
		}
		n := 0
		if err := tx.Scan("w/", "", func(string, []byte) bool { n++; return true }); err != nil {
			return err
		}
		if string(c) != fmt.Sprint(n) {
			return fmt.Errorf("count=%s but %d w/ keys", c, n)
		}
		return nil
	}

	var wg sync.WaitGroup
	for r := 0; r < readers; r++ {
		wg.Go(func() {
			// A fixed number of reads rather than spinning until the
			// writers finish, which starves them on a loaded machine.
			for range writers * perWriter / 2 {
				if err := db.View(ctx, check); err != nil {
					t.Error(err)
					return
				}
				runtime.Gosched()
			}
		})
	}
	for w := 0; w < writers; w++ {
		wg.Go(func() {
			for i := 0; i < perWriter; i++ {
				err := db.Update(ctx, func(tx Tx) error {
					c, err := tx.Get("count")
					if err != nil {
						return err
					}
					var n int
					fmt.Sscan(string(c), &n)
					if err := tx.Set("count", fmt.Append(nil, n+1)); err != nil {
						return err
					}
					return tx.Set(fmt.Sprintf("w/%d/%03d", w, i), []byte("x"))
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if v, _ := get(t, db, "count"); string(v) != fmt.Sprint(writers*perWriter) {
		t.Fatalf("count = %s; want %d", v, writers*perWriter)
	}
	if err := db.View(ctx, check); err != nil {
		t.Fatal(err)
	}
}

func TestCompactAtOpen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	vals := binaryValues()
	for k, v := range vals {
		mustSet(t, db, k, v)
	}
	// Lots of garbage: 3 MB of records for keys that are then deleted.
	garbage := func(tx Tx, set bool) error {
		for i := 0; i < 300; i++ {
			k := fmt.Sprintf("garbage/%03d", i)
			if !set {
				if err := tx.Delete(k); err != nil {
					return err
				}
			} else if err := tx.Set(k, make([]byte, 10000)); err != nil {
				return err
			}
		}
		return nil
	}
	mustUpdate(t, db, func(tx Tx) error { return garbage(tx, true) })
	mustUpdate(t, db, func(tx Tx) error { return garbage(tx, false) })
	mustSet(t, db, "hot", []byte("old"))
	mustSet(t, db, "hot", []byte("new"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	dataPath := filepath.Join(dir, DataFileName)
	size := func() int64 {
		fi, err := os.Stat(dataPath)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	// A leftover from a crashed compaction is removed.
	if err := os.WriteFile(dataPath+compactTmpSuffix, []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Disabled, or below the threshold: untouched.
	for _, minBytes := range []int64{-1, 0, before + 1} {
		opts := testOptions(t)
		opts.CompactMinBytes = minBytes
		db, err := Open(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		_ = db.Close()
		if size() != before {
			t.Fatalf("CompactMinBytes=%d changed the file size %d -> %d", minBytes, before, size())
		}
	}

	opts := testOptions(t)
	opts.CompactMinBytes = 1 << 10
	db = openT(t, dir, opts)
	after := size()
	if after > before-300*10000 {
		t.Fatalf("compaction: %d -> %d bytes; expected the 3 MB of garbage to be gone", before, after)
	}
	if _, err := os.Stat(dataPath + compactTmpSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("compaction temp file left behind: %v", err)
	}
	check := func(db *DB) {
		t.Helper()
		for k, want := range vals {
			if got, _ := get(t, db, k); !bytes.Equal(got, want) {
				t.Errorf("%q changed by compaction", k)
			}
		}
		if v, _ := get(t, db, "hot"); string(v) != "new" {
			t.Errorf("hot = %q", v)
		}
		if err := db.View(context.Background(), func(tx Tx) error {
			return tx.Scan("garbage/", "", func(k string, _ []byte) bool {
				t.Errorf("deleted key %q resurrected by compaction", k)
				return false
			})
		}); err != nil {
			t.Fatal(err)
		}
	}
	check(db)
	// The compacted file is the one we append to and fsync.
	mustSet(t, db, "post-compaction", []byte("x"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openT(t, dir, testOptions(t))
	check(db)
	if _, ok := get(t, db, "post-compaction"); !ok {
		t.Fatal("write after compaction lost")
	}
}

// TestCommitter: listeners see each committed batch once, in commit order,
// and nothing of a failed transaction.
func TestCommitter(t *testing.T) {
	db := openT(t, t.TempDir(), Options{})
	c := NewCommitter[string](db)
	var got []string
	c.Listen(func(ch []string) { got = append(got, ch...) })
	ctx := context.Background()
	if err := c.Update(ctx, func(tx Tx) ([]string, error) { return []string{"a", "b"}, tx.Set("k1", []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, func(tx Tx) ([]string, error) {
		tx.Set("k2", []byte("2"))
		return []string{"lost"}, errors.New("no")
	}); err == nil {
		t.Fatal("failed fn reported success")
	}
	if err := c.Update(ctx, func(tx Tx) ([]string, error) { return []string{"c"}, tx.Set("k3", []byte("3")) }); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[a b c]" {
		t.Fatalf("listener saw %v", got)
	}
	db.View(ctx, func(tx Tx) error {
		if _, err := tx.Get("k2"); !errors.Is(err, ErrNotFound) {
			t.Fatal("the failed transaction's write was applied")
		}
		return nil
	})
}

// TestCommitterHandOver: changes handed over past maxHeld reach the
// listeners while the writer goes on committing; the next hand-over, an
// Update and Flush wait for them, so the listener sees every change once,
// in commit order, and Flush returns only once everything has arrived. A
// listener that checks it is never called concurrently runs under -race.
func TestCommitterHandOver(t *testing.T) {
	db := openT(t, t.TempDir(), Options{})
	c := NewCommitter[int](db)
	var (
		got     []int
		inside  atomic.Int32
		release = make(chan struct{})
		entered = make(chan struct{}, 100)
	)
	c.Listen(func(ch []int) {
		if inside.Add(1) != 1 {
			t.Error("listener called concurrently")
		}
		entered <- struct{}{}
		if ch[0] == 0 {
			<-release // the first hand-over stalls until the writer has moved on
		}
		got = append(got, ch...)
		inside.Add(-1)
	})
	ctx := context.Background()
	n := 0
	write := func(k int) func(Tx) ([]int, error) {
		return func(tx Tx) ([]int, error) {
			return []int{k}, tx.Set(fmt.Sprint("k", k), []byte{byte(k)})
		}
	}
	// 0, 1, 2: past maxHeld 2, handed over; the listener stalls.
	for ; n < 3; n++ {
		if err := c.UpdateHeld(ctx, write(n), 2); err != nil {
			t.Fatal(err)
		}
	}
	<-entered
	// The writer is not held up by the stalled listener.
	for ; n < 5; n++ {
		if err := c.UpdateHeld(ctx, write(n), 2); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// An Update waits for the hand-over, then delivers 3, 4 and its own.
		if err := c.Update(ctx, write(5)); err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-done:
		t.Fatal("Update returned before the changes committed before it reached the listener")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-done
	for n = 6; n < 40; n++ {
		if err := c.UpdateHeld(ctx, write(n), 3); err != nil {
			t.Fatal(err)
		}
	}
	c.Flush()
	want := make([]int, 40)
	for i := range want {
		want[i] = i
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listener saw %v", got)
	}
}

// TestCommitterHeld: held changes reach the listeners in commit order, all
// at once — past maxHeld, with the next Update's (even a failed one's
// neighbours), or at Flush — and never those of a failed transaction.
func TestCommitterHeld(t *testing.T) {
	db := openT(t, t.TempDir(), Options{})
	c := NewCommitter[string](db)
	var calls []string
	c.Listen(func(ch []string) { calls = append(calls, fmt.Sprint(ch)) })
	ctx := context.Background()
	write := func(key string, ch ...string) func(Tx) ([]string, error) {
		return func(tx Tx) ([]string, error) { return ch, tx.Set(key, []byte(key)) }
	}
	fail := func(tx Tx) ([]string, error) {
		tx.Set("failed", nil)
		return []string{"lost"}, errors.New("no")
	}
	steps := []struct {
		name string
		do   func() error
		want string // every listener call so far
	}{
		{"held", func() error { return c.UpdateHeld(ctx, write("k1", "a", "b"), 3) }, "[]"},
		{"still held", func() error { return c.UpdateHeld(ctx, write("k2", "c"), 3) }, "[]"},
		{"over maxHeld", func() error { return c.UpdateHeld(ctx, write("k3", "d"), 3) }, "[[a b c d]]"},
		{"held again", func() error { return c.UpdateHeld(ctx, write("k4", "e"), 3) }, "[[a b c d]]"},
		{"a failed held write keeps them", func() error { return c.UpdateHeld(ctx, fail, 3) }, "[[a b c d]]"},
		{"an Update hands them over first", func() error { return c.Update(ctx, write("k5", "f")) }, "[[a b c d] [e f]]"},
		{"held", func() error { return c.UpdateHeld(ctx, write("k6", "g"), 10) }, "[[a b c d] [e f]]"},
		{"a failed Update flushes", func() error { return c.Update(ctx, fail) }, "[[a b c d] [e f] [g]]"},
		{"held", func() error { return c.UpdateHeld(ctx, write("k7", "h"), 10) }, "[[a b c d] [e f] [g]]"},
		{"Flush", func() error { c.Flush(); return nil }, "[[a b c d] [e f] [g] [h]]"},
		{"Flush with nothing held", func() error { c.Flush(); return nil }, "[[a b c d] [e f] [g] [h]]"},
	}
	for _, s := range steps {
		err := s.do()
		if failed := strings.Contains(s.name, "failed"); (err != nil) != failed {
			t.Fatalf("%s: error %v", s.name, err)
		}
		c.mu.Lock()
		c.waitLocked() // a hand-over past maxHeld runs in the background
		c.mu.Unlock()
		if got := fmt.Sprint(calls); got != s.want {
			t.Fatalf("%s: listener calls %s, want %s", s.name, got, s.want)
		}
	}
}
