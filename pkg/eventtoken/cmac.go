package eventtoken

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
)

// cmac is AES-CMAC (NIST SP 800-38B, RFC 4493) with a 128-bit key: CBC-MAC
// over the message, its last block masked with a subkey that depends on
// whether the block is whole (K1) or padded with 10…0 (K2). It is a PRF on
// messages of any length, like HMAC, and a standard MAC. On CPUs with AES
// instructions (which crypto/aes uses, in constant time) an event token's
// 60-75 bytes cost four or five AES blocks: a token is signed in about half
// the time of HMAC-SHA256's three SHA-256 blocks and state copies, and what
// is left is mostly base64. The standard library has no CMAC, hence these
// few lines over crypto/aes; TestCMACVectors checks them against RFC 4493's
// examples.
type cmac struct {
	block  cipher.Block // safe for concurrent use
	k1, k2 [aes.BlockSize]byte
}

func (m *cmac) init(key []byte) error {
	b, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	m.block = b
	var l [aes.BlockSize]byte
	b.Encrypt(l[:], l[:])
	m.k1 = double(l)
	m.k2 = double(m.k1)
	return nil
}

// double multiplies x by 2 in GF(2^128) (the subkey derivation).
func double(x [aes.BlockSize]byte) [aes.BlockSize]byte {
	hi, lo := binary.BigEndian.Uint64(x[:8]), binary.BigEndian.Uint64(x[8:])
	carry := hi >> 63
	hi = hi<<1 | lo>>63
	lo = lo<<1 ^ carry*0x87
	binary.BigEndian.PutUint64(x[:8], hi)
	binary.BigEndian.PutUint64(x[8:], lo)
	return x
}

// sum returns the tag of msg, in *x (caller's scratch: bytes given to the
// block cipher escape, so it must already be on the heap to not allocate).
func (m *cmac) sum(x *[aes.BlockSize]byte, msg []byte) []byte {
	*x = [aes.BlockSize]byte{}
	for len(msg) > aes.BlockSize {
		xor(x, msg)
		m.block.Encrypt(x[:], x[:])
		msg = msg[aes.BlockSize:]
	}
	// The last block: whole (a non-empty message of whole blocks) or padded.
	var last [aes.BlockSize]byte
	copy(last[:], msg)
	k := &m.k1
	if len(msg) < aes.BlockSize {
		last[len(msg)] = 0x80
		k = &m.k2
	}
	xor(x, last[:])
	xor(x, k[:])
	m.block.Encrypt(x[:], x[:])
	return x[:]
}

// xor sets x ^= b[:16].
func xor(x *[aes.BlockSize]byte, b []byte) {
	_ = b[aes.BlockSize-1]
	binary.LittleEndian.PutUint64(x[:8], binary.LittleEndian.Uint64(x[:8])^binary.LittleEndian.Uint64(b[:8]))
	binary.LittleEndian.PutUint64(x[8:], binary.LittleEndian.Uint64(x[8:])^binary.LittleEndian.Uint64(b[8:16]))
}
