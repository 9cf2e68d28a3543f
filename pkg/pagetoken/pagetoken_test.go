package pagetoken

import (
	"bytes"
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
