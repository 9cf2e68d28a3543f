package index

import (
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/targeting"
)

var (
	benchOnce sync.Once
	benchIx   *Index
	benchQs   []dataset.Query
	benchDur  time.Duration
)

// benchIndex builds the benchmark dataset (1M mini-programs, ~1.5M places
// over 20 cities; AROUNDME_BENCH_N overrides the count) once per process.
func benchIndex(b *testing.B) (*Index, []dataset.Query) {
	benchOnce.Do(func() {
		spec := dataset.BenchSpec(1)
		if n, err := strconv.Atoi(os.Getenv("AROUNDME_BENCH_N")); err == nil && n > 0 {
			spec.MiniPrograms = n
		}
		w := targeting.DefaultWeights()
		start := time.Now()
		items := make([]Change, 0, spec.MiniPrograms)
		var mu sync.Mutex
		_ = dataset.Generate(spec, func(_ int, mp *v1.MiniProgram) error {
			mu.Lock()
			items = append(items, Change{ID: mp.Id, Item: NewItem(mp, w)})
			mu.Unlock()
			return nil
		})
		benchIx = New(w, nil)
		benchIx.Apply(items)
		benchDur = time.Since(start)
		benchQs = dataset.Queries(spec, 2, 10000)
	})
	return benchIx, benchQs
}

func benchQuery(q dataset.Query) *Query {
	u := q.User
	return &Query{
		LatDeg: q.Location.Latitude, LngDeg: q.Location.Longitude, RadiusM: 2000, Limit: 21,
		User: targeting.User{Age: u.GetAge(), Gender: uint8(u.GetGender()), OS: uint8(u.GetOs()), CreditScore: u.GetCreditScore()},
	}
}

// BenchmarkSearch is the in-process Nearby query on the 1M dataset: radius
// 2 km, limit 20 (+1 to know whether a next page exists), realistic users.
// It reports p50/p99 latency besides ns/op.
func BenchmarkSearch(b *testing.B) {
	ix, qs := benchIndex(b)
	snap := ix.Snapshot()
	b.Logf("index: %+v built in %v", snap.Stats(), benchDur)
	queries := make([]*Query, len(qs))
	for i := range qs {
		queries[i] = benchQuery(qs[i])
	}
	lat := make([]time.Duration, 0, b.N)
	buf := make([]Hit, 0, 32)
	var cands, nodes, hits int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		res, st := snap.Search(queries[i%len(queries)], buf[:0])
		lat = append(lat, time.Since(t0))
		cands += st.Candidates
		nodes += st.Nodes
		hits += len(res)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(cands)/float64(b.N), "candidates/op")
	b.ReportMetric(float64(nodes)/float64(b.N), "nodes/op")
	b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
	runtime.KeepAlive(snap)
}
