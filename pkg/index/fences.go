package index

import (
	"cmp"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aroundme/aroundme/geo"
)

// Fence is one campaign in the covering index.
type Fence struct {
	ID       string       // campaign id (unique key)
	Geofence geo.Geofence // for exact tests of boundary cells
	// Covering is Geofence.Cover(policy)'s result; Apply and Load compute it
	// when both Include and Exclude are nil. The index does not keep it
	// (its tables hold the cells, ~4 bytes each instead of 24).
	Covering geo.GeofenceCovering
	Value    any // opaque payload for the caller (the server keeps its decoded campaign here)
	// Key is the index's number for the ID (Fences.Key), set by the index
	// (a caller's value is ignored): small dense numbers, which Candidates
	// returns instead of fences, let the caller rank candidates from its
	// own arrays (the server keeps each campaign's eCPM there) without
	// reading their records, and let the index mark hits in bitmaps.
	Key uint32
}

// FenceStats describe a FenceSnapshot, for metrics.
type FenceStats struct {
	Fences    int
	Cells     int // stored cell entries (postings), DeadCells included
	DeadCells int // entries of removed or replaced fences not yet merged away
	Keys      int // distinct cells stored, summed over runs and resolutions
	Runs      int
	// Resolutions is the number of distinct resolutions in use: the cells
	// (one geo.CellsOf) and probes of one lookup.
	Resolutions int
	Bytes       int64 // estimated memory of the cell tables and their shape lists
	BuiltAt     time.Time
}

// Fences is the covering index of campaign geofences: which campaigns'
// areas contain a position. It has the places index's discipline: readers
// take the current *FenceSnapshot with one atomic load and never block;
// writers are serialised and publish the next immutable snapshot before
// Apply or Load returns, so a write acknowledged afterwards is seen by the
// next lookup.
//
// Layout. Each shape of each fence is covered by H3 cells of mixed
// resolutions, marked Interior or Boundary (geo.Covering). A run stores
// every (cell, shape) pair as a posting in flat sorted arrays, one table
// per resolution (cellTable): the distinct cells of the resolution, sorted,
// each with its uint32 postings (a number, and flags: Interior, and
// whether the fence is one include shape and nothing else — simple). The
// number of a simple fence's posting is the fence's Key, so that a lookup
// marks the hit without reading anything else; that of another fence's is
// a shape number, which indexes the run's shape list (fence, include or
// exclude, shape index), numbered in fence ID order. Why not a
// map[cell][]entry: 100,000 city-sized campaigns make ~31 million postings
// (~310 cells each under the default policy), and a map with a slice per
// cell costs ~50 bytes a posting and millions of objects for the collector
// to trace; the arrays cost 4 bytes a posting plus ~15 per distinct cell,
// its hash slot included (campaigns overlap, so cells repeat: ~8 bytes a
// posting in all, ~250 MB for the benchmark's 100k), and hold no pointers.
//
// Lookup. The point's cell is computed once per resolution in use (one
// geo.CellsOf for all) and each table of that resolution is probed once, so the cost
// grows with the resolutions and the hits, not with the number of
// campaigns. An Interior include posting puts the point inside that shape;
// a Boundary one needs the shape's exact test, which is made only for fences
// with an include hit; an Interior exclude posting excludes the point, a
// Boundary one is tested exactly. See Locate for how hundreds of hits are
// handled, and Candidates for the lookup the server makes.
//
// Updates. Sorted arrays cannot take an insertion without a copy, and
// copying hundreds of megabytes per campaign write is out of the question,
// so a snapshot is a stack of immutable runs, log-structured: a write adds
// a small run with the postings of the fences it writes, and the postings
// of the fences it replaces or removes stay where they are, marked in the
// snapshot's bitmap of dead shapes for their run (see level) and skipped at
// lookup. When the newest run reaches 1/mergeRatio of the one below, the
// two are merged (dropping dead postings), which keeps run sizes geometric:
// a few runs, each posting copied O(log n) times over its life, and a
// one-fence write costs its covering plus a merge of small runs. Merges of
// more than bgMergeCells postings (the big runs at the bottom) run in a
// background goroutine that publishes the merged run in place of its
// inputs when it is done; writes go on meanwhile, and so do other merges
// of other runs. When dead postings exceed a quarter of all, everything is
// merged.
type Fences struct {
	cur    atomic.Pointer[FenceSnapshot]
	policy geo.CoverPolicy
	seq    atomic.Uint64 // numbers fence records in creation order

	keyMu  sync.Mutex        // guards keyOf
	keyOf  map[string]uint32 // ID → Key, never removed: a key is not reused
	nextKy uint32

	mu      sync.Mutex         // serialises writers
	merging map[*fenceRun]bool // runs being merged in the background
	bg      sync.WaitGroup
	merges  [2]int // merges done in the foreground, background (f.mu held)

	// Tunables, fixed at construction (tests lower them).
	mergeRatio   int
	bgMergeCells int
	workers      int
}

