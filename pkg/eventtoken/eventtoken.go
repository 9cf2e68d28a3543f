package eventtoken

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync"
	"time"
)

// Limits of the claims. Verify rejects a token outside them as malformed, and
// Append refuses to sign claims outside them (see [Signer.Append]).
const (
	// MaxIndex is the largest Claims.Index: a Nearby response has at most
	// 100 results.
	MaxIndex = 99
	// MaxIDLen is the longest MiniProgramID, PlaceID or CampaignID in bytes,
	// the longest id the catalog accepts.
	MaxIDLen = 64
	// MaxLen is the longest token in bytes (all three ids at MaxIDLen), for
	// request validation to reject anything longer before verifying it.
	MaxLen = (maxRaw*8 + 5) / 6
)

// Claims.PricingModel values.
const (
	PricingNone uint8 = 0 // organic result: no price
	PricingCPM  uint8 = 1 // impressions are billed
	PricingCPC  uint8 = 2 // clicks are billed
)

// Claims is what a token says about one Nearby result.
type Claims struct {
	// Nonce is random per Nearby response; with Index it makes every token
	// unique, and replay detection keys on the pair.
	Nonce [8]byte
	// Index is the position of the result in the response, 0..MaxIndex.
	Index uint8
	// IssuedAt and ExpiresAt are kept to the second (truncated toward the
	// past); ExpiresAt must not be before IssuedAt. Verify returns them in
	// UTC.
	IssuedAt  time.Time
	ExpiresAt time.Time
	// MiniProgramID, PlaceID and CampaignID (empty for organic results) are
	// at most MaxIDLen bytes each.
	MiniProgramID string
	PlaceID       string
	CampaignID    string
	// UserHash is a salted hash of the user id, 0 for anonymous users. The
	// token is readable by whoever holds it, so it never has the raw id.
	UserHash uint64
	// PriceMicros is the clearing price of one billable event as the auction
	// set it, 0 for organic results.
	PriceMicros int64
	// PricingModel is PricingNone, PricingCPM or PricingCPC.
	PricingModel uint8
	// Cell is the coarse H3 cell (resolution 7) of the user's position, 0 if
	// unknown: enough for per-cell statistics, never the position itself.
	Cell uint64
}

// Verify's outcomes, distinguishable with errors.Is. Their messages are short
// and carry nothing of the token or the key, so they are safe to return to
// callers as the reason an event was rejected.
var (
	ErrMalformed = errors.New("malformed event token")
	ErrForged    = errors.New("event token signature does not match")
	ErrExpired   = errors.New("event token expired")
)

// The binary layout, version 2 (fixed-width integers big-endian; varints
// as encoding/binary writes them, signed ones zig-zag, each in its shortest
// form; the token is this, base64url without padding):
//
//	offset size  field
//	     0    1  version (2)
//	     1    8  Nonce
//	     9    1  Index
//	    10    8  UserHash
//	    18    8  Cell
//	    26    1  PricingModel
//	    27  1-10 IssuedAt, Unix seconds (varint)
//	     …  1-10 ExpiresAt − IssuedAt, seconds (uvarint)
//	     …  1-10 PriceMicros (varint)
//	     …  1+n  MiniProgramID: length n (≤ 64), bytes
//	     …  1+n  PlaceID: length, bytes
//	     …  1+n  CampaignID: length, bytes
//	     …   16  AES-CMAC of every byte before it, under the derived key
//
// Fixed widths, shortest varints (a longer spelling is malformed) and one
// byte of length per string give every set of claims exactly one encoding,
// which is what lets a verified token stand for its claims (and the fuzz
// tests check that accepted tokens re-sign identically). Version 1 (fixed
// 8-byte times and price, HMAC-SHA256) is no longer accepted: its tokens
// verify as malformed.
//
// An organic result's token is ~76 bytes (102 characters) with this
// dataset's ids where version 1 took ~92 (123): the times and the price are
// varints (a zero price is one byte), and the tag is one AES block.
const (
	version  = 2
	fixedLen = 27
	macSize  = aes.BlockSize
	minRaw   = fixedLen + 3 + 3 + macSize
	maxRaw   = fixedLen + 3*binary.MaxVarintLen64 + 3 + 3*MaxIDLen + macSize
	minLen   = (minRaw*8 + 5) / 6
)

