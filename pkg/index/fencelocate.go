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
// first: seq<<24 | excl<<23 | shape<<1 | boundary. slot is the shape's slot
// in the snapshot (see FenceSnapshot.slots).
type fenceHit struct {
	key  uint64
	rec  *fenceRec
	slot uint32
}

const (
	hitExcl     = 1 << 23
	hitBoundary = 1
)

func (h fenceHit) shape() int { return int(h.key >> 1 & (maxShapesPerFence - 1)) }

// locateScratch is the pooled working memory of one lookup.
type locateScratch struct {
	hits []fenceHit
	// words is a bitmap over the snapshot's shape slots (FenceSnapshot.slots)
	// of the one-shape fences hit, sure the subset hit in an Interior cell;
	// summary has bit w set when words[w] is not zero. All three are zero
	// between lookups.
	words, sure, summary []uint64
	found                []*fenceRec
	small                []*fenceRec
}

var locateScratches = sync.Pool{New: func() any { return &locateScratch{} }}

// Candidate is a fence found by Candidates: one whose covering puts the
// position in one of its cells. Sure ones contain the position (an Interior
// cell, or decided exactly); the others — a Boundary cell of a one-shape
// fence — need Confirm. It names the fence by its Key, which the caller
// chose, so that ranking hundreds of candidates reads none of their
// records.
type Candidate struct {
	Key  uint32 // Fence.Key
	Sure bool
	slot uint32 // a shape of the fence, in the snapshot's slots
}

// Candidates appends to dst every fence whose covering has the position in
// a cell, each once, in no particular order: the same lookup as Locate
// without the exact tests of Boundary cells, and without reading a record.
// A city-centre user lies in the cells of hundreds of campaigns, of which
// the server needs the best few by bid: reading each candidate's record
// (one cache miss each, and another for its shape when the cell is a
// Boundary one) is most of what Locate costs, so Candidates gives each
// candidate's Key — which indexes the caller's own dense arrays — and
// leaves FenceOf and Confirm for the few the caller picks. Fences of
// several shapes (rare) are decided here, exactly, and are Sure. Scratch is
// pooled: it allocates only to grow dst.
func (s *FenceSnapshot) Candidates(latDeg, lngDeg float64, dst []Candidate) []Candidate {
	sc, ok := s.scan(latDeg, lngDeg)
	if !ok {
		return dst
	}
	s.eachSimple(sc, func(ri int, sh uint32, sure bool) {
		dst = append(dst, Candidate{Key: s.runs[ri].keys[sh], Sure: sure, slot: uint32(s.slotOff[ri]) + sh})
	})
	s.eachComplex(sc, latDeg, lngDeg, func(h *fenceHit) {
		dst = append(dst, Candidate{Key: h.rec.Key, Sure: true, slot: h.slot})
	})
	s.release(sc)
	return dst
}

// shapeAt resolves a snapshot slot to its run's shape.
func (s *FenceSnapshot) shapeAt(slot uint32) *shapeRef {
	ri := len(s.runs) - 1
	for int(slot) < s.slotOff[ri] {
		ri--
	}
	return &s.runs[ri].shapes[int(slot)-s.slotOff[ri]]
}

// FenceOf returns the fence of a candidate this snapshot returned.
func (s *FenceSnapshot) FenceOf(c Candidate) *Fence { return &s.shapeAt(c.slot).rec.Fence }

// Confirm reports whether a candidate this snapshot returned contains the
// position: true for a Sure one, the exact shape test otherwise.
func (s *FenceSnapshot) Confirm(c Candidate, latDeg, lngDeg float64) bool {
	return c.Sure || s.shapeAt(c.slot).shape.ContainsDeg(latDeg, lngDeg)
}

