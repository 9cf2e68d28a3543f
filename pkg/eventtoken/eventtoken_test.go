package eventtoken

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	testKey   = []byte("0123456789abcdef0123456789abcdef")
	issued    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	expires   = issued.Add(24 * time.Hour)
	verifyNow = issued.Add(time.Minute)
)

func newSigner(t testing.TB, key []byte) *Signer {
	t.Helper()
	s, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sponsored() Claims {
	return Claims{
		Nonce:         [8]byte{1, 2, 3, 4, 5, 6, 7, 8},
		Index:         7,
		IssuedAt:      issued,
		ExpiresAt:     expires,
		MiniProgramID: "sunny-bike",
		PlaceID:       "sanlitun",
		CampaignID:    "spring-2026",
		UserHash:      0x0123456789abcdef,
		PriceMicros:   1_250_000,
		PricingModel:  PricingCPC,
		Cell:          0x872830828ffffff,
	}
}

// seal signs an arbitrary body with the signer's key, bypassing Append's
// checks: it makes well-signed tokens that Append would refuse.
func seal(s *Signer, body []byte) string {
	var x [macSize]byte
	return b64.EncodeToString(append(bytes.Clone(body), s.mac.sum(&x, body)...))
}

// body returns the signed bytes of a valid token (everything but the tag).
func body(t *testing.T, s *Signer, c Claims) []byte {
	t.Helper()
	raw, err := b64.DecodeString(s.Sign(&c))
	if err != nil {
		t.Fatal(err)
	}
	return raw[:len(raw)-macSize]
}

func TestNewSigner(t *testing.T) {
	if _, err := NewSigner(testKey[:31]); err == nil {
		t.Fatal("31-byte key accepted")
	}
	s := newSigner(t, testKey)
	// The MAC key is derived with the label, never the secret itself.
	kdf := hmac.New(sha256.New, testKey)
	kdf.Write([]byte("aroundme event token v2 aes-cmac"))
	var ref cmac
	if err := ref.init(kdf.Sum(nil)[:16]); err != nil {
		t.Fatal(err)
	}
	c := sponsored()
	b := body(t, s, c)
	var x [macSize]byte
	want := b64.EncodeToString(append(bytes.Clone(b), ref.sum(&x, b)...))
	if got := s.Sign(&c); got != want {
		t.Fatalf("Sign = %q, AES-CMAC under HMAC(secret, label)[:16] gives %q", got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	s := newSigner(t, testKey)
	long := strings.Repeat("x", MaxIDLen)
	tests := []struct {
		name string
		edit func(*Claims)
	}{
		{"sponsored", func(*Claims) {}},
		{"organic", func(c *Claims) {
			c.CampaignID, c.PriceMicros, c.PricingModel = "", 0, PricingNone
		}},
		{"all zero", func(c *Claims) { *c = Claims{} }},
		{"empty ids", func(c *Claims) { c.MiniProgramID, c.PlaceID, c.CampaignID = "", "", "" }},
		{"max lengths", func(c *Claims) { c.MiniProgramID, c.PlaceID, c.CampaignID = long, long, long }},
		{"unicode ids", func(c *Claims) {
			c.MiniProgramID, c.PlaceID, c.CampaignID = "单车-🚲", "三里屯", strings.Repeat("é", MaxIDLen/2)
		}},
		{"extremes", func(c *Claims) {
			c.Nonce = [8]byte{255, 255, 255, 255, 255, 255, 255, 255}
			c.Index, c.UserHash, c.Cell = MaxIndex, ^uint64(0), ^uint64(0)
			c.PriceMicros, c.PricingModel = -1<<63, PricingCPM
		}},
		{"expires when issued", func(c *Claims) { c.ExpiresAt = c.IssuedAt }},
		{"before 1970", func(c *Claims) {
			c.IssuedAt = time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := sponsored()
			tt.edit(&want)
			tok := s.Sign(&want)
			if len(tok) > MaxLen {
				t.Fatalf("token of %d bytes, MaxLen %d", len(tok), MaxLen)
			}
			got, err := s.Verify(tok, want.IssuedAt)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got != want {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if again := s.Sign(&got); again != tok {
				t.Fatalf("re-signed %q, was %q", again, tok)
			}
			if a := s.Append([]byte("prefix:"), &want); string(a) != "prefix:"+tok {
				t.Fatalf("Append = %q", a)
			}
		})
	}
}

func TestTimesTruncatedToSeconds(t *testing.T) {
	s := newSigner(t, testKey)
	c := sponsored()
	c.IssuedAt = issued.Add(999 * time.Millisecond).In(time.FixedZone("CST", 8*3600))
	c.ExpiresAt = expires.Add(999 * time.Millisecond)
	got, err := s.Verify(s.Sign(&c), verifyNow)
	if err != nil {
		t.Fatal(err)
	}
	if got.IssuedAt != issued || got.ExpiresAt != expires {
		t.Fatalf("times %v, %v; want %v, %v", got.IssuedAt, got.ExpiresAt, issued, expires)
	}
}

func TestEveryBitFlipRejected(t *testing.T) {
	s := newSigner(t, testKey)
	c := sponsored()
	raw, err := b64.DecodeString(s.Sign(&c))
	if err != nil {
		t.Fatal(err)
	}
	for i := range raw {
		for bit := range 8 {
			mut := bytes.Clone(raw)
			mut[i] ^= 1 << bit
			_, err := s.Verify(b64.EncodeToString(mut), verifyNow)
			if !errors.Is(err, ErrForged) && !errors.Is(err, ErrMalformed) {
				t.Errorf("byte %d bit %d flipped: err %v, want ErrForged or ErrMalformed", i, bit, err)
			}
		}
	}
}

func TestOtherKeyForged(t *testing.T) {
	c := sponsored()
	tok := newSigner(t, []byte("another secret, also 32 bytes..!")).Sign(&c)
	if _, err := newSigner(t, testKey).Verify(tok, verifyNow); !errors.Is(err, ErrForged) {
		t.Fatalf("token of another key: %v, want ErrForged", err)
	}
	// Domain separation: the same body tagged with the raw secret (as another
	// use of the secret might) does not verify.
	s := newSigner(t, testKey)
	m := hmac.New(sha256.New, testKey)
	b := body(t, s, c)
	m.Write(b)
	raw := append(b, m.Sum(nil)[:macSize]...)
	if _, err := s.Verify(b64.EncodeToString(raw), verifyNow); !errors.Is(err, ErrForged) {
		t.Fatalf("tagged with the raw secret: %v, want ErrForged", err)
	}
}

func TestExpiry(t *testing.T) {
	s := newSigner(t, testKey)
	c := sponsored()
	tok := s.Sign(&c)
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"at issue", issued, nil},
		{"before issue", issued.Add(-time.Hour), nil},
		{"at expiry", expires, nil},
		{"1ns after", expires.Add(time.Nanosecond), ErrExpired},
		{"1s after", expires.Add(time.Second), ErrExpired},
		{"other zone, at expiry", expires.In(time.FixedZone("CST", 8*3600)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Verify(tok, tt.now)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("Verify at %v: %v, want %v", tt.now, err, tt.want)
			}
			if err != nil && got != (Claims{}) {
				t.Fatalf("claims returned with error: %+v", got)
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	s := newSigner(t, testKey)
	c := sponsored()
	tok := s.Sign(&c)
	good := body(t, s, c)
	raw, _ := b64.DecodeString(tok)

	// with returns a well-signed token whose body has b[off] = v.
	with := func(off int, v byte) string { return seal(s, patched(good, off, v)) }
	// The varints (issued, expires − issued, price) as bytes: a well-signed
	// token with them replaced.
	strs := len(good) - 3 - len(c.MiniProgramID) - len(c.PlaceID) - len(c.CampaignID) // MiniProgramID's length byte
	varints := func(vs ...[]byte) string {
		b := bytes.Clone(good[:fixedLen])
		for _, v := range vs {
			b = append(b, v...)
		}
		return seal(s, append(b, good[strs:]...))
	}
	uv := func(v uint64) []byte { return binary.AppendUvarint(nil, v) }
	sv := func(v int64) []byte { return binary.AppendVarint(nil, v) }
	iss := issued.Unix()
	// A 65-byte MiniProgramID, correctly framed and signed.
	long := append([]byte(nil), good[:strs]...)
	long = append(long, 65)
	long = append(long, strings.Repeat("a", 65)...)
	long = append(long, 0, 0)
	// A version-1 token: HMAC-SHA256 under the version-1 key, fixed-width
	// times and price.
	v1 := func() string {
		b := []byte{1}
		b = append(b, c.Nonce[:]...)
		b = append(b, c.Index)
		b = binary.BigEndian.AppendUint64(b, uint64(iss))
		b = binary.BigEndian.AppendUint64(b, uint64(expires.Unix()))
		b = binary.BigEndian.AppendUint64(b, c.UserHash)
		b = binary.BigEndian.AppendUint64(b, c.Cell)
		b = binary.BigEndian.AppendUint64(b, uint64(c.PriceMicros))
		b = append(b, c.PricingModel)
		b = append(b, good[strs:]...)
		kdf := hmac.New(sha256.New, testKey)
		kdf.Write([]byte("aroundme event token v1"))
		m := hmac.New(sha256.New, kdf.Sum(nil))
		m.Write(b)
		return b64.EncodeToString(m.Sum(b)[:len(b)+16])
	}()

	tests := []struct {
		name string
		tok  string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"junk", "!!!", ErrMalformed},
		{"short", tok[:minLen-1], ErrMalformed},
		{"too long", tok + strings.Repeat("A", MaxLen), ErrMalformed},
		{"not base64url", "+" + tok[1:], ErrMalformed},
		{"padded", tok + "=", ErrMalformed},
		{"newline inside", tok[:20] + "\n" + tok[20:], ErrMalformed},
		{"trailing newline", tok + "\n", ErrMalformed},
		{"space", " " + tok, ErrMalformed},
		{"nonzero padding bits", nonzeroPadding(t, s), ErrMalformed},
		{"truncated by a byte", b64.EncodeToString(raw[:len(raw)-1]), ErrMalformed},
		{"truncated to the fixed part", b64.EncodeToString(raw[:fixedLen+macSize+2]), ErrMalformed},
		{"trailing byte after the tag", b64.EncodeToString(append(bytes.Clone(raw), 0)), ErrMalformed},
		{"trailing byte, signed", seal(s, append(bytes.Clone(good), 0)), ErrMalformed},
		{"wrong version, signed", with(0, 3), ErrMalformed},
		{"version 1, signed", with(0, 1), ErrMalformed},
		{"version 0, signed", with(0, 0), ErrMalformed},
		{"string too long, signed", seal(s, long), ErrMalformed},
		{"string length past the end, signed", with(strs, 200), ErrMalformed},
		{"index 100, signed", with(9, 100), ErrMalformed},
		{"index 255, signed", with(9, 255), ErrMalformed},
		{"pricing model 3, signed", with(26, 3), ErrMalformed},
		{"expires past the largest time, signed", varints(sv(1<<63-10), uv(10), sv(0)), ErrMalformed},
		{"expires wraps round, signed", varints(sv(-1), uv(1<<64-1), sv(0)), ErrMalformed},
		{"issued in a longer spelling, signed", varints(append(sv(iss)[:len(sv(iss))-1], sv(iss)[len(sv(iss))-1]|0x80, 0), uv(3600), sv(0)), ErrMalformed},
		{"zero lifetime in two bytes, signed", varints(sv(iss), []byte{0x80, 0}, sv(0)), ErrMalformed},
		{"price over 64 bits, signed", varints(sv(iss), uv(3600), bytes.Repeat([]byte{0xff}, 11)), ErrMalformed},
		{"varint runs into the strings, signed", seal(s, append(bytes.Clone(good[:fixedLen]), 0xff, 0xff)), ErrMalformed},
		{"version 1 token", v1, ErrMalformed},
		{"control: varints rebuilt, signed", varints(sv(iss), uv(uint64(expires.Unix()-iss)), sv(c.PriceMicros)), nil},
		{"index 100, unsigned", b64.EncodeToString(append(patched(good, 9, 100), raw[len(raw)-macSize:]...)), ErrForged},
		{"tag zeroed", b64.EncodeToString(append(bytes.Clone(good), make([]byte, macSize)...)), ErrForged},
		{"control: valid", tok, nil},
		{"control: max index, signed", with(9, MaxIndex), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Verify(tt.tok, verifyNow)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("Verify(%q): %v, want %v", tt.tok, err, tt.want)
			}
			if err != nil && got != (Claims{}) {
				t.Fatalf("claims returned with error: %+v", got)
			}
		})
	}
}

// patched returns a copy of b with b[off] = v.
func patched(b []byte, off int, v byte) []byte {
	b = bytes.Clone(b)
	b[off] = v
	return b
}

// nonzeroPadding returns a valid token with its last character changed so
// that it decodes to the same bytes but with non-zero padding bits: a lax
// decoder would take it as a second spelling of the token.
func nonzeroPadding(t *testing.T, s *Signer) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	c := sponsored()
	for ; ; c.CampaignID += "x" { // some length leaves padding bits
		tok := s.Sign(&c)
		if len(tok)%4 == 0 {
			continue
		}
		if _, err := s.Verify(tok, verifyNow); err != nil {
			t.Fatal(err)
		}
		last := strings.IndexByte(alphabet, tok[len(tok)-1])
		mut := tok[:len(tok)-1] + string(alphabet[last|1])
		a, _ := base64.RawURLEncoding.DecodeString(tok)
		b, err := base64.RawURLEncoding.DecodeString(mut)
		if err != nil || !bytes.Equal(a, b) {
			t.Fatalf("%q is not a lax spelling of %q", mut, tok)
		}
		return mut
	}
}

func TestAppendPanicsOnUnsignableClaims(t *testing.T) {
	s := newSigner(t, testKey)
	tests := []struct {
		name string
		edit func(*Claims)
	}{
		{"index 100", func(c *Claims) { c.Index = 100 }},
		{"pricing model 3", func(c *Claims) { c.PricingModel = 3 }},
		{"expires before issued", func(c *Claims) { c.ExpiresAt = c.IssuedAt.Add(-time.Second) }},
		{"mini-program id 65 bytes", func(c *Claims) { c.MiniProgramID = strings.Repeat("a", 65) }},
		{"place id 65 bytes", func(c *Claims) { c.PlaceID = strings.Repeat("a", 65) }},
		{"campaign id 65 bytes", func(c *Claims) { c.CampaignID = strings.Repeat("a", 65) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sponsored()
			tt.edit(&c)
			defer func() {
				if recover() == nil {
					t.Fatal("Append did not panic")
				}
			}()
			s.Append(nil, &c)
		})
	}
}

func TestErrorMessages(t *testing.T) {
	for err, want := range map[error]string{
		ErrMalformed: "malformed event token",
		ErrForged:    "event token signature does not match",
		ErrExpired:   "event token expired",
	} {
		if err.Error() != want {
			t.Errorf("%q, want %q", err, want)
		}
	}
}

func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("coverage and the race detector change allocations")
	}
	s := newSigner(t, testKey)
	c := sponsored()
	buf := make([]byte, 0, MaxLen)
	tok := s.Sign(&c)
	for name, f := range map[string]func(){
		"Append": func() { buf = s.Append(buf[:0], &c) },
		"Sign":   func() { _ = s.Sign(&c) },
		"Verify": func() { _, _ = s.Verify(tok, verifyNow) },
	} {
		// Append none; Sign its string; Verify the one string the ids share.
		want := map[string]float64{"Append": 0, "Sign": 1, "Verify": 1}[name]
		if got := testing.AllocsPerRun(100, f); got > want {
			t.Errorf("%s: %v allocs, want ≤ %v", name, got, want)
		}
	}
}

