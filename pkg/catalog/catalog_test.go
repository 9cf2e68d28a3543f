package catalog

import (
	"context"
	"testing"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/store"
	"google.golang.org/protobuf/proto"
)

func sample() *v1.MiniProgram {
	return &v1.MiniProgram{Id: "bike", Name: "Bike", Category: v1.Category_CATEGORY_TRANSPORT, Places: []*v1.Place{
		{Id: "a", Location: &v1.LatLng{Latitude: 39.9, Longitude: 116.4}},
		{Id: "b", Location: &v1.LatLng{Latitude: -33.9, Longitude: 151.2}},
	}}
}

// TestRecordCarriesCells: a stored record carries its places' cells, which
// DecodeRecord returns and Decode strips, and a record without them (or
// with a wrong count) decodes with nil cells.
func TestRecordCarriesCells(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c := New(st, nil)
	var got []Change
	c.Listen(func(ch []Change) { got = append(got, ch...) })
	if _, err := c.Create(context.Background(), sample()); err != nil {
		t.Fatal(err)
	}
	want := []uint64{geo.CellOf(39.9, 116.4, geo.PlaceCellRes), geo.CellOf(-33.9, 151.2, geo.PlaceCellRes)}
	if len(got) != 1 || len(got[0].Cells) != 2 || got[0].Cells[0] != want[0] || got[0].Cells[1] != want[1] {
		t.Fatalf("listener change: %+v", got)
	}
	var raw []byte
	st.View(context.Background(), func(tx store.Tx) error {
		b, err := tx.Get(Key("bike"))
		raw = append([]byte(nil), b...)
		return err
	})
	mp, cells, err := DecodeRecord("bike", raw)
	if err != nil || len(cells) != 2 || cells[0] != want[0] || cells[1] != want[1] {
		t.Fatalf("DecodeRecord: %v %v", cells, err)
	}
	if len(mp.ProtoReflect().GetUnknown()) != 0 {
		t.Fatal("the cells leak into the decoded record")
	}
	plain, _ := Decode("bike", raw)
	if len(plain.ProtoReflect().GetUnknown()) != 0 || !proto.Equal(plain, mp) {
		t.Fatal("Decode does not strip the cells")
	}
	// A record written without cells (an older format) has none.
	old, _ := proto.Marshal(sample())
	if _, cells, err := DecodeRecord("bike", old); err != nil || cells != nil {
		t.Fatalf("old record: %v %v", cells, err)
	}
	// Cells of the wrong count are ignored, not trusted.
	one := sample()
	one.Places = one.Places[:1]
	b, _ := proto.Marshal(one)
	b = append(b, raw[len(raw)-(2*8+6):]...) // the two-cell field of the stored record
	if _, cells, err := DecodeRecord("bike", b); err != nil || cells != nil {
		t.Fatalf("mismatched cells: %v %v", cells, err)
	}
	if _, _, err := DecodeRecord("bike", []byte{0xff, 0xff}); err == nil {
		t.Fatal("garbage decoded")
	}
}
