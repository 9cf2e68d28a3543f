package index

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aroundme/aroundme/geo"
)

// benchCities are the centres the benchmark campaigns cluster round.
var benchCities = [][2]float64{
	{39.9042, 116.4074},  // Beijing
	{31.2304, 121.4737},  // Shanghai
	{51.5072, -0.1276},   // London
	{40.7128, -74.0060},  // New York
	{-23.5505, -46.6333}, // São Paulo
}

const benchSigmaM = 8000

// benchCampaign is the geometry of one benchmark campaign: a circle of
// 200 m–5 km (log-uniform) whose centre is normally distributed (σ = 8 km
// on each axis) round a city.
func benchCampaign(i int) geo.Circle {
	rng := rand.New(rand.NewPCG(77, uint64(i)))
	city := benchCities[i%len(benchCities)]
	d := benchSigmaM * math.Sqrt(-2*math.Log(1-rng.Float64()))
	lat, lng := destDeg(city[0], city[1], d, rng.Float64()*2*math.Pi)
	r := 200 * math.Exp(rng.Float64()*math.Log(25))
	return geo.Circle{Center: geo.LatLngDeg{Lat: lat, Lng: lng}, RadiusM: r}
}

var (
	benchFencesOnce sync.Once
	benchFenceList  []*Fence
	benchCoverTime  time.Duration
)

// benchFences returns the benchmark campaigns with their coverings under
// the default policy (AROUNDME_FENCE_BENCH_N of them, default 100,000).
// Covering them takes minutes (~2.7 ms of cgo-heavy work each), so the
// coverings are cached in a file in the temporary directory, checked
// against fresh coverings of a sample, and rebuilt if they differ.
func benchFences(b testing.TB) []*Fence {
	if testing.Short() {
		b.Skip("covers 100k campaigns (minutes on first run)")
	}
	benchFencesOnce.Do(func() {
		n := 100000
		if v, err := strconv.Atoi(os.Getenv("AROUNDME_FENCE_BENCH_N")); err == nil && v > 0 {
			n = v
		}
		path := filepath.Join(os.TempDir(), fmt.Sprintf("aroundme-fence-bench-%d.bin", n))
		start := time.Now()
		covs, err := readCoverings(path, n)
		if err != nil || !sampleMatches(covs) {
			b.Logf("covering %d campaigns (cache %s: %v)", n, path, err)
			covs = make([]geo.GeofenceCovering, n)
			parallel(n, runtime.GOMAXPROCS(0), func(i int) {
				c, err := benchCampaign(i).Cover(geo.CoverPolicy{})
				if err != nil {
					panic(err)
				}
				covs[i] = geo.GeofenceCovering{Include: []*geo.Covering{c}}
			})
			if err := writeCoverings(path, covs); err != nil {
				b.Logf("cannot cache the coverings: %v", err)
			}
		}
		benchCoverTime = time.Since(start)
		benchFenceList = make([]*Fence, n)
		for i := range benchFenceList {
			benchFenceList[i] = &Fence{
				ID:       fmt.Sprintf("campaign-%06d", i),
				Geofence: geo.Geofence{Include: []geo.Shape{benchCampaign(i)}},
				Covering: covs[i],
			}
		}
	})
	return benchFenceList
}

// sampleMatches recomputes a few coverings and compares them with cached
// ones, so that a change in geo's covering invalidates the cache.
func sampleMatches(covs []geo.GeofenceCovering) bool {
	for i := 0; i < len(covs); i += len(covs)/16 + 1 {
		c, err := benchCampaign(i).Cover(geo.CoverPolicy{})
		if err != nil || !slices.Equal(c.Cells, covs[i].Include[0].Cells) {
			return false
		}
	}
	return true
}

