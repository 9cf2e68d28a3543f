package index

import (
	"errors"
	"fmt"
	"math"
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

// TestItemWireMatchesProto: an item's encoded card and places are byte for
// byte proto.Marshal's MiniProgramCard and Place, and its strings are the
// mini-program's, on random catalogs and edge cases (empty strings, zeros
// and negative zeros, unicode, more places than build's inline buffer).
func TestItemWireMatchesProto(t *testing.T) {
	w := targeting.DefaultWeights()
	cat := randomCatalog(rand.New(rand.NewPCG(8, 8)), 1000)
	negZero := math.Copysign(0, -1)
	edge := &v1.MiniProgram{Id: "e", Name: "Ünïcödé 单车", Category: v1.Category_CATEGORY_SPORTS, Rating: negZero}
	for i := range 6 {
		p := &v1.Place{Id: fmt.Sprintf("p%d", i), Location: &v1.LatLng{Latitude: float64(i) - 2.5, Longitude: negZero}}
		if i%2 == 0 {
			p.Label = "北京 #" + p.Id
		}
		if i == 3 {
			p.Id, p.Location = "", &v1.LatLng{}
		}
		edge.Places = append(edge.Places, p)
	}
	cat = append(cat, edge, &v1.MiniProgram{Id: "z", Places: []*v1.Place{{Location: &v1.LatLng{}}}})
	det := proto.MarshalOptions{Deterministic: true}
	for _, mp := range cat {
		it := NewItem(mp, w)
		if it == nil {
			continue
		}
		card, _ := det.Marshal(&v1.MiniProgramCard{Id: mp.Id, Name: mp.Name, Category: mp.Category, IconUrl: mp.IconUrl, Rating: mp.Rating})
		if it.Card != string(card) {
			t.Fatalf("%s: card %x, proto.Marshal %x", mp.Id, it.Card, card)
		}
		if it.ID != mp.Id || it.Name() != mp.Name || it.IconURL() != mp.IconUrl {
			t.Fatalf("%s: strings %q %q %q", mp.Id, it.ID, it.Name(), it.IconURL())
		}
		for i, p := range mp.Places {
			ll := p.GetLocation()
			want, _ := det.Marshal(&v1.Place{Id: p.Id, Label: p.Label, Location: &v1.LatLng{Latitude: ll.GetLatitude(), Longitude: ll.GetLongitude()}})
			got := &it.Places[i]
			if got.Wire != string(want) || got.ID != p.Id || got.Label() != p.Label {
				t.Fatalf("%s place %d: %x %q %q, want %x %q %q", mp.Id, i, got.Wire, got.ID, got.Label(), want, p.Id, p.Label)
			}
			// Bit for bit: a -0 stays -0.
			if lat, lng := got.LatLng(); math.Float64bits(lat) != math.Float64bits(ll.GetLatitude()) || math.Float64bits(lng) != math.Float64bits(ll.GetLongitude()) {
				t.Fatalf("%s place %d: at %v, %v, want %v, %v", mp.Id, i, lat, lng, ll.GetLatitude(), ll.GetLongitude())
			}
		}
	}
}
