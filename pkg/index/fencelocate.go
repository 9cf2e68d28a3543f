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
	// words is a bitmap over the snapshot's shape slots (FenceSnapshot.slots)
	// of the one-shape fences accepted; summary has bit w set when words[w]
	// is not zero. Both are all zero between lookups.
	words, summary []uint64
	found          []*fenceRec
	small          []*fenceRec
}

var locateScratches = sync.Pool{New: func() any { return &locateScratch{} }}

func (sc *locateScratch) mark(slot int) {
	w := slot >> 6
	sc.words[w] |= 1 << (slot & 63)
	sc.summary[w>>6] |= 1 << (w & 63)
}

// Locate appends to dst every fence whose geofence contains the position
// exactly (inside some include shape and no exclude shape), each once,
// ordered by ID. Nothing is found at an invalid position. Scratch is
// pooled: it allocates only to grow dst.
//
// It makes one geo.CellOf call per resolution in use (Stats().Resolutions)
// and one probe per table of that resolution. Exact shape tests are made only where
// the point falls in Boundary cells, and only for fences with an include
// hit. Hits are handled in two ways:
//   - A fence of one include shape and no exclude — the usual campaign —
//     is decided by each hit alone (Interior: in; Boundary: the exact test)
//     and marked in a bitmap of shape slots. Runs number their shapes in ID
//     order, so reading the bitmap back yields each run's fences sorted by
//     ID and without duplicates, with no sort: a city centre inside
//     hundreds of campaigns costs a bit per hit.
//   - The hits of other fences are sorted to bring each fence's together,
//     and decided from all of them.
//
// The lists are then merged by ID.
func (s *FenceSnapshot) Locate(latDeg, lngDeg float64, dst []*Fence) []*Fence {
	if len(s.res) == 0 || !geo.ValidLatLng(latDeg, lngDeg) {
		return dst
	}
	sc := locateScratches.Get().(*locateScratch)
	if nw := (s.slots + 63) >> 6; len(sc.words) < nw {
		sc.words, sc.summary = make([]uint64, nw), make([]uint64, (nw+63)>>6)
	}
	hits, marked := sc.hits[:0], false
	for _, res := range s.res {
		code := cellCode(geo.CellOf(latDeg, lngDeg, res), res)
		for ri := range s.runs {
			lv := &s.runs[ri]
			t := lv.tabs[res]
			if t == nil {
				continue
			}
			for _, v := range t.find(code) {
				sh := v >> postShift
				if lv.isDead(sh) {
					continue
				}
				if v&postSimple != 0 {
					if v&postInterior != 0 || lv.shapes[sh].shape.ContainsDeg(latDeg, lngDeg) {
						sc.mark(s.slotOff[ri] + int(sh))
						marked = true
					}
					continue
				}
				ref := &lv.shapes[sh]
				key := ref.rec.seq<<24 | uint64(ref.idx)<<1 | uint64(^v&postInterior)
				if ref.excl {
					key |= hitExcl
				}
				hits = append(hits, fenceHit{key, ref.rec})
			}
		}
	}

	// The fences of several shapes, sorted by ID.
	small := sc.small[:0]
	if len(hits) > 0 {
		slices.SortFunc(hits, func(a, b fenceHit) int { return cmp.Compare(a.key, b.key) })
		for i := 0; i < len(hits); {
			j := i + 1
			for j < len(hits) && hits[j].rec == hits[i].rec {
				j++
			}
			if contains(hits[i:j], latDeg, lngDeg) {
				small = append(small, hits[i].rec)
			}
			i = j
		}
	}
	// The one-shape fences, a block per run, each in ID order. The largest
	// block is kept to be merged; the others join the small ones.
	fd := sc.found[:0]
	big := [2]int{}
	if marked {
		ri, block := 0, 0
		endBlock := func() {
			if len(fd)-block > big[1]-big[0] {
				big = [2]int{block, len(fd)}
			}
			block = len(fd)
		}
		for sw, sbits := range sc.summary[:(len(sc.words)+63)>>6] {
			for sbits != 0 {
				w := sw<<6 | bits.TrailingZeros64(sbits)
				sbits &= sbits - 1
				for wb := sc.words[w]; wb != 0; wb &= wb - 1 {
					slot := w<<6 | bits.TrailingZeros64(wb)
					for slot >= s.slotOff[ri+1] {
						ri++
						endBlock()
					}
					fd = append(fd, s.runs[ri].shapes[slot-s.slotOff[ri]].rec)
				}
				sc.words[w] = 0
			}
			sc.summary[sw] = 0
		}
		endBlock()
		small = append(small, fd[:big[0]]...)
		small = append(small, fd[big[1]:]...)
	}
	slices.SortFunc(small, compareRecs)
	dst = mergeInto(dst, fd[big[0]:big[1]], small)

	clear(hits) // keep no records alive from the pool
	clear(fd)
	clear(small)
	sc.hits, sc.found, sc.small = hits[:0], fd[:0], small[:0]
	locateScratches.Put(sc)
	return dst
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
