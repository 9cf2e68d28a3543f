package geo

import (
	"cmp"
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
)

// A GeofenceCovering is a pure function of its geofence and policy, but a
// costly one (a 5 km circle takes ~3 ms, nearly all of it cgo calls for cell
// boundaries), so a campaign's record carries its covering and a restart
// with 100,000 campaigns decodes them instead of covering every fence again.
//
// The encoding, version 1: a version byte; the number of include and of
// exclude coverings (uvarint each); then per covering its cell count
// (uvarint) and its cells sorted ascending, each as the uvarint of
// (cell − previous cell) << 1 | interior, the previous cell starting at 0.
// Sorted deltas make neighbouring cells a few bytes each (~3 bytes per cell
// for a city-sized circle, against 9 for a plain cell and flag).
const coveringVersion = 1

// maxEncodedCells bounds what a decoder allocates from a count it was given:
// nothing the server writes has more cells than its covering cap (at most
// 1,000,000 by configuration).
const maxEncodedCells = 1 << 20

// ErrBadCovering reports an encoded covering that does not decode: a corrupt
// or foreign value.
var ErrBadCovering = errors.New("geo: encoded covering is corrupt")

// AppendBinary appends the encoding of gc to b.
func (gc GeofenceCovering) AppendBinary(b []byte) []byte {
	b = append(b, coveringVersion)
	b = binary.AppendUvarint(b, uint64(len(gc.Include)))
	b = binary.AppendUvarint(b, uint64(len(gc.Exclude)))
	for _, list := range [][]*Covering{gc.Include, gc.Exclude} {
		for _, c := range list {
			cells := slices.Clone(c.Cells)
			slices.SortFunc(cells, func(a, b CoverCell) int { return cmp.Compare(a.Cell, b.Cell) })
			b = binary.AppendUvarint(b, uint64(len(cells)))
			prev := uint64(0)
			for _, cc := range cells {
				v := (cc.Cell - prev) << 1
				if cc.Interior {
					v |= 1
				}
				b = binary.AppendUvarint(b, v)
				prev = cc.Cell
			}
		}
	}
	return b
}

// DecodeGeofenceCovering decodes what AppendBinary wrote. Every cell must be
// a valid H3 cell index and the cells of a covering strictly ascending (so
// that a value has one reading); anything else is ErrBadCovering, never a
// panic.
func DecodeGeofenceCovering(b []byte) (GeofenceCovering, error) {
	var gc GeofenceCovering
	if len(b) == 0 || b[0] != coveringVersion {
		return gc, ErrBadCovering
	}
	b = b[1:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		// A uvarint padded with zero groups (0x80 0x00 for 0) decodes
		// like the short one: refuse it, so that a value has one spelling.
		if n <= 0 || n != (bits.Len64(v|1)+6)/7 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	ni, ok1 := next()
	ne, ok2 := next()
	if !ok1 || !ok2 || ni > uint64(len(b)) || ne > uint64(len(b)) {
		return gc, ErrBadCovering
	}
	total := 0
	one := func() (*Covering, error) {
		n, ok := next()
		// Each cell takes at least one byte: a count beyond what is left is
		// corrupt, and checking it first bounds the allocation.
		if !ok || n > uint64(len(b)) || total+int(n) > maxEncodedCells {
			return nil, ErrBadCovering
		}
		total += int(n)
		c := &Covering{Cells: make([]CoverCell, n)}
		prev := uint64(0)
		for i := range c.Cells {
			v, ok := next()
			if !ok {
				return nil, ErrBadCovering
			}
			d := v >> 1
			if (i > 0 && d == 0) || d > 1<<63-1-prev {
				return nil, ErrBadCovering
			}
			cell := prev + d
			if !ValidCell(cell) {
				return nil, ErrBadCovering
			}
			c.Cells[i] = CoverCell{Cell: cell, Res: CellResolution(cell), Interior: v&1 == 1}
			prev = cell
		}
		return c, nil
	}
	for range ni {
		c, err := one()
		if err != nil {
			return GeofenceCovering{}, err
		}
		gc.Include = append(gc.Include, c)
	}
	for range ne {
		c, err := one()
		if err != nil {
			return GeofenceCovering{}, err
		}
		gc.Exclude = append(gc.Exclude, c)
	}
	if len(b) != 0 {
		return GeofenceCovering{}, ErrBadCovering
	}
	return gc, nil
}
