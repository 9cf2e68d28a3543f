package ledger

import (
	"bytes"
	"errors"
	"testing"
)

// records returns one well-formed record of each kind, with and without a
// previous body, as flushes write them, and a few bad ones.
func records() (valid, bad map[string][]byte) {
	day := dayRec{cid: "c-1", day: 20240, Counts: Counts{Impressions: 10, Clicks: 2, SpendMicros: 12345}}
	older := day
	older.Counts = Counts{Impressions: 3}
	cell := cellRec{cid: "c-1", day: 20240, cell: 0x872830828ffffff, users: []uint64{1, 5, 1 << 63}, Counts: Counts{Impressions: 4, SpendMicros: 9}}
	dd := dedupeRec{entries: []dentry{{k: eventIDKey("e1"), exp: 1_700_000_000_000_000_000}, {k: 1<<63 | 12345, exp: 1_700_000_100_000_000_000}}}
	fq := freqRec{groups: []freqGroup{{cid: "c-1", window: 3600e9, hits: []freqHit{{user: 7, at: 1_700_000_000_000_000_000}, {user: 8, at: -5}}}}}
	meta := metaRec{count: 3, batches: []batchRef{{kind: kindDedupe, exp: dd.maxExpiry()}, {kind: kindFreq, exp: fq.maxExpiry()}}}
	valid = map[string][]byte{
		keyMeta:            encodeRecord(7, meta, nil),
		prefixCamp + "c-1": encodeRecord(7, campRec{cid: "c-1", frac: 999}, nil),
		day.key(0):         encodeRecord(7, day, appendBody(nil, 3, older)),
		cell.key(0):        encodeRecord(7, cell, nil),
		dd.key(7):          encodeRecord(7, dd, nil),
		fq.key(7):          encodeRecord(7, fq, nil),
	}
	bad = map[string][]byte{
		cell.key(0) + "0":            encodeRecord(7, cell, nil),                        // another key
		prefixDay + "c-1/2025-06-02": encodeRecord(2, day, nil),                         // another day
		day.key(0):                   encodeRecord(2, day, appendBody(nil, 3, older)),   // prev not older
		prefixCamp + "c-1":           {formatVersion, kindCamp, 1, 3, 3, 'c', '-'},      // truncated
		keyMeta:                      {formatVersion, kindMeta, 0x80, 0x00, 2, 0, 0, 0}, // non-minimal varint
	}
	return valid, bad
}

func TestRecordsRoundTrip(t *testing.T) {
	valid, bad := records()
	for k, v := range bad {
		if _, err := decodeRecord(k, v); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%q = %x: decoded a bad record: %v", k, v, err)
		}
	}
	for k, v := range valid {
		s, err := decodeRecord(k, v)
		if err != nil {
			t.Fatalf("%q: %v", k, err)
		}
		if got := s.encode(); !bytes.Equal(got, v) {
			t.Fatalf("%q: re-encoded as %x, was %x", k, got, v)
		}
	}
}

// FuzzDecodeRecord checks that the decoder of persisted records never
// panics, reports every failure as ErrCorrupt, and accepts only canonical
// records: whatever it accepts re-encodes to the same bytes.
func FuzzDecodeRecord(f *testing.F) {
	valid, bad := records()
	for _, m := range []map[string][]byte{valid, bad} {
		for k, v := range m {
			f.Add(k, v)
		}
	}
	f.Add(keyMeta, []byte{})
	f.Fuzz(func(t *testing.T, key string, v []byte) {
		s, err := decodeRecord(key, v)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if got := s.encode(); !bytes.Equal(got, v) {
			t.Fatalf("accepted %x, which re-encodes as %x", v, got)
		}
		if s.cur.rec.key(s.cur.gen) != key {
			t.Fatalf("accepted under the key %q a record of %q", key, s.cur.rec.key(s.cur.gen))
		}
	})
}
