package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// oracle is the nearest-rank quantile of sorted values.
func oracle(sorted []int64, q float64) int64 {
	rank := int(math.Ceil(q * float64(len(sorted))))
	rank = max(rank, 1)
	return sorted[rank-1]
}

var quantiles = []float64{0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1}

func checkQuantiles(t *testing.T, h *Histogram, values []int64) {
	t.Helper()
	sorted := slices.Clone(values)
	slices.Sort(sorted)
	if h.Count() != uint64(len(values)) {
		t.Fatalf("count %d, want %d", h.Count(), len(values))
	}
	if h.Min() != sorted[0] || h.Max() != sorted[len(sorted)-1] {
		t.Fatalf("min/max %d/%d, want %d/%d", h.Min(), h.Max(), sorted[0], sorted[len(sorted)-1])
	}
	for _, q := range quantiles {
		want, got := oracle(sorted, q), h.Quantile(q)
		if want == 0 {
			if got != 0 {
				t.Errorf("q=%v: got %d, want 0", q, got)
			}
			continue
		}
		if rel := math.Abs(float64(got-want)) / float64(want); rel > MaxRelativeError {
			t.Errorf("q=%v: got %d, want %d (relative error %.4f > %.4f)", q, got, want, rel, MaxRelativeError)
		}
	}
	var sum float64
	for _, v := range values {
		sum += float64(v)
	}
	if mean := sum / float64(len(values)); math.Abs(h.Mean()-mean) > 1e-6*mean {
		t.Errorf("mean %v, want %v", h.Mean(), mean)
	}
}

// logUniform draws latencies spread over 1 ns to ~100 s, like a mix of
// fast calls and stragglers.
func logUniform(r *rand.Rand, n int) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(math.Exp(r.Float64() * math.Log(1e11)))
	}
	return out
}

func TestHistogramQuantilesAgainstOracle(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := map[string][]int64{
		"log-uniform": logUniform(r, 100_000),
		"small exact": func() []int64 {
			v := make([]int64, 5000)
			for i := range v {
				v[i] = r.Int64N(200)
			}
			return v
		}(),
		"latency-like": func() []int64 {
			v := make([]int64, 50_000)
			for i := range v {
				// log-normal around 300 µs with a long tail
				v[i] = int64(300e3 * math.Exp(0.8*r.NormFloat64()))
			}
			return v
		}(),
		"single": {int64(1234567)},
		"huge":   {math.MaxInt64, math.MaxInt64 / 3, 1 << 62},
	}
	for name, values := range cases {
		t.Run(name, func(t *testing.T) {
			var h Histogram
			for _, v := range values {
				h.Record(v)
			}
			checkQuantiles(t, &h, values)
		})
	}
}

func TestHistogramEveryBucketWithinError(t *testing.T) {
	// Every value in a sweep is reported within the bound when alone.
	for v := int64(1); v < 1<<40; v = v*17/16 + 1 {
		var h Histogram
		h.Record(v)
		h.Record(v + 1) // keep the value off the exact max
		got := h.Quantile(0.5)
		if rel := math.Abs(float64(got-v)) / float64(v); rel > MaxRelativeError {
			t.Fatalf("value %d reported as %d (relative error %.4f)", v, got, rel)
		}
	}
	// Buckets tile the value range without gaps or overlaps.
	next := int64(0)
	for i := 0; i < numBuckets; i++ {
		low, width := bucketBounds(i)
		if low != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, low, next)
		}
		if bucketIndex(low) != i || bucketIndex(low+width-1) != i {
			t.Fatalf("bucket %d [%d, %d) maps back to %d/%d", i, low, low+width, bucketIndex(low), bucketIndex(low+width-1))
		}
		next = low + width
		if i == numBuckets-1 && next != math.MinInt64 { // wrapped past MaxInt64
			t.Fatalf("last bucket ends at %d", next)
		}
	}
}

func TestHistogramMerge(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	all := logUniform(r, 60_000)
	parts := make([]Histogram, 7)
	for i, v := range all {
		parts[i%len(parts)].Record(v)
	}
	var merged Histogram
	merged.Merge(&Histogram{}) // merging an empty one changes nothing
	for i := range parts {
		merged.Merge(&parts[i])
	}
	checkQuantiles(t, &merged, all)

	var whole Histogram
	for _, v := range all {
		whole.Record(v)
	}
	if whole.counts != merged.counts {
		t.Fatal("merged buckets differ from recording everything in one histogram")
	}
}

func TestHistogramEmptyAndNegative(t *testing.T) {
	var h Histogram
	if h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 || h.Count() != 0 {
		t.Fatal("empty histogram is not all zero")
	}
	h.Record(-5)
	h.RecordDuration(3 * time.Millisecond)
	if h.Min() != 0 || h.Max() != int64(3*time.Millisecond) {
		t.Fatalf("min %d max %d", h.Min(), h.Max())
	}
	if h.QuantileDuration(1) != 3*time.Millisecond {
		t.Fatalf("p100 %v", h.QuantileDuration(1))
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	r := rand.New(rand.NewPCG(5, 6))
	values := logUniform(r, 4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.Record(values[i&4095])
	}
}