// Merge policy defaults (see Fences). A merge of 2^13 postings takes well
// under a millisecond; larger ones on the writer's path made every few
// hundredth 5 km campaign create wait several (p99 6–9 ms against 3–5 ms
// with this bound, 2026-11-22).
const (
	defaultMergeRatio   = 8
	defaultBgMergeCells = 1 << 13
)

// FenceSnapshot is an immutable state of the covering index; any number of
// goroutines may use it while the next is built.
type FenceSnapshot struct {
	gen   uint64
	runs  []level // oldest and largest first
	res   []int   // resolutions with a table in some run, ascending
	nkeys uint32  // 1 + the largest Key in the runs: the size of a lookup's bitmaps
	ids   idTable[*fenceRec]
	keys  keyTable // Key → the fence this snapshot has
	stats FenceStats
}

// level is a run as a snapshot sees it: the run, and which of its fences
// this snapshot no longer has, by Key. A write that removes or replaces
// fences copies the bitmaps of the runs holding them (a bit per key: 12 KB
// for 100k) instead of touching the runs, and a lookup skips their
// postings without reading the records. (A run holds at most one fence of
// a key: a run is built from one write, or merged from runs in which older
// versions are gone and dropped.)
type level struct {
	*fenceRun
	dead []uint64 // nil when none
}

func (l *level) isDead(key uint32) bool {
	return l.dead != nil && l.dead[key>>6]&(1<<(key&63)) != 0
}

// kill marks key dead in the level, copying its bitmap first unless
// copied says it already has been.
func (l *level) kill(key uint32, copied *bool) {
	if !*copied {
		d := make([]uint64, (l.nkeys+63)>>6)
		copy(d, l.dead)
		l.dead, *copied = d, true
	}
	l.dead[key>>6] |= 1 << (key & 63)
}

// killRecords marks gone records dead in the levels holding them, copying
// each level's bitmap once.
func killRecords(levels []level, gone []*fenceRec) {
	copied := make([]bool, len(levels))
	for _, rec := range gone {
		for i := range levels {
			if lo, hi := levels[i].shapesOf(rec); lo < hi {
				levels[i].kill(rec.Key, &copied[i])
				break
			}
		}
	}
}

// fenceRec is the index's copy of a Fence (without its covering) and the
// record its postings point to. Records are shared by snapshots; gone is
// their only mutable field, written once by the writer.
type fenceRec struct {
	Fence
	seq uint64 // unique, increasing: groups a lookup's hits
	// gone is the generation of the first snapshot without the record (0:
	// none yet). Merges drop records that are gone; lookups go by the
	// snapshot's dead bitmaps instead (see level).
	gone  atomic.Uint64
	cells int // its postings
	// simple: one include shape and no exclude, the usual campaign, which a
	// lookup decides hit by hit without grouping its hits.
	simple bool
	order  [2]uint64 // the first 16 bytes of ID, big-endian: sorts results
}

// idOrder returns the first 16 bytes of id as two big-endian words, zero
// padded: where they differ they order ids as strings do, which settles
// almost every comparison of records by ID (sorting a run's shapes, placing
// a lookup's few out-of-run results) in two integer compares.
func idOrder(id string) [2]uint64 {
	o := [2]uint64{idPrefix(id)}
	if len(id) > 8 {
		o[1] = idPrefix(id[8:])
	}
	return o
}

// idPrefix returns the first 8 bytes of id as a big-endian word, zero
// padded: where two differ they order the ids as strings do.
func idPrefix(id string) uint64 {
	var o uint64
	for i := range min(8, len(id)) {
		o |= uint64(id[i]) << (56 - 8*i)
	}
	return o
}

