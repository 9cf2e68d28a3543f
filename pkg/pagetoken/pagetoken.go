package pagetoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// macSize is the truncated HMAC length: 128 bits is far beyond guessing.
const macSize = 16

// ErrInvalid is returned for any token that was not issued by this server
// for this purpose, unchanged.
var ErrInvalid = errors.New("invalid page token: pass next_page_token back unchanged")

// Codec signs and verifies tokens with one key.
type Codec struct{ key []byte }

// New returns a Codec using key (the server secret).
func New(key []byte) *Codec { return &Codec{key: append([]byte(nil), key...)} }

// Encode signs payload for purpose and returns the token.
func (c *Codec) Encode(purpose string, payload []byte) string {
	buf := make([]byte, 0, len(payload)+macSize)
	buf = append(buf, payload...)
	buf = append(buf, c.mac(purpose, payload)...)
	return base64.RawURLEncoding.EncodeToString(buf)
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
	if !hmac.Equal(sum, c.mac(purpose, payload)) {
		return nil, ErrInvalid
	}
	return payload, nil
}

func (c *Codec) mac(purpose string, payload []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	// The purpose is length-prefixed so that (purpose, payload) pairs cannot
	// be shifted into each other.
	m.Write([]byte{byte(len(purpose))})
	m.Write([]byte(purpose))
	m.Write(payload)
	return m.Sum(nil)[:macSize]
}
