package server

import (
	"context"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/pkg/index"
	"github.com/aroundme/aroundme/targeting"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	benchOnce sync.Once
	benchSvc  *discoveryService
	benchReqs []*v1.NearbyRequest
)

// benchDiscovery builds the Nearby service over the benchmark dataset
// (1M mini-programs, ~1.5M places in 20 cities; AROUNDME_BENCH_N overrides
// the count) and the requests of the same distribution (radius 2 km,
// limit 20), once per process.
func benchDiscovery(b *testing.B) (*discoveryService, []*v1.NearbyRequest) {
	benchOnce.Do(func() {
		spec := benchSpec()
		w := targeting.DefaultWeights()
		var ch []index.Change
		dataset.Generate(spec, func(_ int, mp *v1.MiniProgram) error {
			ch = append(ch, index.Change{ID: mp.Id, Item: index.NewItem(mp, w)})
			return nil
		})
		ix := index.New(w, nil)
		ix.Load(ch)
		benchSvc, _ = newDiscoveryService(ix, nil, []byte("0123456789abcdef0123456789abcdef"), time.Hour, time.Now, prometheus.NewRegistry())
		for _, q := range dataset.Queries(spec, 2, 10000) {
			benchReqs = append(benchReqs, &v1.NearbyRequest{Location: q.Location, User: q.User, RadiusM: 2000, Limit: 20})
		}
	})
	return benchSvc, benchReqs
}

// benchSpec is the benchmark catalog, AROUNDME_BENCH_N mini-programs when
// set.
func benchSpec() dataset.Spec {
	spec := dataset.BenchSpec(1)
	if n, err := strconv.Atoi(os.Getenv("AROUNDME_BENCH_N")); err == nil && n > 0 {
		spec.MiniPrograms = n
	}
	return spec
}

// BenchmarkNearby is the whole in-process Nearby call on the 1M dataset —
// search, offers, 20 signed event tokens, the wire-encoded response handed
// to the codec and released as the transport does — without the rest of the
// gRPC transport. It reports p50/p99 latency besides ns/op and allocs.
func BenchmarkNearby(b *testing.B) {
	svc, reqs := benchDiscovery(b)
	ctx := context.Background()
	codec := newWireCodec()
	lat := make([]time.Duration, 0, b.N)
	results := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		resp, err := svc.Nearby(ctx, reqs[i%len(reqs)])
		lat = append(lat, time.Since(t0))
		if err != nil {
			b.Fatal(err)
		}
		data, err := codec.Marshal(resp)
		if err != nil {
			b.Fatal(err)
		}
		results += data.Len()
		data.Free()
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(results)/float64(b.N), "response-bytes")
}
