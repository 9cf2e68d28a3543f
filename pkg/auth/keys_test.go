package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Test keys and their hashes; the hashes are computed, not pasted, so the
// fixtures cannot drift from HashKey.
var (
	adminKey      = "am_test_admin"
	clientKey     = "am_test_client"
	advertiserKey = "am_test_advertiser"
)

func validYAML() string {
	return `keys:
  - name: ops            # free text, shown in logs instead of the key
    sha256: ` + HashKey(adminKey) + `
    role: admin
  - name: mobile-app
    sha256: ` + HashKey(clientKey) + `
    role: client
  - name: acme-ads
    sha256: ` + HashKey(advertiserKey) + `
    role: advertiser
    advertiser_id: acme
`
}

func TestRoleStringParse(t *testing.T) {
	for _, r := range []Role{RoleClient, RoleAdvertiser, RoleAdmin} {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v; want %v", r.String(), got, err, r)
		}
	}
	for _, s := range []string{"", "Admin", "root", " admin"} {
		if _, err := ParseRole(s); err == nil {
			t.Errorf("ParseRole(%q) succeeded, want error", s)
		}
	}
	if got := Role(0).String(); got != "Role(0)" {
		t.Errorf("Role(0).String() = %q", got)
	}
}

func TestRoleSatisfies(t *testing.T) {
	tests := []struct {
		have, need Role
		want       bool
	}{
		{RoleAdmin, RoleAdmin, true},
		{RoleAdmin, RoleAdvertiser, true},
		{RoleAdmin, RoleClient, true},
		{RoleAdvertiser, RoleAdvertiser, true},
		{RoleAdvertiser, RoleClient, false},
		{RoleAdvertiser, RoleAdmin, false},
		{RoleClient, RoleClient, true},
		{RoleClient, RoleAdvertiser, false},
		{RoleClient, RoleAdmin, false},
		{Role(0), RoleClient, false},
		{RoleAdmin, Role(0), false},
	}
	for _, tt := range tests {
		if got := tt.have.Satisfies(tt.need); got != tt.want {
			t.Errorf("%v.Satisfies(%v) = %v, want %v", tt.have, tt.need, got, tt.want)
		}
	}
}

