package index

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/targeting"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

const testCellsField = 536870000

// TestDecodeItemMatchesNewItem: decoding the wire bytes builds exactly the
// item NewItemWithCells builds from the decoded message and the record's
// cells (NewItem's when the record has none), on random and synthetic
// catalogs (audiences, offers, chains, hidden ones, odd positions).
func TestDecodeItemMatchesNewItem(t *testing.T) {
	w := targeting.DefaultWeights()
	cat := randomCatalog(rand.New(rand.NewPCG(5, 5)), 2000)
	dataset.Generate(dataset.DemoSpec(3, 3000), func(_ int, mp *v1.MiniProgram) error {
		cat = append(cat, mp)
		return nil
	})
	cat[0].Audience = &v1.Audience{MinAge: 18, MaxAge: 60, Genders: []v1.Gender{1, 3}, OperatingSystems: []v1.OperatingSystem{2}}
	for _, mp := range cat {
		raw, err := proto.Marshal(mp)
		if err != nil {
			t.Fatal(err)
		}
		cells := NewItem(mp, w)
		var leaves []uint64
		if cells != nil {
			leaves = cells.Leaves()
			raw = protowire.AppendTag(raw, testCellsField, protowire.BytesType)
			raw = protowire.AppendVarint(raw, uint64(8*len(leaves)))
			for _, l := range leaves {
				raw = protowire.AppendFixed64(raw, l)
			}
		}
		id, it, err := DecodeItem(raw, w, testCellsField)
		if err != nil || id != mp.Id {
			t.Fatalf("%s: %v (id %q)", mp.Id, err, id)
		}
		want := NewItemWithCells(mp, w, leaves)
		if (it == nil) != (want == nil) {
			t.Fatalf("%s: hidden handled differently", mp.Id)
		}
		if it == nil {
			continue
		}
		if !it.HasCells() || !reflect.DeepEqual(it.Leaves(), leaves) {
			t.Fatalf("%s: cells %v, want %v", mp.Id, it.Leaves(), leaves)
		}
		wo, go_ := want.Offers, it.Offers
		want.Offers, it.Offers = nil, nil
		if !reflect.DeepEqual(it, want) {
			t.Fatalf("%s:\n got %+v\nwant %+v", mp.Id, it, want)
		}
		if len(wo) != len(go_) {
			t.Fatalf("%s: offers", mp.Id)
		}
		for i := range wo {
			if !proto.Equal(wo[i], go_[i]) {
				t.Fatalf("%s: offer %d", mp.Id, i)
			}
		}
	}
}

// FuzzDecodeItem: arbitrary bytes never panic the record decoder.
func FuzzDecodeItem(f *testing.F) {
	w := targeting.DefaultWeights()
	for _, mp := range randomCatalog(rand.New(rand.NewPCG(6, 6)), 5) {
		b, _ := proto.Marshal(mp)
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, it, err := DecodeItem(b, w, testCellsField)
		if err == nil && it != nil && it.ID != id {
			t.Fatalf("id %q, item %q", id, it.ID)
		}
		// Nothing decoded may alias the input: scribbling over it must
		// leave the item as it was.
		if err == nil && it != nil {
			before := fmt.Sprintf("%+v", *it)
			for i := range b {
				b[i] ^= 0xff
			}
			if after := fmt.Sprintf("%+v", *it); after != before || it.ID != id {
				t.Fatalf("item changed with its input:\n%s\n%s", before, after)
			}
		}
	})
}

// BenchmarkDecodeItem: decoding stored records of the benchmark catalog, as
// the start-up does a million times (allocations per record matter as much
// as time: the collector runs through the load).
func BenchmarkDecodeItem(b *testing.B) {
	w := targeting.DefaultWeights()
	var raws [][]byte
	dataset.Generate(dataset.BenchSpec(1), func(i int, mp *v1.MiniProgram) error {
		if i >= 4096 {
			return errStop
		}
		raw, _ := proto.Marshal(mp)
		if it := NewItem(mp, w); it != nil {
			raw = protowire.AppendTag(raw, testCellsField, protowire.BytesType)
			raw = protowire.AppendVarint(raw, uint64(8*len(it.Places)))
			for _, l := range it.Leaves() {
				raw = protowire.AppendFixed64(raw, l)
			}
		}
		raws = append(raws, raw)
		return nil
	})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, _, err := DecodeItem(raws[i%len(raws)], w, testCellsField); err != nil {
			b.Fatal(err)
		}
	}
}

var errStop = errors.New("stop")