// compareRecs orders records by ID.
func compareRecs(a, b *fenceRec) int {
	if a.order != b.order {
		if a.order[0] != b.order[0] {
			return cmp.Compare(a.order[0], b.order[0])
		}
		return cmp.Compare(a.order[1], b.order[1])
	}
	return strings.Compare(a.ID, b.ID)
}

// NewFences returns an empty index; policy covers fences that come without
// a covering.
func NewFences(policy geo.CoverPolicy) *Fences {
	f := &Fences{policy: policy, keyOf: map[string]uint32{}, merging: map[*fenceRun]bool{}, mergeRatio: defaultMergeRatio, bgMergeCells: defaultBgMergeCells, workers: runtime.GOMAXPROCS(0)}
	f.cur.Store(&FenceSnapshot{gen: 1, stats: FenceStats{BuiltAt: time.Now()}})
	return f
}

// Snapshot returns the current snapshot: one atomic load, never blocks.
func (f *Fences) Snapshot() *FenceSnapshot { return f.cur.Load() }

// maxKeys bounds the ids an index numbers: a key shares a posting's 32
// bits with two flags.
const maxKeys = 1 << (32 - postShift)

// Key returns the ID's key, numbering IDs from 0 in the order they are
// first seen (here or by a write): every version of a fence has its ID's
// key, and a key is never reused, also after the fence is removed. Callers
// that keep per-fence arrays by key (the server's auction table) learn a
// key here before they write the fence. ok is false when maxKeys IDs have
// been numbered.
func (f *Fences) Key(id string) (key uint32, ok bool) {
	f.keyMu.Lock()
	defer f.keyMu.Unlock()
	if k, ok := f.keyOf[id]; ok {
		return k, true
	}
	if f.nextKy >= maxKeys {
		return 0, false
	}
	k := f.nextKy
	f.keyOf[id], f.nextKy = k, k+1
	return k, true
}