// Locate appends to dst every fence whose geofence contains the position
// exactly (inside some include shape and no exclude shape), each once,
// ordered by ID. Nothing is found at an invalid position. Scratch is
// pooled: it allocates only to grow dst.
//
// It computes the position's cell at each resolution in use (Stats().Resolutions, one geo.CellsOf)
// and one probe per table of that resolution. Exact shape tests are made only where
// the point falls in Boundary cells, and only for fences with an include
// hit. Hits are handled in two ways:
//   - A fence of one include shape and no exclude — the usual campaign —
//     is marked in a bitmap of shape slots (and in a second one when the
//     cell is Interior: no test needed). Runs number their shapes in ID
//     order, so reading the bitmap back yields each run's fences sorted by
//     ID and without duplicates, with no sort: a city centre inside
//     hundreds of campaigns costs a bit per hit, and a fence with a
//     Boundary hit is tested once.
//   - The hits of other fences are sorted to bring each fence's together,
//     and decided from all of them.
//
// The lists are then merged by ID.
func (s *FenceSnapshot) Locate(latDeg, lngDeg float64, dst []*Fence) []*Fence {
	sc, ok := s.scan(latDeg, lngDeg)
	if !ok {
		return dst
	}
	// The fences of several shapes, sorted by ID.
	small := sc.small[:0]
	s.eachComplex(sc, latDeg, lngDeg, func(h *fenceHit) { small = append(small, h.rec) })
	// The one-shape fences, a block per run, each in ID order. The largest
	// block is kept to be merged; the others join the small ones.
	fd := sc.found[:0]
	big := [2]int{}
	lastRun, block := 0, 0
	endBlock := func() {
		if len(fd)-block > big[1]-big[0] {
			big = [2]int{block, len(fd)}
		}
		block = len(fd)
	}
	s.eachSimple(sc, func(ri int, sh uint32, sure bool) {
		for ; lastRun < ri; lastRun++ {
			endBlock()
		}
		ref := &s.runs[ri].shapes[sh]
		if sure || ref.shape.ContainsDeg(latDeg, lngDeg) {
			fd = append(fd, ref.rec)
		}
	})
	endBlock()
	small = append(small, fd[:big[0]]...)
	small = append(small, fd[big[1]:]...)
	slices.SortFunc(small, compareRecs)
	dst = mergeInto(dst, fd[big[0]:big[1]], small)

	clear(fd) // keep no records alive from the pool
	clear(small)
	sc.found, sc.small = fd[:0], small[:0]
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
	if nw := (s.slots + 63) >> 6; len(sc.words) < nw {
		sc.words, sc.sure, sc.summary = make([]uint64, nw), make([]uint64, nw), make([]uint64, (nw+63)>>6)
	}
	hits := sc.hits[:0]
	var buf [numRes]uint64
	cells := geo.CellsOf(latDeg, lngDeg, s.res, buf[:0])
	for k, res := range s.res {
		code := cellCode(cells[k], res)
		for ri := range s.runs {
			lv := &s.runs[ri]
			t := lv.tabs[res]
			if t == nil {
				continue
			}
			off := s.slotOff[ri]
			for _, v := range t.find(code) {
				sh := v >> postShift
				if lv.isDead(sh) {
					continue
				}
				if v&postSimple != 0 {
					slot := off + int(sh)
					w := slot >> 6
					sc.words[w] |= 1 << (slot & 63)
					sc.summary[w>>6] |= 1 << (w & 63)
					if v&postInterior != 0 {
						sc.sure[w] |= 1 << (slot & 63)
					}
					continue
				}
				ref := &lv.shapes[sh]
				key := ref.rec.seq<<24 | uint64(ref.idx)<<1 | uint64(^v&postInterior)
				if ref.excl {
					key |= hitExcl
				}
				hits = append(hits, fenceHit{key, ref.rec, uint32(off) + sh})
			}
		}
	}
	sc.hits = hits
	return sc, true
}

// eachSimple calls fn for each one-shape fence scan marked, by slot (so by
// run, and by ID within a run), once each, and clears the bitmaps.
func (s *FenceSnapshot) eachSimple(sc *locateScratch, fn func(ri int, sh uint32, sure bool)) {
	ri := 0
	for sw, sbits := range sc.summary[:(len(sc.words)+63)>>6] {
		for sbits != 0 {
			w := sw<<6 | bits.TrailingZeros64(sbits)
			sbits &= sbits - 1
			sure := sc.sure[w]
			for wb := sc.words[w]; wb != 0; wb &= wb - 1 {
				b := bits.TrailingZeros64(wb)
				slot := w<<6 | b
				for slot >= s.slotOff[ri+1] {
					ri++
				}
				fn(ri, uint32(slot-s.slotOff[ri]), sure&(1<<b) != 0)
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

// mergeInto appends the fences of two lists sorted by ID, in ID order:
// each of the few of small is placed in big by binary search, so that big's
// records are not read (the records of a city centre's hundreds of hits
// are cache misses; the caller reads those it wants).
func mergeInto(dst []*Fence, big, small []*fenceRec) []*Fence {
	dst = slices.Grow(dst, len(big)+len(small))
	for _, r := range small {
		i, _ := slices.BinarySearchFunc(big, r, compareRecs)
		for _, b := range big[:i] {
			dst = append(dst, &b.Fence)
		}
		dst, big = append(dst, &r.Fence), big[i:]
	}
	for _, b := range big {
		dst = append(dst, &b.Fence)
	}
	return dst
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
