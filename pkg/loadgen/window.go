package loadgen

import (
	"runtime"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Windows collects the calls of many workers into consecutive reporting
// windows (a soak test's "every 30 s" lines), split into series (reads,
// creates, imports, ...), without a lock on the hot path.
//
// Each worker owns two sets of per-series counters (a double buffer), one
// for even and one for odd window numbers; Record writes into the set of
// the current window, picked by an atomic window number. Rotate advances
// that number, waits until no worker is still inside Record for the closed
// window (a few nanoseconds: Record announces itself with one atomic store
// and re-checks the window, Dekker-style), then merges and clears the
// closed window's sets. A call is counted in the window in which it
// finished; none is lost or counted twice.
//
// Record may be called concurrently for different workers, but only by one
// goroutine per worker; Rotate must not be called concurrently with itself.
type Windows struct {
	cur     atomic.Uint64
	series  int
	workers []*windowWorker
}

// windowWorker is the state of one worker. recording is read by Rotate; it
// sits on its own cache line.
type windowWorker struct {
	// recording is the window number + 1 while the worker is inside
	// Record, 0 otherwise.
	recording atomic.Uint64
	_         [56]byte
	// slots[window&1][series], allocated on first use.
	slots [2][]*seriesCounts
}

// seriesCounts is what one worker counted for one series in one window.
type seriesCounts struct {
	hist  Histogram
	calls uint64
	errs  uint64
	codes [numCodes]uint64
}

// NewWindows returns a collector for workers workers (0 to workers-1) and
// series series (0 to series-1), in window 0.
func NewWindows(workers, series int) *Windows {
	w := &Windows{series: series, workers: make([]*windowWorker, workers)}
	for i := range w.workers {
		ww := new(windowWorker)
		for p := range ww.slots {
			ww.slots[p] = make([]*seriesCounts, series)
		}
		w.workers[i] = ww
	}
	return w
}

// Window is the number of the current window, from 0.
func (w *Windows) Window() uint64 { return w.cur.Load() }

// Record counts one finished call of worker in series: its latency when
// err is nil, its gRPC status code otherwise (a non-status error counts as
// UNKNOWN).
func (w *Windows) Record(worker, series int, d time.Duration, err error) {
	ww := w.workers[worker]
	for {
		idx := w.cur.Load()
		ww.recording.Store(idx + 1)
		if w.cur.Load() != idx {
			// Rotated in between: Rotate may already be reading slot idx.
			ww.recording.Store(0)
			continue
		}
		s := ww.slots[idx&1][series]
		if s == nil {
			s = new(seriesCounts)
			ww.slots[idx&1][series] = s
		}
		s.calls++
		if err == nil {
			s.hist.RecordDuration(d)
		} else {
			c := status.Code(err)
			if int(c) >= numCodes {
				c = codes.Unknown
			}
			s.codes[c]++
			s.errs++
		}
		ww.recording.Store(0)
		return
	}
}

// SeriesStats is what every worker counted for one series in one window.
type SeriesStats struct {
	// Calls counts finished calls, failed ones included.
	Calls uint64
	// Errors counts failed calls.
	Errors uint64
	// ErrorsByCode splits Errors by gRPC status code.
	ErrorsByCode map[codes.Code]uint64
	// Latency holds the latencies of the successful calls, in nanoseconds.
	Latency *Histogram
}

// Rotate closes the current window, opens the next one and returns what
// was counted in the closed one, one entry per series.
func (w *Windows) Rotate() []SeriesStats {
	k := w.cur.Load()
	w.cur.Store(k + 1)
	out := make([]SeriesStats, w.series)
	for i := range out {
		out[i] = SeriesStats{ErrorsByCode: map[codes.Code]uint64{}, Latency: new(Histogram)}
	}
	for _, ww := range w.workers {
		// A worker inside Record for window k finishes within nanoseconds;
		// one that has not yet re-checked the window will see k+1.
		for ww.recording.Load() == k+1 {
			runtime.Gosched()
		}
		for i, s := range ww.slots[k&1] {
			if s == nil || s.calls == 0 {
				continue
			}
			o := &out[i]
			o.Calls += s.calls
			o.Errors += s.errs
			o.Latency.Merge(&s.hist)
			for c, n := range s.codes {
				if n > 0 {
					o.ErrorsByCode[codes.Code(c)] += n
				}
			}
			*s = seriesCounts{}
		}
	}
	return out
}

// Merge adds o's counts to s.
func (s *SeriesStats) Merge(o *SeriesStats) {
	s.Calls += o.Calls
	s.Errors += o.Errors
	if s.ErrorsByCode == nil {
		s.ErrorsByCode = map[codes.Code]uint64{}
	}
	for c, n := range o.ErrorsByCode {
		s.ErrorsByCode[c] += n
	}
	if s.Latency == nil {
		s.Latency = new(Histogram)
	}
	if o.Latency != nil {
		s.Latency.Merge(o.Latency)
	}
}
