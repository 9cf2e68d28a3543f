package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/aroundme/aroundme/pkg/eventtoken"
)

// ErrCorrupt is wrapped by the error Open returns when a persisted ledger
// record does not decode: the ledger holds money, so it refuses to start on
// records it cannot read rather than silently dropping them.
var ErrCorrupt = errors.New("ledger: corrupt record")

// Store keys. Every key of the ledger starts with keyPrefix; the kind of a
// record is the letter after it, and is also the second byte of the value.
const (
	keyPrefix    = "ldg/"
	keyMeta      = keyPrefix + "m"  // the commit marker of the last flush
	prefixCamp   = keyPrefix + "c/" // c/<campaign>: the CPM remainder
	prefixDay    = keyPrefix + "s/" // s/<campaign>/<YYYY-MM-DD>: a day's counters
	prefixCell   = keyPrefix + "x/" // x/<campaign>/<YYYY-MM-DD>/<cell hex>: a day's counters in one cell, and its users
	prefixDedupe = keyPrefix + "d/" // d/<expiry>/<gen>: the event ids and token uses one flush added
	prefixFreq   = keyPrefix + "f/" // f/<expiry>/<gen>: the impression times one flush added
)

const (
	kindMeta   byte = 'm'
	kindCamp   byte = 'c'
	kindDay    byte = 's'
	kindCell   byte = 'x'
	kindDedupe byte = 'd'
	kindFreq   byte = 'f'
)

// formatVersion is the first byte of every value. A reader that meets
// another version reports corruption instead of guessing.
const formatVersion = 1

// maxUsersPerCell bounds the user set of a decoded cell record (and
// Options.KAnonymity): the sets are kept only up to k.
const maxUsersPerCell = 10000

// The value of every record (integers are unsigned LEB128 varints, "zz" ones
// zig-zag signed, "u64" ones 8 bytes big-endian; every varint must be
// minimal, so each record has exactly one encoding):
//
//	version (1) | kind | body | has_prev (0 or 1) | [prev body]
//	body = gen | len | payload
//
// gen is the flush generation that wrote the body. prev is the body the key
// held before that flush (absent if the key is new): if that flush turns out
// to be torn (see doc.go), Open puts prev back. Payloads by kind:
//
//	m meta:   count (the counter records flush gen wrote) | n (0..2) |
//	          n × (kind ('d' then 'f') | expiry (zz)): the batches it wrote
//	c camp:   campaign | remainder (0..999, thousandths of a micro)
//	s day:    campaign | day (zz, days since 1970-01-01) | impressions | clicks | spend
//	x cell:   campaign | day (zz) | cell (u64, ≠ 0) | impressions | clicks | spend |
//	          n | n users (u64 each, ≠ 0, strictly ascending)
//	d dedupe: max expiry (zz, Unix ns) | n ≥ 1 | n × (key u64 | max − expiry)
//	f freq:   n ≥ 1 | n × (campaign | window ns (> 0) | m ≥ 1 | m × (user u64 ≠ 0 | time zz))
//
// campaign = length (1..64) | bytes. The key must be the one the payload
// implies (recKey), which catches a value stored under the wrong key.

// rec is the decoded payload of one record.
type rec interface {
	kind() byte
	// key is the store key of the record as written by flush gen (only
	// batches depend on gen).
	key(gen uint64) string
	appendPayload(b []byte) []byte
}

// metaRec is the commit marker of flush gen: what it wrote, so that Open can
// tell whether all of it is there (see doc.go, "Torn flushes").
type metaRec struct {
	count   uint64     // counter records (campaign, day, cell)
	batches []batchRef // dedupe and frequency batches
}

type campRec struct {
	cid  string
	frac int64
}

type dayRec struct {
	cid string
	day int32
	Counts
}

type cellRec struct {
	cid   string
	day   int32
	cell  uint64
	users []uint64 // ascending
	Counts
}

type dedupeRec struct{ entries []dentry }

type freqRec struct{ groups []freqGroup }

// freqGroup is one campaign's new impression times in a flush.
type freqGroup struct {
	cid    string
	window int64 // ns: how long the times are kept
	hits   []freqHit
}

type freqHit struct {
	user uint64
	at   int64 // Unix ns
}

func (metaRec) kind() byte   { return kindMeta }
func (campRec) kind() byte   { return kindCamp }
func (dayRec) kind() byte    { return kindDay }
func (cellRec) kind() byte   { return kindCell }
func (dedupeRec) kind() byte { return kindDedupe }
func (freqRec) kind() byte   { return kindFreq }

