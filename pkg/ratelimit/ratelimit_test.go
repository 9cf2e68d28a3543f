package ratelimit

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	now := time.Unix(0, 0)
	lm := New(func() time.Time { return now })
	l := Limit{Rate: 2, Burst: 3}
	for i := range 3 {
		if ok, _ := lm.Allow("a", l); !ok {
			t.Fatalf("call %d of the burst refused", i)
		}
	}
	ok, wait := lm.Allow("a", l)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over the burst: %v, wait %v (want 500ms at 2/s)", ok, wait)
	}
	if ok, _ := lm.Allow("b", l); !ok {
		t.Fatal("another key was limited by a's flood")
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := lm.Allow("a", l); !ok {
		t.Fatal("no token after the wait")
	}
	now = now.Add(time.Hour)
	n := 0
	for {
		if ok, _ := lm.Allow("a", l); !ok {
			break
		}
		n++
	}
	if n != 3 {
		t.Fatalf("refilled to %d, want the burst 3", n)
	}
	if ok, _ := lm.Allow("x", Limit{}); !ok {
		t.Fatal("unlimited refused")
	}
}

// TestConcurrent: under -race, concurrent callers of one key get exactly the
// burst when the clock stands still.
func TestConcurrent(t *testing.T) {
	now := time.Unix(0, 0)
	lm := New(func() time.Time { return now })
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if ok, _ := lm.Allow("k", Limit{Rate: 1, Burst: 50}); ok {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if allowed.Load() != 50 {
		t.Fatalf("allowed %d, want 50", allowed.Load())
	}
}
