package pagetoken

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
)

func TestRoundTripAndTamper(t *testing.T) {
	c := New([]byte("0123456789abcdef0123456789abcdef"))
	tok := c.Encode("list", []byte("after=mp-1"))
	got, err := c.Decode("list", tok)
	if err != nil || string(got) != "after=mp-1" {
		t.Fatalf("round trip: %q, %v", got, err)
	}
	if _, err := c.Decode("nearby", tok); err != ErrInvalid {
		t.Fatalf("other purpose accepted: %v", err)
	}
	if _, err := New([]byte("another key.....................")).Decode("list", tok); err != ErrInvalid {
		t.Fatalf("other key accepted: %v", err)
	}
	// Flip every bit of the token's bytes: each change must be rejected.
	raw := []byte(tok)
	for i := range raw {
		for _, ch := range []byte("AZaz09-_") {
			if raw[i] == ch {
				continue
			}
			mut := bytes.Clone(raw)
			mut[i] = ch
			if p, err := c.Decode("list", string(mut)); err == nil && !bytes.Equal(p, []byte("after=mp-1")) {
				t.Fatalf("tampered token %q accepted with payload %q", mut, p)
			}
		}
	}
	for _, bad := range []string{"", "!!!", "AAAA", tok + "A", tok[:len(tok)-1]} {
		if _, err := c.Decode("list", bad); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	c := New([]byte("0123456789abcdef0123456789abcdef"))
	f.Add(c.Encode("list", []byte("x")))
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		p, err := c.Decode("list", tok)
		if err != nil {
			return
		}
		// Whatever is accepted must re-encode to the same token.
		if c.Encode("list", p) != tok {
			t.Fatalf("accepted token %q does not re-encode", tok)
		}
	})
}

// TestFormat: the token is base64url of payload ‖ HMAC-SHA256(key,
// len(purpose) ‖ purpose ‖ payload)[:16], computed here with a fresh
// crypto/hmac: the pooled states give the same tokens as before they were
// pooled, so tokens issued before an upgrade still decode.
func TestFormat(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	c := New(key)
	for _, tc := range []struct{ purpose, payload string }{
		{"list", "after=mp-1"}, {"Nearby", ""}, {"", "x"}, {"campaigns", strings.Repeat("y", 2000)},
	} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte{byte(len(tc.purpose))})
		m.Write([]byte(tc.purpose))
		m.Write([]byte(tc.payload))
		want := base64.RawURLEncoding.EncodeToString(append([]byte(tc.payload), m.Sum(nil)[:macSize]...))
		for range 3 { // fresh and recycled states
			if got := c.Encode(tc.purpose, []byte(tc.payload)); got != want {
				t.Fatalf("Encode(%q, %q) = %q, want %q", tc.purpose, tc.payload, got, want)
			}
			if p, err := c.Decode(tc.purpose, want); err != nil || string(p) != tc.payload {
				t.Fatalf("Decode: %q, %v", p, err)
			}
		}
	}
}

func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("coverage and the race detector change allocations")
	}
	c := New([]byte("0123456789abcdef0123456789abcdef"))
	payload := []byte("0123456789abcdef-and-an-id")
	tok := c.Encode("Nearby", payload)
	if n := testing.AllocsPerRun(100, func() { _ = c.Encode("Nearby", payload) }); n > 1 {
		t.Errorf("Encode: %v allocations, want ≤ 1 (the string)", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Decode("Nearby", tok) }); n > 1 {
		t.Errorf("Decode: %v allocations, want ≤ 1 (the payload)", n)
	}
}

func TestConcurrent(t *testing.T) {
	c := New([]byte("0123456789abcdef0123456789abcdef"))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			payload := []byte(strings.Repeat("p", g*100))
			for range 200 {
				tok := c.Encode("list", payload)
				if p, err := c.Decode("list", tok); err != nil || !bytes.Equal(p, payload) {
					t.Errorf("round trip: %q, %v", p, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkEncode(b *testing.B) {
	c := New([]byte("0123456789abcdef0123456789abcdef"))
	payload := []byte("0123456789abcdef-and-an-id")
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Encode("Nearby", payload)
	}
}