func (metaRec) key(uint64) string   { return keyMeta }
func (r campRec) key(uint64) string { return prefixCamp + r.cid }
func (r dayRec) key(uint64) string  { return dayKey(r.cid, r.day) }
func (r cellRec) key(uint64) string {
	return cellPrefix(r.cid, r.day) + fmt.Sprintf("%016x", r.cell)
}
func (r dedupeRec) key(gen uint64) string { return batchKey(prefixDedupe, r.maxExpiry(), gen) }
func (r freqRec) key(gen uint64) string   { return batchKey(prefixFreq, r.maxExpiry(), gen) }

func dayKey(cid string, day int32) string { return prefixDay + cid + "/" + dateString(day) }

func cellPrefix(cid string, day int32) string {
	return prefixCell + cid + "/" + dateString(day) + "/"
}

// batchKey orders batches by expiry (the sign bit flipped makes the hex of
// an int64 sort like the number), so that the expired ones come first.
func batchKey(prefix string, expiry int64, gen uint64) string {
	return fmt.Sprintf("%s%016x/%016x", prefix, uint64(expiry)^(1<<63), gen)
}

// dateString is the ISO date of a day number.
func dateString(day int32) string {
	return time.Unix(int64(day)*86400, 0).UTC().Format(time.DateOnly)
}

func (r dedupeRec) maxExpiry() int64 {
	m := int64(math.MinInt64)
	for _, e := range r.entries {
		m = max(m, e.exp)
	}
	return m
}

func (r freqRec) maxExpiry() int64 {
	m := int64(math.MinInt64)
	for _, g := range r.groups {
		for _, h := range g.hits {
			m = max(m, satAdd(h.at, g.window))
		}
	}
	return m
}

// satAdd is a+b for b ≥ 0, saturating at MaxInt64.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// ---- encoding

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendCounts(b []byte, c Counts) []byte {
	b = binary.AppendUvarint(b, uint64(c.Impressions))
	b = binary.AppendUvarint(b, uint64(c.Clicks))
	return binary.AppendUvarint(b, uint64(c.SpendMicros))
}

func (r metaRec) appendPayload(b []byte) []byte {
	b = binary.AppendUvarint(b, r.count)
	b = binary.AppendUvarint(b, uint64(len(r.batches)))
	for _, x := range r.batches {
		b = binary.AppendVarint(append(b, x.kind), x.exp)
	}
	return b
}

func (r campRec) appendPayload(b []byte) []byte {
	return binary.AppendUvarint(appendString(b, r.cid), uint64(r.frac))
}

func (r dayRec) appendPayload(b []byte) []byte {
	b = binary.AppendVarint(appendString(b, r.cid), int64(r.day))
	return appendCounts(b, r.Counts)
}

func (r cellRec) appendPayload(b []byte) []byte {
	b = binary.AppendVarint(appendString(b, r.cid), int64(r.day))
	b = binary.BigEndian.AppendUint64(b, r.cell)
	b = appendCounts(b, r.Counts)
	b = binary.AppendUvarint(b, uint64(len(r.users)))
	for _, u := range r.users {
		b = binary.BigEndian.AppendUint64(b, u)
	}
	return b
}

func (r dedupeRec) appendPayload(b []byte) []byte {
	m := r.maxExpiry()
	b = binary.AppendVarint(b, m)
	b = binary.AppendUvarint(b, uint64(len(r.entries)))
	for _, e := range r.entries {
		b = binary.BigEndian.AppendUint64(b, uint64(e.k))
		b = binary.AppendUvarint(b, uint64(m)-uint64(e.exp))
	}
	return b
}

func (r freqRec) appendPayload(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(r.groups)))
	for _, g := range r.groups {
		b = appendString(b, g.cid)
		b = binary.AppendUvarint(b, uint64(g.window))
		b = binary.AppendUvarint(b, uint64(len(g.hits)))
		for _, h := range g.hits {
			b = binary.BigEndian.AppendUint64(b, h.user)
			b = binary.AppendVarint(b, h.at)
		}
	}
	return b
}

