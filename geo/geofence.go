package geo

import (
	"errors"
	"fmt"

	h3 "github.com/uber/h3-go/v4"
)

// Geofence is a campaign's area: the union of Include less the union of
// Exclude (the API's Geofence). A point is inside when it is in some
// included shape and in no excluded one.
type Geofence struct {
	Include, Exclude []Shape
}

// ContainsDeg is the exact test. Undefined for invalid positions or shapes.
func (g Geofence) ContainsDeg(latDeg, lngDeg float64) bool {
	in := false
	for _, s := range g.Include {
		if s.ContainsDeg(latDeg, lngDeg) {
			in = true
			break
		}
	}
	if !in {
		return false
	}
	for _, s := range g.Exclude {
		if s.ContainsDeg(latDeg, lngDeg) {
			return false
		}
	}
	return true
}

// Validate returns every problem of the geofence, paths in the API's names
// ("include[0].polygon.vertices[3]", "exclude[1].circle.radius_m"). When all
// shapes are valid it also covers them under p, so that a fence too large
// or too intricate for the index is rejected when it is written
// ("include[2].polygon: covering needs more than 20000 cells", or path ""
// for the total).
func (g Geofence) Validate(p CoverPolicy) []Problem {
	var out []Problem
	if len(g.Include) == 0 {
		out = append(out, Problem{Path: "include", Message: "needs at least one area"})
	}
	ok := true
	check := func(list string, shapes []Shape) {
		for i, s := range shapes {
			if s == nil {
				out = append(out, Problem{Path: fmt.Sprintf("%s[%d]", list, i), Message: "has no shape"})
				ok = false
				continue
			}
			if ps := s.Validate(); len(ps) > 0 {
				out = append(out, joinPath(fmt.Sprintf("%s[%d].%s", list, i, s.apiField()), ps)...)
				ok = false
			}
		}
	}
	check("include", g.Include)
	check("exclude", g.Exclude)
	if !ok || len(out) > 0 {
		return out
	}
	if _, err := g.Cover(p); err != nil {
		var ce *CoverError
		if errors.As(err, &ce) {
			return append(out, Problem{Path: ce.Path, Message: ce.Err.Error()})
		}
		return append(out, Problem{Message: err.Error()})
	}
	return nil
}

// CoverError says which shape of a geofence could not be covered.
type CoverError struct {
	Path string // "include[2].polygon", or "" for the total
	Err  error
}

func (e *CoverError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *CoverError) Unwrap() error { return e.Err }

// GeofenceCovering holds one covering per shape, in the geofence's order:
// an index stores the include coverings as "maybe in" and the exclude
// coverings as "maybe out" (an Interior exclude cell is surely out).
type GeofenceCovering struct {
	Include, Exclude []*Covering
}

// CellCount is the total number of cells, what the index will store.
func (gc GeofenceCovering) CellCount() int {
	n := 0
	for _, c := range gc.Include {
		n += c.Len()
	}
	for _, c := range gc.Exclude {
		n += c.Len()
	}
	return n
}

// Cover covers every shape; p.MaxCells bounds the total. Errors are
// *CoverError wrapping ErrTooManyCells (or the shape's own error).
func (g Geofence) Cover(p CoverPolicy) (GeofenceCovering, error) {
	p = p.withDefaults()
	var gc GeofenceCovering
	total := 0
	one := func(list string, i int, s Shape) (*Covering, error) {
		q := p
		q.MaxCells = p.MaxCells - total
		c, err := s.Cover(q)
		if err != nil {
			if errors.Is(err, ErrTooManyCells) {
				err = fmt.Errorf("%w: covering needs more than %d cells (in total over the geofence)", ErrTooManyCells, p.MaxCells)
			}
			return nil, &CoverError{Path: fmt.Sprintf("%s[%d].%s", list, i, s.apiField()), Err: err}
		}
		total += c.Len()
		return c, nil
	}
	for i, s := range g.Include {
		c, err := one("include", i, s)
		if err != nil {
			return GeofenceCovering{}, err
		}
		gc.Include = append(gc.Include, c)
	}
	for i, s := range g.Exclude {
		c, err := one("exclude", i, s)
		if err != nil {
			return GeofenceCovering{}, err
		}
		gc.Exclude = append(gc.Exclude, c)
	}
	return gc, nil
}

// AreaKm2 returns the area of the geofence (include minus exclude) and its
// covering's cell count (for EstimateReach).
//
// With a single include and no exclude the area is the shape's exact area.
// Otherwise overlaps make an exact answer costly, so it is estimated by
// sampling: every include covering cell is split into the cells one
// resolution finer whose centres lie in it, and each such sample's exact
// area is counted when its centre is inside the geofence and no other
// covering cell owns the centre (its first covering cell, include order,
// coarsest first). The error comes from samples that straddle a boundary of
// the geofence (about ±half a sample's area each, partly cancelling) and
// from samples tiling a hexagon only approximately: TestAreas finds ~1.6% on
// the union of two overlapping circles, but ~3.5% when an exclude cuts
// through an include's coarse Interior cells (sampled one resolution finer
// only); treat it as an estimate within 5%.
func (g Geofence) AreaKm2(p CoverPolicy) (areaKm2 float64, cells int, err error) {
	gc, err := g.Cover(p)
	if err != nil {
		return 0, 0, err
	}
	return g.AreaOf(gc), gc.CellCount(), nil
}

// AreaOf is AreaKm2 for a covering already computed (gc must be g.Cover's),
// so that a caller that also indexes the covering computes it once.
func (g Geofence) AreaOf(gc GeofenceCovering) (areaKm2 float64) {
	if len(g.Include) == 1 && len(g.Exclude) == 0 {
		return g.Include[0].AreaKm2()
	}
	lookups := make([]CoveringLookup, len(gc.Include))
	for i, c := range gc.Include {
		lookups[i] = c.Lookup()
	}
	// owner returns the include index and cell that own a point.
	owner := func(lat, lng float64) (int, uint64) {
		for i, l := range lookups {
			for _, r := range l.res {
				c := CellOf(lat, lng, r)
				if l.state[c] != Outside {
					return i, c
				}
			}
		}
		return -1, 0
	}
	for i, c := range gc.Include {
		for _, cc := range c.Cells {
			// The cells one resolution finer whose centres lie in cc: they
			// tile cc's own hexagon (its children alone would not: they
			// overhang it and leave slivers of it to the neighbours').
			cell := h3.Cell(int64(cc.Cell))
			samples := []h3.Cell{cell}
			if cc.Res < 15 {
				samples = cell.CenterChild(cc.Res + 1).GridDisk(2)
			}
			for _, ch := range samples {
				ll := ch.LatLng()
				if CellOf(ll.Lat, ll.Lng, cc.Res) != cc.Cell {
					continue
				}
				if oi, oc := owner(ll.Lat, ll.Lng); oi != i || oc != cc.Cell {
					continue
				}
				if g.ContainsDeg(ll.Lat, ll.Lng) {
					areaKm2 += h3.CellAreaKm2(ch)
				}
			}
		}
	}
	return areaKm2
}
