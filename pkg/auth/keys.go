package auth

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// maxNameLen bounds KeyEntry.Name (in characters). Names end up in every log
// line, so they must stay short.
const maxNameLen = 100

// advertiserIDPattern is the advertiser id syntax fixed by the API contract.
var advertiserIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// KeyEntry is one entry of the keys file in typed form. It carries the hash
// of a key, never the key, which is why it is safe to list, log or write back
// to disk.
type KeyEntry struct {
	// Name is free text identifying the key's holder in logs.
	Name string
	// SHA256 is the lower-case hex SHA-256 of the key's bytes (see HashKey).
	SHA256 string
	// Role is the role granted to whoever presents the key.
	Role Role
	// AdvertiserID is required for RoleAdvertiser and forbidden otherwise.
	AdvertiserID string
}

// keysFile and rawEntry mirror the YAML layout. Fields are plain strings so
// that a bad role or hash becomes a validation error reported together with
// all other problems, not a decoder error that stops at the first one.
type keysFile struct {
	Keys []rawEntry `yaml:"keys"`
}

type rawEntry struct {
	Name         string `yaml:"name"`
	SHA256       string `yaml:"sha256"`
	Role         string `yaml:"role"`
	AdvertiserID string `yaml:"advertiser_id,omitempty"`
}

// KeySet is an immutable, validated set of key hashes. It is safe for
// concurrent use; to change the keys, parse a new KeySet and swap it in with
// Authorizer.SetKeys.
type KeySet struct {
	entries []KeyEntry
	hashes  [][sha256.Size]byte // hashes[i] is the decoded entries[i].SHA256
}

// ParseKeys parses and validates a keys file. Parsing is strict (unknown
// fields, a second YAML document or a wrong type are errors) because a typo
// in a security configuration must not be silently ignored. Every entry is
// validated and all problems are returned at once (joined with errors.Join),
// each naming the entry's index and name, so an operator can fix the file in
// one pass. An empty key list is an error: a server with no keys would let
// nobody in. ParseKeys never panics, whatever the input.
func ParseKeys(data []byte) (ks *KeySet, err error) {
	// yaml.v3 is not ours; make sure no input can take the process down.
	defer func() {
		if r := recover(); r != nil {
			ks, err = nil, fmt.Errorf("parsing keys file: invalid YAML (decoder panic: %v)", r)
		}
	}()

	var f keysFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("keys file is empty: it must list at least one key (a server with no keys lets nobody in)")
		}
		return nil, fmt.Errorf("parsing keys file: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parsing keys file: it must contain a single YAML document")
	}
	return buildKeySet(f.Keys)
}

// LoadKeysFile reads and parses the keys file at path. Errors are prefixed
// with the path so that they are actionable in a startup log.
func LoadKeysFile(path string) (*KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading keys file: %w", err) // *PathError names the path
	}
	ks, err := ParseKeys(data)
	if err != nil {
		return nil, prefixErr(path, err)
	}
	return ks, nil
}

// prefixErr prefixes err, or each of the errors it joins, with prefix, so that
// every line of a multi-error message names the file.
func prefixErr(prefix string, err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = fmt.Errorf("%s: %w", prefix, e)
		}
		return errors.Join(out...)
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