// Load replaces the whole index with all (start-up): coverings missing from
// the fences are computed in parallel, and one run is built by sorting
// rather than by merging. Of fences with the same ID the last wins. On an
// error nothing changes.
func (f *Fences) Load(all []*Fence) error {
	recs, run, err := f.prepare(all, f.workers)
	if err != nil {
		return err
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var levels []level
	if run != nil {
		levels = append(levels, level{fenceRun: run})
	}
	f.publish(f.cur.Load(), levels, newIDTable(ids, recs), keyTable{}.with(recs, nil), 0)
	return nil
}

// Apply removes the fences with the ids in removes (unknown ids are
// ignored), then upserts (replacing by ID; of the same ID the last wins),
// and publishes the result before it returns. Coverings missing from the
// upserts are computed before the writer lock is taken. On an error
// nothing changes.
func (f *Fences) Apply(upserts []*Fence, removes []string) error {
	if len(upserts) == 0 && len(removes) == 0 {
		return nil
	}
	recs, run, err := f.prepare(upserts, f.workers)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	base := f.cur.Load()
	gen := base.gen + 1
	dead := base.stats.DeadCells
	ids := make([]string, 0, len(removes)+len(recs))
	vals := make([]*fenceRec, 0, len(removes)+len(recs))
	var gone []*fenceRec
	write := func(id string, rec *fenceRec) {
		if old, ok := base.ids.get(id); ok && old.gone.Load() == 0 {
			old.gone.Store(gen)
			dead += old.cells
			gone = append(gone, old)
		}
		ids, vals = append(ids, id), append(vals, rec)
	}
	for _, id := range removes {
		write(id, nil)
	}
	for _, r := range recs {
		write(r.ID, r)
	}
	levels := slices.Clone(base.runs)
	killRecords(levels, gone)
	if run != nil {
		levels = append(levels, level{fenceRun: run})
	}
	f.publish(base, levels, base.ids.with(ids, func(i int) (*fenceRec, bool) { return vals[i], vals[i] == nil }), base.keys.with(recs, gone), dead)
	return nil
}

// publish compacts runs and stores the snapshot that follows base (f.mu
// held).
func (f *Fences) publish(base *FenceSnapshot, runs []level, ids idTable[*fenceRec], keys keyTable, dead int) {
	runs, dead = f.compact(runs, dead)
	s := &FenceSnapshot{gen: base.gen + 1, runs: runs, ids: ids, keys: keys}
	s.stats.Bytes = keys.bytes()
	var inUse [numRes]bool
	for _, r := range runs {
		s.nkeys = max(s.nkeys, r.nkeys)
		for res, t := range r.tabs {
			inUse[res] = inUse[res] || t != nil
		}
		s.stats.Cells += r.cells
		s.stats.Keys += r.distinct
		s.stats.Bytes += r.bytes + 8*int64(len(r.dead))
	}
	for res, ok := range inUse {
		if ok {
			s.res = append(s.res, res)
		}
	}
	s.stats.Fences, s.stats.DeadCells, s.stats.Runs = ids.len(), dead, len(runs)
	s.stats.Resolutions, s.stats.BuiltAt = len(s.res), time.Now()
	f.cur.Store(s)
}

// compact merges runs as the policy asks (see Fences), synchronously for
// small merges, and returns the runs and dead postings that remain (f.mu
// held).
func (f *Fences) compact(runs []level, dead int) ([]level, int) {
	for {
		n, total := len(runs), 0
		for _, r := range runs {
			total += r.cells
		}
		// Everything when a quarter is dead; else the newest pair of
		// neighbours out of the geometric order (the smallest merge that
		// restores it). Runs merging in the background are left alone.
		lo, hi := -1, -1
		if len(f.merging) == 0 && n > 0 && dead*4 > total {
			lo, hi = 0, n
		} else {
			for i := n - 2; i >= 0; i-- {
				if runs[i+1].cells*f.mergeRatio >= runs[i].cells && !f.merging[runs[i].fenceRun] && !f.merging[runs[i+1].fenceRun] {
					lo, hi = i, i+2
					break
				}
			}
		}
		if lo < 0 {
			return runs, dead
		}
		in := make([]*fenceRun, 0, hi-lo)
		cells := 0
		for _, r := range runs[lo:hi] {
			in, cells = append(in, r.fenceRun), cells+r.cells
		}
		if cells > f.bgMergeCells {
			f.mergeInBackground(in)
			continue
		}
		out := mergeRuns(in) // drops every gone record: no dead shapes
		f.merges[0]++
		merged := slices.Clone(runs[:lo])
		if out != nil {
			merged = append(merged, level{fenceRun: out})
			cells -= out.cells
		}
		runs = append(merged, runs[hi:]...)
		dead -= cells
		if lo == 0 && hi == n {
			dead = 0 // every gone record's postings were in the runs merged
		}
	}
}

// mergeInBackground merges in (consecutive runs of the current snapshot)
// in a goroutine and then, if they are still there, publishes a snapshot
// with the merged run in their place (f.mu held).
func (f *Fences) mergeInBackground(in []*fenceRun) {
	for _, r := range in {
		f.merging[r] = true
	}
	f.bg.Go(func() {
		out := mergeRuns(in)
		f.mu.Lock()
		defer f.mu.Unlock()
		for _, r := range in {
			delete(f.merging, r)
		}
		f.merges[1]++
		base := f.cur.Load()
		i := slices.IndexFunc(base.runs, func(l level) bool { return l.fenceRun == in[0] })
		if i < 0 || i+len(in) > len(base.runs) {
			return // a Load replaced them
		}
		dropped := 0
		for k, r := range in {
			if base.runs[i+k].fenceRun != r {
				return
			}
			dropped += r.cells
		}
		runs := slices.Clone(base.runs[:i])
		if out != nil {
			// Records removed while it merged are still in it.
			lv := level{fenceRun: out}
			copied := false
			for _, ref := range out.shapes {
				if ref.rec.gone.Load() != 0 {
					lv.kill(ref.rec.Key, &copied)
				}
			}
			runs = append(runs, lv)
			dropped -= out.cells
		}
		runs = append(runs, base.runs[i+len(in):]...)
		f.publish(base, runs, base.ids, base.keys, base.stats.DeadCells-dropped)
	})
}

// waitMerges waits for background merges (tests).
func (f *Fences) waitMerges() { f.bg.Wait() }

// prepare copies and checks the fences, covers those without a covering,
// and builds their run (nil when they have no cells) — all before the
// writer lock. Of fences with the same ID the last is kept.
func (f *Fences) prepare(fs []*Fence, workers int) ([]*fenceRec, *fenceRun, error) {
	last := make(map[string]int, len(fs))
	for i, fe := range fs {
		if fe == nil {
			return nil, nil, fmt.Errorf("index: fence %d is nil", i)
		}
		last[fe.ID] = i
	}
	// Records in ID order (a run numbers shapes in ID order, see shapesOf),
	// each with its covering.
	type pending struct {
		rec *fenceRec
		cov *geo.GeofenceCovering
	}
	ps := make([]pending, 0, len(last))
	for i, fe := range fs {
		if last[fe.ID] != i {
			continue
		}
		if err := checkFence(fe); err != nil {
			return nil, nil, fmt.Errorf("index: fence %q: %w", fe.ID, err)
		}
		key, ok := f.Key(fe.ID)
		if !ok {
			return nil, nil, fmt.Errorf("index: fence %q: more than %d fence ids", fe.ID, maxKeys)
		}
		rec := &fenceRec{Fence: *fe, seq: f.seq.Add(1), simple: len(fe.Geofence.Include) == 1 && len(fe.Geofence.Exclude) == 0, order: idOrder(fe.ID)}
		rec.Covering, rec.Key = geo.GeofenceCovering{}, key
		ps = append(ps, pending{rec, &fe.Covering})
	}
	slices.SortFunc(ps, func(a, b pending) int { return compareRecs(a.rec, b.rec) })
	recs := make([]*fenceRec, len(ps))
	covs := make([]*geo.GeofenceCovering, len(ps))
	for i, p := range ps {
		recs[i], covs[i] = p.rec, p.cov
	}
	const chunk = 64
	parts := make([]*runPart, (len(recs)+chunk-1)/chunk)
	errs := make([]error, len(parts))
	parallel(len(parts), workers, func(c int) {
		lo, hi := c*chunk, min(len(recs), (c+1)*chunk)
		gcs := covs[lo:hi:hi] // the chunk's own: computed coverings replace nil ones
		for i, gc := range gcs {
			rec := recs[lo+i]
			if gc.Include == nil && gc.Exclude == nil {
				cov, err := rec.Geofence.Cover(f.policy)
				if err != nil {
					errs[c] = fmt.Errorf("index: fence %q: %w", rec.ID, err)
					return
				}
				gcs[i] = &cov
			} else if err := checkCovering(&rec.Geofence, gc); err != nil {
				errs[c] = fmt.Errorf("index: fence %q: %w", rec.ID, err)
				return
			}
		}
		parts[c] = newRunPart(recs[lo:hi], gcs)
		clear(gcs) // computed coverings are garbage now
	})
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	cells := 0
	for _, r := range recs {
		cells += r.cells
	}
	if cells < 1<<16 {
		workers = 1 // not worth the goroutines
	}
	return recs, buildRun(parts, workers), nil
}

func checkFence(fe *Fence) error {
	if fe.ID == "" {
		return errors.New("empty id")
	}
	g := fe.Geofence
	if len(g.Include) >= maxShapesPerFence || len(g.Exclude) >= maxShapesPerFence {
		return fmt.Errorf("more than %d shapes", maxShapesPerFence-1)
	}
	for _, list := range [][]geo.Shape{g.Include, g.Exclude} {
		for _, s := range list {
			if s == nil {
				return errors.New("nil shape")
			}
		}
	}
	return nil
}

// checkCovering checks that a given covering has one covering per shape.
// (Its cells are not checked against the shapes: that would cost what
// covering costs. Cells that are not H3 cells of their resolution are
// dropped, see wellFormed.)
func checkCovering(g *geo.Geofence, gc *geo.GeofenceCovering) error {
	if len(gc.Include) != len(g.Include) || len(gc.Exclude) != len(g.Exclude) {
		return fmt.Errorf("covering has %d+%d shapes, geofence %d+%d", len(gc.Include), len(gc.Exclude), len(g.Include), len(g.Exclude))
	}
	if slices.Contains(gc.Include, nil) || slices.Contains(gc.Exclude, nil) {
		return errors.New("nil covering")
	}
	return nil
}

// parallel calls fn(0..n-1) on up to workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	if workers <= 1 || n <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// Stats returns the snapshot's sizes.
func (s *FenceSnapshot) Stats() FenceStats { return s.stats }

// Generation numbers snapshots in publication order.
func (s *FenceSnapshot) Generation() uint64 { return s.gen }

// Fence returns the fence with the id (the index's copy: no Covering), or
// nil. Fences returned by a snapshot are shared: treat them as read-only.
func (s *FenceSnapshot) Fence(id string) *Fence {
	if r, ok := s.ids.get(id); ok {
		return &r.Fence
	}
	return nil
}
