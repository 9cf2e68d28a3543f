package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/targeting"
	h3 "github.com/uber/h3-go/v4"
	"google.golang.org/protobuf/proto"
)

// hotspots are where random places and users cluster: ordinary cities, both
// sides of the antimeridian, above 80° and at the poles, and H3 pentagons
// (where cells and rings are irregular).
func hotspots() [][2]float64 {
	spots := [][2]float64{
		{39.9, 116.4}, {31.23, 121.47}, {-33.87, 151.21}, {51.5, -0.12},
		{0, 179.995}, {0, -179.995}, {65.5, 179.9}, {-17.8, -179.9},
		{84.2, 30}, {89.95, 0}, {-89.9, 45}, {81.0, -70},
	}
	for _, p := range h3.Pentagons(TopRes)[:6] {
		ll := p.LatLng()
		spots = append(spots, [2]float64{ll.Lat, ll.Lng})
	}
	return spots
}

func jitter(rng *rand.Rand, spot [2]float64, sigmaM float64) (float64, float64) {
	// Move sigmaM·N(0,1) metres in a random direction, on the sphere.
	d := math.Abs(rng.NormFloat64()) * sigmaM / geo.EarthRadiusM
	brg := rng.Float64() * 2 * math.Pi
	lat1, lng1 := spot[0]*math.Pi/180, spot[1]*math.Pi/180
	lat2 := math.Asin(math.Sin(lat1)*math.Cos(d) + math.Cos(lat1)*math.Sin(d)*math.Cos(brg))
	lng2 := lng1 + math.Atan2(math.Sin(brg)*math.Sin(d)*math.Cos(lat1), math.Cos(d)-math.Sin(lat1)*math.Sin(lat2))
	lat, lng := lat2*180/math.Pi, math.Mod(lng2*180/math.Pi+540, 360)-180
	return math.Max(-90, math.Min(90, lat)), math.Max(-180, math.Min(180, lng))
}

func randomCatalog(rng *rand.Rand, n int) []*v1.MiniProgram {
	spots := hotspots()
	out := make([]*v1.MiniProgram, n)
	for i := range out {
		mp := &v1.MiniProgram{
			Id:         fmt.Sprintf("mp-%05d", i),
			Name:       fmt.Sprintf("Item %d", i),
			Category:   v1.Category(1 + rng.IntN(14)),
			Rating:     math.Round(rng.Float64()*50) / 10,
			Popularity: int64(math.Exp(rng.Float64() * 14)),
			Hidden:     rng.IntN(20) == 0,
		}
		switch rng.IntN(10) {
		case 0:
			mp.Audience = &v1.Audience{MinAge: 18}
		case 1:
			mp.Audience = &v1.Audience{MinAge: 12, MaxAge: 17}
		case 2:
			mp.Audience = &v1.Audience{Genders: []v1.Gender{v1.Gender(1 + rng.IntN(3))}}
		case 3:
			mp.Audience = &v1.Audience{OperatingSystems: []v1.OperatingSystem{v1.OperatingSystem(1 + rng.IntN(4))}}
		}
		places := 1
		if rng.IntN(8) == 0 {
			places = 2 + rng.IntN(30) // a chain
		}
		sigma := []float64{30, 300, 3000, 30000}[rng.IntN(4)]
		home := spots[rng.IntN(len(spots))]
		for j := range places {
			spot := home
			if rng.IntN(4) == 0 {
				spot = spots[rng.IntN(len(spots))]
			}
			lat, lng := jitter(rng, spot, sigma)
			if rng.IntN(200) == 0 { // exact duplicates of a spot
				lat, lng = spot[0], spot[1]
			}
			mp.Places = append(mp.Places, &v1.Place{Id: fmt.Sprintf("p%d", j), Location: &v1.LatLng{Latitude: lat, Longitude: lng}})
		}
		out[i] = mp
	}
	return out
}

// bruteForce ranks every visible mini-program with a place within the
// radius, by haversine distance, using the same score formula.
func bruteForce(cat []*v1.MiniProgram, q *Query, w targeting.Weights) []Hit {
	var out []Hit
	for _, mp := range cat {
		if mp.Hidden {
			continue
		}
		if q.Categories != 0 && q.Categories&(1<<uint(mp.Category)) == 0 {
			continue
		}
		aud := AudienceOf(mp.Audience)
		if !aud.Admits(q.User) {
			continue
		}
		best, bestD := -1, math.Inf(1)
		for j, p := range mp.Places {
			d := geo.HaversineM(q.LatDeg, q.LngDeg, p.Location.Latitude, p.Location.Longitude)
			if d < bestD {
				best, bestD = j, d
			}
		}
		if bestD > q.RadiusM {
			continue
		}
		it := &Item{ID: mp.Id, Static: w.Static(mp.Rating, mp.Popularity, aud)}
		out = append(out, Hit{Item: it, Place: best, DistanceM: bestD, Score: w.Score(bestD, it.Static)})
	}
	sort.Slice(out, func(i, j int) bool { return before(out[i].Score, out[i].Item.ID, out[j].Score, out[j].Item.ID) })
	return out
}

