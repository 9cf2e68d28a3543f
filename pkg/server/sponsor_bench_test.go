package server

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/pkg/index"
	"github.com/aroundme/aroundme/pkg/ledger"
	"github.com/aroundme/aroundme/pkg/reach"
	"github.com/aroundme/aroundme/pkg/store"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
)

var (
	sponsoredOnce sync.Once
	sponsoredSvc  *discoveryService
	sponsoredReqs []*v1.NearbyRequest
)

// benchSponsored is benchDiscovery with the benchmark campaigns on top:
// those of the 100,000 (AROUNDME_BENCH_CAMPAIGNS overrides) whose fences
// lie around Beijing, with the requests around Beijing. One city's fences
// and users give every request the fence density of the whole set (the
// centre of Beijing lies in ~230 fences, an average request in ~80) while
// covering only a twentieth of the fences, which would otherwise take
// minutes of cgo calls before the first iteration.
func benchSponsored(b *testing.B) (*discoveryService, []*v1.NearbyRequest) {
	svc, reqs := benchDiscovery(b)
	sponsoredOnce.Do(func() {
		n := 100000
		if v, err := strconv.Atoi(os.Getenv("AROUNDME_BENCH_CAMPAIGNS")); err == nil && v >= 0 {
			n = v
		}
		spec := benchSpec()
		beijing := geo.PointFromDeg(39.9042, 116.4074)
		near := func(ll *v1.LatLng) bool {
			return geo.PointFromDeg(ll.GetLatitude(), ll.GetLongitude()).DistanceM(beijing) < 40000
		}
		dir := b.TempDir()
		st, err := store.Open(dir, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		policy := geo.CoverPolicy{}
		sp := &sponsors{fences: index.NewFences(policy), items: svc.ix, reach: reach.New(time.Now), policy: policy,
			reserve: 100_000, slots: []int{0, 3}, now: time.Now, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			metrics: newSponsorMetrics(prometheus.NewRegistry())}
		sp.ledger, err = ledger.Open(context.Background(), ledger.Options{Store: st, Terms: sp.termsOf})
		if err != nil {
			b.Fatal(err)
		}
		var entries []*index.Fence
		var mu sync.Mutex
		var wg sync.WaitGroup
		cs := dataset.BenchCampaigns(1, n, spec)
		work := make(chan *v1.Campaign)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for c := range work {
					lc, entry, err := sp.newLive(c, nil)
					if err != nil {
						b.Error(err)
						continue
					}
					mu.Lock()
					sp.publish(lc)
					entries = append(entries, entry)
					mu.Unlock()
				}
			}()
		}
		for i, c := range cs {
			a := c.GetGeofence().GetInclude()[0]
			ll := a.GetCircle().GetCenter()
			if ll == nil && len(a.GetPolygon().GetVertices()) > 0 {
				ll = a.GetPolygon().GetVertices()[0]
			}
			if ll == nil || !near(ll) {
				continue
			}
			c = proto.Clone(c).(*v1.Campaign)
			c.Id, c.State = "c-"+strconv.Itoa(i), v1.CampaignState_CAMPAIGN_STATE_ACTIVE
			work <- c
		}
		close(work)
		wg.Wait()
		if err := sp.fences.Load(entries); err != nil {
			b.Fatal(err)
		}
		b.Logf("%d campaigns around Beijing indexed: %+v", len(entries), sp.fences.Snapshot().Stats())
		sponsoredSvc, err = newDiscoveryService(svc.ix, sp, []byte("0123456789abcdef0123456789abcdef"), time.Hour, time.Now, prometheus.NewRegistry())
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range reqs {
			if near(r.GetLocation()) {
				sponsoredReqs = append(sponsoredReqs, r)
			}
		}
	})
	return sponsoredSvc, sponsoredReqs
}

// BenchmarkNearbySponsored is BenchmarkNearby around Beijing with the
// benchmark campaigns, once considering them and once with
// exclude_sponsored (the same requests, the campaign path skipped): their
// ratio is the in-process cost of sponsored slots.
func BenchmarkNearbySponsored(b *testing.B) {
	svc, reqs := benchSponsored(b)
	for _, mode := range []struct {
		name    string
		exclude bool
	}{{"campaigns", false}, {"excluded", true}} {
		rs := make([]*v1.NearbyRequest, len(reqs))
		for i, r := range reqs {
			rs[i] = proto.Clone(r).(*v1.NearbyRequest)
			rs[i].ExcludeSponsored = mode.exclude
		}
		b.Run(mode.name, func(b *testing.B) {
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			sponsored := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				resp, err := svc.Nearby(ctx, rs[i%len(rs)])
				lat = append(lat, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				if !mode.exclude {
					// Decoding costs: only every 64th response is looked at.
					if i%64 == 0 {
						var m v1.NearbyResponse
						raw, _ := proto.Marshal(resp)
						_ = proto.Unmarshal(raw, &m)
						for _, r := range m.GetResults() {
							if r.GetSponsorship() != nil {
								sponsored += 64
							}
						}
					}
				}
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
			if !mode.exclude {
				b.ReportMetric(float64(sponsored)/float64(b.N), "sponsored/op")
			}
		})
	}
}
