package index

import (
	"cmp"
	"math/bits"
	"slices"
	"unsafe"

	"github.com/aroundme/aroundme/geo"
)

// numRes is the number of H3 resolutions (0–15).
const numRes = 16

// maxShapesPerFence bounds the shapes of one geofence so that a hit's sort
// key (see fenceHit) holds the shape index.
const maxShapesPerFence = 1 << 22

// cellCode is an H3 cell of a known resolution reduced to the bits that vary
// between such cells — base cell (7 bits) then one 3-bit digit per
// resolution — which orders the codes of a resolution as the cells and
// fits in 31 bits up to resolution 8 and 52 bits at 15.
func cellCode(cell uint64, res int) uint64 {
	return (cell & (1<<52 - 1)) >> (3 * (15 - res))
}

// wellFormed reports whether cell is laid out as an H3 cell of resolution
// res (mode 1, reserved bits clear, the digits past res all 7), which makes
// cellCode one-to-one on such cells. Membership being geographic, a
// covering cell that is not is in no position's cell and matches nothing;
// the index drops it rather than let its code alias a real cell's. (geo's
// polygon covering emits such cells near the poles, harmlessly.)
func wellFormed(cell uint64, res int) bool {
	if res < 0 || res >= numRes || cell>>56 != 0x08 || geo.CellResolution(cell) != res {
		return false
	}
	unused := uint64(1)<<(3*(15-res)) - 1
	return cell&unused == 0o777777777777777&unused
}

// codeBits is the number of significant bits of a cellCode at res.
func codeBits(res int) int { return 7 + 3*res }

// cellTable is one resolution of one run: a sorted set of cell codes, each
// with its postings (see posting). It is flat arrays and a short directory
// instead of a map or a slice per cell, so that tens of millions of
// postings cost 4 bytes each plus ~15 per distinct cell, hold no pointers
// for the collector to trace, and merge in one ordered walk.
//
// A code is split in a high and a low 32-bit half: the n keys are numbered
// in code order, grouped by high half in the directory (his, hiAt), and
// the low halves live in the hash table only (a merge, which walks keys in
// order, rebuilds them from it: see lows). Codes are below 2^31 up to
// resolution 8, and at finer resolutions the cells of a few cities share a
// handful of high halves, so the directory stays tiny.
//
// A lookup goes through hash, an open-addressing table over the keys
// (linear probing, at most 3/4 full): one cache line to find a key, where
// a binary search over millions of keys takes ~20 dependent steps, the
// last ten or so cache misses — the lookup's main cost once a city-centre
// user's hundreds of hits are handled without reading records. Being
// independent of each other, the probes of one lookup (a table per
// resolution and run) can also be in flight together (see scan).
type cellTable struct {
	his  []uint32 // distinct high halves, ascending
	hiAt []uint32 // len(his)+1: group g is keys hiAt[g] to hiAt[g+1]-1
	n    int      // keys
	keys []uint32 // low halves, ascending within a group: only while building
	at   []uint32 // n+1: key i's postings are vals[at[i]:at[i+1]]
	vals []uint32 // postings
	// hash holds low<<32 | i+1 for each key i with low half low, at the
	// slot the code hashes to or the first free one after it (0: free).
	// Two codes with the same low half are told apart by the group that i
	// falls in.
	hash []uint64
}

// A posting is a uint32: a number <<2 | postSimple | postInterior. For a
// one-shape fence (postSimple: one include shape and no exclude, the usual
// campaign) the number is the fence's Key; for other fences it is the
// shape's number in its run (fenceRun.shapes). The flags and the key let a
// lookup settle the common case — a one-shape fence — from the posting
// alone: it marks the key in a bitmap and reads nothing else, not even a
// per-shape array (a cache miss per hit, hundreds of hits in a city centre).
const (
	postInterior = 1 << iota // the cell is Interior to the shape
	postSimple               // the fence has one include shape and no exclude
	postShift    = 2
)