func TestParseKeys(t *testing.T) {
	h := HashKey("some key")
	h2 := HashKey("another key")
	entry := func(name, hash, role, extra string) string {
		s := "  - name: " + name + "\n    sha256: " + hash + "\n    role: " + role + "\n"
		if extra != "" {
			s += "    " + extra + "\n"
		}
		return s
	}
	tests := []struct {
		name    string
		in      string
		wantErr []string // substrings; nil means success
		wantLen int
	}{
		{name: "valid", in: validYAML(), wantLen: 3},
		{name: "valid without trailing newline", in: "keys:\n" + strings.TrimSuffix(entry("a", h, "client", ""), "\n"), wantLen: 1},
		{
			name:    "bad hex",
			in:      "keys:\n" + entry("acme-ads", strings.Repeat("g", 64), "client", ""),
			wantErr: []string{"keys[0] (acme-ads): sha256 must be 64 lower-case hex characters"},
		},
		{
			name:    "upper-case hex",
			in:      "keys:\n" + entry("a", strings.ToUpper(h), "client", ""),
			wantErr: []string{"keys[0] (a): sha256 must be 64 lower-case hex characters (got upper-case)"},
		},
		{
			name:    "too short",
			in:      "keys:\n" + entry("a", h[:63], "client", ""),
			wantErr: []string{"keys[0] (a): sha256 must be 64 lower-case hex characters (got 63)"},
		},
		{
			name:    "too long",
			in:      "keys:\n" + entry("a", h+"0", "client", ""),
			wantErr: []string{"sha256 must be 64 lower-case hex characters (got 65)"},
		},
		{
			name:    "missing hash",
			in:      "keys:\n  - name: a\n    role: client\n",
			wantErr: []string{"keys[0] (a): sha256 must be 64 lower-case hex characters (missing)"},
		},
		{
			name:    "raw key instead of hash",
			in:      "keys:\n" + entry("a", adminKey, "client", ""),
			wantErr: []string{"looks like a raw key"},
		},
		{
			name:    "unknown role",
			in:      "keys:\n" + entry("a", h, "root", ""),
			wantErr: []string{`keys[0] (a): role "root" must be one of client, advertiser, admin`},
		},
		{
			name:    "missing role",
			in:      "keys:\n  - name: a\n    sha256: " + h + "\n",
			wantErr: []string{"keys[0] (a): role is required"},
		},
		{
			name:    "advertiser without id",
			in:      "keys:\n" + entry("ads", h, "advertiser", ""),
			wantErr: []string{"keys[0] (ads): advertiser_id is required for role advertiser"},
		},
		{
			name:    "advertiser with bad id",
			in:      "keys:\n" + entry("ads", h, "advertiser", "advertiser_id: Acme"),
			wantErr: []string{`keys[0] (ads): advertiser_id "Acme" must match ^[a-z0-9][a-z0-9_.-]{0,63}$`},
		},
		{
			name:    "advertiser id too long",
			in:      "keys:\n" + entry("ads", h, "advertiser", "advertiser_id: "+strings.Repeat("a", 65)),
			wantErr: []string{"keys[0] (ads): advertiser_id"},
		},
		{
			name:    "client with advertiser_id",
			in:      "keys:\n" + entry("app", h, "client", "advertiser_id: acme"),
			wantErr: []string{"keys[0] (app): advertiser_id is only allowed for role advertiser, not client"},
		},
		{
			name:    "admin with advertiser_id",
			in:      "keys:\n" + entry("ops", h, "admin", "advertiser_id: acme"),
			wantErr: []string{"keys[0] (ops): advertiser_id is only allowed for role advertiser, not admin"},
		},
		{
			name:    "duplicate hash",
			in:      "keys:\n" + entry("first", h, "client", "") + entry("second", h, "admin", ""),
			wantErr: []string{"keys[1] (second): sha256 duplicates keys[0] (first)"},
		},
		{
			name:    "empty name",
			in:      "keys:\n" + entry(`""`, h, "client", ""),
			wantErr: []string{"keys[0] (unnamed): name is required"},
		},
		{
			name:    "name too long",
			in:      "keys:\n" + entry(strings.Repeat("n", 101), h, "client", ""),
			wantErr: []string{"name must be at most 100 characters"},
		},
		{
			name:    "name with control character",
			in:      "keys:\n" + entry(`"a\tb"`, h, "client", ""),
			wantErr: []string{`keys[0] ("a\tb"): name must not contain control characters`},
		},
		{
			name:    "unknown entry field",
			in:      "keys:\n" + entry("a", h, "client", "expires: 2030-01-01"),
			wantErr: []string{"field expires not found"},
		},
		{
			name:    "unknown top-level field",
			in:      "version: 2\n" + "keys:\n" + entry("a", h, "client", ""),
			wantErr: []string{"field version not found"},
		},
		{
			name:    "misspelled field",
			in:      "keys:\n  - name: a\n    sha: " + h + "\n    role: client\n",
			wantErr: []string{"field sha not found"},
		},
		{name: "empty list", in: "keys: []\n", wantErr: []string{"keys list is empty"}},
		{name: "null list", in: "keys:\n", wantErr: []string{"keys list is empty"}},
		{name: "empty file", in: "", wantErr: []string{"keys file is empty"}},
		{name: "comment only", in: "# nothing here\n", wantErr: []string{"keys file is empty"}},
		{name: "not YAML", in: "keys: [\n  - {", wantErr: []string{"parsing keys file: yaml:"}},
		{name: "not a mapping", in: "- a\n- b\n", wantErr: []string{"parsing keys file"}},
		{name: "keys not a list", in: "keys: ops\n", wantErr: []string{"parsing keys file"}},
		{name: "role not a string", in: "keys:\n  - name: a\n    sha256: " + h + "\n    role: [admin]\n", wantErr: []string{"parsing keys file"}},
		{name: "two documents", in: validYAML() + "---\nkeys: []\n", wantErr: []string{"single YAML document"}},
		{name: "duplicate mapping key", in: "keys:\n  - name: a\n    name: b\n    sha256: " + h + "\n    role: client\n", wantErr: []string{"already defined"}},
		{
			name: "multiple errors at once",
			in: "keys:\n" +
				entry("good", h2, "client", "") +
				entry("bad-hash", "ABC", "client", "") +
				entry("bad-role", h, "superuser", "") +
				entry("no-adv", HashKey("x"), "advertiser", "") +
				entry("dup", h, "client", ""),
			wantErr: []string{
				"keys[1] (bad-hash): sha256 must be 64 lower-case hex characters",
				`keys[2] (bad-role): role "superuser"`,
				"keys[3] (no-adv): advertiser_id is required",
				"keys[4] (dup): sha256 duplicates keys[2] (bad-role)",
			},
		},
		{
			name: "several errors in one entry",
			in:   "keys:\n" + entry(`""`, "xyz", "client", "advertiser_id: acme"),
			wantErr: []string{
				"keys[0] (unnamed): name is required",
				"keys[0] (unnamed): sha256 must be 64",
				"keys[0] (unnamed): advertiser_id is only allowed",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := ParseKeys([]byte(tt.in))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ParseKeys: unexpected error: %v", err)
				}
				if ks.Len() != tt.wantLen {
					t.Fatalf("Len() = %d, want %d", ks.Len(), tt.wantLen)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseKeys succeeded, want error containing %q", tt.wantErr)
			}
			if ks != nil {
				t.Errorf("ParseKeys returned a KeySet along with error %v", err)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\ndoes not contain %q", err, want)
				}
			}
		})
	}
}

