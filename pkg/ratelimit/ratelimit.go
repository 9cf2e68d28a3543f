package ratelimit

import (
	"math"
	"sync"
	"time"
)

// Limit is a sustained rate and a burst. A zero Rate means unlimited.
type Limit struct {
	Rate  float64 // tokens per second
	Burst float64 // bucket size (at least 1)
}

// Limiter holds the buckets. The zero value is not usable; call New.
type Limiter struct {
	now     func() time.Time
	buckets sync.Map // key string -> *bucket
}

type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// New returns a Limiter on the clock now (nil = time.Now).
func New(now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{now: now}
}

// Allow takes one token from key's bucket under limit l. When the bucket is
// empty it returns false and how long until a token is back. Buckets are
// created full, on first use; an unlimited limit always allows.
func (lm *Limiter) Allow(key string, l Limit) (bool, time.Duration) {
	if l.Rate <= 0 {
		return true, 0
	}
	burst := math.Max(1, l.Burst)
	v, ok := lm.buckets.Load(key)
	if !ok {
		v, _ = lm.buckets.LoadOrStore(key, &bucket{tokens: burst, last: lm.now()})
	}
	b := v.(*bucket)
	b.mu.Lock()
	defer b.mu.Unlock()
	now := lm.now()
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(burst, b.tokens+el*l.Rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.Rate * float64(time.Second))
	return false, wait
}
