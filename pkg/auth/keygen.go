package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/aroundme/aroundme/pkg/secret"
	"gopkg.in/yaml.v3"
)

// KeyPrefix starts every key made by NewKey. It makes keys recognisable to
// humans and secret scanners, and lets ParseKeys spot a raw key pasted into
// the sha256 field by mistake.
const KeyPrefix = "am_"

// keyBytes is the key's entropy: 256 bits, far beyond brute force.
const keyBytes = 32

// NewKey returns a fresh random API key: KeyPrefix followed by 32 bytes from
// crypto/rand in unpadded base64url (43 characters). Base64url is used rather
// than hex because it is shorter and its alphabet [A-Za-z0-9_-] needs no
// escaping in headers, shells, YAML or URLs. The key is shown to its holder
// once; only HashKey(key) is stored.
func NewKey() (string, error) {
	b := make([]byte, keyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generating key: %w", err)
	}
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashKey returns the lower-case hex SHA-256 of the key's bytes: the form the
// keys file stores. A plain, unsalted hash is enough because keys are 256-bit
// random values, not guessable passwords.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// AppendKey adds e to the keys file at path, creating the file if it does not
// exist. It refuses to touch an existing file that does not parse, and refuses
// an invalid entry or one whose name or hash is already present, so it can
// never turn a working file into a broken one.
//
// The update is atomic: the complete new file is written to a temporary file
// in the same directory with mode 0600, fsynced, renamed over the original,
// and the directory is fsynced, so a crash leaves either the old or the new
// file, never a half-written one. If path is a symlink, its target is
// replaced.
//
// Caveats: the file is re-encoded from its parsed form, so comments and
// formatting of an existing file are lost; the new file always has mode 0600
// and the caller's ownership; concurrent AppendKey calls on the same file are
// not serialised (the last writer wins), which is fine for an operator tool.
func AppendKey(path string, e KeyEntry) error {
	target := path
	var existing []KeyEntry
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		ks, perr := ParseKeys(data)
		if perr != nil {
			return prefixErr(path, fmt.Errorf("refusing to modify a keys file that does not parse: %w", perr))
		}
		existing = ks.Entries()
		if resolved, rerr := filepath.EvalSymlinks(path); rerr == nil {
			target = resolved
		}
	case errors.Is(err, fs.ErrNotExist):
		// Create the file.
	default:
		return fmt.Errorf("reading keys file: %w", err)
	}

	raw := make([]rawEntry, 0, len(existing)+1)
	for _, x := range existing {
		raw = append(raw, toRaw(x))
	}
	n := toRaw(e)
	if _, errs := validateEntry(len(raw), n); len(errs) > 0 {
		return prefixErr(path, errors.Join(errs...))
	}
	for i, x := range existing {
		if x.Name == e.Name {
			return fmt.Errorf("%s: keys[%d] already has name %s", path, i, quoteShort(e.Name))
		}
		if x.SHA256 == e.SHA256 {
			return fmt.Errorf("%s: keys[%d] (%s) already has this sha256", path, i, displayName(x.Name))
		}
	}
	raw = append(raw, n)

	var buf bytes.Buffer
	buf.WriteString("# API keys of the aroundme server: SHA-256 hashes only, never keys.\n" +
		"# Written by auth.AppendKey; comments added by hand are not preserved.\n")
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(keysFile{Keys: raw}); err != nil {
		return fmt.Errorf("encoding keys file: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encoding keys file: %w", err)
	}
	// Belt and braces: never write what we could not read back.
	if _, err := ParseKeys(buf.Bytes()); err != nil {
		return fmt.Errorf("internal error: encoded keys file does not parse: %w", err)
	}
	if err := secret.WriteFileAtomic(target, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("writing keys file: %w", err)
	}
	return nil
}

func toRaw(e KeyEntry) rawEntry {
	r := rawEntry{Name: e.Name, SHA256: e.SHA256, AdvertiserID: e.AdvertiserID}
	if e.Role != 0 { // leave an unset role empty so validation says "required"
		r.Role = e.Role.String()
	}
	return r
}
