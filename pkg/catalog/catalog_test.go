package catalog

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/store"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
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

// TestReadMeta: the version and create_time read in place are those
// proto.Unmarshal finds — with the cells field, repeated fields (the last
// wins, Timestamps merge), unknown fields and none at all — and a record
// whose top level does not parse is corrupt.
func TestReadMeta(t *testing.T) {
	full := sample()
	full.Version, full.CreateTime, full.UpdateTime = 7, &timestamppb.Timestamp{Seconds: 1700000000, Nanos: 42}, timestamppb.Now()
	withCells, err := encode(full, PlaceCells(full))
	if err != nil {
		t.Fatal(err)
	}
	bare, _ := proto.Marshal(sample())
	repeated := slices.Clone(withCells)
	repeated = protowire.AppendTag(repeated, versionField, protowire.VarintType)
	repeated = protowire.AppendVarint(repeated, 9)
	repeated = protowire.AppendTag(repeated, createTimeField, protowire.BytesType)
	repeated = protowire.AppendBytes(repeated, protowire.AppendVarint(protowire.AppendTag(nil, secondsField, protowire.VarintType), 5))
	negative, _ := proto.Marshal(&v1.MiniProgram{Version: -3, CreateTime: &timestamppb.Timestamp{Seconds: -62135596800, Nanos: -1}})
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"stored record", withCells},
		{"no output fields", bare},
		{"repeated fields", repeated},
		{"negative values", negative},
		{"empty", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := &v1.MiniProgram{}
			if err := proto.Unmarshal(tc.raw, want); err != nil {
				t.Fatal(err)
			}
			version, created, err := readMeta("bike", tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if version != want.GetVersion() || created.set != (want.CreateTime != nil) ||
				created.seconds != want.GetCreateTime().GetSeconds() || created.nanos != want.GetCreateTime().GetNanos() {
				t.Fatalf("readMeta = %d %+v; want %d %v", version, created, want.GetVersion(), want.GetCreateTime())
			}
		})
	}
	for _, bad := range [][]byte{{0xff, 0xff}, {0x60}, {0x6a, 0x05, 0x08}, withCells[:len(withCells)-3]} {
		if _, _, err := readMeta("bike", bad); err == nil {
			t.Errorf("readMeta(%x) parsed", bad)
		}
	}
}

// TestUpsert: created at version 1, replaced at version+1 with create_time
// kept; a held batch is durable at once but reaches the listeners past
// maxHeld, with the next write or at Flush, in commit order.
func TestUpsert(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clock := time.Unix(1700000000, 5)
	c := New(st, func() time.Time { return clock })
	var calls [][]string
	c.Listen(func(ch []Change) {
		var ids []string
		for _, x := range ch {
			ids = append(ids, fmt.Sprintf("%s@%d", x.ID, x.New.GetVersion()))
		}
		calls = append(calls, ids)
	})
	ctx := context.Background()
	item := func(id string) *v1.MiniProgram {
		mp := sample()
		mp.Id = id
		// Output-only fields a client sent are ignored.
		mp.Version, mp.CreateTime = 99, timestamppb.New(time.Unix(5, 0))
		return mp
	}
	res, err := c.Upsert(ctx, []*v1.MiniProgram{item("a"), item("b")})
	if err != nil || !slices.Equal(res, []UpsertResult{Created, Created}) {
		t.Fatalf("first upsert: %v %v", res, err)
	}
	clock = clock.Add(time.Hour)
	if res, err = c.UpsertHeld(ctx, []UpsertItem{{MiniProgram: item("a")}, {MiniProgram: item("c")}}, 2); err != nil || !slices.Equal(res, []UpsertResult{Updated, Created}) {
		t.Fatalf("held upsert: %v %v", res, err)
	}
	got, err := c.Get(ctx, "a")
	if err != nil || got.GetVersion() != 2 || !got.GetCreateTime().AsTime().Equal(time.Unix(1700000000, 5)) ||
		!got.GetUpdateTime().AsTime().Equal(clock) {
		t.Fatalf("a after the held upsert: %v %v", got, err)
	}
	if fmt.Sprint(calls) != "[[a@1 b@1]]" {
		t.Fatalf("listener calls %v before the flush", calls)
	}
	if _, err := c.UpsertHeld(ctx, []UpsertItem{{MiniProgram: item("b")}}, 2); err != nil {
		t.Fatal(err)
	}
	c.Flush() // past maxHeld they are handed over in the background: wait for it
	if fmt.Sprint(calls) != "[[a@1 b@1] [a@2 c@1 b@2]]" {
		t.Fatalf("past maxHeld: listener calls %v", calls)
	}
	if _, err := c.UpsertHeld(ctx, []UpsertItem{{MiniProgram: item("a")}}, 2); err != nil || len(calls) != 2 {
		t.Fatalf("held again: listener calls %v, %v", calls, err)
	}
	c.Flush()
	if fmt.Sprint(calls) != "[[a@1 b@1] [a@2 c@1 b@2] [a@3]]" {
		t.Fatalf("after Flush: listener calls %v", calls)
	}
}
