package reach

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// formatVersion is the first byte of an encoded value; a reader that meets
// another one reports corruption instead of guessing.
const formatVersion = 1

// ErrCorrupt is wrapped by every error Decode returns.
var ErrCorrupt = errors.New("reach: corrupt counters")

// Encode serialises entries compactly, for the store:
//
//	version (1) | n | n × (cell delta | day delta (zig-zag) | count)
//
// all unsigned LEB128 varints, each minimal. Entries are written sorted by
// cell then day, each cell as the difference from the previous entry's
// (the first from 0) and each day likewise, so a cell's week costs about
// 3 bytes a day after its first. Entries that Decode would refuse (count
// ≤ 0, a cell that is not a valid resolution-7 cell) are left out and
// duplicates are summed, so what Encode writes always reads back.
func Encode(es []Entry) []byte {
	norm := make([]Entry, 0, len(es))
	for _, e := range es {
		if e.Count > 0 && ValidCell(e.Cell) {
			norm = append(norm, e)
		}
	}
	slices.SortFunc(norm, compareEntries)
	out := norm[:0]
	for _, e := range norm {
		if k := len(out) - 1; k >= 0 && out[k].Cell == e.Cell && out[k].Day == e.Day {
			out[k].Count = satAdd(out[k].Count, e.Count)
			continue
		}
		out = append(out, e)
	}
	b := make([]byte, 0, 2+len(out)*6)
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(len(out)))
	var cell uint64
	var day int64
	for _, e := range out {
		b = binary.AppendUvarint(b, e.Cell-cell)
		b = binary.AppendVarint(b, int64(e.Day)-day)
		b = binary.AppendUvarint(b, uint64(e.Count))
		cell, day = e.Cell, int64(e.Day)
	}
	return b
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// minEntryBytes is the smallest encoding of an entry, which bounds n before
// anything is allocated.
const minEntryBytes = 3

// Decode parses what Encode wrote. Anything else is an error wrapping
// ErrCorrupt, never a panic: an unknown version, a truncated or overlong
// varint, a non-minimal one, entries out of order or repeated, a count
// ≤ 0 or beyond int64, a day beyond int32, a cell that is not a valid
// resolution-7 cell, or bytes after the last entry.
func Decode(b []byte) ([]Entry, error) {
	corrupt := func(format string, args ...any) ([]Entry, error) {
		return nil, fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if len(b) == 0 {
		return corrupt("empty")
	}
	if b[0] != formatVersion {
		return corrupt("format version %d, want %d", b[0], formatVersion)
	}
	r := reader{b: b[1:]}
	n, ok := r.uvarint()
	if !ok {
		return corrupt("bad entry count")
	}
	if n > uint64(len(r.b)/minEntryBytes) {
		return corrupt("%d entries cannot fit in %d bytes", n, len(r.b))
	}
	es := make([]Entry, 0, n)
	var cell uint64
	var day int64
	for i := range n {
		dc, ok1 := r.uvarint()
		dd, ok2 := r.varint()
		cnt, ok3 := r.uvarint()
		if !ok1 || !ok2 || !ok3 {
			return corrupt("entry %d: truncated or malformed varint", i)
		}
		if i > 0 && (dc > math.MaxUint64-cell || (dc == 0 && dd <= 0)) {
			return corrupt("entry %d: out of order", i)
		}
		if (dd > 0 && day > math.MaxInt32-dd) || (dd < 0 && day < math.MinInt32-dd) {
			return corrupt("entry %d: day out of range", i)
		}
		cell, day = cell+dc, day+dd
		if cnt == 0 || cnt > math.MaxInt64 {
			return corrupt("entry %d: count %d", i, cnt)
		}
		if !ValidCell(cell) {
			return corrupt("entry %d: %x is not a valid resolution-%d cell", i, cell, Res)
		}
		es = append(es, Entry{Cell: cell, Day: int32(day), Count: int64(cnt)})
	}
	if len(r.b) != 0 {
		return corrupt("%d bytes after the last entry", len(r.b))
	}
	return es, nil
}

// reader reads minimal varints.
type reader struct{ b []byte }

func (r *reader) uvarint() (uint64, bool) {
	v, k := binary.Uvarint(r.b)
	if k <= 0 || k != uvarintLen(v) {
		return 0, false
	}
	r.b = r.b[k:]
	return v, true
}

func (r *reader) varint() (int64, bool) {
	u, ok := r.uvarint()
	// Zig-zag, as binary.Varint: the minimality check is on the unsigned form.
	return int64(u>>1) ^ -int64(u&1), ok
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
