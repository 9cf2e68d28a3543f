package geo

import (
	"fmt"
	"strconv"

	h3 "github.com/uber/h3-go/v4"
)

// CellSet is an area given directly as H3 cells of any resolution. A point
// is in the set when its cell at some member's resolution is that member:
// membership is geographic, so a coarse cell covers exactly its own
// hexagon, not the union of its children.
//
// Validate requires the cells to be valid, distinct, and not to contain
// one another in H3's hierarchy (a cell and one of its descendants: the
// descendant would add nothing but slivers and makes the area ambiguous).
type CellSet struct {
	Cells []uint64

	byRes map[int]map[uint64]struct{} // set by NewCellSet
}

func (CellSet) apiField() string { return "cells" }

// MaxCellSetCells bounds a CellSet's size (it is stored as-is in the index).
const MaxCellSetCells = DefaultMaxCells

// ParseCellSet parses hex cell strings (as h3.Cell.String prints them, no
// "0x") into a prepared CellSet, reporting every string that is not a
// valid cell with path "h3_cells[i]" and the set's own problems.
func ParseCellSet(strs []string) (CellSet, []Problem) {
	var ps problems
	cells := make([]uint64, 0, len(strs))
	for i, s := range strs {
		v, err := strconv.ParseUint(s, 16, 64)
		if err != nil || len(s) > 16 {
			ps.add(fmt.Sprintf("h3_cells[%d]", i), "%q is not a hexadecimal H3 index", truncate(s, 40))
			cells = append(cells, 0)
			continue
		}
		cells = append(cells, v)
	}
	cs, more := NewCellSet(cells)
	for _, p := range more {
		if p.Path != "" && ps.list != nil && hasPath(ps.list, p.Path) {
			continue // already reported as unparsable
		}
		ps.add(p.Path, "%s", p.Message)
	}
	if len(ps.list) > 0 {
		return CellSet{Cells: cells}, ps.result()
	}
	return cs, nil
}

func hasPath(ps []Problem, path string) bool {
	for _, p := range ps {
		if p.Path == path {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// NewCellSet validates and prepares a CellSet for ContainsDeg.
func NewCellSet(cells []uint64) (CellSet, []Problem) {
	cs := CellSet{Cells: cells}
	if ps := cs.Validate(); len(ps) > 0 {
		return cs, ps
	}
	cs.byRes = cs.index()
	return cs, nil
}

func (cs CellSet) index() map[int]map[uint64]struct{} {
	m := map[int]map[uint64]struct{}{}
	for _, c := range cs.Cells {
		r := CellResolution(c)
		if m[r] == nil {
			m[r] = map[uint64]struct{}{}
		}
		m[r][c] = struct{}{}
	}
	return m
}

// Validate checks each cell (path "h3_cells[i]"): valid H3 cell, not a
// repeat, not a descendant of another member; and the set's size
// (path "h3_cells").
func (cs CellSet) Validate() []Problem {
	var ps problems
	if len(cs.Cells) == 0 {
		ps.add("h3_cells", "is empty")
	}
	if len(cs.Cells) > MaxCellSetCells {
		ps.add("h3_cells", "has %d cells; at most %d are allowed", len(cs.Cells), MaxCellSetCells)
		return ps.result()
	}
	first := map[uint64]int{}
	for i, c := range cs.Cells {
		if !ValidCell(c) {
			ps.add(fmt.Sprintf("h3_cells[%d]", i), "%x is not a valid H3 cell", c)
			continue
		}
		if j, ok := first[c]; ok {
			ps.add(fmt.Sprintf("h3_cells[%d]", i), "repeats h3_cells[%d]", j)
			continue
		}
		first[c] = i
	}
	for i, c := range cs.Cells {
		if first[c] != i {
			continue
		}
		for r := CellResolution(c) - 1; r >= 0; r-- {
			if j, ok := first[CellParent(c, r)]; ok {
				ps.add(fmt.Sprintf("h3_cells[%d]", i), "lies within h3_cells[%d] (a coarser ancestor)", j)
				break
			}
		}
	}
	return ps.result()
}

// ContainsDeg reports whether the position's cell at some member's
// resolution is a member: one CellOf per distinct resolution. Undefined
// for invalid positions; unprepared sets (literals) are indexed per call.
func (cs CellSet) ContainsDeg(latDeg, lngDeg float64) bool {
	m := cs.byRes
	if m == nil {
		m = cs.index()
	}
	for r, set := range m {
		if _, ok := set[CellOf(latDeg, lngDeg, r)]; ok {
			return true
		}
	}
	return false
}

// AreaKm2 sums the cells' exact areas (members do not overlap: H3 cells of
// one resolution tile the sphere, and ancestors are rejected; cells of
// different resolutions that are not ancestors may still overlap by
// slivers, which are counted twice).
func (cs CellSet) AreaKm2() float64 {
	var a float64
	for _, c := range cs.Cells {
		a += h3.CellAreaKm2(h3.Cell(int64(c)))
	}
	return a
}

// Cover returns the cells themselves, all Interior: a CellSet's own cells
// are its exact area. ErrTooManyCells if there are more than p.MaxCells.
func (cs CellSet) Cover(p CoverPolicy) (*Covering, error) {
	p = p.withDefaults()
	if len(cs.Cells) > p.MaxCells {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooManyCells, len(cs.Cells), p.MaxCells)
	}
	out := &Covering{Cells: make([]CoverCell, len(cs.Cells))}
	for i, c := range cs.Cells {
		out.Cells[i] = CoverCell{Cell: c, Res: CellResolution(c), Interior: true}
	}
	return out, nil
}
