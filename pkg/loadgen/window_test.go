package loadgen

import (
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestWindowsRotate(t *testing.T) {
	w := NewWindows(2, 3)
	w.Record(0, 0, time.Millisecond, nil)
	w.Record(0, 0, 3*time.Millisecond, nil)
	w.Record(1, 0, 2*time.Millisecond, nil)
	w.Record(1, 2, time.Second, status.Error(codes.Unavailable, "x"))
	w.Record(1, 2, time.Second, errors.New("not a status"))
	got := w.Rotate()
	if len(got) != 3 || w.Window() != 1 {
		t.Fatalf("%d series, window %d", len(got), w.Window())
	}
	if s := got[0]; s.Calls != 3 || s.Errors != 0 || s.Latency.Count() != 3 || s.Latency.Max() != int64(3*time.Millisecond) {
		t.Fatalf("series 0: %+v", s)
	}
	if s := got[1]; s.Calls != 0 || s.Latency.Count() != 0 {
		t.Fatalf("series 1: %+v", s)
	}
	if s := got[2]; s.Calls != 2 || s.Errors != 2 || s.ErrorsByCode[codes.Unavailable] != 1 || s.ErrorsByCode[codes.Unknown] != 1 || s.Latency.Count() != 0 {
		t.Fatalf("series 2: %+v", s)
	}
	// The next window starts empty, and the one after reuses the first
	// buffer, cleared.
	w.Record(0, 1, time.Microsecond, nil)
	if s := w.Rotate(); s[0].Calls != 0 || s[1].Calls != 1 || s[2].Calls != 0 {
		t.Fatalf("window 1: %+v", s)
	}
	if s := w.Rotate(); s[0].Calls != 0 || s[1].Calls != 0 || s[2].Calls != 0 {
		t.Fatalf("window 2 (same buffer as 0): %+v", s)
	}
	var sum SeriesStats
	sum.Merge(&got[0])
	sum.Merge(&got[2])
	if sum.Calls != 5 || sum.Errors != 2 || sum.Latency.Count() != 3 || sum.ErrorsByCode[codes.Unavailable] != 1 {
		t.Fatalf("merge: %+v", sum)
	}
}

// TestWindowsConcurrent rotates while workers record: every call is counted
// exactly once (run with -race: the double buffer needs no lock).
func TestWindowsConcurrent(t *testing.T) {
	const workers, per = 4, 20000
	w := NewWindows(workers, 2)
	var wg sync.WaitGroup
	var done atomic.Bool
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range per {
				var err error
				if n%100 == 0 {
					err = status.Error(codes.Aborted, "x")
				}
				w.Record(i, n%2, time.Duration(n), err)
			}
		}()
	}
	go func() { wg.Wait(); done.Store(true) }()
	var calls, errs, hist uint64
	windows := 0
	add := func(s []SeriesStats) {
		for _, x := range s {
			calls += x.Calls
			errs += x.Errors
			hist += x.Latency.Count()
		}
		windows++
	}
	for !done.Load() {
		add(w.Rotate())
		time.Sleep(100 * time.Microsecond)
	}
	add(w.Rotate())
	if calls != workers*per || errs != workers*per/100 || hist != calls-errs {
		t.Fatalf("over %d windows: %d calls, %d errors, %d latencies; want %d, %d", windows, calls, errs, hist, workers*per, workers*per/100)
	}
	if windows < 2 {
		t.Logf("only %d windows", windows)
	}
}

func TestSlope(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4}
	y := []float64{10, 12, 14, 16, 18}
	if s, ok := Slope(x, y); !ok || math.Abs(s-2) > 1e-12 {
		t.Fatalf("slope %v %v", s, ok)
	}
	if s, ok := Slope(x, []float64{5, 5, 5, 5, 5}); !ok || s != 0 {
		t.Fatalf("flat: %v %v", s, ok)
	}
	// Noise around a line: least squares recovers it.
	if s, ok := Slope([]float64{0, 1, 2, 3}, []float64{1, 0, 3, 2}); !ok || math.Abs(s-0.6) > 1e-12 {
		t.Fatalf("noisy: %v %v", s, ok)
	}
	for _, c := range [][2][]float64{{nil, nil}, {{1}, {1}}, {{2, 2}, {1, 3}}} {
		if _, ok := Slope(c[0], c[1]); ok {
			t.Fatalf("%v: want !ok", c)
		}
	}
}

func TestParseMetrics(t *testing.T) {
	exp := sampleExposition + `# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 1.2345678e+08
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 6.4e+07
`
	m, err := ParseMetrics(strings.NewReader(exp), RSSMetric, HeapInuseMetric, GoroutinesMetric, CPUMetric, "grpc_server_handled_total", "missing")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{RSSMetric: 123456780, HeapInuseMetric: 64e6, GoroutinesMetric: 23, CPUMetric: 12.34, "grpc_server_handled_total": 1042}
	if len(m) != len(want) {
		t.Fatalf("got %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if _, err := ParseMetrics(strings.NewReader("garbage{"), RSSMetric); err == nil {
		t.Fatal("garbage parsed")
	}
}
