package auth

import (
	"strings"
	"testing"
)

func FuzzParseKeys(f *testing.F) {
	h := HashKey("k")
	seeds := []string{
		validYAML(),
		"keys:\n  - name: a\n    sha256: " + h + "\n    role: client\n",
		"keys:\n  - name: a\n    sha256: " + h + "\n    role: advertiser\n    advertiser_id: acme\n",
		"keys:\n  - name: a\n    sha256: " + strings.ToUpper(h) + "\n    role: client\n",
		"keys:\n  - name: a\n    sha256: " + h + "\n    role: client\n  - name: b\n    sha256: " + h + "\n    role: admin\n",
		"keys:\n  - name: a\n    sha256: " + h + "\n    role: client\n    advertiser_id: acme\n",
		"keys:\n  - name: a\n    sha256: " + h + "\n    role: advertiser\n",
		"keys:\n  - {name: a, sha256: " + h + ", role: admin, extra: 1}\n",
		"keys: []\n",
		"keys:\n",
		"",
		"- a\n",
		"keys: [\n",
		"a: &a [*a, *a]\nkeys: *a\n",
		"keys:\n  - &e {name: a, sha256: " + h + ", role: admin}\n  - *e\n",
		validYAML() + "---\n" + validYAML(),
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ks, err := ParseKeys(data)
		if err != nil {
			if ks != nil {
				t.Fatalf("non-nil KeySet with error %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		entries := ks.Entries()
		if len(entries) == 0 || ks.Len() != len(entries) {
			t.Fatalf("accepted a file with %d entries (Len %d)", len(entries), ks.Len())
		}
		seen := map[string]bool{}
		for i, e := range entries {
			if _, ok := decodeHash(e.SHA256); !ok || len(e.SHA256) != 64 || strings.ToLower(e.SHA256) != e.SHA256 {
				t.Fatalf("entry %d: bad sha256 %q", i, e.SHA256)
			}
			if seen[e.SHA256] {
				t.Fatalf("entry %d: duplicate sha256", i)
			}
			seen[e.SHA256] = true
			if !e.Role.valid() {
				t.Fatalf("entry %d: invalid role %v", i, e.Role)
			}
			if (e.Role == RoleAdvertiser) != (e.AdvertiserID != "") {
				t.Fatalf("entry %d: role %v with advertiser_id %q", i, e.Role, e.AdvertiserID)
			}
			if e.AdvertiserID != "" && !advertiserIDPattern.MatchString(e.AdvertiserID) {
				t.Fatalf("entry %d: bad advertiser_id %q", i, e.AdvertiserID)
			}
			if strings.TrimSpace(e.Name) == "" || len([]rune(e.Name)) > maxNameLen {
				t.Fatalf("entry %d: bad name %q", i, e.Name)
			}
		}
	})
}