// The cache file: a count, then per campaign a cell count and the cells,
// the interior flag in bit 63 (clear in every H3 cell index).
func writeCoverings(path string, covs []geo.GeofenceCovering) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename, a no-op
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	_ = binary.Write(w, binary.LittleEndian, uint64(len(covs)))
	for _, gc := range covs {
		cells := gc.Include[0].Cells
		_ = binary.Write(w, binary.LittleEndian, uint32(len(cells)))
		for _, c := range cells {
			v := c.Cell
			if c.Interior {
				v |= 1 << 63
			}
			_ = binary.Write(w, binary.LittleEndian, v)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func readCoverings(path string, n int) ([]geo.GeofenceCovering, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var count uint64
	if err := binary.Read(r, binary.LittleEndian, &count); err != nil || count != uint64(n) {
		return nil, fmt.Errorf("bad header (%v)", err)
	}
	covs := make([]geo.GeofenceCovering, n)
	var buf []byte
	for i := range covs {
		var k uint32
		if err := binary.Read(r, binary.LittleEndian, &k); err != nil {
			return nil, err
		}
		buf = slices.Grow(buf[:0], int(k)*8)[:int(k)*8]
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		cells := make([]geo.CoverCell, k)
		for j := range cells {
			v := binary.LittleEndian.Uint64(buf[8*j:])
			c := v &^ (1 << 63)
			cells[j] = geo.CoverCell{Cell: c, Res: geo.CellResolution(c), Interior: v>>63 == 1}
		}
		covs[i] = geo.GeofenceCovering{Include: []*geo.Covering{{Cells: cells}}}
	}
	return covs, nil
}

var (
	benchIndexOnce sync.Once
	benchFenceIx   *Fences
)

// benchFenceIndex is the 100k-campaign index, loaded once and only read.
func benchFenceIndex(b testing.TB) *Fences {
	fs := benchFences(b)
	benchIndexOnce.Do(func() {
		benchFenceIx = NewFences(geo.CoverPolicy{})
		if err := benchFenceIx.Load(fs); err != nil {
			b.Fatal(err)
		}
	})
	return benchFenceIx
}

// BenchmarkFenceLocate looks positions up among 100k campaigns: at the
// city centres themselves (within 50 m; each in several hundred campaigns),
// at random positions round the cities (σ 8 km), and 60 km out (in no
// campaign: the cost of the probes alone). It reports hits/op and the
// p50/p99 latency besides ns/op. "locate" is Locate (exact, by ID);
// "candidates" is Candidates, the server's lookup (keys, no records read,
// Boundary hits unconfirmed).
func BenchmarkFenceLocate(b *testing.B) {
	f := benchFenceIndex(b)
	s := f.Snapshot()
	b.Logf("index: %+v; coverings ready in %v", s.Stats(), benchCoverTime)
	for _, where := range []struct {
		name            string
		offsetM, sigmaM float64
	}{{"centre", 0, 50}, {"random", 0, benchSigmaM}, {"outside", 60000, 1000}} {
		for _, kind := range []string{"locate", "candidates"} {
			b.Run(where.name+"/"+kind, func(b *testing.B) {
				rng := rand.New(rand.NewPCG(5, 5))
				pts := make([][2]float64, 4096)
				for i := range pts {
					c := benchCities[i%len(benchCities)]
					d := where.offsetM + where.sigmaM*math.Sqrt(-2*math.Log(1-rng.Float64()))
					pts[i][0], pts[i][1] = destDeg(c[0], c[1], d, rng.Float64()*2*math.Pi)
				}
				lat := make([]time.Duration, 0, b.N)
				var dst []*Fence
				var cands []Candidate
				hits := 0
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					p := pts[i%len(pts)]
					t0 := time.Now()
					if kind == "locate" {
						dst = s.Locate(p[0], p[1], dst[:0])
						hits += len(dst)
					} else {
						cands = s.Candidates(p[0], p[1], cands[:0])
						hits += len(cands)
					}
					lat = append(lat, time.Since(t0))
				}
				b.StopTimer()
				reportLatency(b, lat)
				b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
			})
		}
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds())/1e3, "max-µs")
}

// BenchmarkFenceApplyOne creates one 5 km circle campaign per op in an
// index loaded with the 100k campaigns: "covered" passes the covering
// (the index's own cost: its run, merges, the id table, publishing),
// "uncovering" lets Apply compute it (what a campaign write costs). Each
// run of the benchmark starts from a fresh Load; merges, including the
// occasional background one, are part of the cost.
func BenchmarkFenceApplyOne(b *testing.B) {
	fs := benchFences(b)
	for _, covered := range []bool{true, false} {
		name := "covered"
		if !covered {
			name = "uncovered"
		}
		b.Run(name, func(b *testing.B) {
			f := NewFences(geo.CoverPolicy{})
			if err := f.Load(fs); err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(6, 6))
			news := make([]*Fence, b.N)
			for i := range news {
				c := benchCities[i%len(benchCities)]
				lat, lng := destDeg(c[0], c[1], benchSigmaM*rng.Float64(), rng.Float64()*2*math.Pi)
				g := geo.Geofence{Include: []geo.Shape{geo.Circle{Center: geo.LatLngDeg{Lat: lat, Lng: lng}, RadiusM: 5000}}}
				news[i] = &Fence{ID: fmt.Sprintf("new-%07d", i), Geofence: g}
				if covered {
					var err error
					if news[i].Covering, err = g.Cover(geo.CoverPolicy{}); err != nil {
						b.Fatal(err)
					}
				}
			}
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if err := f.Apply(news[i:i+1], nil); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			reportLatency(b, lat)
			f.waitMerges()
			f.mu.Lock()
			b.ReportMetric(float64(f.merges[0])/float64(b.N), "merges/op")
			b.ReportMetric(float64(f.merges[1]), "bg-merges")
			f.mu.Unlock()
		})
	}
}