func TestParseKeysNeverEchoesHashField(t *testing.T) {
	// A raw key pasted into the sha256 field must not end up in logs.
	secret := "am_" + strings.Repeat("Z", 43)
	_, err := ParseKeys([]byte("keys:\n  - name: a\n    sha256: " + secret + "\n    role: client\n"))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("error %v: want an error not containing the value", err)
	}
}

func TestParseKeysEntries(t *testing.T) {
	ks, err := ParseKeys([]byte(validYAML()))
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyEntry{
		{Name: "ops", SHA256: HashKey(adminKey), Role: RoleAdmin},
		{Name: "mobile-app", SHA256: HashKey(clientKey), Role: RoleClient},
		{Name: "acme-ads", SHA256: HashKey(advertiserKey), Role: RoleAdvertiser, AdvertiserID: "acme"},
	}
	got := ks.Entries()
	if len(got) != len(want) {
		t.Fatalf("Entries() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Entries()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	got[0].Role = RoleClient // must not affect the KeySet
	if p, _ := ks.Authenticate(adminKey); p.Role != RoleAdmin {
		t.Error("Entries() exposed internal state")
	}
}

func TestAuthenticate(t *testing.T) {
	ks, err := ParseKeys([]byte(validYAML()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want Principal
		ok   bool
	}{
		{adminKey, Principal{Name: "ops", Role: RoleAdmin}, true},
		{clientKey, Principal{Name: "mobile-app", Role: RoleClient}, true},
		{advertiserKey, Principal{Name: "acme-ads", Role: RoleAdvertiser, AdvertiserID: "acme"}, true},
		{"am_wrong", Principal{}, false},
		{adminKey + " ", Principal{}, false},
		{HashKey(adminKey), Principal{}, false}, // the hash is not a credential
		{"", Principal{}, false},
	}
	for _, tt := range tests {
		got, ok := ks.Authenticate(tt.key)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Authenticate(%q) = %+v, %v; want %+v, %v", tt.key, got, ok, tt.want, tt.ok)
		}
	}
	var nilSet *KeySet
	if _, ok := nilSet.Authenticate(adminKey); ok {
		t.Error("nil KeySet authenticated a key")
	}
}

func TestAuthenticateEmptyKeyHash(t *testing.T) {
	// Even if the file lists the hash of the empty string, an empty key
	// never authenticates.
	ks, err := ParseKeys([]byte("keys:\n  - name: empty\n    sha256: " + HashKey("") + "\n    role: admin\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ks.Authenticate(""); ok {
		t.Error("empty key authenticated")
	}
}

func TestLoadKeysFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "keys.yaml")
	if err := os.WriteFile(good, []byte(validYAML()), 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := LoadKeysFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if ks.Len() != 3 {
		t.Errorf("Len() = %d, want 3", ks.Len())
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("keys:\n  - name: a\n    sha256: x\n    role: client\n  - name: b\n    sha256: y\n    role: client\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadKeysFile(bad)
	if err == nil {
		t.Fatal("LoadKeysFile(bad) succeeded")
	}
	for _, want := range []string{bad + ": keys[0] (a): sha256", bad + ": keys[1] (b): sha256"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}

	missing := filepath.Join(dir, "missing.yaml")
	_, err = LoadKeysFile(missing)
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadKeysFile(missing) = %v, want a not-exist error naming the path", err)
	}
}
