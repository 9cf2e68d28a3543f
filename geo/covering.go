package geo

import (
	"errors"
	"fmt"
	"math"
	"slices"

	h3 "github.com/uber/h3-go/v4"
)

// CoverPolicy chooses the resolution of a covering and caps its size. The
// finest resolution is picked from the shape's perimeter so that roughly
// TargetBoundaryCells cells straddle the boundary: a 5 km circle is covered
// at resolution 9 (~170 m cells), a 200 m circle at 12 (~10 m cells).
// Fewer boundary cells mean fewer exact tests at query time but more cells.
type CoverPolicy struct {
	// TargetBoundaryCells is the number of boundary cells aimed at; 0 means
	// DefaultTargetBoundaryCells.
	TargetBoundaryCells int
	// MaxRes is the finest resolution used (0–15); 0 means DefaultMaxRes.
	MaxRes int
	// MaxCells rejects coverings that would need more cells (ErrTooManyCells);
	// 0 means DefaultMaxCells. For a geofence it bounds the total.
	MaxCells int
}

const (
	// DefaultTargetBoundaryCells keeps a 5 km circle to a few hundred cells.
	DefaultTargetBoundaryCells = 150
	// DefaultMaxRes (~3.5 m cells) is finer than a phone's GPS needs.
	DefaultMaxRes = 13
	// DefaultMaxCells bounds what one geofence costs the index.
	DefaultMaxCells = 20000
)

func (p CoverPolicy) withDefaults() CoverPolicy {
	if p.TargetBoundaryCells <= 0 {
		p.TargetBoundaryCells = DefaultTargetBoundaryCells
	}
	if p.MaxRes <= 0 || p.MaxRes > 15 {
		p.MaxRes = DefaultMaxRes
	}
	if p.MaxCells <= 0 {
		p.MaxCells = DefaultMaxCells
	}
	return p
}

// ResolutionFor returns the finest resolution (≤ MaxRes) at which a boundary
// of perimeterM metres crosses about TargetBoundaryCells cells (a boundary
// crosses about one cell per 1.5 edge lengths).
func (p CoverPolicy) ResolutionFor(perimeterM float64) int {
	p = p.withDefaults()
	r := 0
	for r < p.MaxRes {
		edge := h3.HexagonEdgeLengthAvgM(r + 1)
		if perimeterM/(1.5*edge) > float64(p.TargetBoundaryCells) {
			break
		}
		r++
	}
	return r
}

// ErrTooManyCells is returned by Cover when a covering would exceed
// CoverPolicy.MaxCells.
var ErrTooManyCells = errors.New("geo: covering needs too many cells")

// CoverCell is one cell of a covering: what an index needs to store.
type CoverCell struct {
	Cell     uint64 // H3 cell index
	Res      int    // its resolution
	Interior bool   // every point of the cell is inside; else Boundary
}

// Covering is a set of H3 cells of mixed resolutions that together contain
// every point of a shape, each marked Interior or Boundary.
//
// Membership is geographic, as for CellSet: a point is in covering cell c
// when its cell at c's resolution is c (CellOf(lat, lng, c.Res) == c.Cell).
// So a point is inside the shape if it is in an Interior cell, outside if it
// is in no cell, and otherwise needs the exact test. Guarantees: an Interior
// cell lies entirely inside the shape; a point inside the shape is in at
// least one cell. Cells may overlap (a coarse Interior cell and a finer cell
// near it): H3 children are not exactly contained in their parent, so the
// covering is not a partition; Interior wins.
//
// Interior cells are kept at the coarsest resolution at which they are
// verified to be interior, which plays the role of h3.CompactCells; plain
// CompactCells is not used because under geographic membership a compacted
// parent's area is not the union of its children's (the children overhang
// it), so it could both lose points and add unverified ones.
type Covering struct {
	Cells []CoverCell
}

// Len returns the number of cells.
func (c *Covering) Len() int { return len(c.Cells) }

// Resolutions returns the distinct resolutions of the cells, ascending: a
// lookup computes one cell per resolution.
func (c *Covering) Resolutions() []int {
	var seen [16]bool
	var out []int
	for _, cc := range c.Cells {
		if !seen[cc.Res] {
			seen[cc.Res] = true
			out = append(out, cc.Res)
		}
	}
	slices.Sort(out)
	return out
}

// Counts returns how many cells are Interior and Boundary.
func (c *Covering) Counts() (interior, boundary int) {
	for _, cc := range c.Cells {
		if cc.Interior {
			interior++
		} else {
			boundary++
		}
	}
	return
}

// CoveringLookup answers where a point stands in a covering. It is a plain
// map: the real index lives elsewhere; this one serves diagnostics and tests.
type CoveringLookup struct {
	res   []int
	state map[uint64]CellState
}

// Lookup builds a CoveringLookup. It is safe for concurrent use once built.
func (c *Covering) Lookup() CoveringLookup {
	l := CoveringLookup{res: c.Resolutions(), state: make(map[uint64]CellState, len(c.Cells))}
	for _, cc := range c.Cells {
		s := Boundary
		if cc.Interior {
			s = Interior
		}
		if s > l.state[cc.Cell] {
			l.state[cc.Cell] = s
		}
	}
	return l
}

