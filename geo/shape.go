package geo

import (
	"fmt"
	"math"
)

// LatLngDeg is a position in degrees, the form positions take at the API
// boundary (GeoJSON order is lng, lat; this type names its fields so that
// the order cannot be confused).
type LatLngDeg struct{ Lat, Lng float64 }

// Problem is one reason a shape or geofence is invalid. Path locates it
// relative to the value validated, in the API's field names ("vertices[3]",
// "holes[0].vertices[2]", "radius_m", "include[1].polygon.vertices[0]"), so
// that a service can prefix it with the request's own path and report every
// problem at once instead of making the caller fix them one by one.
type Problem struct {
	Path    string
	Message string
}

func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// maxProblems bounds how many problems one Validate reports: a 1000-vertex
// scribble can have ~500k crossing edge pairs, and nobody reads past the
// first screenful. When the bound is hit the last problem says so.
const maxProblems = 100

// problems accumulates Problems up to maxProblems.
type problems struct {
	list    []Problem
	dropped int
}

func (ps *problems) add(path, format string, args ...any) {
	if len(ps.list) >= maxProblems {
		ps.dropped++
		return
	}
	ps.list = append(ps.list, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) result() []Problem {
	if ps.dropped > 0 {
		ps.list = append(ps.list, Problem{Message: fmt.Sprintf("%d more problems not listed", ps.dropped)})
	}
	return ps.list
}

// joinPath prefixes the paths of ps with prefix ("include[0].polygon").
func joinPath(prefix string, ps []Problem) []Problem {
	out := make([]Problem, len(ps))
	for i, p := range ps {
		switch {
		case p.Path == "":
			p.Path = prefix
		case p.Path[0] == '[':
			p.Path = prefix + p.Path
		default:
			p.Path = prefix + "." + p.Path
		}
		out[i] = p
	}
	return out
}

// checkLatLng appends the problems of one position (finite, in range).
func checkLatLng(ps *problems, path string, ll LatLngDeg) bool {
	ok := true
	if math.IsNaN(ll.Lat) || math.IsInf(ll.Lat, 0) {
		ps.add(path, "latitude %v is not finite", ll.Lat)
		ok = false
	} else if ll.Lat < -90 || ll.Lat > 90 {
		ps.add(path, "latitude %v is outside [-90, 90]", ll.Lat)
		ok = false
	}
	if math.IsNaN(ll.Lng) || math.IsInf(ll.Lng, 0) {
		ps.add(path, "longitude %v is not finite", ll.Lng)
		ok = false
	} else if ll.Lng < -180 || ll.Lng > 180 {
		ps.add(path, "longitude %v is outside [-180, 180]", ll.Lng)
		ok = false
	}
	return ok
}

// CellState is where a covering cell, or a point looked up in a covering,
// stands relative to a shape. The zero value is Outside.
type CellState uint8

const (
	// Outside: no point of the cell is in the shape (for a looked-up point:
	// it is in no covering cell, so it is outside the shape).
	Outside CellState = iota
	// Boundary: the cell may be partly inside; points in it need the exact
	// test (ContainsDeg).
	Boundary
	// Interior: every point of the cell is inside the shape, so a point found
	// in it is inside without any exact test.
	Interior
)

func (s CellState) String() string {
	switch s {
	case Outside:
		return "outside"
	case Boundary:
		return "boundary"
	case Interior:
		return "interior"
	}
	return fmt.Sprintf("CellState(%d)", uint8(s))
}

// Shape is one area of a geofence: a Circle, a Polygon or a CellSet. The
// campaign service validates shapes once when a campaign is written, then
// covers them with H3 cells for its index and keeps ContainsDeg for the
// points that fall in Boundary cells.
type Shape interface {
	// Validate returns every problem of the shape (nil if it is valid), with
	// paths relative to the shape. The other methods are undefined for a
	// shape with problems.
	Validate() []Problem
	// ContainsDeg reports whether a position (degrees) is in the shape,
	// boundary included. Undefined for invalid positions.
	ContainsDeg(latDeg, lngDeg float64) bool
	// AreaKm2 is the shape's area on the sphere of radius EarthRadiusM.
	AreaKm2() float64
	// Cover returns a conservative H3 covering of the shape (see Covering).
	Cover(p CoverPolicy) (*Covering, error)
	// apiField is the name of the shape in the API's Area oneof.
	apiField() string
}
