package reach

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	cells := testCells(t, 50)
	rng := rand.New(rand.NewPCG(4, 4))
	clk := newClock(day0)
	c := New(clk.now)
	for d := range 9 {
		for range 2000 {
			c.Observe(cells[rng.IntN(len(cells))])
		}
		if d < 8 {
			clk.advance(24 * time.Hour)
		}
	}
	snap := c.Snapshot()
	b := Encode(snap)
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, snap) {
		t.Fatalf("round trip lost entries: %d → %d", len(snap), len(got))
	}
	t.Logf("%d entries in %d bytes (%.1f bytes each)", len(snap), len(b), float64(len(b))/float64(len(snap)))
	if len(b) > 4*len(snap)+16 {
		t.Fatalf("%d bytes for %d entries: not compact", len(b), len(snap))
	}
	d := New(clk.now)
	d.Restore(got)
	if !slices.Equal(d.Snapshot(), snap) {
		t.Fatal("restoring the decoded snapshot does not reproduce it")
	}

	// Encode normalises: unsorted input, duplicates summed, what Decode
	// would refuse left out; and it is canonical.
	today := DayOf(day0)
	messy := []Entry{
		{cells[2], today, 5}, {cells[1], today - 1, 1}, {cells[2], today, 7}, {cells[1], today, 2},
		{cells[0], today, 0}, {cells[0], today, -3}, {12345, today, 1}, {cells[3], today, math.MaxInt64}, {cells[3], today, 9},
	}
	want := []Entry{{cells[1], today - 1, 1}, {cells[1], today, 2}, {cells[2], today, 12}, {cells[3], today, math.MaxInt64}}
	slices.SortFunc(want, compareEntries)
	got, err = Decode(Encode(messy))
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("normalised:\n got %+v (%v)\nwant %+v", got, err, want)
	}
	if e, err := Decode(Encode(nil)); err != nil || len(e) != 0 {
		t.Fatalf("empty: %v %v", e, err)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	cells := testCells(t, 2)
	good := Encode([]Entry{{cells[0], 20000, 3}, {cells[0], 20001, 4}, {cells[1], 20000, 1}})
	if _, err := Decode(good); err != nil {
		t.Fatal(err)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"unknown version", mutate(func(b []byte) []byte { b[0] = 2; return b })},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"count beyond the bytes", []byte{1, 0xff, 0xff, 0x03}},
		{"overlong varint", []byte{1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
		{"non-minimal varint", []byte{1, 0x80, 0x00}},
		{"no entry count", Encode(nil)[:1:1]},
		{"not a cell", []byte{1, 1, 5, 2, 1}},
		{"repeated entry", appendEntry(appendEntry([]byte{1, 2}, cells[0], 20000, 1), 0, 0, 1)},
		{"day going back in a cell", appendEntry(appendEntry([]byte{1, 2}, cells[0], 20000, 1), 0, -1, 1)},
		{"zero count entry", appendEntry([]byte{1, 1}, cells[0], 20000, 0)},
		{"count beyond int64", appendEntry([]byte{1, 1}, cells[0], 20000, math.MaxUint64)},
		{"day beyond int32", appendEntry([]byte{1, 1}, cells[0], math.MaxInt32+1, 1)},
		{"cell overflow", appendEntry(appendEntry([]byte{1, 2}, cells[0], 20000, 1), math.MaxUint64-cells[0]+2, 0, 1)},
	}
	for _, tc := range tests {
		es, err := Decode(tc.b)
		if err == nil || !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, %v; want an ErrCorrupt", tc.name, es, err)
		}
	}
}

// appendEntry writes one raw entry (deltas as given), to build bad input.
func appendEntry(b []byte, cellDelta uint64, dayDelta int64, count uint64) []byte {
	b = appendUvarint(b, cellDelta)
	b = appendUvarint(b, uint64(dayDelta<<1)^uint64(dayDelta>>63))
	return appendUvarint(b, count)
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// FuzzDecode: Decode never panics, and what it accepts is canonical:
// encoding the entries again gives back the same bytes.
func FuzzDecode(f *testing.F) {
	cells := testCells(f, 3)
	f.Add([]byte{})
	f.Add([]byte{1, 0})
	f.Add(Encode([]Entry{{cells[0], 20000, 3}, {cells[0], 20001, 4}, {cells[1], 20000, 1}, {cells[2], -5, 1 << 40}}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{2, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if again := Encode(es); !bytes.Equal(again, b) {
			t.Fatalf("accepted a non-canonical encoding:\n in  %x\n out %x", b, again)
		}
	})
}
