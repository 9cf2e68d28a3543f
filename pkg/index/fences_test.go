package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aroundme/aroundme/geo"
	h3 "github.com/uber/h3-go/v4"
)

// testPolicy aims at fewer boundary cells than the default: coverings are
// quicker to compute and a larger share of the area needs exact tests.
var testPolicy = geo.CoverPolicy{TargetBoundaryCells: 24, MaxCells: 2500}

// fenceSpots are where test fences cluster: a city, both sides of the
// antimeridian, above 80°, at the poles and at an H3 pentagon.
func fenceSpots() [][2]float64 {
	ll := h3.Pentagons(5)[3].LatLng()
	return [][2]float64{
		{39.9, 116.4}, {0.01, 179.97}, {65.5, -179.96}, {84.2, 30}, {89.93, 10}, {-89.95, -40}, {ll.Lat, ll.Lng},
	}
}

// destDeg is the position dM metres from (lat, lng) along bearing brg
// (radians), on the sphere, rotating the unit vector in its tangent plane.
func destDeg(lat, lng, dM, brg float64) (float64, float64) {
	p := geo.PointFromDeg(lat, lng)
	east := geo.Point{X: -p.Y, Y: p.X}.Normalize()
	if east.X == 0 && east.Y == 0 {
		east = geo.Point{Y: 1} // at a pole any direction is east
	}
	north := geo.Point{X: p.Y*east.Z - p.Z*east.Y, Y: p.Z*east.X - p.X*east.Z, Z: p.X*east.Y - p.Y*east.X}
	a := geo.MetersToRad(dM)
	s, c, sb, cb := math.Sin(a), math.Cos(a), math.Sin(brg), math.Cos(brg)
	q := geo.Point{
		X: p.X*c + (north.X*cb+east.X*sb)*s,
		Y: p.Y*c + (north.Y*cb+east.Y*sb)*s,
		Z: p.Z*c + (north.Z*cb+east.Z*sb)*s,
	}
	return q.Deg()
}

func wrapDeg(lng float64) float64 { return math.Remainder(lng, 360) }

// tiny is a signed offset from 1e-9 to 1e-3 of unit: boundary points on
// both sides, some closer than any cell edge can be resolved.
func tiny(rng *rand.Rand, unit float64) float64 {
	return unit * math.Pow(10, -9+6*rng.Float64()) * float64(1-2*rng.IntN(2))
}

// testShape is a random shape and a sampler of positions near its boundary.
type testShape struct {
	shape geo.Shape
	lat   float64
	lng   float64 // a point of the shape's interior region, for excludes
	edge  func(rng *rand.Rand) (lat, lng float64)
}

func randomCircle(rng *rand.Rand, lat, lng, maxM float64) testShape {
	r := maxM * math.Exp(-rng.Float64()*math.Log(300)) // maxM/300 .. maxM
	r = math.Max(r, geo.MinCircleRadiusM)
	c := geo.Circle{Center: geo.LatLngDeg{Lat: lat, Lng: lng}, RadiusM: r}
	return testShape{shape: c, lat: lat, lng: lng, edge: func(rng *rand.Rand) (float64, float64) {
		return destDeg(lat, lng, r*(1+tiny(rng, 1)), rng.Float64()*2*math.Pi)
	}}
}

// star is a star-shaped ring round (lat, lng), concave when rMin is well
// below rMax.
func star(rng *rand.Rand, lat, lng, rMin, rMax float64, n int) []geo.LatLngDeg {
	out := make([]geo.LatLngDeg, n)
	for i := range out {
		th := 2 * math.Pi * (float64(i) + 0.8*rng.Float64()) / float64(n)
		la, ln := destDeg(lat, lng, rMin+(rMax-rMin)*rng.Float64(), th)
		out[i] = geo.LatLngDeg{Lat: la, Lng: ln}
	}
	return out
}

