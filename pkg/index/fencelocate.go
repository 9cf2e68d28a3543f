package index

import (
	"cmp"
	"math/bits"
	"slices"
	"sync"

	"github.com/aroundme/aroundme/geo"
)

// fenceHit is a posting of a fence with several shapes. key sorts a
// fence's hits together (seq), includes before excludes, by shape, Interior
// first: seq<<24 | excl<<23 | shape<<1 | boundary.
type fenceHit struct {
	key uint64
	rec *fenceRec
}

const (
	hitExcl     = 1 << 23
	hitBoundary = 1
)

func (h fenceHit) shape() int { return int(h.key >> 1 & (maxShapesPerFence - 1)) }

// locateScratch is the pooled working memory of one lookup.
type locateScratch struct {
	hits []fenceHit
	// words is a bitmap over keys of the one-shape fences hit, sure the
	// subset hit in an Interior cell; summary has bit w set when words[w]
	// is not zero. All three are zero between lookups.
	words, sure, summary []uint64
	found                []*fenceRec
	probes               []probe
	touched              uint32 // see scan
}

var locateScratches = sync.Pool{New: func() any { return &locateScratch{} }}

// Candidate is a fence found by Candidates: one whose covering puts the
// position in one of its cells. Sure ones contain the position (an Interior
// cell, or decided exactly); the others — a Boundary cell of a one-shape
// fence — need Confirm. It names the fence by its Key, so that ranking
// hundreds of candidates reads none of their records.
type Candidate struct {
	Key  uint32 // Fence.Key
	Sure bool
}

// Candidates appends to dst every fence whose covering has the position in
// a cell, each once, in no particular order: the same lookup as Locate
// without the exact tests of Boundary cells, and without reading a record
// or any per-fence array. A city-centre user lies in the cells of
// hundreds of campaigns, of which the server needs the best few by bid:
// reading each candidate's record (one cache miss each, and another for
// its shape when the cell is a Boundary one) is most of what Locate costs,
// so Candidates gives each candidate's Key, straight from the postings —
// the Key indexes the caller's own dense arrays — and leaves FenceOf and
// Confirm for the few the caller picks. Fences of several shapes (rare)
// are decided here, exactly, and are Sure. Scratch is pooled: it
// allocates only to grow dst.
func (s *FenceSnapshot) Candidates(latDeg, lngDeg float64, dst []Candidate) []Candidate {
	sc, ok := s.scan(latDeg, lngDeg)
	if !ok {
		return dst
	}
	s.eachSimple(sc, func(key uint32, sure bool) {
		dst = append(dst, Candidate{Key: key, Sure: sure})
	})
	s.eachComplex(sc, latDeg, lngDeg, func(h *fenceHit) {
		dst = append(dst, Candidate{Key: h.rec.Key, Sure: true})
	})
	s.release(sc)
	return dst
}

// FenceOf returns the fence of a candidate this snapshot returned.
func (s *FenceSnapshot) FenceOf(c Candidate) *Fence { return &s.keys.get(c.Key).Fence }

// Confirm reports whether a candidate this snapshot returned contains the
// position: true for a Sure one, the exact shape test otherwise (a
// candidate that is not Sure is a one-shape fence).
func (s *FenceSnapshot) Confirm(c Candidate, latDeg, lngDeg float64) bool {
	return c.Sure || s.keys.get(c.Key).Geofence.Include[0].ContainsDeg(latDeg, lngDeg)
}

// Locate appends to dst every fence whose geofence contains the position
// exactly (inside some include shape and no exclude shape), each once,
// ordered by ID. Nothing is found at an invalid position. Scratch is
// pooled: it allocates only to grow dst.
//
// It is Candidates with every candidate confirmed and read: it computes
// the position's cell at each resolution in use (Stats().Resolutions, one
// geo.CellsOf) and makes one probe per table of that resolution. Exact
// shape tests are made only where the point falls in Boundary cells, and
// only for fences with an include hit. Hits are handled in two ways:
//   - A fence of one include shape and no exclude — the usual campaign —
//     is marked by its key in a bitmap (and in a second one when the cell
//     is Interior: no test needed), so hundreds of hits cost a bit each
//     and a fence with several Boundary hits is tested once.
//   - The hits of other fences are sorted to bring each fence's together,
//     and decided from all of them.
//
// The fences found are then sorted by ID.
func (s *FenceSnapshot) Locate(latDeg, lngDeg float64, dst []*Fence) []*Fence {
	sc, ok := s.scan(latDeg, lngDeg)
	if !ok {
		return dst
	}
	fd := sc.found[:0]
	s.eachComplex(sc, latDeg, lngDeg, func(h *fenceHit) { fd = append(fd, h.rec) })
	s.eachSimple(sc, func(key uint32, sure bool) {
		rec := s.keys.get(key)
		if sure || rec.Geofence.Include[0].ContainsDeg(latDeg, lngDeg) {
			fd = append(fd, rec)
		}
	})
	slices.SortFunc(fd, compareRecs)
	for _, r := range fd {
		dst = append(dst, &r.Fence)
	}
	clear(fd) // keep no records alive from the pool
	sc.found = fd[:0]
	s.release(sc)
	return dst
}

