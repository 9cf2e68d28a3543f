package validate

import (
	"testing"
	"time"
)

// TestLoadTimeZone: zones resolve as time.LoadLocation resolves them, the
// same name to the same shared Location, and bad names are refused every
// time (nothing is cached for them).
func TestLoadTimeZone(t *testing.T) {
	for _, name := range []string{"Asia/Shanghai", "America/New_York", "UTC", "Europe/Berlin"} {
		a, err := LoadTimeZone(name)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := LoadTimeZone(name)
		want, _ := time.LoadLocation(name)
		at := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
		if a != b || a.String() != name || at.In(a).Format(time.RFC3339) != at.In(want).Format(time.RFC3339) {
			t.Fatalf("%s: %v %v, want one shared %v", name, a, b, want)
		}
	}
	if loc, err := LoadTimeZone(""); err != nil || loc != time.UTC {
		t.Fatalf("empty name: %v %v", loc, err)
	}
	for _, bad := range []string{"Local", "Mars/Olympus", "../etc/passwd", "/etc/localtime", "Asia/Shanghai\xff"} {
		for range 2 {
			if loc, err := LoadTimeZone(bad); err == nil {
				t.Fatalf("%q resolved to %v", bad, loc)
			}
		}
	}
}
