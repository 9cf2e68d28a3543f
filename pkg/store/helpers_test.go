package store

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// quiet is for tests that open many stores and would drown the log.
var quiet = Options{Logger: slog.New(slog.DiscardHandler)}

func testOptions(t testing.TB) Options {
	return Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))}
}

// openT opens dir and closes it at the end of the test.
func openT(t testing.TB, dir string, opts Options) *DB {
	t.Helper()
	db, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func mustUpdate(t testing.TB, s Store, fn func(Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustSet(t testing.TB, s Store, key string, value []byte) {
	t.Helper()
	mustUpdate(t, s, func(tx Tx) error { return tx.Set(key, value) })
}

// get reads key in its own View; ok is false for ErrNotFound.
func get(t testing.TB, s Store, key string) (value []byte, ok bool) {
	t.Helper()
	err := s.View(context.Background(), func(tx Tx) error {
		v, err := tx.Get(key)
		value = v
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return value, true
}

// aofSet is buntdb's on-disk encoding of one SET command, written out
// independently of the implementation so the tests check the real format.
func aofSet(key string, value []byte) []byte {
	b := []byte("*3\r\n$3\r\nset\r\n")
	b = append(b, "$"+strconv.Itoa(len(key))+"\r\n"+key+"\r\n"...)
	b = append(b, "$"+strconv.Itoa(len(value))+"\r\n"...)
	b = append(b, value...)
	return append(b, "\r\n"...)
}

func readData(t testing.TB, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, DataFileName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeData(t testing.TB, dir string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, DataFileName), data, 0o644); err != nil {
		t.Fatal(err)
	}
}
