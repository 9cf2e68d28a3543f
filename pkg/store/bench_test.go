package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkUpdateBatch measures bulk-import throughput: one Update (one
// write + fsyncs) of 1000 Sets of 500-byte values per op.
func BenchmarkUpdateBatch(b *testing.B) {
	const batch, valueSize = 1000, 500
	db := openT(b, b.TempDir(), quiet)
	r := rand.New(rand.NewPCG(1, 2))
	value := make([]byte, valueSize)
	for i := range value {
		value[i] = byte(r.Uint32())
	}
	// Keys cycle over 100 batches so memory stays bounded however large b.N
	// gets; the file still grows by one batch per op.
	keys := make([]string, 100*batch)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench/%08d", i)
	}
	ctx := context.Background()
	b.SetBytes(batch * valueSize)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		base := (n % 100) * batch
		n++
		err := db.Update(ctx, func(tx Tx) error {
			for i := range batch {
				if err := tx.Set(keys[base+i], value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*batch), "ns/record")
}

// BenchmarkUpdateOne measures the latency floor of an acknowledged write: one
// Set of a 500-byte value per Update, dominated by the fsyncs.
func BenchmarkUpdateOne(b *testing.B) {
	db := openT(b, b.TempDir(), quiet)
	value := make([]byte, 500)
	ctx := context.Background()
	for b.Loop() {
		if err := db.Update(ctx, func(tx Tx) error { return tx.Set("one", value) }); err != nil {
			b.Fatal(err)
		}
	}
}
