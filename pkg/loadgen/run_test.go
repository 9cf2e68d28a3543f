package loadgen

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
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

func TestRunRejectsBadConfig(t *testing.T) {
	call := func(context.Context, int, uint64) error { return nil }
	for _, c := range []Config{
		{Duration: time.Second, Concurrency: 0, Call: call},
		{Duration: 0, Concurrency: 1, Call: call},
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
