package index

import (
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/targeting"
)

// importBatch is the server's default --import-batch: one Apply per batch.
const importBatch = 10000

// benchImportChanges returns the benchmark catalog (AROUNDME_BENCH_N items,
// default 1M) as index changes, with their leaves, as an import hands them to
// Apply; built fresh per call so that an update brings new *Items.
func benchImportChanges(b *testing.B) []Change {
	b.Helper()
	spec := dataset.BenchSpec(1)
	if n, err := strconv.Atoi(os.Getenv("AROUNDME_BENCH_N")); err == nil && n > 0 {
		spec.MiniPrograms = n
	}
	w := targeting.DefaultWeights()
	out := make([]Change, 0, spec.MiniPrograms)
	_ = dataset.Generate(spec, func(_ int, mp *v1.MiniProgram) error {
		// As the server builds them: with the cells the catalog stored.
		it := NewItem(mp, w)
		if it != nil {
			it = NewItemWithCells(mp, w, it.Leaves())
		}
		out = append(out, Change{ID: mp.Id, Item: it})
		return nil
	})
	return out
}

// applyInBatches applies changes as an import does: one Apply per
// importBatch changes.
func applyInBatches(ix *Index, changes []Change) {
	batch := importBatch
	if n, err := strconv.Atoi(os.Getenv("AROUNDME_BENCH_BATCH")); err == nil && n > 0 {
		batch = n
	}
	for i := 0; i < len(changes); i += batch {
		ix.Apply(changes[i:min(i+batch, len(changes))])
	}
}

// BenchmarkApplyImport is the index's share of ImportMiniPrograms on the
// benchmark catalog: "fresh" applies it batch by batch to an empty index,
// "update" applies it again (every item replaced) to an index that holds it.
// One op is the whole catalog: run it with -benchtime 1x (or a few x); it
// reports ns and allocations per item.
func BenchmarkApplyImport(b *testing.B) {
	changes := benchImportChanges(b)
	w := targeting.DefaultWeights()
	// perItem reports the time and allocations per item; ns/op and the
	// default B/op are per whole catalog.
	// cpu-ns/item is the process's CPU time (garbage collection included),
	// steadier than wall time on a shared machine.
	perItem := func(b *testing.B, m0 *runtime.MemStats, cpu0 time.Duration) {
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		n := float64(b.N * len(changes))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/item")
		b.ReportMetric(float64(processCPU()-cpu0)/n, "cpu-ns/item")
		b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/n, "B/item")
		b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/n, "allocs/item")
	}
	b.Run("fresh", func(b *testing.B) {
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)
		cpu0 := processCPU()
		for b.Loop() {
			applyInBatches(New(w, nil), changes)
		}
		perItem(b, &m0, cpu0)
	})
	b.Run("update", func(b *testing.B) {
		ix := New(w, nil)
		ix.Load(changes)
		again := benchImportChanges(b)
		b.Logf("index: %+v", ix.Snapshot().Stats())
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)
		cpu0 := processCPU()
		for b.Loop() {
			applyInBatches(ix, again)
		}
		perItem(b, &m0, cpu0)
	})
}

// processCPU returns the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLoad is the index's share of the start-up: building it from the
// whole benchmark catalog (AROUNDME_BENCH_N items, default 1M) at once. Run
// it with -benchtime 3x or so; it reports wall and CPU time per item (Load
// uses more than one core).
func BenchmarkLoad(b *testing.B) {
	changes := benchImportChanges(b)
	w := targeting.DefaultWeights()
	cpu0 := processCPU()
	for b.Loop() {
		New(w, nil).Load(changes)
	}
	n := float64(b.N * len(changes))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/item")
	b.ReportMetric(float64(processCPU()-cpu0)/n, "cpu-ns/item")
}
