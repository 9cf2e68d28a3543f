package geo

import "math"

// Planar predicates on the unwrapped (longitude, latitude) plane in which
// polygon edges are straight. They use plain float64 arithmetic: a result
// may be wrong only for configurations within ~1e-15° of degenerate, which
// validation and the coverings' margins keep away from every decision that
// matters.

// orient is twice the signed area of triangle a, b, c: > 0 if c is left of
// the directed line a→b, < 0 if right, 0 if collinear.
func orient(ax, ay, bx, by, cx, cy float64) float64 {
	return (bx-ax)*(cy-ay) - (by-ay)*(cx-ax)
}

// onSegment reports whether c, known to be collinear with a–b, lies on the
// closed segment a–b.
func onSegment(ax, ay, bx, by, cx, cy float64) bool {
	return math.Min(ax, bx) <= cx && cx <= math.Max(ax, bx) && math.Min(ay, by) <= cy && cy <= math.Max(ay, by)
}

// segmentsIntersect reports whether closed segments a–b and c–d share a
// point (touching counts).
func segmentsIntersect(ax, ay, bx, by, cx, cy, dx, dy float64) bool {
	if math.Max(ax, bx) < math.Min(cx, dx) || math.Max(cx, dx) < math.Min(ax, bx) ||
		math.Max(ay, by) < math.Min(cy, dy) || math.Max(cy, dy) < math.Min(ay, by) {
		return false
	}
	d1 := orient(cx, cy, dx, dy, ax, ay)
	d2 := orient(cx, cy, dx, dy, bx, by)
	d3 := orient(ax, ay, bx, by, cx, cy)
	d4 := orient(ax, ay, bx, by, dx, dy)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(cx, cy, dx, dy, ax, ay)) ||
		(d2 == 0 && onSegment(cx, cy, dx, dy, bx, by)) ||
		(d3 == 0 && onSegment(ax, ay, bx, by, cx, cy)) ||
		(d4 == 0 && onSegment(ax, ay, bx, by, dx, dy))
}

// box is an axis-aligned rectangle in the unwrapped plane (x = longitude,
// y = latitude, degrees).
type box struct{ minX, maxX, minY, maxY float64 }

func (b box) overlaps(o box) bool {
	return b.minX <= o.maxX && o.minX <= b.maxX && b.minY <= o.maxY && o.minY <= b.maxY
}

func (b box) containsBox(o box) bool {
	return b.minX <= o.minX && o.maxX <= b.maxX && b.minY <= o.minY && o.maxY <= b.maxY
}

// segmentMeetsBox reports whether the closed segment a–b meets the closed
// box b: their bounding boxes overlap and the box's corners are not all
// strictly on one side of the segment's line (separating axes).
func segmentMeetsBox(ax, ay, bx, by float64, b box) bool {
	if math.Max(ax, bx) < b.minX || math.Min(ax, bx) > b.maxX ||
		math.Max(ay, by) < b.minY || math.Min(ay, by) > b.maxY {
		return false
	}
	o1 := orient(ax, ay, bx, by, b.minX, b.minY)
	o2 := orient(ax, ay, bx, by, b.maxX, b.minY)
	o3 := orient(ax, ay, bx, by, b.maxX, b.maxY)
	o4 := orient(ax, ay, bx, by, b.minX, b.maxY)
	if o1 > 0 && o2 > 0 && o3 > 0 && o4 > 0 {
		return false
	}
	if o1 < 0 && o2 < 0 && o3 < 0 && o4 < 0 {
		return false
	}
	return true
}