// hashSlot is where a code's probe starts in a hash table of n slots:
// the code mixed by a multiplication (Fibonacci hashing) and scaled to n.
func hashSlot(code uint64, n int) int {
	hi, _ := bits.Mul64(code*0x9e3779b97f4a7c15, uint64(n))
	return int(hi)
}

// find returns the postings of a code (empty if absent).
func (t *cellTable) find(code uint64) []uint32 {
	g := 0
	if h := uint32(code >> 32); len(t.his) != 1 || t.his[0] != h {
		var ok bool
		if g, ok = slices.BinarySearch(t.his, h); !ok {
			return nil
		}
	}
	lo, hi := t.hiAt[g], t.hiAt[g+1]
	want := code << 32
	for p := hashSlot(code, len(t.hash)); ; p++ {
		if p == len(t.hash) {
			p = 0
		}
		e := t.hash[p]
		if e == 0 {
			return nil
		}
		if e&^(1<<32-1) == want {
			if i := uint32(e) - 1; i >= lo && i < hi {
				return t.vals[t.at[i]:t.at[i+1]]
			}
		}
	}
}

// bytes is the memory the table holds.
func (t *cellTable) bytes() int64 {
	return 4*int64(cap(t.his)+cap(t.hiAt)+cap(t.at)+cap(t.vals)) + 8*int64(cap(t.hash))
}

// tableBuilder appends keys in ascending code order.
type tableBuilder struct{ t cellTable }

// key starts the postings of code at vals[start:].
func (b *tableBuilder) key(code uint64, start int) {
	t := &b.t
	if h := uint32(code >> 32); len(t.his) == 0 || t.his[len(t.his)-1] != h {
		t.his = append(t.his, h)
		t.hiAt = append(t.hiAt, uint32(len(t.keys)))
	}
	t.keys = append(t.keys, uint32(code))
	t.at = append(t.at, uint32(start))
}

// finish closes the arrays; nil when the table is empty.
func (b *tableBuilder) finish() *cellTable {
	t := &b.t
	if len(t.keys) == 0 {
		return nil
	}
	t.hiAt = append(t.hiAt, uint32(len(t.keys)))
	t.at = append(t.at, uint32(len(t.vals)))
	// Merges size the arrays for the worst case; give back real slack.
	if cap(t.vals)-len(t.vals) > len(t.vals)/8 {
		t.vals = slices.Clip(slices.Clone(t.vals))
	}
	if cap(t.at)-len(t.at) > len(t.at)/8 {
		t.at = slices.Clone(t.at)
	}
	t.hash = make([]uint64, len(t.keys)+len(t.keys)/3+1)
	for g, h := range t.his {
		for i := t.hiAt[g]; i < t.hiAt[g+1]; i++ {
			p := hashSlot(uint64(h)<<32|uint64(t.keys[i]), len(t.hash))
			for t.hash[p] != 0 {
				if p++; p == len(t.hash) {
					p = 0
				}
			}
			t.hash[p] = uint64(t.keys[i])<<32 | uint64(i+1)
		}
	}
	t.n, t.keys = len(t.keys), nil
	return t
}

// tableFromSorted builds a table from postings sorted by code; vals becomes
// the table's own.
func tableFromSorted(codes []uint64, vals []uint32) *cellTable {
	distinct := 0
	for i := range codes {
		if i == 0 || codes[i] != codes[i-1] {
			distinct++
		}
	}
	b := tableBuilder{cellTable{keys: make([]uint32, 0, distinct), at: make([]uint32, 0, distinct+1), vals: vals}}
	for i := range codes {
		if i == 0 || codes[i] != codes[i-1] {
			b.key(codes[i], i)
		}
	}
	return b.finish()
}

// shapeRef is what a posting's shape number stands for.
type shapeRef struct {
	rec   *fenceRec
	shape geo.Shape // rec's shape, here for the exact test
	idx   int32     // into rec.Geofence.Include, or Exclude when excl
	excl  bool
}

