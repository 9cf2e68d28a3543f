package catalog

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/pkg/index"
	"github.com/aroundme/aroundme/targeting"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// sameRecord fails unless the record encodeWire writes from wire and the
// one encode writes from mp (decoded from wire, with the server's fields
// set) read the same: the same message, cells, version and create_time,
// and the same index item.
func sameRecord(t *testing.T, wire []byte, mp *v1.MiniProgram) {
	t.Helper()
	cells := PlaceCells(mp)
	want, err := encode(mp, cells)
	if err != nil {
		t.Fatal(err)
	}
	got := encodeWire(bytes.Clone(wire), mp, cells)
	gm, gc, err := DecodeRecord("x", got)
	if err != nil {
		t.Fatalf("wire record does not decode: %v", err)
	}
	wm, wc, _ := DecodeRecord("x", want)
	det := proto.MarshalOptions{Deterministic: true}
	gb, _ := det.Marshal(gm)
	wb, _ := det.Marshal(wm)
	if !bytes.Equal(gb, wb) || !reflect.DeepEqual(gc, wc) {
		t.Fatalf("wire record reads\n%v %v\nencoded record reads\n%v %v", gm, gc, wm, wc)
	}
	gv, gt, err1 := readMeta("x", got)
	wv, wt, err2 := readMeta("x", want)
	if gv != wv || gt != wt || err1 != nil || err2 != nil {
		t.Fatalf("meta %d %+v %v, want %d %+v %v", gv, gt, err1, wv, wt, err2)
	}
	w := targeting.DefaultWeights()
	gid, git, err1 := index.DecodeItem(got, w, CellsField)
	wid, wit, err2 := index.DecodeItem(want, w, CellsField)
	if gid != wid || (err1 == nil) != (err2 == nil) || (git == nil) != (wit == nil) {
		t.Fatalf("index item %q %v, want %q %v", gid, err1, wid, err2)
	}
	if git != nil {
		wo, goff := wit.Offers, git.Offers
		wit.Offers, git.Offers = nil, nil
		// NaN ratings are not equal to themselves: compare the text.
		if a, b := fmtItem(git), fmtItem(wit); a != b || len(wo) != len(goff) {
			t.Fatalf("index item\n%s\nwant\n%s", a, b)
		}
	}
}

func fmtItem(it *index.Item) string { return fmt.Sprintf("%+v", *it) }

// TestEncodeWireMatchesEncode: for the demo and benchmark catalogs and hand
// made edge cases (offers, audiences, negative and zero times, a nil
// create_time, hidden items, nested unknown fields), storing the wire bytes
// reads exactly like storing a new encoding.
func TestEncodeWireMatchesEncode(t *testing.T) {
	var cat []*v1.MiniProgram
	dataset.Generate(dataset.DemoSpec(2, 2000), func(_ int, mp *v1.MiniProgram) error {
		cat = append(cat, mp)
		return nil
	})
	s := sample()
	s.Audience = &v1.Audience{MinAge: 18, Genders: []v1.Gender{1, 2}, OperatingSystems: []v1.OperatingSystem{3}}
	s.Offers = []*v1.Offer{{Id: "o", Title: "Deposit waived", MinCreditScore: 650}}
	s.Hidden, s.Rating, s.Popularity = true, 4.5, 1<<40
	cat = append(cat, s)
	rng := rand.New(rand.NewPCG(1, 2))
	times := []*timestamppb.Timestamp{nil, {}, {Seconds: -5, Nanos: 7}, {Seconds: 1700000000}, {Nanos: 999999999}, timestamppb.Now()}
	for i, mp := range cat {
		wire, err := proto.Marshal(mp)
		if err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 && len(mp.Places) > 0 {
			// A nested unknown field travels in both records alike.
			mp.Places[0].ProtoReflect().SetUnknown(protowire.AppendTag(nil, 99, protowire.VarintType))
			mp.Places[0].ProtoReflect().SetUnknown(protowire.AppendVarint(mp.Places[0].ProtoReflect().GetUnknown(), 3))
			wire, _ = proto.Marshal(mp)
		}
		if !StorableWire(wire) {
			t.Fatalf("%s: a plain encoding is not storable", mp.Id)
		}
		dec := &v1.MiniProgram{}
		if err := proto.Unmarshal(wire, dec); err != nil {
			t.Fatal(err)
		}
		dec.Version = 1 + rng.Int64N(1000)
		dec.CreateTime, dec.UpdateTime = times[rng.IntN(len(times))], times[rng.IntN(len(times))]
		sameRecord(t, wire, dec)
	}
}

// TestStorableWire: what must be encoded again instead of stored.
func TestStorableWire(t *testing.T) {
	places, _ := proto.Marshal(&v1.MiniProgram{Places: sample().Places})
	for _, tc := range []struct {
		name string
		mp   *v1.MiniProgram
		add  []byte
		want bool
	}{
		{"plain", sample(), nil, true},
		{"empty", &v1.MiniProgram{}, nil, true},
		{"version", &v1.MiniProgram{Id: "a", Version: 3}, nil, false},
		{"create_time", &v1.MiniProgram{Id: "a", CreateTime: timestamppb.Now()}, nil, false},
		{"update_time", &v1.MiniProgram{Id: "a", UpdateTime: timestamppb.Now()}, nil, false},
		{"cells field", sample(), protowire.AppendBytes(protowire.AppendTag(nil, CellsField, protowire.BytesType), make([]byte, 16)), false},
		{"unknown field", sample(), protowire.AppendVarint(protowire.AppendTag(nil, 20, protowire.VarintType), 1), false},
		{"wrong wire type", sample(), protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 1), false},
		{"name twice", sample(), protowire.AppendString(protowire.AppendTag(nil, 2, protowire.BytesType), "again"), false},
		{"places again", sample(), places, true}, // repeated: appending is what decoding does
		{"truncated", sample(), []byte{0x0a, 0x05, 'a'}, false},
	} {
		b, _ := proto.Marshal(tc.mp)
		b = append(b, tc.add...)
		if got := StorableWire(b); got != tc.want {
			t.Errorf("%s: StorableWire = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzStorableWire: on any bytes that decode as a MiniProgram, a storable
// wire is stored as it would be encoded; StorableWire never panics.
func FuzzStorableWire(f *testing.F) {
	for _, mp := range []*v1.MiniProgram{sample(), {Id: "a", Rating: math.NaN()}} {
		b, _ := proto.Marshal(mp)
		f.Add(b)
	}
	f.Add([]byte{0x0a, 0x01, 'a', 0x0a, 0x01, 'b'})
	f.Fuzz(func(t *testing.T, b []byte) {
		ok := StorableWire(b)
		mp := &v1.MiniProgram{}
		if err := proto.Unmarshal(b, mp); err != nil || !ok {
			return
		}
		mp.Version, mp.CreateTime, mp.UpdateTime = 2, &timestamppb.Timestamp{Seconds: -3, Nanos: 4}, timestamppb.Now()
		sameRecord(t, b, mp)
	})
}