// Locate returns Interior if the position is in an Interior cell, Boundary if
// it is only in Boundary cells, Outside if in none. One CellOf per
// resolution. Undefined for invalid positions.
func (l CoveringLookup) Locate(latDeg, lngDeg float64) CellState {
	best := Outside
	for _, r := range l.res {
		if s := l.state[CellOf(latDeg, lngDeg, r)]; s > best {
			best = s
			if s == Interior {
				break
			}
		}
	}
	return best
}

// classifier decides where one cell stands relative to a shape. ctx is the
// context its caller returned for the Boundary cell the candidate was
// generated from (nil at the start level); it lets polygons pass down the
// edges near a cell so that deep levels test few edges.
type classifier interface {
	classify(c h3.Cell, res int, ctx any) (CellState, any)
	// startLevel is called before the cells of a resolution are classified.
	startLevel(res int)
}

type candidate struct {
	cell h3.Cell
	ctx  any
}

// coverTopDown refines from the seeds at resolution r0 down to res: Interior
// cells are emitted where found, Outside cells dropped, Boundary cells
// replaced by every cell of the next resolution that can overlap them (the
// two rings around their centre child: the children plus the neighbours'
// children that overhang the parent), and emitted as Boundary at res.
//
// Why it covers: if p is inside and its cell at resolution r is Boundary,
// its cell at r+1 overlaps that cell, so it is a candidate at r+1, where it
// is Interior (emitted) or Boundary (refined, or emitted at res); it is
// never Outside because it contains p.
func coverTopDown(cl classifier, seeds []h3.Cell, r0, res, maxCells int) (*Covering, error) {
	if r0 > res {
		r0 = res
	}
	cands := make([]candidate, len(seeds))
	for i, s := range seeds {
		cands[i] = candidate{cell: s}
	}
	out := &Covering{}
	var boundary []candidate
	seen := make(map[h3.Cell]struct{})
	for r := r0; ; r++ {
		cl.startLevel(r)
		boundary = boundary[:0]
		for _, cd := range cands {
			st, ctx := cl.classify(cd.cell, r, cd.ctx)
			switch {
			case st == Interior:
				out.Cells = append(out.Cells, CoverCell{Cell: uint64(cd.cell), Res: r, Interior: true})
			case st == Boundary && r == res:
				out.Cells = append(out.Cells, CoverCell{Cell: uint64(cd.cell), Res: r})
			case st == Boundary:
				boundary = append(boundary, candidate{cd.cell, ctx})
			}
		}
		if len(out.Cells) > maxCells {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyCells, maxCells)
		}
		if r == res || len(boundary) == 0 {
			return out, nil
		}
		// A Boundary cell at r needs ~7 cells at r+1 at least; bail out before
		// generating a level that cannot fit.
		if len(out.Cells)+len(boundary)*3 > maxCells*3 {
			return nil, fmt.Errorf("%w: more than %d", ErrTooManyCells, maxCells)
		}
		clear(seen)
		cands = cands[:0]
		for _, b := range boundary {
			for _, n := range b.cell.CenterChild(r + 1).GridDisk(2) {
				// Near a pentagon h3-go's GridDisk returns slots that hold
				// no cell (0, or bits that are not a valid index): skip them.
				if _, ok := seen[n]; ok || n == 0 || !ValidCell(uint64(n)) {
					continue
				}
				seen[n] = struct{}{}
				cands = append(cands, candidate{n, b.ctx})
			}
		}
	}
}

// seedCells returns the start resolution and cells for a shape within
// angle rho of centre: a disk of cells coarse enough that it holds the
// whole shape. If the outermost ring of the disk is not all Outside the disk
// is widened (belt and braces: the radius computation below already allows
// for H3's 2× variation in cell size).
func seedCells(cl classifier, center Point, rho float64, res int) (int, []h3.Cell) {
	if rho > 0.5 || res == 0 { // > ~3000 km: start from the 122 base cells
		return 0, h3.Res0Cells()
	}
	rhoM := RadToMeters(rho)
	r0 := 0
	for r0 < res && h3.HexagonEdgeLengthAvgM(r0+1) >= rhoM {
		r0++
	}
	lat, lng := center.Deg()
	origin := h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, r0)
	// Cells touching the cap are within rho+2·edge of its centre; rings are
	// at least ~1.5·minEdge apart and minEdge ≥ avgEdge/2.
	edge := h3.HexagonEdgeLengthAvgM(r0)
	k := int(math.Ceil((rhoM+2*edge)/(0.75*edge))) + 1
	for {
		rings := origin.GridDiskDistances(k)
		// As in coverTopDown: near a pentagon h3-go leaves slots that hold
		// no cell (0, or bits that are not a valid index). Classified, 0
		// reads as base cell 0 to the C library; it could be kept as a
		// Boundary cell when r0 is the covering's resolution (a coarse
		// CoverPolicy.MaxRes), or keep the ring from counting as Outside.
		for i, rg := range rings {
			rings[i] = slices.DeleteFunc(rg, func(c h3.Cell) bool { return c == 0 || !ValidCell(uint64(c)) })
		}
		if ringOutside(cl, r0, rings[k]) || k > 40 {
			var all []h3.Cell
			for _, rg := range rings {
				all = append(all, rg...)
			}
			return r0, all
		}
		k += 2
	}
}

// ringOutside reports whether cl classifies every cell of ring as Outside.
func ringOutside(cl classifier, res int, ring []h3.Cell) bool {
	cl.startLevel(res)
	for _, c := range ring {
		if st, _ := cl.classify(c, res, nil); st != Outside {
			return false
		}
	}
	return true
}
