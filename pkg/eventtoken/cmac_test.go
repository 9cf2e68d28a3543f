package eventtoken

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// TestCMACVectors: AES-128-CMAC of RFC 4493 §4 (also NIST SP 800-38B's
// examples): the subkeys and the tags of messages of 0, 16, 40 and 64
// bytes, which cover an empty, a whole and a padded last block.
func TestCMACVectors(t *testing.T) {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var m cmac
	if err := m.init(unhex("2b7e151628aed2a6abf7158809cf4f3c")); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.k1[:], unhex("fbeed618357133667c85e08f7236a8de")) || !bytes.Equal(m.k2[:], unhex("f7ddac306ae266ccf90bc11ee46d513b")) {
		t.Fatalf("subkeys %x %x", m.k1, m.k2)
	}
	msg := unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	for _, tc := range []struct {
		n   int
		tag string
	}{
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{20, "7d85449ea6ea19c823a7bf78837dfade"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	} {
		var x [macSize]byte
		if got := m.sum(&x, msg[:tc.n]); !bytes.Equal(got, unhex(tc.tag)) {
			t.Errorf("CMAC of %d bytes = %x, want %s", tc.n, got, tc.tag)
		}
	}
}
