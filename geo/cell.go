package geo

import "math/bits"

// H3 index bit layout (https://h3geo.org/docs/core-library/h3Indexing): bits
// 52-55 hold the resolution and, below the 7-bit base cell, fifteen 3-bit
// digits, digit r for resolution r; digits finer than the cell's resolution
// are 7. Parent arithmetic on these bits is exact and needs no cgo call —
// the index builder calls it for every place.
const (
	h3ResOffset = 52
	h3ResMask   = uint64(0xf) << h3ResOffset
	h3MaxRes    = 15
	h3DigitBits = 3
)

// CellResolution returns the resolution encoded in an H3 cell index.
func CellResolution(cell uint64) int { return int((cell & h3ResMask) >> h3ResOffset) }

// CellParent returns the ancestor of cell at resolution res. It is defined
// for a valid cell and 0 ≤ res ≤ its resolution; otherwise it returns 0.
func CellParent(cell uint64, res int) uint64 {
	cur := CellResolution(cell)
	if res < 0 || res > cur {
		return 0
	}
	out := (cell &^ h3ResMask) | uint64(res)<<h3ResOffset
	for r := res + 1; r <= cur; r++ {
		out |= uint64(7) << ((h3MaxRes - r) * h3DigitBits)
	}
	return out
}

// ValidCell reports whether cell is a valid H3 cell index. It is H3's
// isValidCell in Go, on the bits, without a cgo call: decoding the stored
// coverings of 100,000 campaigns checks 30 million cells at start-up
// (TestValidCellMatchesH3 compares it with H3's on valid, mutated and
// random indexes). The digits are checked all at once with masks rather
// than one by one (~5 times faster).
func ValidCell(cell uint64) bool {
	const (
		modeCell      = 1
		numBaseCells  = 122
		kAxesDigit    = 1
		baseCellShift = 45
		digitsMask    = 1<<baseCellShift - 1
		// groupLows has the lowest bit of each of the fifteen digits set.
		groupLows = 0o111111111111111
	)
	if cell>>63 != 0 || (cell>>59)&0xf != modeCell || (cell>>56)&0x7 != 0 {
		return false
	}
	base := int((cell >> baseCellShift) & 0x7f)
	if base >= numBaseCells {
		return false
	}
	// The digits finer than the resolution must all be 7 (every bit set).
	unused := uint((h3MaxRes - CellResolution(cell)) * h3DigitBits)
	fill := uint64(1)<<unused - 1
	if cell&fill != fill {
		return false
	}
	// No used digit may be 7: a digit is 7 when its three bits are set,
	// which x & x>>1 & x>>2 shows at the digit's lowest bit.
	used := (cell & digitsMask) >> unused // digit 1 highest, the finest lowest
	if used&(used>>1)&(used>>2)&groupLows != 0 {
		return false
	}
	// A pentagon has no cells down its deleted axis: its first non-zero
	// digit (the highest set group) must not be 1.
	if used != 0 && pentagonBaseCell(base) {
		top := uint(bits.Len64(used)-1) / h3DigitBits * h3DigitBits
		if used>>top&7 == kAxesDigit {
			return false
		}
	}
	return true
}

// pentagonBaseCell reports whether an H3 base cell is one of the twelve
// pentagons.
func pentagonBaseCell(b int) bool {
	switch b {
	case 4, 14, 24, 38, 49, 58, 63, 72, 83, 97, 107, 117:
		return true
	}
	return false
}