func buildIndex(cat []*v1.MiniProgram, w targeting.Weights) *Index {
	ix := New(w, nil)
	var ch []Change
	for _, mp := range cat {
		ch = append(ch, Change{ID: mp.Id, Item: NewItem(mp, w)})
	}
	ix.Apply(ch)
	return ix
}

func randomUser(rng *rand.Rand) targeting.User {
	u := targeting.User{}
	if rng.IntN(4) > 0 {
		u.Age = int32(10 + rng.IntN(60))
	}
	u.Gender = uint8(rng.IntN(4))
	u.OS = uint8(rng.IntN(5))
	return u
}

func randomQuery(rng *rand.Rand) *Query {
	spots := hotspots()
	lat, lng := jitter(rng, spots[rng.IntN(len(spots))], []float64{10, 1000, 20000}[rng.IntN(3)])
	q := &Query{
		LatDeg: lat, LngDeg: lng,
		RadiusM: []float64{10, 150, 2000, 2000, 10000, 50000}[rng.IntN(6)],
		User:    randomUser(rng),
	}
	if rng.IntN(4) == 0 {
		q.Categories = CategoryMask([]v1.Category{v1.Category(1 + rng.IntN(14)), v1.Category(1 + rng.IntN(14))})
	}
	return q
}

// near reports whether two distances agree within 0.1% (and a millimetre).
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-3*math.Max(a, b)+1e-3 }

// checkAgainstOracle compares one query's answer with brute force.
func checkAgainstOracle(t *testing.T, snap *Snapshot, cat []*v1.MiniProgram, q *Query) {
	t.Helper()
	want := bruteForce(cat, q, snap.weights)
	for _, limit := range []int{1, 5, 20, len(want) + 3} {
		q.Limit = limit
		got, _ := snap.Search(q, nil)
		if exp := min(limit, len(want)); len(got) != exp {
			// Tolerate a place lying on the radius within rounding.
			if !(len(got) == exp-1 || len(got) == exp+1) || !boundaryCase(want, got, q.RadiusM) {
				t.Fatalf("query %+v limit %d: %d hits, want %d", *q, limit, len(got), exp)
			}
		}
		for i, h := range got {
			if h.DistanceM > q.RadiusM*(1+1e-9)+1e-6 {
				t.Fatalf("hit %s at %v m is beyond radius %v", h.Item.ID, h.DistanceM, q.RadiusM)
			}
			if i > 0 && before(h.Score, h.Item.ID, got[i-1].Score, got[i-1].Item.ID) {
				t.Fatalf("hits out of order at %d", i)
			}
			// The same item at the same nearest distance as brute force.
			var o *Hit
			for j := range want {
				if want[j].Item.ID == h.Item.ID {
					o = &want[j]
				}
			}
			if o == nil {
				t.Fatalf("query %+v: hit %s not in brute force", *q, h.Item.ID)
			}
			if !near(h.DistanceM, o.DistanceM) {
				t.Fatalf("%s: distance %v, brute force %v", h.Item.ID, h.DistanceM, o.DistanceM)
			}
			// Ranked where brute force ranks it (scores agree to rounding).
			if i < len(want) && math.Abs(h.Score-want[i].Score) > 1e-6 {
				t.Fatalf("query %+v limit %d: rank %d score %v (%s), brute force %v (%s)", *q, limit, i, h.Score, h.Item.ID, want[i].Score, want[i].Item.ID)
			}
		}
	}
}

func boundaryCase(want, got []Hit, r float64) bool {
	for _, hs := range [][]Hit{want, got} {
		for _, h := range hs {
			if math.Abs(h.DistanceM-r) < 1e-6*r+1e-6 {
				return true
			}
		}
	}
	return false
}

// TestOracle: random catalogs and hundreds of random users, including the
// antimeridian, above 80°, the poles and pentagons, against brute force.
func TestOracle(t *testing.T) {
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 42))
		cat := randomCatalog(rng, 3000)
		w := targeting.DefaultWeights()
		ix := buildIndex(cat, w)
		snap := ix.Snapshot()
		var polar, antimeridian, pentagon, total int
		pents := h3.Pentagons(TopRes)
		for range 300 {
			q := randomQuery(rng)
			checkAgainstOracle(t, snap, cat, q)
			n := len(bruteForce(cat, q, w))
			total += n
			switch {
			case math.Abs(q.LatDeg) > 80:
				polar += n
			case math.Abs(q.LngDeg) > 179:
				antimeridian += n
			}
			if c := h3.LatLngToCell(h3.LatLng{Lat: q.LatDeg, Lng: q.LngDeg}, TopRes); c.IsPentagon() || containsCell(h3.GridDisk(c, 1), pents) {
				pentagon += n
			}
		}
		// The hard places must really have been exercised.
		if polar < 100 || antimeridian < 100 || pentagon < 100 || total < 10000 {
			t.Fatalf("weak test: %d hits in all, %d polar, %d across the antimeridian, %d at pentagons", total, polar, antimeridian, pentagon)
		}
		t.Logf("seed %d: %d hits checked, %d polar, %d antimeridian, %d at pentagons", seed, total, polar, antimeridian, pentagon)
	}
}

