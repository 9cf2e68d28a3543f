package geo

import (
	"math/rand/v2"
	"testing"

	h3 "github.com/uber/h3-go/v4"
)

// TestValidCellMatchesH3: the Go check agrees with H3's on real cells of
// every resolution (pentagons included), on single-field mutations of them
// and on random bit patterns.
func TestValidCellMatchesH3(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	check := func(c uint64) {
		t.Helper()
		want := c <= 1<<63-1 && h3.Cell(int64(c)).IsValid()
		if got := ValidCell(c); got != want {
			t.Fatalf("ValidCell(%#x) = %v, H3 says %v", c, got, want)
		}
	}
	var cells []uint64
	for res := range 16 {
		for _, p := range h3.Pentagons(res) {
			cells = append(cells, uint64(p))
		}
		for range 200 {
			cells = append(cells, CellOf(rng.Float64()*180-90, rng.Float64()*360-180, res))
		}
	}
	valid := 0
	for _, c := range cells {
		check(c)
		for range 20 {
			// Flip one bit, or set one digit to a random value.
			m := c ^ 1<<rng.IntN(64)
			check(m)
			r := 1 + rng.IntN(15)
			shift := (h3MaxRes - r) * h3DigitBits
			m = c&^(7<<shift) | uint64(rng.IntN(8))<<shift
			check(m)
			if ValidCell(m) {
				valid++
			}
		}
	}
	for range 100000 {
		check(rng.Uint64())
		check(rng.Uint64()&^(0xff<<56) | 1<<59) // mode 1, the rest random
	}
	if valid < 1000 {
		t.Fatalf("only %d valid mutations: the test barely tests acceptance", valid)
	}
}

// FuzzValidCell: the Go check agrees with H3's on any 64 bits.
func FuzzValidCell(f *testing.F) {
	for _, p := range h3.Pentagons(7) {
		f.Add(uint64(p))
	}
	f.Add(CellOf(39.9, 116.4, 9))
	f.Fuzz(func(t *testing.T, c uint64) {
		want := c <= 1<<63-1 && h3.Cell(int64(c)).IsValid()
		if got := ValidCell(c); got != want {
			t.Fatalf("ValidCell(%#x) = %v, H3 says %v", c, got, want)
		}
	})
}