// BenchmarkFenceLoad builds the 100k-campaign index from covered fences
// and reports its size three ways: the tables' own estimate
// (Stats().Bytes), the heap it keeps (runtime.MemStats before and after,
// everything included: records, id table, tables), and the process's
// resident set at its peak.
func BenchmarkFenceLoad(b *testing.B) {
	fs := benchFences(b)
	var st FenceStats
	var heap uint64
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		f := NewFences(geo.CoverPolicy{})
		b.StartTimer()
		if err := f.Load(fs); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		st, heap = f.Snapshot().Stats(), m1.HeapAlloc-m0.HeapAlloc
		runtime.KeepAlive(f)
		b.StartTimer()
	}
	b.StopTimer()
	b.Logf("%+v", st)
	b.ReportMetric(float64(st.Bytes)/1e6, "table-MB")
	b.ReportMetric(float64(heap)/1e6, "heap-MB")
	b.ReportMetric(float64(st.Bytes)/float64(st.Cells), "table-B/cell")
	b.ReportMetric(float64(st.Cells)/float64(st.Fences), "cells/fence")
	b.ReportMetric(float64(st.Keys)/float64(st.Fences), "keys/fence")
	if rss, ok := procStatusKB("VmHWM"); ok {
		b.ReportMetric(float64(rss)/1e3, "peak-RSS-MB")
	}
}

// procStatusKB reads a kB field of /proc/self/status (Linux).
func procStatusKB(field string) (int, bool) {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			v, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return v, err == nil
		}
	}
	return 0, false
}

// TestFenceResident measures what the 100k-campaign index keeps resident
// once its input is gone: it loads the index, drops the benchmark's
// fences and their coverings, and reports the heap in use and the
// process's resident set. It needs a process of its own, so it runs only
// when asked: AROUNDME_FENCE_RSS=1 go test -run TestFenceResident ./pkg/index
func TestFenceResident(t *testing.T) {
	if os.Getenv("AROUNDME_FENCE_RSS") == "" {
		t.Skip("set AROUNDME_FENCE_RSS=1 (and run it alone)")
	}
	fs := benchFences(t)
	runtime.GC()
	before, _ := procStatusKB("VmRSS")
	start := time.Now()
	f := NewFences(geo.CoverPolicy{})
	if err := f.Load(fs); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	peak, _ := procStatusKB("VmHWM")
	benchFenceList, fs = nil, nil
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	rss, _ := procStatusKB("VmRSS")
	st := f.Snapshot().Stats()
	t.Logf("%d fences, %d cells: Load %v; tables %.1f MB (Stats.Bytes), heap in use %.1f MB, RSS %.1f MB; with the input: %.1f MB before Load, peak %.1f MB",
		st.Fences, st.Cells, took, float64(st.Bytes)/1e6, float64(m.HeapInuse)/1e6, float64(rss)/1e3, float64(before)/1e3, float64(peak)/1e3)
	runtime.KeepAlive(f)
}

// TestFenceSoak writes 20,000 times into the 100k-campaign index — new
// campaigns, replacements and removals, one per Apply, as fast as it can,
// so that merges of every size run in the foreground and the background —
// and then checks Locate against an index loaded from the final state. It
// logs the write latencies and the run counts. Opt-in (it covers 100k
// campaigns on the first run): AROUNDME_FENCE_SOAK=1.
func TestFenceSoak(t *testing.T) {
	if os.Getenv("AROUNDME_FENCE_SOAK") == "" {
		t.Skip("set AROUNDME_FENCE_SOAK=1")
	}
	fs := benchFences(t)
	f := NewFences(geo.CoverPolicy{})
	if err := f.Load(fs); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	state := map[string]*Fence{}
	for _, fe := range fs {
		state[fe.ID] = fe
	}
	maxRuns := 0
	lat := make([]time.Duration, 0, 20000)
	for i := range cap(lat) {
		src := fs[rng.IntN(len(fs))] // geometry and covering to reuse
		var ups []*Fence
		var rms []string
		id := fs[rng.IntN(len(fs))].ID
		switch rng.IntN(4) {
		case 0, 1:
			id = fmt.Sprintf("new-%06d", i)
			fallthrough
		case 2:
			ups = append(ups, &Fence{ID: id, Geofence: src.Geofence, Covering: src.Covering})
			state[id] = ups[0]
		case 3:
			rms = append(rms, id)
			delete(state, id)
		}
		t0 := time.Now()
		if err := f.Apply(ups, rms); err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		maxRuns = max(maxRuns, f.Snapshot().Stats().Runs)
	}
	st := f.Snapshot().Stats()
	f.waitMerges()
	f.mu.Lock()
	merges := f.merges
	f.mu.Unlock()
	slices.Sort(lat)
	t.Logf("writes: p50 %v p99 %v p99.9 %v max %v; runs at most %d; merges %v (foreground, background)",
		lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)*999/1000], lat[len(lat)-1], maxRuns, merges)
	t.Logf("at the end: %+v; after the background merges: %+v", st, f.Snapshot().Stats())

	all := make([]*Fence, 0, len(state))
	for _, fe := range state {
		all = append(all, fe)
	}
	g := NewFences(geo.CoverPolicy{})
	if err := g.Load(all); err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		c := benchCities[i%len(benchCities)]
		la, ln := destDeg(c[0], c[1], 2*benchSigmaM*rng.Float64(), rng.Float64()*2*math.Pi)
		a, b := f.Snapshot().Locate(la, ln, nil), g.Snapshot().Locate(la, ln, nil)
		if !slices.EqualFunc(a, b, func(x, y *Fence) bool { return x.ID == y.ID }) {
			t.Fatalf("at %v,%v: %d fences after the writes, %d loaded", la, ln, len(a), len(b))
		}
	}
}
