package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// CallFunc makes one call on behalf of worker (0 to Concurrency-1); seq
// counts that worker's calls from 0, so that the function can pick a
// pre-built request without shared state. It returns the call's error (a
// gRPC status error, or nil).
type CallFunc func(ctx context.Context, worker int, seq uint64) error

// Config describes one phase of a load test.
type Config struct {
	// Name labels the progress lines and the Result.
	Name string
	// Duration is how long workers start new calls; calls in flight at the
	// end are waited for and counted. With Total set, 0 means no time
	// bound.
	Duration time.Duration
	// Total, when > 0, bounds the phase by calls instead of (or as well
	// as) time: the workers draw seq from one shared counter, 0 to
	// Total-1, so that each seq is called exactly once (a bulk load of
	// Total items). Without it, seq counts each worker's own calls.
	Total uint64
	// Concurrency is the number of workers, each with one call in flight.
	Concurrency int
	// Call makes one call.
	Call CallFunc
	// Progress, when not nil, receives one line per ProgressInterval and
	// one when the phase is over.
	Progress io.Writer
	// ProgressInterval is the time between progress lines; 0 means 1s.
	ProgressInterval time.Duration
}

// Result is what one phase measured.
type Result struct {
	// Name is Config.Name.
	Name string
	// Concurrency is Config.Concurrency.
	Concurrency int
	// Elapsed runs from the first call to the end of the last one.
	Elapsed time.Duration
	// Calls counts every finished call, failed ones included.
	Calls uint64
	// Errors counts failed calls.
	Errors uint64
	// ErrorsByCode splits Errors by gRPC status code (a non-status error
	// counts as UNKNOWN).
	ErrorsByCode map[codes.Code]uint64
	// Latency holds the latencies of the successful calls, in nanoseconds.
	Latency *Histogram
	// ClientCPU is the CPU time (user + system) this whole process used
	// during the phase.
	ClientCPU time.Duration
	// ClientCPUKnown is false where the platform cannot tell ClientCPU.
	ClientCPUKnown bool
}

// Throughput is finished calls (failed ones included) per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Calls) / r.Elapsed.Seconds()
}

// ClientCPUPerCall is the client's CPU time per finished call; 0 when
// unknown or when there were no calls.
func (r *Result) ClientCPUPerCall() time.Duration {
	if !r.ClientCPUKnown || r.Calls == 0 {
		return 0
	}
	return r.ClientCPU / time.Duration(r.Calls)
}

// Combine reports phases run in several segments (interleaved with other
// phases) as one Result named name: calls, errors, latencies, time and
// client CPU added up, so that its Throughput is all calls over all the
// segments' time. The segments are not modified.
func Combine(name string, segments ...*Result) *Result {
	r := &Result{Name: name, ErrorsByCode: map[codes.Code]uint64{}, Latency: new(Histogram), ClientCPUKnown: len(segments) > 0}
	for _, s := range segments {
		r.Concurrency = max(r.Concurrency, s.Concurrency)
		r.Elapsed += s.Elapsed
		r.Calls += s.Calls
		r.Errors += s.Errors
		for c, n := range s.ErrorsByCode {
			r.ErrorsByCode[c] += n
		}
		if s.Latency != nil {
			r.Latency.Merge(s.Latency)
		}
		r.ClientCPU += s.ClientCPU
		r.ClientCPUKnown = r.ClientCPUKnown && s.ClientCPUKnown
	}
	return r
}

// CodeCount is one entry of Result.SortedErrors.
type CodeCount struct {
	// Code is the gRPC status code.
	Code codes.Code
	// Count is how many calls failed with it.
	Count uint64
}