// scan probes every table for the position: one-shape fences go to the
// bitmaps, the hits of others to sc.hits. ok is false, and there is no
// scratch to release, when nothing can be found.
func (s *FenceSnapshot) scan(latDeg, lngDeg float64) (sc *locateScratch, ok bool) {
	if len(s.res) == 0 || !geo.ValidLatLng(latDeg, lngDeg) {
		return nil, false
	}
	sc = locateScratches.Get().(*locateScratch)
	if nw := int(s.nkeys+63) >> 6; len(sc.words) < nw {
		sc.words, sc.sure, sc.summary = make([]uint64, nw), make([]uint64, nw), make([]uint64, (nw+63)>>6)
	}
	hits := sc.hits[:0]
	var buf [numRes]uint64
	cells := geo.CellsOf(latDeg, lngDeg, s.res, buf[:0])
	// Every probe first, the postings after: the probes do not depend on
	// each other, so their cache misses overlap when nothing else runs
	// between them. Reading each probe's first posting there (into
	// sc.touched, which nothing reads) starts the postings' misses too.
	found := sc.probes[:0]
	touched := uint32(0)
	for k, res := range s.res {
		code := cellCode(cells[k], res)
		for ri := range s.runs {
			if t := s.runs[ri].tabs[res]; t != nil {
				if ps := t.find(code); len(ps) > 0 {
					found = append(found, probe{ps, int32(ri)})
					touched += ps[0]
				}
			}
		}
	}
	sc.touched = touched
	for _, f := range found {
		lv := &s.runs[f.run]
		for _, v := range f.postings {
			n := v >> postShift
			if v&postSimple != 0 {
				if lv.isDead(n) {
					continue
				}
				w := n >> 6
				sc.words[w] |= 1 << (n & 63)
				sc.summary[w>>6] |= 1 << (w & 63)
				if v&postInterior != 0 {
					sc.sure[w] |= 1 << (n & 63)
				}
				continue
			}
			ref := &lv.shapes[n]
			if lv.isDead(ref.rec.Key) {
				continue
			}
			key := ref.rec.seq<<24 | uint64(ref.idx)<<1 | uint64(^v&postInterior)
			if ref.excl {
				key |= hitExcl
			}
			hits = append(hits, fenceHit{key, ref.rec})
		}
	}
	clear(found) // the postings belong to the snapshot: keep none alive from the pool
	sc.hits, sc.probes = hits, found[:0]
	return sc, true
}

// probe is the postings one table has for a lookup's cell.
type probe struct {
	postings []uint32
	run      int32
}

// eachSimple calls fn for each one-shape fence scan marked, by key, once
// each, and clears the bitmaps.
func (s *FenceSnapshot) eachSimple(sc *locateScratch, fn func(key uint32, sure bool)) {
	for sw, sbits := range sc.summary[:(len(sc.words)+63)>>6] {
		for sbits != 0 {
			w := sw<<6 | bits.TrailingZeros64(sbits)
			sbits &= sbits - 1
			sure := sc.sure[w]
			for wb := sc.words[w]; wb != 0; wb &= wb - 1 {
				b := bits.TrailingZeros64(wb)
				fn(uint32(w<<6|b), sure&(1<<b) != 0)
			}
			sc.words[w], sc.sure[w] = 0, 0
		}
		sc.summary[sw] = 0
	}
}

// eachComplex calls fn with one hit of each several-shape fence that
// contains the position, in ID order.
func (s *FenceSnapshot) eachComplex(sc *locateScratch, latDeg, lngDeg float64, fn func(h *fenceHit)) {
	hits := sc.hits
	if len(hits) == 0 {
		return
	}
	slices.SortFunc(hits, func(a, b fenceHit) int { return cmp.Compare(a.key, b.key) })
	for i := 0; i < len(hits); {
		j := i + 1
		for j < len(hits) && hits[j].rec == hits[i].rec {
			j++
		}
		if contains(hits[i:j], latDeg, lngDeg) {
			fn(&hits[i])
		}
		i = j
	}
}

// release returns the scratch to the pool.
func (s *FenceSnapshot) release(sc *locateScratch) {
	clear(sc.hits) // keep no records alive from the pool
	sc.hits = sc.hits[:0]
	locateScratches.Put(sc)
}

// contains decides one fence from its hits (sorted: see fenceHit).
func contains(hits []fenceHit, lat, lng float64) bool {
	g := &hits[0].rec.Geofence
	nInc, in := 0, false
	for nInc < len(hits) && hits[nInc].key&hitExcl == 0 {
		in = in || hits[nInc].key&hitBoundary == 0
		nInc++
	}
	if !in && !anyContains(hits[:nInc], g.Include, lat, lng) {
		return false
	}
	excl := hits[nInc:]
	for _, h := range excl {
		if h.key&hitBoundary == 0 {
			return false
		}
	}
	return !anyContains(excl, g.Exclude, lat, lng)
}

// anyContains reports whether a shape hit (each tested once) contains the
// position exactly.
func anyContains(hits []fenceHit, shapes []geo.Shape, lat, lng float64) bool {
	prev := -1
	for _, h := range hits {
		if i := h.shape(); i != prev {
			prev = i
			if shapes[i].ContainsDeg(lat, lng) {
				return true
			}
		}
	}
	return false
}

// LocateDetail says, for diagnostics, whether the position is inside any
// include shape and any exclude shape of the fence id (exact tests, no
// covering); ok is false when the snapshot has no such fence.
func (s *FenceSnapshot) LocateDetail(latDeg, lngDeg float64, id string) (inInclude, inExclude, ok bool) {
	r, ok := s.ids.get(id)
	if !ok {
		return false, false, false
	}
	return anyShape(r.Geofence.Include, latDeg, lngDeg), anyShape(r.Geofence.Exclude, latDeg, lngDeg), true
}

func anyShape(shapes []geo.Shape, lat, lng float64) bool {
	for _, sh := range shapes {
		if sh.ContainsDeg(lat, lng) {
			return true
		}
	}
	return false
}