// nearRings samples positions near the rings' edges and at their vertices.
func nearRings(rings [][]geo.LatLngDeg) func(rng *rand.Rand) (float64, float64) {
	return func(rng *rand.Rand) (float64, float64) {
		ring := rings[rng.IntN(len(rings))]
		i := rng.IntN(len(ring))
		a, b := ring[i], ring[(i+1)%len(ring)]
		if rng.IntN(20) == 0 {
			return a.Lat, a.Lng
		}
		dx := math.Remainder(b.Lng-a.Lng, 360)
		dy := b.Lat - a.Lat
		t, l := rng.Float64(), math.Hypot(dx, dy)
		off := tiny(rng, l)
		return math.Max(-90, math.Min(90, a.Lat+t*dy+off*dx/l)), wrapDeg(a.Lng + t*dx - off*dy/l)
	}
}

func randomPolygon(rng *rand.Rand, lat, lng, maxM float64) testShape {
	for range 20 {
		rMax := maxM * math.Exp(-rng.Float64()*math.Log(50))
		outer := star(rng, lat, lng, rMax*(0.2+0.6*rng.Float64()), rMax, 3+rng.IntN(30))
		rings := [][]geo.LatLngDeg{outer}
		if rng.IntN(2) == 0 {
			rings = append(rings, star(rng, lat, lng, rMax*0.03, rMax*0.15, 3+rng.IntN(8)))
		}
		p, ps := geo.NewPolygon(outer, rings[1:]...)
		if len(ps) > 0 {
			continue // e.g. round a pole: try another
		}
		return testShape{shape: p, lat: lat, lng: lng, edge: nearRings(rings)}
	}
	return randomCircle(rng, lat, lng, maxM)
}

func randomCellSet(rng *rand.Rand, lat, lng float64) testShape {
	res := 6 + rng.IntN(5)
	var cells []uint64
	for _, c := range h3.GridDisk(h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, res), 1+rng.IntN(3)) {
		if c != 0 && rng.IntN(10) < 7 {
			cells = append(cells, uint64(c))
		}
	}
	if len(cells) > 1 && rng.IntN(2) == 0 { // one cell replaced by some of its children
		c := h3.Cell(int64(cells[0]))
		cells = cells[1:]
		for _, ch := range c.Children(res + 1) {
			if rng.IntN(2) == 0 {
				cells = append(cells, uint64(ch))
			}
		}
	}
	cs, ps := geo.NewCellSet(cells)
	if len(ps) > 0 || len(cells) == 0 {
		return randomCircle(rng, lat, lng, 3000)
	}
	var rings [][]geo.LatLngDeg
	for _, c := range cells {
		var ring []geo.LatLngDeg
		for _, v := range h3.Cell(int64(c)).Boundary() {
			ring = append(ring, geo.LatLngDeg{Lat: v.Lat, Lng: v.Lng})
		}
		rings = append(rings, ring)
	}
	return testShape{shape: cs, lat: lat, lng: lng, edge: nearRings(rings)}
}

func randomShape(rng *rand.Rand, lat, lng, maxM float64) testShape {
	switch rng.IntN(7) {
	case 0, 1, 2:
		return randomCircle(rng, lat, lng, maxM)
	case 3, 4, 5:
		return randomPolygon(rng, lat, lng, maxM)
	}
	return randomCellSet(rng, lat, lng)
}

// testFence is a random geofence with its covering and boundary samplers.
type testFence struct {
	fence *Fence // ID, Geofence, Covering; Value = the testFence
	edges []func(rng *rand.Rand) (float64, float64)
}

func randomFence(rng *rand.Rand, id string) *testFence {
	spots := fenceSpots()
	spot := spots[rng.IntN(len(spots))]
	tf := &testFence{fence: &Fence{ID: id}}
	g := &tf.fence.Geofence
	var incs []testShape
	for range 1 + rng.IntN(3) {
		lat, lng := jitter(rng, spot, 4000)
		s := randomShape(rng, lat, lng, 8000)
		incs = append(incs, s)
		g.Include = append(g.Include, s.shape)
		tf.edges = append(tf.edges, s.edge)
	}
	for range max(0, rng.IntN(4)-1) { // excludes near an include
		in := incs[rng.IntN(len(incs))]
		lat, lng := jitter(rng, [2]float64{in.lat, in.lng}, 1000)
		s := randomShape(rng, lat, lng, 3000)
		g.Exclude = append(g.Exclude, s.shape)
		tf.edges = append(tf.edges, s.edge)
	}
	tf.fence.Value = tf
	return tf
}

