package auth

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestNewKey(t *testing.T) {
	k1, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if k1 == k2 {
		t.Fatal("NewKey returned the same key twice")
	}
	if !strings.HasPrefix(k1, KeyPrefix) {
		t.Fatalf("key %q lacks prefix %q", k1, KeyPrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(k1, KeyPrefix))
	if err != nil || len(raw) != 32 {
		t.Fatalf("key body decodes to %d bytes, err %v; want 32 bytes", len(raw), err)
	}
	if len(k1) != len(KeyPrefix)+43 {
		t.Errorf("len(key) = %d, want %d", len(k1), len(KeyPrefix)+43)
	}
}

func TestHashKey(t *testing.T) {
	// sha256("test") from the API doc example.
	const want = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	if got := HashKey("test"); got != want {
		t.Errorf("HashKey(test) = %s, want %s", got, want)
	}
}

func TestAppendKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.yaml")

	k1, _ := NewKey()
	if err := AppendKey(path, KeyEntry{Name: "ops", SHA256: HashKey(k1), Role: RoleAdmin}); err != nil {
		t.Fatalf("AppendKey (create): %v", err)
	}
	checkMode(t, path)
	if ks, err := LoadKeysFile(path); err != nil || ks.Len() != 1 {
		t.Fatalf("after first append: %v, %d keys", err, ks.Len())
	}

	k2, _ := NewKey()
	if err := AppendKey(path, KeyEntry{Name: "acme-ads", SHA256: HashKey(k2), Role: RoleAdvertiser, AdvertiserID: "acme"}); err != nil {
		t.Fatalf("AppendKey (append): %v", err)
	}
	checkMode(t, path)

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), k1) || strings.Contains(string(data), k2) {
		t.Fatal("keys file contains a raw key")
	}
	ks, err := ParseKeys(data)
	if err != nil {
		t.Fatalf("file does not parse: %v\n%s", err, data)
	}
	if p, ok := ks.Authenticate(k1); !ok || p != (Principal{Name: "ops", Role: RoleAdmin}) {
		t.Errorf("Authenticate(k1) = %+v, %v", p, ok)
	}
	if p, ok := ks.Authenticate(k2); !ok || p != (Principal{Name: "acme-ads", Role: RoleAdvertiser, AdvertiserID: "acme"}) {
		t.Errorf("Authenticate(k2) = %+v, %v", p, ok)
	}

	// No temporary files left behind.
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("directory has %d entries, want only the keys file", len(ents))
	}
}

func TestAppendKeyRefusals(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.yaml")
	h := HashKey("k")
	if err := AppendKey(path, KeyEntry{Name: "ops", SHA256: h, Role: RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	tests := []struct {
		name    string
		e       KeyEntry
		wantErr string
	}{
		{"duplicate hash", KeyEntry{Name: "other", SHA256: h, Role: RoleClient}, "already has this sha256"},
		{"duplicate name", KeyEntry{Name: "ops", SHA256: HashKey("k2"), Role: RoleClient}, "already has name"},
		{"invalid hash", KeyEntry{Name: "x", SHA256: "abc", Role: RoleClient}, "keys[1] (x): sha256 must be 64"},
		{"missing role", KeyEntry{Name: "x", SHA256: HashKey("k3")}, "role is required"},
		{"advertiser without id", KeyEntry{Name: "x", SHA256: HashKey("k3"), Role: RoleAdvertiser}, "advertiser_id is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := AppendKey(path, tt.e)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("AppendKey = %v, want error containing %q", err, tt.wantErr)
			}
			after, _ := os.ReadFile(path)
			if string(after) != string(before) {
				t.Error("refused AppendKey modified the file")
			}
		})
	}

	t.Run("unparsable file", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.yaml")
		const content = "keys:\n  - name: a\n    sha256: nope\n    role: client\n"
		if err := os.WriteFile(bad, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		err := AppendKey(bad, KeyEntry{Name: "b", SHA256: HashKey("b"), Role: RoleClient})
		if err == nil || !strings.Contains(err.Error(), "does not parse") {
			t.Fatalf("AppendKey = %v, want refusal", err)
		}
		if got, _ := os.ReadFile(bad); string(got) != content {
			t.Error("AppendKey modified an unparsable file")
		}
	})
}

func TestAppendKeyTightensMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix permissions")
	}
	path := filepath.Join(t.TempDir(), "keys.yaml")
	content := "keys:\n  - name: a\n    sha256: " + HashKey("a") + "\n    role: client\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := AppendKey(path, KeyEntry{Name: "b", SHA256: HashKey("b"), Role: RoleClient}); err != nil {
		t.Fatal(err)
	}
	checkMode(t, path)
}

func TestAppendKeyFollowsSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges")
	}
	dir := t.TempDir()
	real := filepath.Join(dir, "real.yaml")
	link := filepath.Join(dir, "link.yaml")
	if err := AppendKey(real, KeyEntry{Name: "a", SHA256: HashKey("a"), Role: RoleClient}); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	if err := AppendKey(link, KeyEntry{Name: "b", SHA256: HashKey("b"), Role: RoleClient}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("symlink replaced by a file (err %v)", err)
	}
	ks, err := LoadKeysFile(real)
	if err != nil || ks.Len() != 2 {
		t.Fatalf("target: %v, %d keys; want 2", err, ks.Len())
	}
}

func checkMode(t *testing.T, path string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %o, want 600", got)
	}
}