func TestConcurrent(t *testing.T) {
	s := newSigner(t, testKey)
	done := make(chan error)
	for g := range 8 {
		go func() {
			c := sponsored()
			c.Index = uint8(g)
			var buf []byte
			for range 200 {
				buf = s.Append(buf[:0], &c)
				got, err := s.Verify(string(buf), verifyNow)
				if err == nil && got != c {
					err = errors.New("claims differ")
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, and
// whatever it accepts must re-sign to the identical string (one token, one
// spelling).
func FuzzVerify(f *testing.F) {
	s := newSigner(f, testKey)
	c := sponsored()
	tok := s.Sign(&c)
	f.Add(tok)
	f.Add(tok[:len(tok)-1])
	f.Add(tok + "A")
	f.Add("")
	f.Add("!!!")
	f.Add(strings.Repeat("A", minLen))
	f.Add(strings.Repeat("_", MaxLen))
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := s.Verify(tok, verifyNow)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrForged) && !errors.Is(err, ErrExpired) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if again := s.Sign(&got); again != tok {
			t.Fatalf("accepted %q re-signs to %q", tok, again)
		}
	})
}

// FuzzSignedBody reaches the parser behind the signature check, which
// FuzzVerify cannot: it signs arbitrary bodies with the real key. Verify
// must not panic, and an accepted token must re-sign identically.
func FuzzSignedBody(f *testing.F) {
	s := newSigner(f, testKey)
	c := sponsored()
	raw, _ := b64.DecodeString(s.Sign(&c))
	f.Add(raw[:len(raw)-macSize])
	f.Add([]byte{version})
	f.Add(append([]byte{version}, make([]byte, fixedLen+2)...))
	f.Fuzz(func(t *testing.T, body []byte) {
		tok := seal(s, body)
		got, err := s.Verify(tok, time.Unix(-1<<62, 0))
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrExpired) {
				t.Fatalf("signed body %x: %v", body, err)
			}
			return
		}
		if again := s.Sign(&got); again != tok {
			t.Fatalf("accepted %q re-signs to %q", tok, again)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	s := newSigner(b, testKey)
	c := sponsored()
	buf := make([]byte, 0, MaxLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = s.Append(buf[:0], &c)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendResponse signs the 100 tokens of a full Nearby response into
// one buffer, the way the handler will.
func BenchmarkAppendResponse(b *testing.B) {
	s := newSigner(b, testKey)
	c := sponsored()
	buf := make([]byte, 0, 100*MaxLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := range 100 {
			c.Index = uint8(i)
			buf = s.Append(buf, &c)
		}
	}
}

func BenchmarkSign(b *testing.B) {
	s := newSigner(b, testKey)
	c := sponsored()
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Sign(&c)
	}
}

func BenchmarkVerify(b *testing.B) {
	s := newSigner(b, testKey)
	c := sponsored()
	tok := s.Sign(&c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, verifyNow); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyForged(b *testing.B) {
	s := newSigner(b, testKey)
	c := sponsored()
	tok := newSigner(b, []byte("another secret, also 32 bytes..!")).Sign(&c)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, verifyNow); !errors.Is(err, ErrForged) {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendParallel(b *testing.B) {
	s := newSigner(b, testKey)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := sponsored()
		buf := make([]byte, 0, MaxLen)
		for pb.Next() {
			buf = s.Append(buf[:0], &c)
		}
	})
}