func containsCell(cells, set []h3.Cell) bool {
	for _, c := range cells {
		for _, s := range set {
			if c == s {
				return true
			}
		}
	}
	return false
}

// TestPaging: walking the pages with cursors returns every hit exactly once,
// in ranking order, for several page sizes.
func TestPaging(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	cat := randomCatalog(rng, 2000)
	w := targeting.DefaultWeights()
	snap := buildIndex(cat, w).Snapshot()
	for range 100 {
		q := randomQuery(rng)
		want := bruteForce(cat, q, w)
		for _, size := range []int{1, 3, 20} {
			q.Limit, q.After = size, nil
			var all []Hit
			for pages := 0; ; pages++ {
				got, _ := snap.Search(q, nil)
				all = append(all, got...)
				if len(got) < size {
					break
				}
				last := got[len(got)-1]
				q.After = &Cursor{Score: last.Score, ID: last.Item.ID}
				if pages > len(want)+2 {
					t.Fatal("paging does not end")
				}
			}
			seen := map[string]bool{}
			for _, h := range all {
				if seen[h.Item.ID] {
					t.Fatalf("%s returned twice", h.Item.ID)
				}
				seen[h.Item.ID] = true
			}
			if len(all) != len(want) && !boundaryCase(want, all, q.RadiusM) {
				t.Fatalf("paging (size %d) returned %d, want %d", size, len(all), len(want))
			}
		}
	}
}

// TestIncrementalEqualsRebuild: a random history of creates, updates, hides
// and deletes applied in batches answers like an index built from scratch
// from the final state, and like brute force.
func TestIncrementalEqualsRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	w := targeting.DefaultWeights()
	pool := randomCatalog(rng, 4000)
	state := map[string]*v1.MiniProgram{}
	ix := New(w, nil)
	for round := range 40 {
		var ch []Change
		for range 1 + rng.IntN(200) {
			mp := pool[rng.IntN(len(pool))]
			switch rng.IntN(4) {
			case 0:
				delete(state, mp.Id)
				ch = append(ch, Change{ID: mp.Id})
			default:
				// An "update": the same id with another item's content.
				other := pool[rng.IntN(len(pool))]
				cp := proto.Clone(other).(*v1.MiniProgram)
				cp.Id = mp.Id
				state[mp.Id] = cp
				ch = append(ch, Change{ID: mp.Id, Item: NewItem(cp, w)})
			}
		}
		ix.Apply(ch)
		if round%10 != 9 {
			continue
		}
		var cat []*v1.MiniProgram
		for _, mp := range state {
			cat = append(cat, mp)
		}
		sort.Slice(cat, func(i, j int) bool { return cat[i].Id < cat[j].Id })
		fresh := buildIndex(cat, w).Snapshot()
		got := ix.Snapshot()
		a, b := got.Stats(), fresh.Stats()
		a.BuiltAt, b.BuiltAt = time.Time{}, time.Time{}
		if a != b {
			t.Fatalf("round %d: incremental stats %+v, rebuilt %+v", round, a, b)
		}
		for range 60 {
			q := randomQuery(rng)
			checkAgainstOracle(t, got, cat, q)
		}
	}
}

// TestLoadEqualsApply: the bulk build and the incremental path build the
// same index.
func TestLoadEqualsApply(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	w := targeting.DefaultWeights()
	cat := randomCatalog(rng, 3000)
	var ch []Change
	for _, mp := range cat {
		ch = append(ch, Change{ID: mp.Id, Item: NewItem(mp, w)})
	}
	bulk := New(w, nil)
	bulk.Load(ch)
	inc := buildIndex(cat, w)
	a, b := bulk.Snapshot().Stats(), inc.Snapshot().Stats()
	a.BuiltAt, b.BuiltAt = time.Time{}, time.Time{}
	if a != b {
		t.Fatalf("bulk %+v, incremental %+v", a, b)
	}
	for range 200 {
		q := randomQuery(rng)
		checkAgainstOracle(t, bulk.Snapshot(), cat, q)
	}
	// And the bulk-built index takes incremental changes afterwards.
	bulk.Apply([]Change{{ID: cat[0].Id}})
	if got := bulk.Snapshot().Stats().MiniPrograms; got != a.MiniPrograms-btoi(!cat[0].Hidden) {
		t.Fatalf("after a delete: %d", got)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