// shapesOf returns the range of the run's shapes that belong to rec (runs
// number shapes in ID order); empty if none.
func (r *fenceRun) shapesOf(rec *fenceRec) (lo, hi int) {
	lo, _ = slices.BinarySearchFunc(r.shapes, rec, func(s shapeRef, t *fenceRec) int { return compareRecs(s.rec, t) })
	for lo < len(r.shapes) && r.shapes[lo].rec != rec && compareRecs(r.shapes[lo].rec, rec) == 0 {
		lo++ // an older version of the id, gone
	}
	hi = lo
	for hi < len(r.shapes) && r.shapes[hi].rec == rec {
		hi++
	}
	return lo, hi
}

// fenceRun is an immutable set of postings for some fences: a table per
// resolution and the shapes the postings refer to. A snapshot is a stack
// of runs (see Fences).
type fenceRun struct {
	tabs     [numRes]*cellTable
	shapes   []shapeRef
	nkeys    uint32 // 1 + the largest Key of its fences (0: none)
	cells    int    // postings
	distinct int    // distinct cells, over resolutions
	bytes    int64
}

func (r *fenceRun) finish() *fenceRun {
	r.nkeys = 0
	for i := range r.shapes {
		r.nkeys = max(r.nkeys, r.shapes[i].rec.Key+1)
	}
	r.cells, r.distinct, r.bytes = 0, 0, int64(cap(r.shapes))*int64(unsafe.Sizeof(shapeRef{}))
	for _, t := range r.tabs {
		if t != nil {
			r.cells += len(t.vals)
			r.distinct += t.n
			r.bytes += t.bytes()
		}
	}
	return r
}

// postings are the cell entries of one resolution being collected, with
// shape numbers (of fences that are not simple) local to their runPart.
type postings struct {
	codes []uint64
	vals  []uint32
}

// runPart is the postings of a batch of fences, built by one goroutine;
// parts are joined into a run by buildRun.
type runPart struct {
	ps     [numRes]postings
	shapes []shapeRef
}

// newRunPart collects the postings of fences (sorted by ID) from their
// coverings, into arrays sized exactly: at a Load they are most of the
// memory in use.
func newRunPart(recs []*fenceRec, gcs []*geo.GeofenceCovering) *runPart {
	var n [numRes]int
	for _, gc := range gcs {
		for _, list := range [][]*geo.Covering{gc.Include, gc.Exclude} {
			for _, c := range list {
				for _, cc := range c.Cells {
					if cc.Res >= 0 && cc.Res < numRes {
						n[cc.Res]++
					}
				}
			}
		}
	}
	p := &runPart{}
	for res, k := range n {
		if k > 0 {
			p.ps[res] = postings{make([]uint64, 0, k), make([]uint32, 0, k)}
		}
	}
	for i, rec := range recs {
		p.add(rec, gcs[i])
	}
	return p
}

// add appends a fence's covering to the part and counts its postings.
func (p *runPart) add(rec *fenceRec, gc *geo.GeofenceCovering) {
	list := func(cs []*geo.Covering, shapes []geo.Shape, excl bool) {
		for i, c := range cs {
			s := uint32(len(p.shapes)) << postShift
			if rec.simple {
				s = rec.Key<<postShift | postSimple
			}
			p.shapes = append(p.shapes, shapeRef{rec: rec, shape: shapes[i], idx: int32(i), excl: excl})
			for _, cc := range c.Cells {
				if !wellFormed(cc.Cell, cc.Res) {
					continue
				}
				v := s
				if cc.Interior {
					v |= postInterior
				}
				ps := &p.ps[cc.Res]
				ps.codes = append(ps.codes, cellCode(cc.Cell, cc.Res))
				ps.vals = append(ps.vals, v)
				rec.cells++
			}
		}
	}
	list(gc.Include, rec.Geofence.Include, false)
	list(gc.Exclude, rec.Geofence.Exclude, true)
}