// keyLabel separates the MAC key of event tokens from every other use of the
// server secret (and from version 1's key).
const keyLabel = "aroundme event token v2 aes-cmac"

// b64 is strict: the padding bits of the last character must be zero, so a
// token has one spelling only.
var b64 = base64.RawURLEncoding.Strict()

// Signer signs and verifies event tokens under one key. It is safe for
// concurrent use; create it with NewSigner.
type Signer struct {
	mac cmac
	// pool holds per-call scratch, which must be on the heap anyway: bytes
	// handed to the block cipher (an interface) escape.
	pool sync.Pool
}

type state struct {
	raw [maxRaw]byte
	x   [aes.BlockSize]byte // the CMAC chaining value
}

// NewSigner returns a Signer for key, the server secret (at least 32 bytes).
// The MAC key is the first 16 bytes of HMAC-SHA256(key, keyLabel), so the
// secret can safely sign other things too.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < 32 {
		return nil, errors.New("eventtoken: key must be at least 32 bytes")
	}
	kdf := hmac.New(sha256.New, key)
	kdf.Write([]byte(keyLabel))
	s := &Signer{}
	if err := s.mac.init(kdf.Sum(nil)[:16]); err != nil {
		return nil, err
	}
	s.pool.New = func() any { return &state{} }
	return s, nil
}

// Append appends the token for c to dst and returns the extended slice. It
// does not allocate when dst has room for MaxLen more bytes.
//
// Claims that Verify would reject (Index over MaxIndex, an id over MaxIDLen
// bytes, PricingModel over PricingCPC, ExpiresAt before IssuedAt) make Append
// panic: they are a bug of the caller (ids are validated where they enter the
// system), and a token that could never be redeemed would only hide it.
func (s *Signer) Append(dst []byte, c *Claims) []byte {
	issued, expires := c.IssuedAt.Unix(), c.ExpiresAt.Unix()
	if msg := check(c.Index, c.PricingModel, issued, expires); msg != "" {
		panic("eventtoken: cannot sign claims: " + msg)
	}
	if len(c.MiniProgramID) > MaxIDLen || len(c.PlaceID) > MaxIDLen || len(c.CampaignID) > MaxIDLen {
		panic("eventtoken: cannot sign claims: id longer than 64 bytes")
	}
	st := s.pool.Get().(*state)
	b := append(st.raw[:0], version)
	b = append(b, c.Nonce[:]...)
	b = append(b, c.Index)
	b = binary.BigEndian.AppendUint64(b, c.UserHash)
	b = binary.BigEndian.AppendUint64(b, c.Cell)
	b = append(b, c.PricingModel)
	b = binary.AppendVarint(b, issued)
	b = binary.AppendUvarint(b, uint64(expires)-uint64(issued)) // ≥ 0, checked above
	b = binary.AppendVarint(b, c.PriceMicros)
	b = append(append(b, byte(len(c.MiniProgramID))), c.MiniProgramID...)
	b = append(append(b, byte(len(c.PlaceID))), c.PlaceID...)
	b = append(append(b, byte(len(c.CampaignID))), c.CampaignID...)
	b = append(b, s.mac.sum(&st.x, b)...)
	dst = b64.AppendEncode(dst, b)
	s.pool.Put(st)
	return dst
}

// Sign returns the token for c; see Append.
func (s *Signer) Sign(c *Claims) string {
	var buf [MaxLen]byte // stays on the stack: the string is the one allocation
	return string(s.Append(buf[:0], c))
}

