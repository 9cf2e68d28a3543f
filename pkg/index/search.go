package index

import (
	"math"
	"sync"

	"github.com/aroundme/aroundme/geo"
	"github.com/aroundme/aroundme/targeting"
	h3 "github.com/uber/h3-go/v4"
)

// MaxRadiusM is the largest radius a query may ask for.
const MaxRadiusM = 50000

// MaxLimit is the largest number of hits one query may ask for.
const MaxLimit = 1000

// topMinWidthM is a lower bound on the distance a path must travel to get
// from a top-level cell to a cell two rings out: half the average hexagon
// edge at TopRes. Real cells are wider than their edge everywhere (the
// narrowest pentagons still by ~20%); the factor of two is the margin. The
// oracle tests check coverage at pentagons, poles and the antimeridian.
var topMinWidthM = h3.HexagonEdgeLengthAvgM(TopRes) / 2

// Query is one Nearby search.
type Query struct {
	LatDeg, LngDeg float64 // the user's position (valid, finite)
	RadiusM        float64 // (0, MaxRadiusM]
	Limit          int     // hits wanted, [1, MaxLimit]
	Categories     uint32  // CategoryMask; 0 = all
	User           targeting.User
	// After, when set, restricts the search to hits ranked strictly after
	// it: the cursor of the previous page.
	After *Cursor
}

// Cursor is a position in the ranking: score descending, then id ascending.
type Cursor struct {
	Score float64
	ID    string
}

// Hit is one result: an item at its nearest place within the radius.
type Hit struct {
	Item      *Item
	Place     int // index into Item.Places
	DistanceM float64
	Score     float64
}

// before reports whether a ranks before b: higher score, then smaller id.
func before(aScore float64, aID string, bScore float64, bID string) bool {
	if aScore != bScore {
		return aScore > bScore
	}
	return aID < bID
}

// SearchStats tell what a search did, for metrics.
type SearchStats struct {
	Rings      int // grid-disk rings around the user's top cell
	Nodes      int // nodes whose bound was computed
	Candidates int // places whose distance was computed
	// Cell is the user's H3 cell at MidRes (coarse: ~5 km²), for statistics
	// that must not keep positions.
	Cell uint64
}

// searcher is the reusable scratch of one search.
type searcher struct {
	heap    []slot  // max-heap on ub
	entries []entry // what the slots refer to, in the order queued
	seen    map[*Item]struct{}
	hits    []Hit
}

// slot is an entry in the heap: the heap moves 16 bytes per swap, not the
// entry's 40.
type slot struct {
	ub float64 // upper bound of any score under the entry
	i  int32   // index in entries
}

// entry is a queued part of the hierarchy: a leaf (leaf set; then n is
// not), a group of n's children (grp > 0: n.groups[grp-1]) or an inner
// node n.
type entry struct {
	ub   float64 // upper bound of any score under it
	lbM  float64 // lower bound of the distance to any place under it
	n    *node
	leaf *bound // the leaf's bound in its parent
	grp  int32
}

var searchers = sync.Pool{New: func() any { return &searcher{seen: map[*Item]struct{}{}} }}

// Search returns the best q.Limit hits in ranking order, appended to dst.
// It allocates nothing (scratch is pooled) once the disk around the user's
// top-level cell is cached.
func (s *Snapshot) Search(q *Query, dst []Hit) ([]Hit, SearchStats) {
	var st SearchStats
	if q.Limit <= 0 {
		return dst, st
	}
	sr := searchers.Get().(*searcher)
	defer func() {
		sr.heap = sr.heap[:0]
		sr.entries = sr.entries[:0]
		sr.hits = sr.hits[:0]
		clear(sr.seen)
		searchers.Put(sr)
	}()
	w := s.weights
	u := geo.PointFromDeg(q.LatDeg, q.LngDeg)
	radRad := geo.MetersToRad(q.RadiusM)
	chordR := geo.RadToChord(radRad)
	chordR2 := chordR * chordR

	// The user's cell and enough rings around its top-level parent to cover
	// the radius. (geo.CellOf, in Go, gives the MidRes cell; its parent is
	// bits; the grid disk is memoised.)
	st.Cell = geo.CellOf(q.LatDeg, q.LngDeg, MidRes)
	st.Rings = int(math.Ceil(q.RadiusM / topMinWidthM))
	for _, c := range topDisks.get(geo.CellParent(st.Cell, TopRes), st.Rings) {
		if n := s.top[c]; n != nil {
			b := boundOf(n)
			sr.push(&b, entry{n: n}, u, radRad, w, nil, &st)
		}
	}

	for len(sr.heap) > 0 {
		e := sr.pop()
		full := len(sr.hits) == q.Limit
		if full && e.ub < sr.hits[q.Limit-1].Score {
			break // nothing left can beat the k-th hit
		}
		if e.leaf == nil {
			var kth *float64
			if full {
				kth = &sr.hits[q.Limit-1].Score
			}
			if e.grp == 0 {
				// A node: queue its groups, or the child of a group of one.
				for i := range e.n.groups {
					g := &e.n.groups[i]
					if g.hi-g.lo == 1 {
						sr.pushChild(e.n, int(g.lo), u, radRad, w, kth, &st)
					} else {
						sr.push(&g.bound, entry{n: e.n, grp: int32(i + 1)}, u, radRad, w, kth, &st)
					}
				}
				continue
			}
			g := &e.n.groups[e.grp-1]
			for i := g.lo; i < g.hi; i++ {
				sr.pushChild(e.n, int(i), u, radRad, w, kth, &st)
			}
			continue
		}
		dTerm := w.DistanceTerm(e.lbM)
		for i := range e.leaf.places {
			p := &e.leaf.places[i]
			if len(sr.hits) == q.Limit && dTerm+p.static < sr.hits[q.Limit-1].Score {
				break // places are sorted by static score: the rest are worse
			}
			if q.Categories != 0 && q.Categories&(1<<p.cat) == 0 {
				continue
			}
			st.Candidates++
			c2 := u.Chord2(p.pt)
			if c2 > chordR2 {
				continue
			}
			full := len(sr.hits) == q.Limit
			// The distance is at least chord·R: a cheap upper bound of the
			// score, before any trigonometry or reading the item.
			if full && w.DistanceTerm(geo.RadToMeters(math.Sqrt(c2)))+p.static < sr.hits[q.Limit-1].Score {
				continue
			}
			it := p.item
			if p.flags&placeRestricted != 0 && it.Audience.Check(q.User) != 0 {
				continue
			}
			idx := int(p.idx)
			if p.flags&placeMulti != 0 && q.After != nil {
				// One hit per mini-program, at its nearest place. With a
				// cursor, whether the item belongs after it depends on its
				// best place, so settle the item now from all of its places
				// (once: its other places are then skipped).
				if _, dup := sr.seen[it]; dup {
					continue
				}
				sr.seen[it] = struct{}{}
				for j := range it.Places {
					if d2 := u.Chord2(it.Places[j].Pt); d2 < c2 || (d2 == c2 && j < idx) {
						c2, idx = d2, j
					}
				}
				st.Candidates += len(it.Places) - 1
			}
			dM := geo.RadToMeters(geo.ChordToRad(math.Sqrt(c2)))
			score := w.Score(dM, p.static)
			if full && score < sr.hits[q.Limit-1].Score {
				continue
			}
			if q.After != nil && !before(q.After.Score, q.After.ID, score, it.ID) {
				continue
			}
			if p.flags&placeMulti != 0 && q.After == nil && sr.improve(it, idx, dM, score) {
				// Without a cursor, an item's places are offered one by one
				// and the item keeps its best: a known score is a lower
				// bound of the item's real one, so the k-th score only ever
				// rises and every cut made with it stays valid.
				continue
			}
			sr.offer(Hit{Item: it, Place: idx, DistanceM: dM, Score: score}, q.Limit)
		}
	}
	return append(dst, sr.hits...), st
}

