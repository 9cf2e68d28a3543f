package loadgen

import (
	"math"
	"math/bits"
	"time"
)

const (
	// subBucketBits is log2 of the buckets per power of two.
	subBucketBits = 6
	// subBuckets is the number of buckets per power of two: 64.
	subBuckets = 1 << subBucketBits
	// maxShift is the largest bucket shift; int64 values have at most 63
	// significant bits, and the top subBucketBits+1 of them pick the bucket.
	maxShift = 63 - (subBucketBits + 1)
	// numBuckets covers every non-negative int64: values below
	// 2*subBuckets exactly, then subBuckets per power of two.
	numBuckets = maxShift*subBuckets + 2*subBuckets
)

// MaxRelativeError bounds |reported - exact| / exact for every value a
// Histogram reports (percentiles, min, max): a value is reported as the
// middle of its bucket, and a bucket is at most 1/64 of its lower bound wide.
const MaxRelativeError = 1.0 / (2 * subBuckets)

// Histogram counts non-negative integer values (latencies in nanoseconds)
// in log-linear buckets: values below 128 exactly, larger ones in 64
// buckets per power of two. It is the fixed-size, allocation-free structure
// of HdrHistogram with 2 significant decimal digits, written out so that the
// hot path is one array increment.
//
// The zero value is an empty histogram ready to use. A Histogram is not
// safe for concurrent use: give each goroutine its own and Merge them.
type Histogram struct {
	counts   [numBuckets]uint64
	count    uint64
	sum      float64
	min, max int64
}

// bucketIndex returns the bucket of v >= 0.
func bucketIndex(v int64) int {
	u := uint64(v)
	if u < 2*subBuckets {
		return int(u)
	}
	shift := bits.Len64(u) - (subBucketBits + 1)
	return shift*subBuckets + int(u>>uint(shift))
}

// bucketBounds returns the smallest value of bucket i and its width.
func bucketBounds(i int) (low, width int64) {
	if i < 2*subBuckets {
		return int64(i), 1
	}
	shift := i/subBuckets - 1
	sub := int64(i - shift*subBuckets)
	return sub << uint(shift), 1 << uint(shift)
}

// Record adds one value; a negative value counts as 0.
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[bucketIndex(v)]++
	if h.count == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.count++
	h.sum += float64(v)
}

// RecordDuration adds one latency.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.count == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.count == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.count += o.count
	h.sum += o.sum
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.count }

// Min is the smallest recorded value, exact; 0 when empty.
func (h *Histogram) Min() int64 { return h.min }

// Max is the largest recorded value, exact; 0 when empty.
func (h *Histogram) Max() int64 { return h.max }

// Mean is the exact arithmetic mean; 0 when empty.
func (h *Histogram) Mean() float64 {
	if h.count == 0 {
		return 0
	}
	return h.sum / float64(h.count)
}

// Quantile returns the value at quantile q in [0, 1] by the nearest-rank
// definition (the ⌈q·n⌉-th smallest value, at least the first), within
// MaxRelativeError; 0 when empty. Quantile(1) is the exact maximum.
func (h *Histogram) Quantile(q float64) int64 {
	if h.count == 0 {
		return 0
	}
	if math.IsNaN(q) || q < 0 {
		q = 0
	}
	rank := uint64(math.Ceil(q * float64(h.count)))
	if rank < 1 {
		rank = 1
	}
	if rank >= h.count {
		return h.max
	}
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			low, width := bucketBounds(i)
			v := low + (width-1)/2
			return min(max(v, h.min), h.max)
		}
	}
	return h.max
}

// QuantileDuration is Quantile for a histogram of nanoseconds.
func (h *Histogram) QuantileDuration(q float64) time.Duration {
	return time.Duration(h.Quantile(q))
}