// Verify checks tok and returns its claims. It fails with ErrMalformed when
// tok is not a token of this format, ErrForged when its signature does not
// match (another key, or tampering), and ErrExpired when now is after
// ExpiresAt; the claims are then zero. Nothing in tok is believed before its
// signature is checked, except the version and the framing needed to find
// the signature.
func (s *Signer) Verify(tok string, now time.Time) (Claims, error) {
	if len(tok) < minLen || len(tok) > MaxLen {
		return Claims{}, ErrMalformed
	}
	st := s.pool.Get().(*state)
	defer s.pool.Put(st)
	n, err := b64.Decode(st.raw[:], []byte(tok))
	// The decoder skips '\r' and '\n'; the length check refuses them, so
	// that no two strings verify as the same token.
	if err != nil || b64.EncodedLen(n) != len(tok) {
		return Claims{}, ErrMalformed
	}
	raw := st.raw[:n]
	if raw[0] != version || len(raw) < fixedLen {
		return Claims{}, ErrMalformed
	}
	// Framing: walk the three varints and the three strings to find where
	// the tag starts, which must be exactly 16 bytes before the end.
	end := fixedLen
	var vs [3]uint64
	for i := range vs {
		v, n := uvarint(raw[end:])
		if n == 0 {
			return Claims{}, ErrMalformed
		}
		vs[i], end = v, end+n
	}
	strs := end // where the strings start
	for range 3 {
		if end >= len(raw) || raw[end] > MaxIDLen {
			return Claims{}, ErrMalformed
		}
		end += 1 + int(raw[end])
	}
	if end+macSize != len(raw) {
		return Claims{}, ErrMalformed
	}
	if !hmac.Equal(raw[end:], s.mac.sum(&st.x, raw[:end])) {
		return Claims{}, ErrForged
	}

	c := Claims{
		Index:        raw[9],
		UserHash:     binary.BigEndian.Uint64(raw[10:]),
		Cell:         binary.BigEndian.Uint64(raw[18:]),
		PricingModel: raw[26],
		PriceMicros:  unzigzag(vs[2]),
	}
	copy(c.Nonce[:], raw[1:9])
	issued := unzigzag(vs[0])
	expires := int64(uint64(issued) + vs[1]) // wraps below issued when too large
	if check(c.Index, c.PricingModel, issued, expires) != "" {
		return Claims{}, ErrMalformed
	}
	c.IssuedAt = time.Unix(issued, 0).UTC()
	c.ExpiresAt = time.Unix(expires, 0).UTC()
	if now.After(c.ExpiresAt) {
		return Claims{}, ErrExpired
	}
	// One allocation for the three ids: they share one string.
	if end > strs+3 {
		rest := string(raw[strs:end])
		c.MiniProgramID, rest = cut(rest)
		c.PlaceID, rest = cut(rest)
		c.CampaignID, _ = cut(rest)
	}
	return c, nil
}

// check returns why claims are not signable, or "".
func check(index, pricing uint8, issued, expires int64) string {
	switch {
	case index > MaxIndex:
		return "index over 99"
	case pricing > PricingCPC:
		return "unknown pricing model"
	case expires < issued:
		return "expires before it is issued"
	}
	return ""
}

// cut splits a length-prefixed string (framing already checked) off s.
func cut(s string) (str, rest string) {
	n := 1 + int(s[0])
	return s[1:n], s[n:]
}

// uvarint reads the shortest-form uvarint at the start of b: n is 0 when
// there is none (truncated, over 64 bits, or a longer spelling, whose last
// byte is 0).
func uvarint(b []byte) (v uint64, n int) {
	v, n = binary.Uvarint(b)
	if n <= 0 || (n > 1 && b[n-1] == 0) {
		return 0, 0
	}
	return v, n
}

// unzigzag decodes a signed varint's value, as binary.Varint does.
func unzigzag(u uint64) int64 {
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}