// pushChild queues n's i-th child.
func (sr *searcher) pushChild(n *node, i int, u geo.Point, radRad float64, w targeting.Weights, kth *float64, st *SearchStats) {
	b := &n.bounds[i]
	var e entry
	if b.places != nil {
		e.leaf = b // the search reads the bound, not the leaf's node
	} else {
		e.n = n.children[i]
	}
	sr.push(b, e, u, radRad, w, kth, st)
}

// push queues e, whose bound is b, unless it lies beyond the radius or
// cannot beat the k-th hit (kth, nil until there are k hits).
func (sr *searcher) push(b *bound, e entry, u geo.Point, radRad float64, w targeting.Weights, kth *float64, st *SearchStats) {
	st.Nodes++
	// The angle to the centre is at least the chord (2·asin(c/2) ≥ c), so
	// chord − cap is a lower bound of the angle to any place under n.
	c2 := u.Chord2(b.center)
	// Most bounded children lie beyond the radius: decide those without
	// the square root. chord > radRad+cap ⟺ chord² > (radRad+cap)²; the
	// slack leaves the rounding near equality to the exact test below.
	if r := radRad + b.capRad; c2 > r*r*(1+1e-9) {
		return
	}
	lb := math.Sqrt(c2) - b.capRad
	if lb > radRad {
		return
	}
	lbM := 0.0
	if lb > 0 {
		lbM = geo.RadToMeters(lb)
	}
	ub := w.DistanceTerm(lbM) + b.maxStatic
	if kth != nil && ub < *kth {
		return // cannot beat the k-th hit: not worth queueing
	}
	e.ub, e.lbM = ub, lbM
	sr.entries = append(sr.entries, e)
	sr.heap = append(sr.heap, slot{ub: ub, i: int32(len(sr.entries) - 1)})
	// sift up (max-heap on ub)
	h := sr.heap
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].ub >= h[i].ub {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (sr *searcher) pop() entry {
	h := sr.heap
	top := sr.entries[h[0].i]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].ub > h[m].ub {
			m = l
		}
		if r < len(h) && h[r].ub > h[m].ub {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	sr.heap = h
	return top
}

// hitBefore is before() for hits, reading the ids (a cache miss each) only
// when the scores tie.
func hitBefore(a, b *Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.Item.ID < b.Item.ID
}

// offer inserts hit into the sorted best-limit list if it ranks high enough.
func (sr *searcher) offer(h Hit, limit int) {
	hs := sr.hits
	if len(hs) == limit && !hitBefore(&h, &hs[limit-1]) {
		return
	}
	if len(hs) < limit {
		hs = append(hs, h)
	} else {
		hs[limit-1] = h
	}
	sr.hits = hs
	sr.bubble(len(hs) - 1)
}

// bubble moves hits[i] up to its place in the ranking.
func (sr *searcher) bubble(i int) {
	hs := sr.hits
	for ; i > 0 && hitBefore(&hs[i], &hs[i-1]); i-- {
		hs[i], hs[i-1] = hs[i-1], hs[i]
	}
}

// improve handles another place of an item that may already be listed: it
// reports true when the item is listed (raising its score if this place is
// better), false when the caller should offer it.
func (sr *searcher) improve(it *Item, idx int, dM, score float64) bool {
	for i := range sr.hits {
		h := &sr.hits[i]
		if h.Item != it {
			continue
		}
		if score > h.Score || (score == h.Score && idx < h.Place) {
			h.Place, h.DistanceM, h.Score = idx, dM, score
			sr.bubble(i)
		}
		return true
	}
	return false
}
