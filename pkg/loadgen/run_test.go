package loadgen

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// syncBuffer is a bytes.Buffer safe for the progress goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRun(t *testing.T) {
	var progress syncBuffer
	seen := make([]uint64, 4) // per worker, touched only by that worker
	r, err := Run(context.Background(), Config{
		Name:             "fake",
		Duration:         150 * time.Millisecond,
		Concurrency:      4,
		Progress:         &progress,
		ProgressInterval: 40 * time.Millisecond,
		Call: func(ctx context.Context, w int, seq uint64) error {
			if seq != seen[w] {
				t.Errorf("worker %d: seq %d, want %d", w, seq, seen[w])
			}
			seen[w]++
			time.Sleep(time.Millisecond)
			switch seq % 10 {
			case 3:
				return status.Error(codes.Unavailable, "down")
			case 7:
				return errors.New("not a status")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, n := range seen {
		total += n
	}
	if r.Calls != total || r.Calls < 20 {
		t.Fatalf("calls %d, workers made %d", r.Calls, total)
	}
	if r.Errors+r.Latency.Count() != r.Calls {
		t.Fatalf("errors %d + successes %d != calls %d", r.Errors, r.Latency.Count(), r.Calls)
	}
	if r.ErrorsByCode[codes.Unavailable] == 0 || r.ErrorsByCode[codes.Unknown] == 0 || len(r.ErrorsByCode) != 2 {
		t.Fatalf("errors by code %v", r.ErrorsByCode)
	}
	if r.Elapsed < 150*time.Millisecond || r.Throughput() <= 0 {
		t.Fatalf("elapsed %v, throughput %v", r.Elapsed, r.Throughput())
	}
	if p50 := r.Latency.QuantileDuration(0.5); p50 < time.Millisecond {
		t.Fatalf("p50 %v below the 1 ms sleep", p50)
	}
	if se := r.SortedErrors(); len(se) != 2 || se[0].Count < se[1].Count {
		t.Fatalf("sorted errors %v", se)
	}
	if !strings.Contains(progress.String(), "fake ") || !strings.Contains(progress.String(), "calls") {
		t.Fatalf("progress output %q", progress.String())
	}
}

func TestRunCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	time.AfterFunc(50*time.Millisecond, cancel)
	r, err := Run(ctx, Config{
		Name: "cancel", Duration: time.Hour, Concurrency: 2,
		Call: func(ctx context.Context, _ int, _ uint64) error {
			select {
			case <-ctx.Done():
				return status.FromContextError(ctx.Err()).Err()
			case <-time.After(time.Millisecond):
				return nil
			}
		},
	})
	if !errors.Is(err, context.Canceled) || r == nil {
		t.Fatalf("got %v, %v", r, err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("Run did not stop on cancellation")
	}
}

func TestRunTotal(t *testing.T) {
	const total = 1000
	var mu sync.Mutex
	seen := map[uint64]int{}
	r, err := Run(context.Background(), Config{
		Name: "bulk", Total: total, Concurrency: 7,
		Call: func(_ context.Context, _ int, seq uint64) error {
			mu.Lock()
			seen[seq]++
			mu.Unlock()
			if seq%100 == 0 {
				return status.Error(codes.ResourceExhausted, "slow down")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r.Calls != total || r.Errors != 10 || r.Latency.Count() != total-10 || r.ErrorsByCode[codes.ResourceExhausted] != 10 {
		t.Fatalf("calls %d, errors %d %v, successes %d", r.Calls, r.Errors, r.ErrorsByCode, r.Latency.Count())
	}
	if len(seen) != total {
		t.Fatalf("%d distinct seqs, want %d", len(seen), total)
	}
	for seq, n := range seen {
		if seq >= total || n != 1 {
			t.Fatalf("seq %d called %d times", seq, n)
		}
	}

	// A cancelled counted phase stops at once: workers do not use up the
	// total on calls that fail because of the cancellation. The bound is
	// on the calls started by the time of the cancel (each worker may
	// start one more), not on seq: under load, the worker holding seq 50
	// can be descheduled while the others run past it.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var started atomic.Uint64
	var atCancel uint64
	r, err = Run(ctx, Config{
		Total: 1 << 40, Concurrency: 4,
		Call: func(ctx context.Context, _ int, seq uint64) error {
			n := started.Add(1)
			if seq == 50 {
				atCancel = n // written once; read after Run returns
				cancel()
			}
			if ctx.Err() != nil {
				return status.FromContextError(ctx.Err()).Err()
			}
			return nil
		},
	})
	if !errors.Is(err, context.Canceled) || r.Calls > atCancel+2*4 {
		t.Fatalf("cancelled counted phase: %d calls, %d started when it was cancelled, %v", r.Calls, atCancel, err)
	}

	// A duration still bounds a counted phase.
	start := time.Now()
	r, err = Run(context.Background(), Config{
		Total: 1 << 40, Duration: 50 * time.Millisecond, Concurrency: 2,
		Call: func(context.Context, int, uint64) error { time.Sleep(time.Millisecond); return nil },
	})
	if err != nil || r.Calls == 0 || r.Calls > 1000 || time.Since(start) > 5*time.Second {
		t.Fatalf("timed counted phase: %v calls, %v", r.Calls, err)
	}
}

func TestCombine(t *testing.T) {
	seg := func(calls uint64, elapsed time.Duration, lat time.Duration, errs uint64, cpuKnown bool) *Result {
		r := &Result{Name: "x", Concurrency: 4, Elapsed: elapsed, Calls: calls, Errors: errs,
			ErrorsByCode: map[codes.Code]uint64{}, Latency: new(Histogram), ClientCPU: elapsed / 2, ClientCPUKnown: cpuKnown}
		if errs > 0 {
			r.ErrorsByCode[codes.Unavailable] = errs
		}
		for range calls - errs {
			r.Latency.RecordDuration(lat)
		}
		return r
	}
	a, b := seg(300, time.Second, time.Millisecond, 0, true), seg(100, time.Second, 3*time.Millisecond, 5, true)
	c := Combine("organic", a, b)
	if c.Name != "organic" || c.Calls != 400 || c.Errors != 5 || c.ErrorsByCode[codes.Unavailable] != 5 ||
		c.Elapsed != 2*time.Second || c.Throughput() != 200 || c.ClientCPU != time.Second || !c.ClientCPUKnown || c.Concurrency != 4 {
		t.Fatalf("combined %+v", c)
	}
	if c.Latency.Count() != 395 || c.Latency.Max() < int64(3*time.Millisecond) || a.Latency.Count() != 300 {
		t.Fatalf("latencies: combined %d max %d; segment a now %d", c.Latency.Count(), c.Latency.Max(), a.Latency.Count())
	}
	if Combine("x", a, seg(1, time.Second, time.Millisecond, 0, false)).ClientCPUKnown {
		t.Error("client CPU known although a segment did not know it")
	}
	if z := Combine("none"); z.Calls != 0 || z.Throughput() != 0 || z.ClientCPUKnown {
		t.Errorf("empty combine %+v", z)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	call := func(context.Context, int, uint64) error { return nil }
	for _, c := range []Config{
		{Duration: time.Second, Concurrency: 0, Call: call},
		{Duration: 0, Concurrency: 1, Call: call},
		{Duration: -time.Second, Total: 10, Concurrency: 1, Call: call},
		{Duration: time.Second, Concurrency: 1},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
}

func TestFormatting(t *testing.T) {
	for x, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.8: "1,234,568", -4321: "-4,321"} {
		if got := Thousands(x); got != want {
			t.Errorf("Thousands(%v) = %q, want %q", x, got, want)
		}
	}
	if CodeName(codes.Unauthenticated) != "UNAUTHENTICATED" || CodeName(codes.Canceled) != "CANCELLED" || CodeName(99) != "CODE(99)" {
		t.Error("CodeName")
	}
}
