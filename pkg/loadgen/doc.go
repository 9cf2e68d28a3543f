// Package loadgen is the measuring part of `aroundctl bench` and `soak`: it drives a
// call function from many goroutines for a fixed time, records every
// latency, and reads the server's CPU time from its Prometheus endpoint.
//
// It is kept apart from the command so that the parts that decide what the
// numbers mean can be tested on their own:
//
//   - Histogram is an HDR-style latency histogram: log-linear buckets, 64
//     per power of two, so that any reported percentile is within
//     MaxRelativeError (0.78%) of the exact one, in a fixed 29 KB array and
//     with no allocation per recorded value. Each worker owns one; they are
//     merged once the phase is over, so the hot path takes no lock.
//
//   - Run runs one phase: Concurrency workers call Config.Call back to back
//     for Config.Duration, count errors by gRPC status code, print a
//     progress line per second, and report calls, throughput, latency
//     percentiles and the client process's own CPU time (getrusage).
//
//   - ScrapeCPUSeconds reads process_cpu_seconds_total from a /metrics
//     endpoint (the Prometheus text exposition), so that the command can
//     divide the server's CPU time over a phase by the calls it served.
//
//   - Windows splits the calls of many workers into consecutive reporting
//     windows (aroundctl soak), per series, with a per-worker double buffer
//     and an atomic window number instead of a lock; ScrapeMetrics reads
//     any single-series metrics (RSS, heap in use, goroutines, CPU) and
//     Slope fits a least-squares trend to them.
//
// The package knows nothing about aroundme's API: the command builds the
// requests up front and passes a closure that makes one call.
package loadgen