func buildKeySet(raw []rawEntry) (*KeySet, error) {
	if len(raw) == 0 {
		return nil, errors.New("keys list is empty: it must list at least one key (a server with no keys lets nobody in)")
	}
	var errs []error
	ks := &KeySet{
		entries: make([]KeyEntry, 0, len(raw)),
		hashes:  make([][sha256.Size]byte, 0, len(raw)),
	}
	seen := make(map[string]int, len(raw)) // sha256 -> first index
	for i, r := range raw {
		e, entryErrs := validateEntry(i, r)
		errs = append(errs, entryErrs...)
		if h, ok := decodeHash(r.SHA256); ok {
			if first, dup := seen[r.SHA256]; dup {
				errs = append(errs, entryError(i, r.Name, fmt.Sprintf(
					"sha256 duplicates keys[%d] (%s): each key must appear once", first, displayName(raw[first].Name))))
			} else {
				seen[r.SHA256] = i
			}
			if len(entryErrs) == 0 {
				ks.entries = append(ks.entries, e)
				ks.hashes = append(ks.hashes, h)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return ks, nil
}

// validateEntry checks one entry against every rule and returns all
// violations. i is the entry's index in the file, used in messages.
func validateEntry(i int, r rawEntry) (KeyEntry, []error) {
	var errs []error
	fail := func(msg string) { errs = append(errs, entryError(i, r.Name, msg)) }

	switch {
	case strings.TrimSpace(r.Name) == "":
		fail("name is required")
	case !utf8.ValidString(r.Name):
		fail("name must be valid UTF-8")
	case utf8.RuneCountInString(r.Name) > maxNameLen:
		fail(fmt.Sprintf("name must be at most %d characters", maxNameLen))
	case strings.IndexFunc(r.Name, unicode.IsControl) >= 0:
		fail("name must not contain control characters (it is written to logs)")
	}

	if _, ok := decodeHash(r.SHA256); !ok {
		// Never echo the value: someone may have pasted the raw key here.
		msg := "sha256 must be 64 lower-case hex characters"
		switch {
		case r.SHA256 == "":
			msg += " (missing)"
		case strings.HasPrefix(r.SHA256, KeyPrefix):
			msg += " (this looks like a raw key: store HashKey(key), never the key itself)"
		case len(r.SHA256) != 2*sha256.Size:
			msg += fmt.Sprintf(" (got %d)", len(r.SHA256))
		case isHex(strings.ToLower(r.SHA256)):
			msg += " (got upper-case)"
		}
		fail(msg)
	}

	role, roleErr := ParseRole(r.Role)
	switch {
	case r.Role == "":
		fail("role is required: client, advertiser or admin")
	case roleErr != nil:
		fail(fmt.Sprintf("role %s must be one of client, advertiser, admin", quoteShort(r.Role)))
	case role == RoleAdvertiser && r.AdvertiserID == "":
		fail("advertiser_id is required for role advertiser")
	case role == RoleAdvertiser && !advertiserIDPattern.MatchString(r.AdvertiserID):
		fail(fmt.Sprintf("advertiser_id %s must match %s", quoteShort(r.AdvertiserID), advertiserIDPattern))
	case role != RoleAdvertiser && r.AdvertiserID != "":
		fail(fmt.Sprintf("advertiser_id is only allowed for role advertiser, not %s", role))
	}

	return KeyEntry{Name: r.Name, SHA256: r.SHA256, Role: role, AdvertiserID: r.AdvertiserID}, errs
}

func entryError(i int, name, msg string) error {
	return fmt.Errorf("keys[%d] (%s): %s", i, displayName(name), msg)
}

// displayName renders an entry name for an error message: as is when it is a
// sane name, quoted and truncated otherwise.
func displayName(name string) string {
	if strings.TrimSpace(name) == "" {
		return "unnamed"
	}
	if utf8.ValidString(name) && utf8.RuneCountInString(name) <= maxNameLen &&
		strings.IndexFunc(name, unicode.IsControl) < 0 {
		return name
	}
	return quoteShort(name)
}

// quoteShort quotes s for an error message, truncated so that hostile input
// cannot produce huge messages.
func quoteShort(s string) string {
	const max = 40
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// decodeHash decodes a 64-character lower-case hex SHA-256.
func decodeHash(s string) ([sha256.Size]byte, bool) {
	var h [sha256.Size]byte
	if len(s) != hex.EncodedLen(sha256.Size) || !isHex(s) {
		return h, false
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, false
	}
	return h, true
}

// isHex reports whether s is non-empty and only lower-case hex digits.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Authenticate returns the principal owning key, or false if the key is
// unknown. A nil KeySet knows no key.
//
// The presented key is hashed first and the hash is compared with every
// stored hash using crypto/subtle.ConstantTimeCompare, without stopping at a
// match. Hashing alone already makes the timing independent of the secret
// (an attacker controls the key, not its hash), but the full constant-time
// scan also keeps the time independent of which entry matched, and it costs
// nothing measurable for a handful of keys.
func (ks *KeySet) Authenticate(key string) (Principal, bool) {
	if ks == nil || key == "" {
		return Principal{}, false
	}
	sum := sha256.Sum256([]byte(key))
	match := -1
	for i := range ks.hashes {
		eq := subtle.ConstantTimeCompare(sum[:], ks.hashes[i][:])
		match = subtle.ConstantTimeSelect(eq, i, match)
	}
	if match < 0 {
		return Principal{}, false
	}
	e := ks.entries[match]
	return Principal{Name: e.Name, Role: e.Role, AdvertiserID: e.AdvertiserID}, true
}

// Len returns the number of keys, e.g. for a startup log line.
func (ks *KeySet) Len() int {
	if ks == nil {
		return 0
	}
	return len(ks.entries)
}

// Entries returns a copy of the entries in file order. They hold hashes only,
// so listing them (an admin tool, AppendKey) exposes no credentials.
func (ks *KeySet) Entries() []KeyEntry {
	if ks == nil {
		return nil
	}
	return append([]KeyEntry(nil), ks.entries...)
}