// buildRun joins parts into a run, numbering their shapes in part order;
// nil when there are no postings. workers bounds the resolutions sorted at
// once (memory: each sort holds two copies of its postings).
func buildRun(parts []*runPart, workers int) *fenceRun {
	r := &fenceRun{}
	offs := make([]uint32, len(parts))
	n := 0
	for i, p := range parts {
		offs[i] = uint32(len(r.shapes)) << postShift
		r.shapes = append(r.shapes, p.shapes...)
		for res := range p.ps {
			n += len(p.ps[res].codes)
		}
	}
	if n == 0 {
		return nil
	}
	parallel(numRes, workers, func(res int) {
		segs := make([]segment, 0, len(parts))
		for i, p := range parts {
			if ps := &p.ps[res]; len(ps.codes) > 0 {
				segs = append(segs, segment{ps.codes, ps.vals, offs[i]})
			}
		}
		if len(segs) == 0 {
			return
		}
		for i := range parts {
			parts[i].ps[res] = postings{} // segs holds them; sortSegments lets go
		}
		codes, vals := sortSegments(segs, codeBits(res))
		r.tabs[res] = tableFromSorted(codes, vals)
	})
	return r.finish()
}

// mergeRuns merges runs into one, dropping the postings of fences that are
// gone (rec.gone set: they are filtered from every snapshot that will see
// the result). Shapes are renumbered in ID order, as every run numbers
// them (see shapesOf); the postings of a cell keep run order. A key
// posting (a simple fence's) is kept unless its fence in that run is gone.
func mergeRuns(in []*fenceRun) *fenceRun {
	type from struct{ run, shape int32 }
	var live []from
	goneKeys := make([][]uint64, len(in)) // per run, the keys of its gone simple fences
	for i, r := range in {
		for s, ref := range r.shapes {
			if ref.rec.gone.Load() == 0 {
				live = append(live, from{int32(i), int32(s)})
			} else if ref.rec.simple {
				if goneKeys[i] == nil {
					goneKeys[i] = make([]uint64, (r.nkeys+63)>>6)
				}
				k := ref.rec.Key
				goneKeys[i][k>>6] |= 1 << (k & 63)
			}
		}
	}
	// A record's shapes are consecutive in its run: a stable sort by record
	// keeps them together and in order.
	slices.SortStableFunc(live, func(a, b from) int {
		return compareRecs(in[a.run].shapes[a.shape].rec, in[b.run].shapes[b.shape].rec)
	})
	out := &fenceRun{shapes: make([]shapeRef, len(live))}
	remap := make([][]int32, len(in))
	for i, r := range in {
		remap[i] = make([]int32, len(r.shapes))
		for s := range remap[i] {
			remap[i][s] = -1
		}
	}
	for n, l := range live {
		out.shapes[n] = in[l.run].shapes[l.shape]
		remap[l.run][l.shape] = int32(n) << postShift
	}
	its := make([]tableIter, 0, len(in))
	for res := range numRes {
		its = its[:0]
		nk, nv := 0, 0
		for i, r := range in {
			if t := r.tabs[res]; t != nil {
				its = append(its, tableIter{t: t, lows: t.lows(), remap: remap[i], gone: goneKeys[i]})
				nk += t.n
				nv += len(t.vals)
			}
		}
		if len(its) == 0 {
			continue
		}
		b := tableBuilder{cellTable{keys: make([]uint32, 0, nk), at: make([]uint32, 0, nk+1), vals: make([]uint32, 0, nv)}}
		for {
			code, found := uint64(0), false
			for k := range its {
				if it := &its[k]; !it.done() && (!found || it.code() < code) {
					code, found = it.code(), true
				}
			}
			if !found {
				break
			}
			start := len(b.t.vals)
			for k := range its {
				if it := &its[k]; !it.done() && it.code() == code {
					for _, v := range it.postings() {
						n := v >> postShift
						if v&postSimple != 0 {
							if it.gone == nil || it.gone[n>>6]&(1<<(n&63)) == 0 {
								b.t.vals = append(b.t.vals, v)
							}
						} else if s := it.remap[n]; s >= 0 {
							b.t.vals = append(b.t.vals, uint32(s)|v&(1<<postShift-1))
						}
					}
					it.next()
				}
			}
			if len(b.t.vals) > start {
				b.key(code, start)
			}
		}
		out.tabs[res] = b.finish()
	}
	if out.finish().cells == 0 {
		return nil
	}
	return out
}