// appendBody appends gen | len | payload.
func appendBody(b []byte, gen uint64, r rec) []byte {
	p := r.appendPayload(nil)
	b = binary.AppendUvarint(b, gen)
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// encodeRecord returns the value of r written by flush gen over a key whose
// previous body (from envelope) was prevBody, nil if the key is new.
func encodeRecord(gen uint64, r rec, prevBody []byte) []byte {
	b := appendBody([]byte{formatVersion, r.kind()}, gen, r)
	if prevBody == nil {
		return append(b, 0)
	}
	return append(append(b, 1), prevBody...)
}

// ---- decoding

// reader decodes with sticky errors: after the first failure every read
// returns zero, and err says what failed first.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || (n > 1 && r.b[n-1] == 0) { // overflow, truncation, or a non-minimal encoding
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// varint reads a zig-zag varint (binary.AppendVarint's encoding).
func (r *reader) varint() int64 {
	u := r.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

// nonneg reads a uvarint that must fit an int64.
func (r *reader) nonneg(what string) int64 {
	v := r.uvarint()
	if v > math.MaxInt64 {
		r.fail("%s out of range", what)
		return 0
	}
	return int64(v)
}

func (r *reader) byte() byte {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (r *reader) u64() uint64 {
	b := r.bytes(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.fail("truncated")
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

// count reads a number of items of at least each bytes apiece, refusing one
// that the remaining bytes cannot hold (so that a corrupt count never
// allocates), or that is below lo.
func (r *reader) count(lo, each int, what string) int {
	n := r.uvarint()
	if r.err == nil && (n < uint64(lo) || n > uint64(len(r.b)/each)) {
		r.fail("bad %s count %d", what, n)
		return 0
	}
	return int(n)
}

func (r *reader) cid() string {
	n := r.uvarint()
	if r.err == nil && (n == 0 || n > eventtoken.MaxIDLen) {
		r.fail("bad campaign id length %d", n)
		return ""
	}
	return string(r.bytes(int(n)))
}

func (r *reader) day() int32 {
	d := r.varint()
	if d < math.MinInt32 || d > math.MaxInt32 {
		r.fail("day out of range")
		return 0
	}
	return int32(d)
}

func (r *reader) counts() Counts {
	return Counts{Impressions: r.nonneg("impressions"), Clicks: r.nonneg("clicks"), SpendMicros: r.nonneg("spend")}
}

func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	return r.err
}

// decodePayload decodes the payload of a record of kind k.
func decodePayload(k byte, p []byte) (rec, error) {
	r := &reader{b: p}
	var out rec
	switch k {
	case kindMeta:
		m := metaRec{count: r.uvarint()}
		n := r.count(0, 2, "batch")
		if n > 2 {
			r.fail("%d batches", n)
		}
		for i := 0; i < n && r.err == nil; i++ {
			x := batchRef{kind: r.byte(), exp: r.varint()}
			if (x.kind != kindDedupe && x.kind != kindFreq) || (i > 0 && x.kind <= m.batches[0].kind) {
				r.fail("bad batch kind %q", x.kind)
			}
			m.batches = append(m.batches, x)
		}
		out = m
	case kindCamp:
		c := campRec{cid: r.cid(), frac: r.nonneg("remainder")}
		if c.frac >= 1000 {
			r.fail("remainder %d out of range", c.frac)
		}
		out = c
	case kindDay:
		out = dayRec{cid: r.cid(), day: r.day(), Counts: r.counts()}
	case kindCell:
		c := cellRec{cid: r.cid(), day: r.day(), cell: r.u64(), Counts: r.counts()}
		if r.err == nil && c.cell == 0 {
			r.fail("cell 0")
		}
		n := r.count(0, 8, "user")
		if n > maxUsersPerCell {
			r.fail("%d users in a cell", n)
		}
		if r.err == nil && n > 0 {
			c.users = make([]uint64, n)
			for i := range c.users {
				c.users[i] = r.u64()
				if c.users[i] == 0 || (i > 0 && c.users[i] <= c.users[i-1]) {
					r.fail("users not strictly ascending and non-zero")
				}
			}
		}
		out = c
	case kindDedupe:
		m := r.varint()
		n := r.count(1, 9, "dedupe entry")
		d := dedupeRec{entries: make([]dentry, n)}
		atMax := false
		for i := range d.entries {
			e := &d.entries[i]
			e.k = dkey(r.u64())
			delta := r.uvarint()
			if r.err == nil && delta > uint64(m)+1<<63 {
				r.fail("bad dedupe entry")
			}
			e.exp = int64(uint64(m) - delta)
			atMax = atMax || delta == 0
		}
		if r.err == nil && !atMax {
			r.fail("no dedupe entry at the batch expiry")
		}
		out = d
	case kindFreq:
		n := r.count(1, 3, "frequency group")
		f := freqRec{groups: make([]freqGroup, n)}
		for i := range f.groups {
			g := &f.groups[i]
			g.cid = r.cid()
			g.window = r.nonneg("window")
			if r.err == nil && g.window == 0 {
				r.fail("zero frequency window")
			}
			g.hits = make([]freqHit, r.count(1, 9, "frequency hit"))
			for j := range g.hits {
				g.hits[j] = freqHit{user: r.u64(), at: r.varint()}
				if r.err == nil && g.hits[j].user == 0 {
					r.fail("frequency hit of user 0")
				}
			}
		}
		out = f
	default:
		return nil, fmt.Errorf("unknown kind %q", k)
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	return out, nil
}

// body is a decoded gen | payload.
type body struct {
	gen uint64
	rec rec
}

// stored is a decoded record value.
type stored struct {
	cur  body
	prev *body // nil: the key was new in flush cur.gen
}

// envelope splits a value into its kind and the raw bytes of its current
// and previous bodies (prev nil when absent), checking the framing only.
func envelope(v []byte) (kind byte, cur, prev []byte, err error) {
	r := &reader{b: v}
	if ver := r.byte(); r.err == nil && ver != formatVersion {
		return 0, nil, nil, fmt.Errorf("unknown format version %d", ver)
	}
	kind = r.byte()
	cur = rawBody(r)
	switch r.byte() {
	case 0:
	case 1:
		prev = rawBody(r)
	default:
		r.fail("bad prev flag")
	}
	if err := r.end(); err != nil {
		return 0, nil, nil, err
	}
	return kind, cur, prev, nil
}

// rawBody reads one body and returns its bytes.
func rawBody(r *reader) []byte {
	start := r.b
	r.uvarint()
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.fail("truncated body")
	}
	r.bytes(int(n))
	if r.err != nil {
		return nil
	}
	return start[:len(start)-len(r.b)]
}

func decodeBody(kind byte, raw []byte, key string) (body, error) {
	r := &reader{b: raw}
	gen := r.uvarint()
	p := r.bytes(int(r.uvarint()))
	if r.err != nil {
		return body{}, r.err
	}
	x, err := decodePayload(kind, p)
	if err != nil {
		return body{}, err
	}
	if m, ok := x.(metaRec); ok {
		for i := range m.batches {
			m.batches[i].gen = gen
		}
	}
	if k := x.key(gen); k != key {
		return body{}, fmt.Errorf("record of %q stored under another key", k)
	}
	return body{gen: gen, rec: x}, nil
}

// decodeRecord decodes the value v stored under key. Its errors wrap
// ErrCorrupt and name the key; it never panics, whatever v holds.
func decodeRecord(key string, v []byte) (stored, error) {
	s, err := decodeValue(key, v)
	if err != nil {
		return stored{}, fmt.Errorf("%w %q: %v", ErrCorrupt, key, err)
	}
	return s, nil
}

func decodeValue(key string, v []byte) (stored, error) {
	kind, cur, prev, err := envelope(v)
	if err != nil {
		return stored{}, err
	}
	var s stored
	if s.cur, err = decodeBody(kind, cur, key); err != nil {
		return stored{}, err
	}
	if prev != nil {
		if kind == kindMeta || kind == kindDedupe || kind == kindFreq {
			return stored{}, errors.New("a record written once has a previous body")
		}
		p, err := decodeBody(kind, prev, key)
		if err != nil {
			return stored{}, fmt.Errorf("previous body: %w", err)
		}
		if p.gen >= s.cur.gen {
			return stored{}, errors.New("previous body not older than the current one")
		}
		s.prev = &p
	}
	return s, nil
}

// encode is the inverse of decodeRecord (for tests and for the repair of a
// torn flush).
func (s stored) encode() []byte {
	var prev []byte
	if s.prev != nil {
		prev = appendBody(nil, s.prev.gen, s.prev.rec)
	}
	return encodeRecord(s.cur.gen, s.cur.rec, prev)
}

// sortedUsers returns a sorted copy of users, as cell records store them.
func sortedUsers(users []uint64) []uint64 {
	out := slices.Clone(users)
	slices.Sort(out)
	return out
}
