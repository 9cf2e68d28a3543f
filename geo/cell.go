package geo

import h3 "github.com/uber/h3-go/v4"

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

// ValidCell reports whether cell is a valid H3 cell index (one cgo call).
func ValidCell(cell uint64) bool {
	return cell <= 1<<63-1 && h3.Cell(int64(cell)).IsValid()
}