// lows returns the table's low halves by key number, from the hash table.
func (t *cellTable) lows() []uint32 {
	lows := make([]uint32, t.n)
	for _, e := range t.hash {
		if e != 0 {
			lows[uint32(e)-1] = uint32(e >> 32)
		}
	}
	return lows
}

// tableIter walks a table in code order.
type tableIter struct {
	t     *cellTable
	lows  []uint32 // t.lows()
	g, i  int
	remap []int32  // shape numbers into the merged run (-1: gone)
	gone  []uint64 // keys whose fence is gone (nil: none)
}

func (it *tableIter) done() bool { return it.i == it.t.n }

func (it *tableIter) code() uint64 {
	return uint64(it.t.his[it.g])<<32 | uint64(it.lows[it.i])
}

func (it *tableIter) postings() []uint32 { return it.t.vals[it.t.at[it.i]:it.t.at[it.i+1]] }

func (it *tableIter) next() {
	it.i++
	for it.g < len(it.t.his) && it.i >= int(it.t.hiAt[it.g+1]) {
		it.g++
	}
}

// segment is a slice of postings to sort, whose shape postings (not
// postSimple: their number is a shape's) get add added (see renumber).
type segment struct {
	codes []uint64
	vals  []uint32
	add   uint32
}

// renumber moves a posting's shape number by add; a key posting keeps its
// key.
func renumber(v, add uint32) uint32 {
	if v&postSimple != 0 {
		return v
	}
	return v + add
}

// sortSegments concatenates the segments sorted by code, stably: postings
// of equal codes keep segment order. Large inputs are sorted by LSD radix
// over the codes' significant bits (a few passes of up to 12 bits, reading
// the segments in place on the first pass) — several times faster than a
// comparison sort on the tens of millions of postings of a Load. It drops
// its references to the segments (clearing segs) once it has read them, so
// that their memory can serve the second buffer.
func sortSegments(segs []segment, bits int) ([]uint64, []uint32) {
	n := 0
	for _, s := range segs {
		n += len(s.codes)
	}
	codes, vals := make([]uint64, n), make([]uint32, n)
	if n < 4096 {
		type pv struct {
			c uint64
			v uint32
			i int
		}
		tmp := make([]pv, 0, n)
		for _, s := range segs {
			for i, c := range s.codes {
				tmp = append(tmp, pv{c, renumber(s.vals[i], s.add), len(tmp)})
			}
		}
		slices.SortFunc(tmp, func(a, b pv) int {
			if c := cmp.Compare(a.c, b.c); c != 0 {
				return c
			}
			return cmp.Compare(a.i, b.i)
		})
		for i, p := range tmp {
			codes[i], vals[i] = p.c, p.v
		}
		return codes, vals
	}
	passes := max(1, (bits+11)/12)
	width := (bits + passes - 1) / passes
	mask := uint64(1)<<width - 1
	count := make([]int, 1<<width)
	// First pass: from the segments into (codes, vals).
	for _, s := range segs {
		for _, c := range s.codes {
			count[c&mask]++
		}
	}
	prefix(count)
	for _, s := range segs {
		for i, c := range s.codes {
			d := c & mask
			codes[count[d]], vals[count[d]] = c, renumber(s.vals[i], s.add)
			count[d]++
		}
	}
	clear(segs)
	var codes2 []uint64
	var vals2 []uint32
	for p := 1; p < passes; p++ {
		shift := uint(p * width)
		clear(count)
		for _, c := range codes {
			count[c>>shift&mask]++
		}
		if slices.Contains(count, n) {
			continue // one bucket: already in order
		}
		prefix(count)
		if codes2 == nil {
			codes2, vals2 = make([]uint64, n), make([]uint32, n)
		}
		for i, c := range codes {
			d := c >> shift & mask
			codes2[count[d]], vals2[count[d]] = c, vals[i]
			count[d]++
		}
		codes, codes2, vals, vals2 = codes2, codes, vals2, vals
	}
	return codes, vals
}

// prefix turns counts into starting offsets.
func prefix(count []int) {
	sum := 0
	for i, c := range count {
		count[i] = sum
		sum += c
	}
}
