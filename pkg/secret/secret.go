package secret

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Size is the length of a key in bytes (256 bits, as HMAC-SHA256 wants).
const Size = 32

// LoadOrCreate returns the key stored at path, creating it with fresh random
// bytes (mode 0600, written atomically) when the file does not exist. A file
// of the wrong size is an error, never silently replaced: replacing it would
// invalidate every token in flight.
func LoadOrCreate(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	switch {
	case err == nil:
		if len(key) != Size {
			return nil, fmt.Errorf("secret %s: %d bytes, want %d (remove it only if you accept that every issued token becomes invalid)", path, len(key), Size)
		}
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("secret %s: %w", path, err)
	}
	key = make([]byte, Size)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	if err := WriteFileAtomic(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("secret %s: %w", path, err)
	}
	return key, nil
}

// WriteFileAtomic writes data to a temporary file beside path, fsyncs it,
// renames it over path and fsyncs the directory, so that a crash leaves
// either the old file or the new one, never a torn one.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