// randomFences makes n fences with ids from ids(i), generated and covered
// in parallel (each from its own seed); a geofence whose covering would be
// too large (a polygon hugging a pole is all Boundary cells) is drawn again.
func randomFences(t testing.TB, rng *rand.Rand, n int, ids func(i int) string) []*testFence {
	out := make([]*testFence, n)
	seed := rng.Uint64()
	retries := make([]int, n)
	parallel(n, runtime.GOMAXPROCS(0), func(i int) {
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		for {
			tf := randomFence(r, ids(i))
			var err error
			if tf.fence.Covering, err = tf.fence.Geofence.Cover(testPolicy); err == nil {
				out[i] = tf
				return
			}
			retries[i]++
		}
	})
	total := 0
	for _, r := range retries {
		total += r
	}
	if total > n/4 {
		t.Fatalf("%d of %d random geofences could not be covered", total, n)
	}
	return out
}

// oraclePoints samples positions near every boundary of the fences and
// around the spots.
func oraclePoints(rng *rand.Rand, fences map[string]*testFence, perShape, around int) [][2]float64 {
	var pts [][2]float64
	ids := slices.Sorted(mapKeys(fences))
	for _, id := range ids {
		for _, e := range fences[id].edges {
			for range perShape {
				la, ln := e(rng)
				pts = append(pts, [2]float64{la, ln})
			}
		}
	}
	spots := fenceSpots()
	pts = append(pts, spots...)
	for range around {
		la, ln := jitter(rng, spots[rng.IntN(len(spots))], []float64{300, 3000, 10000}[rng.IntN(3)])
		pts = append(pts, [2]float64{la, ln})
	}
	return pts
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// checkCandidates checks Candidates against Locate's answer at p: the
// confirmed candidates are exactly Locate's fences, none twice, each with
// its fence's Key, and a Sure one is inside.
func checkCandidates(t *testing.T, s *FenceSnapshot, p [2]float64, cands []Candidate, located []*Fence) {
	t.Helper()
	seen := map[*Fence]bool{}
	var confirmed []*Fence
	for _, c := range cands {
		f := s.FenceOf(c)
		if seen[f] {
			t.Fatalf("at %v: Candidates returned %s twice", p, f.ID)
		}
		seen[f] = true
		if c.Key != f.Key {
			t.Fatalf("at %v: candidate of %s has key %d, the fence %d", p, f.ID, c.Key, f.Key)
		}
		in := s.Confirm(c, p[0], p[1])
		if exact := f.Geofence.ContainsDeg(p[0], p[1]); in != exact || (c.Sure && !exact) {
			t.Fatalf("at %v: candidate %s sure=%v confirmed=%v, exact %v", p, f.ID, c.Sure, in, exact)
		}
		if in {
			confirmed = append(confirmed, f)
		}
	}
	slices.SortFunc(confirmed, func(a, b *Fence) int { return strings.Compare(a.ID, b.ID) })
	if !slices.Equal(confirmed, located) {
		t.Fatalf("at %v: confirmed candidates %d, Locate %d", p, len(confirmed), len(located))
	}
}

// oracleTally counts what an oracle check exercised.
type oracleTally struct {
	members  int // (point, fence) pairs inside
	excluded int // pairs in an include shape and an exclude shape
	polar    int // members above 80°
	antimer  int // members within 1° of the antimeridian
}

func (a *oracleTally) add(b oracleTally) {
	a.members, a.excluded, a.polar, a.antimer = a.members+b.members, a.excluded+b.excluded, a.polar+b.polar, a.antimer+b.antimer
}

// checkFenceOracle compares Locate at every point with the exact test of
// every fence (and LocateDetail with the shapes' own tests; and Candidates,
// confirmed, with Locate), and the snapshot's counts with the fences'.
func checkFenceOracle(t *testing.T, s *FenceSnapshot, fences map[string]*testFence, pts [][2]float64) oracleTally {
	t.Helper()
	ids := slices.Sorted(mapKeys(fences))
	st := s.Stats()
	live := 0
	for _, tf := range fences {
		for _, list := range [][]*geo.Covering{tf.fence.Covering.Include, tf.fence.Covering.Exclude} {
			for _, c := range list {
				for _, cc := range c.Cells {
					if h3.Cell(int64(cc.Cell)).IsValid() {
						live++
					}
				}
			}
		}
	}
	if st.Fences != len(fences) || st.Cells-st.DeadCells != live {
		t.Fatalf("stats %+v, want %d fences and %d live cells", st, len(fences), live)
	}
	// Keys: one per ID, distinct, and the one the candidates carry (checked
	// in checkCandidates through FenceOf).
	byKey := map[uint32]string{}
	for _, id := range ids {
		f := s.Fence(id)
		if other, dup := byKey[f.Key]; dup {
			t.Fatalf("fences %s and %s share key %d", id, other, f.Key)
		}
		byKey[f.Key] = id
		if got := s.FenceOf(Candidate{Key: f.Key}); got != f {
			t.Fatalf("FenceOf(key %d of %s) = %v", f.Key, id, got.ID)
		}
	}
	var tl oracleTally
	bad := 0
	var got []*Fence
	var cands []Candidate
	for _, p := range pts {
		got = s.Locate(p[0], p[1], got[:0])
		cands = s.Candidates(p[0], p[1], cands[:0])
		checkCandidates(t, s, p, cands, got)
		var want []string
		for _, id := range ids {
			g := fences[id].fence.Geofence
			in := g.ContainsDeg(p[0], p[1])
			if in {
				want = append(want, id)
			}
			if len(g.Exclude) > 0 {
				inc, exc, ok := s.LocateDetail(p[0], p[1], id)
				if !ok || in != (inc && !exc) {
					t.Fatalf("LocateDetail(%v, %v, %s) = %v %v %v, exact %v", p[0], p[1], id, inc, exc, ok, in)
				}
				if inc && exc {
					tl.excluded++
				}
			}
		}
		tl.members += len(want)
		if math.Abs(p[0]) > 80 {
			tl.polar += len(want)
		}
		if math.Abs(p[1]) > 179 {
			tl.antimer += len(want)
		}
		gotIDs := make([]string, len(got))
		for i, f := range got {
			gotIDs[i] = f.ID
			if f.Value != fences[f.ID].fence.Value {
				t.Fatalf("%s: Locate returned a stale version", f.ID)
			}
		}
		if !slices.Equal(gotIDs, want) {
			if bad++; bad <= 5 {
				t.Errorf("at %.12f,%.12f: Locate %v, exact %v", p[0], p[1], gotIDs, want)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d points disagree", bad, len(pts))
	}
	return tl
}

// TestFenceOracle: random geofences (circles, concave polygons with holes,
// cell sets; several includes and excludes; across the antimeridian, above
// 80°, at the poles and a pentagon) against the exact test over all fences,
// after Load and along random upserts and removes that cause foreground and
// background merges.
func TestFenceOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	const ids = 200
	id := func(i int) string { return fmt.Sprintf("f-%03d", i%ids) }
	pool := randomFences(t, rng, 260, id)
	f := NewFences(testPolicy)
	f.mergeRatio, f.bgMergeCells = 3, 15000

	state := map[string]*testFence{}
	var load []*Fence
	for _, tf := range pool[:120] {
		state[tf.fence.ID] = tf
		load = append(load, tf.fence)
	}
	if err := f.Load(load); err != nil {
		t.Fatal(err)
	}
	tl := checkFenceOracle(t, f.Snapshot(), state, oraclePoints(rng, state, 4, 800))
	checks := 1
	for round := range 80 {
		var ups []*Fence
		var rms []string
		for range 1 + rng.IntN(5) {
			tf := pool[rng.IntN(len(pool))]
			// A new version of some id: another fence's geometry, sometimes
			// without its covering (Apply computes it).
			v := &testFence{fence: &Fence{ID: id(rng.IntN(ids)), Geofence: tf.fence.Geofence, Covering: tf.fence.Covering}, edges: tf.edges}
			v.fence.Value = v
			if rng.IntN(3) == 0 {
				v.fence.Covering = geo.GeofenceCovering{}
			}
			ups = append(ups, v.fence)
			state[v.fence.ID] = v
		}
		for range rng.IntN(4) {
			rm := id(rng.IntN(ids))
			rms = append(rms, rm)
			if !slices.ContainsFunc(ups, func(u *Fence) bool { return u.ID == rm }) {
				delete(state, rm) // removes come first: an upsert of the same id wins
			}
		}
		if err := f.Apply(ups, rms); err != nil {
			t.Fatal(err)
		}
		for _, u := range ups { // the index computed the missing ones the same way
			if u.Covering.Include == nil && u.Covering.Exclude == nil {
				u.Covering, _ = u.Geofence.Cover(testPolicy)
			}
		}
		if runs := f.Snapshot().Stats().Runs; runs > 12 {
			t.Fatalf("round %d: %d runs", round, runs)
		}
		if round%20 == 19 {
			if round == 39 {
				f.waitMerges()
			}
			tl.add(checkFenceOracle(t, f.Snapshot(), state, oraclePoints(rng, state, 2, 400)))
			checks++
		}
	}
	f.waitMerges()
	tl.add(checkFenceOracle(t, f.Snapshot(), state, oraclePoints(rng, state, 2, 400)))
	f.mu.Lock()
	merges := f.merges
	f.mu.Unlock()
	st := f.Snapshot().Stats()

	// A Load replaces everything, also while a background merge runs: the
	// merge's result is dropped.
	if err := f.Apply([]*Fence{pool[0].fence, pool[1].fence}, []string{pool[2].fence.ID}); err != nil {
		t.Fatal(err)
	}
	state = map[string]*testFence{}
	load = load[:0]
	for _, tf := range pool[200:] {
		state[tf.fence.ID] = tf
		load = append(load, tf.fence)
	}
	if err := f.Load(load); err != nil {
		t.Fatal(err)
	}
	f.waitMerges()
	if st := f.Snapshot().Stats(); st.Runs != 1 || st.DeadCells != 0 {
		t.Fatalf("after Load: %+v", st)
	}
	tl.add(checkFenceOracle(t, f.Snapshot(), state, oraclePoints(rng, state, 2, 200)))
	t.Logf("%d checks, %+v; merges %v (foreground, background); before the last Load %+v", checks+2, tl, merges, st)
	if merges[0] < 20 || merges[1] < 2 || tl.members < 5000 || tl.excluded < 500 || tl.polar < 500 || tl.antimer < 500 {
		t.Fatalf("weak test: merges %v, %+v", merges, tl)
	}
}

// TestFenceSemantics: errors leave the index unchanged; Fence, LocateDetail,
// Value and the order of Locate's answer.
func TestFenceSemantics(t *testing.T) {
	f := NewFences(geo.CoverPolicy{MaxCells: 1000})
	c := func(lat, lng, r float64) geo.Shape {
		return geo.Circle{Center: geo.LatLngDeg{Lat: lat, Lng: lng}, RadiusM: r}
	}
	a := &Fence{ID: "b", Geofence: geo.Geofence{Include: []geo.Shape{c(10, 10, 2000)}, Exclude: []geo.Shape{c(10, 10, 500)}}, Value: 1}
	b := &Fence{ID: "a", Geofence: geo.Geofence{Include: []geo.Shape{c(10, 10.01, 2000), c(10, 9.99, 2000)}}, Value: 2}
	if err := f.Apply([]*Fence{a, b}, nil); err != nil {
		t.Fatal(err)
	}
	s := f.Snapshot()
	at := func(lat, lng float64) string {
		var ids []string
		for _, fe := range s.Locate(lat, lng, nil) {
			ids = append(ids, fe.ID)
		}
		return strings.Join(ids, ",")
	}
	lng := 10 + 0.005 // ~550 m east of the excluded centre
	for _, tc := range []struct {
		lat, lng float64
		want     string
	}{
		{10, 10, "a"}, // excluded from b
		{10, lng, "a,b"},
		{10, 10.03, ""},
		{math.NaN(), 10, ""},
	} {
		if got := at(tc.lat, tc.lng); got != tc.want {
			t.Errorf("Locate(%v, %v) = %q, want %q", tc.lat, tc.lng, got, tc.want)
		}
	}
	if in, ex, ok := s.LocateDetail(10, 10, "b"); !in || !ex || !ok {
		t.Errorf("LocateDetail at b's hole: %v %v %v", in, ex, ok)
	}
	if _, _, ok := s.LocateDetail(10, 10, "zz"); ok {
		t.Error("LocateDetail of an unknown id")
	}
	if fe := s.Fence("b"); fe == nil || fe.Value != 1 || fe.Covering.Include != nil || fe == a {
		t.Errorf("Fence(b) = %+v: want the index's copy, without the covering", fe)
	}

	// Errors change nothing.
	cov, _ := a.Geofence.Cover(geo.CoverPolicy{})
	var disk []uint64
	for _, c := range h3.GridDisk(h3.Cell(int64(geo.CellOf(0, 0, 9))), 20) {
		disk = append(disk, uint64(c))
	}
	big, _ := geo.NewCellSet(disk) // 1261 cells
	for name, fe := range map[string]*Fence{
		"nil":       nil,
		"empty id":  {Geofence: a.Geofence},
		"nil shape": {ID: "x", Geofence: geo.Geofence{Include: []geo.Shape{nil}}},
		"mismatch":  {ID: "x", Geofence: b.Geofence, Covering: cov},
		"too large": {ID: "x", Geofence: geo.Geofence{Include: []geo.Shape{big}}},
	} {
		if err := f.Apply([]*Fence{fe}, []string{"a"}); err == nil {
			t.Errorf("%s: no error", name)
		}
		if err := f.Load([]*Fence{fe}); err == nil {
			t.Errorf("%s: Load: no error", name)
		}
		if f.Snapshot() != s {
			t.Fatalf("%s: a failed write changed the index", name)
		}
	}

	// A covering cell that is not a cell of its resolution matches nothing:
	// it is dropped.
	cell := cov.Include[0].Cells[0].Cell
	odd := geo.GeofenceCovering{Include: []*geo.Covering{{Cells: []geo.CoverCell{
		{Cell: cell, Res: 3}, {Cell: cell &^ (1 << 59), Res: geo.CellResolution(cell)}, {Cell: cell, Res: geo.CellResolution(cell), Interior: true},
	}}}}
	if err := f.Apply([]*Fence{{ID: "odd", Geofence: geo.Geofence{Include: a.Geofence.Include}, Covering: odd}}, nil); err != nil {
		t.Fatal(err)
	}
	if st := f.Snapshot().Stats(); st.Cells != s.Stats().Cells+1 {
		t.Fatalf("cells %d, want %d", st.Cells, s.Stats().Cells+1)
	}
	if err := f.Apply(nil, []string{"odd"}); err != nil {
		t.Fatal(err)
	}

	// Remove and upsert of one id in a call: the upsert wins; then remove.
	a2 := &Fence{ID: "b", Geofence: a.Geofence, Value: 3}
	if err := f.Apply([]*Fence{a2}, []string{"b", "nope"}); err != nil {
		t.Fatal(err)
	}
	if fe := f.Snapshot().Fence("b"); fe == nil || fe.Value != 3 {
		t.Fatalf("after remove+upsert: %+v", fe)
	}
	if err := f.Apply(nil, []string{"b", "a"}); err != nil {
		t.Fatal(err)
	}
	if st := f.Snapshot().Stats(); st.Fences != 0 || st.Cells != st.DeadCells || len(f.Snapshot().Locate(10, lng, nil)) != 0 {
		t.Fatalf("after removing all: %+v", st)
	}
	// The old snapshot still answers as it did.
	if got := at(10, lng); got != "a,b" {
		t.Fatalf("old snapshot now says %q", got)
	}
}

// TestFenceConcurrent: readers locate a point while writers apply (run with
// -race). Fences come in pairs written together with the same version, all
// containing the point, so a consistent snapshot shows both of a pair or
// neither, at the same version; generations never go back.
func TestFenceConcurrent(t *testing.T) {
	const pairs, lat, lng = 20, 48.85, 2.35
	f := NewFences(testPolicy)
	f.mergeRatio, f.bgMergeCells = 2, 500
	type version struct{ pair, v int }
	pair := func(rng *rand.Rand, k, v int) []*Fence {
		// A circle round a point near the target that contains it, often
		// within a boundary cell.
		d := 200 + rng.Float64()*2000
		cl, cg := destDeg(lat, lng, d, rng.Float64()*2*math.Pi)
		g := geo.Geofence{Include: []geo.Shape{geo.Circle{Center: geo.LatLngDeg{Lat: cl, Lng: cg}, RadiusM: d * (1.001 + rng.Float64())}}}
		val := version{k, v}
		return []*Fence{{ID: fmt.Sprint("a", k), Geofence: g, Value: val}, {ID: fmt.Sprint("b", k), Geofence: g, Value: val}}
	}
	rng := rand.New(rand.NewPCG(41, 41))
	var all []*Fence
	for k := range pairs {
		all = append(all, pair(rng, k, 0)...)
	}
	if err := f.Load(all); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errc := make(chan error, 8)
	for r := range 3 {
		wg.Go(func() {
			var gen uint64
			var buf []*Fence
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				s := f.Snapshot()
				if s.Generation() < gen {
					errc <- fmt.Errorf("reader %d: generation went back", r)
					return
				}
				gen = s.Generation()
				buf = s.Locate(lat, lng, buf[:0])
				seen := map[int]version{}
				for _, fe := range buf {
					v := fe.Value.(version)
					if o, ok := seen[v.pair]; ok {
						if o != v {
							errc <- fmt.Errorf("pair %d at versions %v and %v", v.pair, o, v)
							return
						}
						delete(seen, v.pair)
						continue
					}
					seen[v.pair] = v
				}
				if len(seen) > 0 {
					errc <- fmt.Errorf("half a pair: %v", seen)
					return
				}
			}
		})
	}
	var writers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for v := 1; v <= 60; v++ {
				k := rng.IntN(pairs)
				var err error
				if rng.IntN(4) == 0 {
					err = f.Apply(nil, []string{fmt.Sprint("a", k), fmt.Sprint("b", k)})
				} else {
					err = f.Apply(pair(rng, k, v*10+w), nil)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	writers.Wait()
	f.waitMerges()
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.merges[1] == 0 {
		t.Errorf("no background merge ran during the test (merges %v)", f.merges)
	}
}

// TestFenceKeys: an ID's key is the same for every version and after a
// removal, and a new ID never gets a key another ID had.
func TestFenceKeys(t *testing.T) {
	f := NewFences(testPolicy)
	circle := func(id string, lat float64) *Fence {
		return &Fence{ID: id, Geofence: geo.Geofence{Include: []geo.Shape{geo.Circle{Center: geo.LatLngDeg{Lat: lat, Lng: 116.4}, RadiusM: 300}}}}
	}
	keyOf := func(id string) uint32 {
		t.Helper()
		fe := f.Snapshot().Fence(id)
		if fe == nil {
			t.Fatalf("%s not indexed", id)
		}
		return fe.Key
	}
	if err := f.Apply([]*Fence{circle("a", 39.9), circle("b", 39.91)}, nil); err != nil {
		t.Fatal(err)
	}
	ka, kb := keyOf("a"), keyOf("b")
	if ka == kb {
		t.Fatalf("a and b share key %d", ka)
	}
	if err := f.Apply([]*Fence{circle("a", 39.92)}, []string{"b"}); err != nil {
		t.Fatal(err)
	}
	if keyOf("a") != ka {
		t.Fatalf("a's key changed with its version: %d, was %d", keyOf("a"), ka)
	}
	if err := f.Apply([]*Fence{circle("c", 39.93), circle("b", 39.91)}, nil); err != nil {
		t.Fatal(err)
	}
	if kc := keyOf("c"); kc == ka || kc == kb {
		t.Fatalf("c got a used key %d (a %d, b %d)", kc, ka, kb)
	}
	if keyOf("b") != kb {
		t.Fatalf("b's key after removal and re-creation: %d, was %d", keyOf("b"), kb)
	}
	if k, ok := f.Key("b"); !ok || k != kb {
		t.Fatalf("Key(b) = %d %v, want %d", k, ok, kb)
	}
	// The removed-and-recreated b is found under its key, the replaced
	// version of a is not.
	s := f.Snapshot()
	got := s.Candidates(39.91, 116.4, nil)
	if len(got) != 1 || got[0].Key != kb || s.FenceOf(got[0]).ID != "b" {
		t.Fatalf("candidates at b: %+v", got)
	}
	if got := s.Candidates(39.9, 116.4, nil); len(got) != 0 {
		t.Fatalf("candidates at a's old place: %+v", got)
	}
}
