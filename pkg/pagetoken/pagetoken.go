package pagetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"hash"
	"sync"
)

// macSize is the truncated HMAC length: 128 bits is far beyond guessing.
const macSize = 16

// maxScratch bounds the scratch a pooled state keeps between uses; a larger
// token is encoded in a buffer of its own that is then dropped.
const maxScratch = 1 << 10

// ErrInvalid is returned for any token that was not issued by this server
// for this purpose, unchanged.
var ErrInvalid = errors.New("invalid page token: pass next_page_token back unchanged")

// Codec signs and verifies tokens with one key. It is safe for concurrent
// use.
type Codec struct {
	key []byte
	// pool holds HMAC states keyed once (crypto/hmac saves the state after
	// the key's pads on the first Reset and restores it later), with their
	// scratch: Nearby encodes a token on most first pages, and hmac.New per
	// token cost six allocations and two extra SHA-256 blocks.
	pool sync.Pool
}

type state struct {
	mac hash.Hash
	msg []byte // the MACed message, then the raw token
	out []byte // the base64 of the raw token
	sum [sha256.Size]byte
}

// New returns a Codec using key (the server secret).
func New(key []byte) *Codec {
	c := &Codec{key: append([]byte(nil), key...)}
	c.pool.New = func() any {
		m := hmac.New(sha256.New, c.key)
		m.Reset() // precomputes the keyed pad states
		return &state{mac: m}
	}
	return c
}

// Encode signs payload for purpose and returns the token. The token's string
// is its only allocation.
func (c *Codec) Encode(purpose string, payload []byte) string {
	st := c.pool.Get().(*state)
	defer c.put(st)
	tag := st.tag(purpose, payload)
	raw := append(append(st.msg[:0], payload...), tag...)
	st.msg = raw
	st.out = base64.RawURLEncoding.AppendEncode(st.out[:0], raw)
	return string(st.out)
}

// Decode verifies tok for purpose and returns its payload, or ErrInvalid.
func (c *Codec) Decode(purpose, tok string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	// The decoder skips \r and \n; a token is valid only in the one
	// spelling this server issues, so the lengths must agree.
	if err != nil || len(raw) < macSize || base64.RawURLEncoding.EncodedLen(len(raw)) != len(tok) {
		return nil, ErrInvalid
	}
	payload, sum := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	st := c.pool.Get().(*state)
	defer c.put(st)
	if !hmac.Equal(sum, st.tag(purpose, payload)) {
		return nil, ErrInvalid
	}
	return payload, nil
}

func (c *Codec) put(st *state) {
	if cap(st.msg) > maxScratch || cap(st.out) > maxScratch {
		st.msg, st.out = nil, nil
	}
	c.pool.Put(st)
}

// tag returns the truncated MAC of (purpose, payload), in st.sum. The
// purpose is length-prefixed so that (purpose, payload) pairs cannot be
// shifted into each other.
func (st *state) tag(purpose string, payload []byte) []byte {
	msg := append(st.msg[:0], byte(len(purpose)))
	msg = append(append(msg, purpose...), payload...)
	st.msg = msg
	st.mac.Reset()
	st.mac.Write(msg)
	return st.mac.Sum(st.sum[:0])[:macSize]
}