// SortedErrors lists ErrorsByCode, most frequent first.
func (r *Result) SortedErrors() []CodeCount {
	out := make([]CodeCount, 0, len(r.ErrorsByCode))
	for c, n := range r.ErrorsByCode {
		out = append(out, CodeCount{c, n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Code < out[j].Code
	})
	return out
}

// numCodes is one more than the largest gRPC code; larger codes count as
// UNKNOWN.
const numCodes = int(codes.Unauthenticated) + 1

// worker is the state one worker goroutine owns. The two atomics are read
// by the progress printer; they sit on their own cache line so that workers
// do not slow each other down.
type worker struct {
	calls atomic.Uint64
	errs  atomic.Uint64
	_     [48]byte
	hist  Histogram
	codes [numCodes]uint64
}

// Run runs one phase and returns what it measured. It returns early, with
// what was measured so far, when ctx is cancelled; in-flight calls see the
// cancellation through their context.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Concurrency < 1 {
		return nil, fmt.Errorf("loadgen: concurrency %d < 1", cfg.Concurrency)
	}
	if cfg.Duration < 0 || (cfg.Duration == 0 && cfg.Total == 0) {
		return nil, fmt.Errorf("loadgen: duration %v <= 0", cfg.Duration)
	}
	if cfg.Call == nil {
		return nil, errors.New("loadgen: no Call")
	}
	interval := cfg.ProgressInterval
	if interval <= 0 {
		interval = time.Second
	}

	workers := make([]*worker, cfg.Concurrency)
	for i := range workers {
		workers[i] = new(worker)
	}
	var stop atomic.Bool
	stopWatch := context.AfterFunc(ctx, func() { stop.Store(true) })
	defer stopWatch()

	cpu0, cpuOK0 := ProcessCPU()
	start := time.Now()
	var deadline time.Time // zero: no time bound
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	var shared atomic.Uint64
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx, cfg.Call, i, deadline, &stop, &shared, cfg.Total)
		}()
	}

	done := make(chan struct{})
	var pwg sync.WaitGroup
	if cfg.Progress != nil {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			progress(cfg.Progress, cfg.Name, workers, start, interval, done)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1, cpuOK1 := ProcessCPU()
	close(done)
	pwg.Wait()

	r := &Result{
		Name:           cfg.Name,
		Concurrency:    cfg.Concurrency,
		Elapsed:        elapsed,
		ErrorsByCode:   map[codes.Code]uint64{},
		Latency:        new(Histogram),
		ClientCPU:      cpu1 - cpu0,
		ClientCPUKnown: cpuOK0 && cpuOK1,
	}
	for _, w := range workers {
		r.Calls += w.calls.Load()
		r.Errors += w.errs.Load()
		r.Latency.Merge(&w.hist)
		for c, n := range w.codes {
			if n > 0 {
				r.ErrorsByCode[codes.Code(c)] += n
			}
		}
	}
	return r, ctx.Err()
}

// loop calls back to back until the deadline (unless it is zero), a stop,
// or, with total > 0, until the shared counter reaches total.
func (w *worker) loop(ctx context.Context, call CallFunc, id int, deadline time.Time, stop *atomic.Bool, shared *atomic.Uint64, total uint64) {
	timed := !deadline.IsZero()
	if timed && !time.Now().Before(deadline) {
		return
	}
	for own := uint64(0); !stop.Load(); own++ {
		seq := own
		if total > 0 {
			if seq = shared.Add(1) - 1; seq >= total {
				return
			}
		}
		t0 := time.Now()
		err := call(ctx, id, seq)
		t1 := time.Now()
		if err == nil {
			w.hist.RecordDuration(t1.Sub(t0))
		} else {
			c := status.Code(err)
			if int(c) >= numCodes {
				c = codes.Unknown
			}
			w.codes[c]++
			w.errs.Add(1)
			if ctx.Err() != nil {
				// Cancelled: stop now rather than fail fast until the
				// stop flag is set, which could use up a Total.
				w.calls.Add(1)
				return
			}
		}
		w.calls.Add(1)
		if timed && !t1.Before(deadline) {
			return
		}
	}
}

// progress prints one line per interval (calls so far, the rate since the
// previous line, errors) and, when done is closed, a last one with the mean
// rate.
func progress(out io.Writer, name string, workers []*worker, start time.Time, interval time.Duration, done <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var lastCalls uint64
	last := start
	line := func(now time.Time, final bool) {
		var calls, errs uint64
		for _, w := range workers {
			calls += w.calls.Load()
			errs += w.errs.Load()
		}
		rate, what := float64(calls-lastCalls)/now.Sub(last).Seconds(), "rate"
		if final {
			rate, what = float64(calls)/now.Sub(start).Seconds(), "mean"
		}
		fmt.Fprintf(out, "%-8s %5.1fs  calls %12s  %s %10s/s  errors %s\n",
			name, now.Sub(start).Seconds(), Thousands(float64(calls)), what, Thousands(rate), Thousands(float64(errs)))
		lastCalls, last = calls, now
	}
	for {
		select {
		case <-done:
			line(time.Now(), true)
			return
		case now := <-t.C:
			line(now, false)
		}
	}
}

// Thousands formats x rounded to an integer with thousands separators:
// 1234567.8 → "1,234,568".
func Thousands(x float64) string {
	neg := x < 0
	if neg {
		x = -x
	}
	s := fmt.Sprintf("%.0f", x)
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}

// codeNames spells gRPC codes the way the gRPC spec and grpcurl do.
var codeNames = [...]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

// CodeName is the canonical upper-case name of c, e.g. "UNAVAILABLE".
func CodeName(c codes.Code) string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("CODE(%d)", uint32(c))
}
