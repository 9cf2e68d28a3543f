package catalog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/fieldmask"
	"github.com/aroundme/aroundme/pkg/store"
	"github.com/aroundme/aroundme/pkg/validate"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// KeyPrefix starts the store key of every mini-program.
const KeyPrefix = "mp/"

// Key is the store key of a mini-program.
func Key(id string) string { return KeyPrefix + id }

// Change is one committed change: New is the record after the write, nil
// when it was deleted.
type Change struct {
	ID  string
	New *v1.MiniProgram
	// Cells are the H3 cells (geo.PlaceCellRes) of New's places.
	Cells []uint64
}

// Listener receives every committed batch of changes, in commit order. It is
// called after the write is durable and before the write is acknowledged, so
// that a caller who got an answer sees the change in the next read of the
// index. Records handed over must not be modified.
type Listener func([]Change)

// Catalog reads and writes mini-programs.
type Catalog struct {
	st  store.Store
	now func() time.Time

	commits *store.Committer[Change] // durable writes, then listeners, in commit order
}

// New returns a Catalog over st; now is the clock (nil = time.Now).
func New(st store.Store, now func() time.Time) *Catalog {
	if now == nil {
		now = time.Now
	}
	return &Catalog{st: st, now: now, commits: store.NewCommitter[Change](st)}
}

// Listen adds l to the listeners of committed changes.
func (c *Catalog) Listen(l Listener) { c.commits.Listen(l) }

// update runs fn in a store transaction and, once it is durable, hands its
// changes to the listeners.
func (c *Catalog) update(ctx context.Context, fn func(tx store.Tx) ([]Change, error)) error {
	return c.commits.Update(ctx, fn)
}

func get(tx store.Tx, id string) (*v1.MiniProgram, error) {
	b, err := tx.Get(Key(id))
	if err != nil {
		return nil, err
	}
	return Decode(id, b)
}

// CellsField is a field number outside the MiniProgram schema under which a
// stored record also carries the H3 cell (geo.PlaceCellRes) of each of its
// places, packed fixed64: a cache of a pure function of the record, written
// with it, so that a restart does not recompute an H3 lookup per place. A
// record without it (or with the wrong count) simply has its cells computed.
// It never leaves the catalog: Decode strips it.
const CellsField = 536870000

// Decode parses a stored record. A record that does not parse is corruption
// of the data file and is reported as such, never skipped.
func Decode(id string, b []byte) (*v1.MiniProgram, error) {
	mp, _, err := DecodeRecord(id, b)
	return mp, err
}

// DecodeRecord parses a stored record and returns the cells of its places
// (nil when the record does not carry them).
func DecodeRecord(id string, b []byte) (*v1.MiniProgram, []uint64, error) {
	mp := &v1.MiniProgram{}
	if err := proto.Unmarshal(b, mp); err != nil {
		return nil, nil, fmt.Errorf("catalog: record %q is corrupt: %w", id, err)
	}
	var cells []uint64
	if unk := mp.ProtoReflect().GetUnknown(); len(unk) > 0 {
		cells = parseCells(unk, len(mp.GetPlaces()))
		mp.ProtoReflect().SetUnknown(nil)
	}
	return mp, cells, nil
}

// parseCells finds the cells field among unknown fields; nil unless it holds
// exactly n cells.
func parseCells(b []byte, n int) []uint64 {
	for len(b) > 0 {
		num, typ, tl := protowire.ConsumeTag(b)
		if tl < 0 {
			return nil
		}
		b = b[tl:]
		if num == CellsField && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 || len(v) != 8*n {
				return nil
			}
			cells := make([]uint64, n)
			for i := range cells {
				cells[i] = binary.LittleEndian.Uint64(v[8*i:])
			}
			return cells
		}
		l := protowire.ConsumeFieldValue(num, typ, b)
		if l < 0 {
			return nil
		}
		b = b[l:]
	}
	return nil
}

// PlaceCells computes the cells of mp's places.
func PlaceCells(mp *v1.MiniProgram) []uint64 {
	cells := make([]uint64, len(mp.GetPlaces()))
	for i, p := range mp.GetPlaces() {
		cells[i] = geo.CellOf(p.GetLocation().GetLatitude(), p.GetLocation().GetLongitude(), geo.PlaceCellRes)
	}
	return cells
}

// put writes mp with its places' cells and returns the cells.
func put(tx store.Tx, mp *v1.MiniProgram) ([]uint64, error) {
	return putAt(tx, Key(mp.GetId()), mp, nil)
}

// putAt is put for a caller that has mp's key at hand. With wire (see
// UpsertItem) the record is wire with the server's fields appended, not a
// new encoding of mp.
func putAt(tx store.Tx, key string, mp *v1.MiniProgram, wire []byte) ([]uint64, error) {
	cells := PlaceCells(mp)
	var b []byte
	if wire != nil {
		b = encodeWire(wire, mp, cells)
	} else {
		var err error
		if b, err = encode(mp, cells); err != nil {
			return nil, err
		}
	}
	// b is ours alone: the store may keep it rather than copy it.
	return cells, tx.SetOwned(key, b)
}

// encode returns the stored record of mp with its places' cells, in one
// allocation of the exact size.
func encode(mp *v1.MiniProgram, cells []uint64) ([]byte, error) {
	n := proto.MarshalOptions{Deterministic: true}.Size(mp)
	n += protowire.SizeTag(CellsField) + protowire.SizeBytes(8*len(cells))
	b := make([]byte, 0, n)
	// The sizes Size just cached are current: mp is not shared.
	b, err := proto.MarshalOptions{Deterministic: true, UseCachedSize: true}.MarshalAppend(b, mp)
	if err != nil {
		return nil, err
	}
	b = protowire.AppendTag(b, CellsField, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(8*len(cells)))
	for _, c := range cells {
		b = binary.LittleEndian.AppendUint64(b, c)
	}
	return b, nil
}

// encodeWire returns the stored record of mp, whose writable fields were
// decoded from wire (StorableWire): wire, then mp's output-only fields, then
// the cells. It decodes to what encode's record decodes to — the same
// fields, in another order — without encoding mp again (an import's largest
// cost after decoding). It appends to wire, in place when wire has room
// (WireTailSize).
func encodeWire(wire []byte, mp *v1.MiniProgram, cells []uint64) []byte {
	b := wire
	if v := mp.GetVersion(); v != 0 {
		b = protowire.AppendTag(b, versionField, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v))
	}
	b = appendTimestamp(b, createTimeField, mp.GetCreateTime())
	b = appendTimestamp(b, updateTimeField, mp.GetUpdateTime())
	b = protowire.AppendTag(b, CellsField, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(8*len(cells)))
	for _, c := range cells {
		b = binary.LittleEndian.AppendUint64(b, c)
	}
	return b
}

// appendTimestamp appends field num holding t as proto.Marshal would: nothing
// for nil, zero seconds or nanos left out.
func appendTimestamp(b []byte, num protowire.Number, t *timestamppb.Timestamp) []byte {
	if t == nil {
		return b
	}
	n := 0
	if t.Seconds != 0 {
		n += protowire.SizeTag(secondsField) + protowire.SizeVarint(uint64(t.Seconds))
	}
	if t.Nanos != 0 {
		n += protowire.SizeTag(nanosField) + protowire.SizeVarint(uint64(int64(t.Nanos)))
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	if t.Seconds != 0 {
		b = protowire.AppendTag(b, secondsField, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(t.Seconds))
	}
	if t.Nanos != 0 {
		b = protowire.AppendTag(b, nanosField, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(t.Nanos)))
	}
	return b
}

// WireTailSize is the most encodeWire appends to the wire of a mini-program
// with places places: a caller that copies the wire bytes reserves it so
// that the record is written in place.
func WireTailSize(places int) int {
	const version = 1 + binary.MaxVarintLen64
	const timestamp = 1 + 1 + 2*(1+binary.MaxVarintLen64)
	return version + 2*timestamp + protowire.SizeTag(CellsField) + binary.MaxVarintLen64 + 8*places
}

// StorableWire reports whether b, the encoding of a MiniProgram, holds only
// its writable fields (id to hidden), each with its own wire type and the
// singular ones at most once, at the top level: such bytes can be stored as
// they are (UpsertItem.Wire). Bytes with output-only fields (which the
// server replaces), the cells field, anything unknown or a singular field
// repeated (a merge the decoders would have to agree on) are encoded again
// from the decoded message instead.
func StorableWire(b []byte) bool {
	var seen uint32
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num < 1 || num > hiddenField || typ != writableTypes[num] {
			return false
		}
		if num != placesField && num != offersField {
			if seen&(1<<num) != 0 {
				return false
			}
			seen |= 1 << num
		}
		b = b[n:]
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return false
		}
		b = b[n:]
	}
	return true
}

// hiddenField is the last writable field of MiniProgram; writableTypes the
// wire type of each writable field, by number.
const (
	placesField, offersField, hiddenField = 6, 10, 11
)

var writableTypes = [hiddenField + 1]protowire.Type{
	1: protowire.BytesType, 2: protowire.BytesType, 3: protowire.BytesType, // id, name, description
	4: protowire.VarintType, 5: protowire.BytesType, 6: protowire.BytesType, // category, icon_url, places
	7: protowire.BytesType, 8: protowire.Fixed64Type, 9: protowire.VarintType, // audience, rating, popularity
	10: protowire.BytesType, 11: protowire.VarintType, // offers, hidden
}

// Field numbers of MiniProgram and Timestamp that readMeta reads.
const (
	versionField, createTimeField, updateTimeField = 12, 13, 14
	secondsField, nanosField                       = 1, 2
)

// readMeta reads the version and create_time of a stored record where it
// lies, without decoding (or copying) the rest: what an upsert keeps of the
// record it replaces. Of repeated fields the last wins, and repeated
// create_times merge, as proto.Unmarshal would have it; a record whose top
// level does not parse is corrupt.
func readMeta(id string, b []byte) (version int64, created timeParts, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b = b[n:]
		switch {
		case num == versionField && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return 0, created, corrupt(id, protowire.ParseError(n))
			}
			version, b = int64(v), b[n:]
			continue
		case num == createTimeField && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return 0, created, corrupt(id, protowire.ParseError(n))
			}
			if err := created.merge(v); err != nil {
				return 0, created, corrupt(id, err)
			}
			b = b[n:]
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return 0, created, corrupt(id, protowire.ParseError(n))
		}
		b = b[n:]
	}
	if len(b) > 0 {
		return 0, created, corrupt(id, errors.New("malformed field tag"))
	}
	return version, created, nil
}

func corrupt(id string, err error) error {
	return fmt.Errorf("catalog: record %q is corrupt: %w", id, err)
}

// timeParts is a google.protobuf.Timestamp read from the wire.
type timeParts struct {
	set     bool
	seconds int64
	nanos   int32
}

// merge reads an encoded Timestamp into t (fields it holds replace t's).
func (t *timeParts) merge(b []byte) error {
	t.set = true
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if typ == protowire.VarintType && (num == secondsField || num == nanosField) {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return protowire.ParseError(n)
			}
			if num == secondsField {
				t.seconds = int64(v)
			} else {
				t.nanos = int32(v)
			}
			b = b[n:]
			continue
		}
		if n = protowire.ConsumeFieldValue(num, typ, b); n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
	}
	return nil
}

// writable returns a copy of mp with the output-only fields cleared.
func writable(mp *v1.MiniProgram) *v1.MiniProgram {
	out := proto.Clone(mp).(*v1.MiniProgram)
	out.Version, out.CreateTime, out.UpdateTime = 0, nil, nil
	return out
}

func notFound(id string) error { return apierr.NotFound("mini-program %q not found", id) }

// Get returns the mini-program id.
func (c *Catalog) Get(ctx context.Context, id string) (*v1.MiniProgram, error) {
	var mp *v1.MiniProgram
	err := c.st.View(ctx, func(tx store.Tx) error {
		var err error
		mp, err = get(tx, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	return mp, err
}

// Create stores a new mini-program at version 1.
func (c *Catalog) Create(ctx context.Context, in *v1.MiniProgram) (*v1.MiniProgram, error) {
	mp := writable(in)
	var v apierr.Violations
	validate.MiniProgram(&v, "mini_program", mp)
	if err := v.Err(); err != nil {
		return nil, err
	}
	ts := timestamppb.New(c.now())
	mp.Version, mp.CreateTime, mp.UpdateTime = 1, ts, ts
	err := c.update(ctx, func(tx store.Tx) ([]Change, error) {
		if _, err := tx.Get(Key(mp.GetId())); err == nil {
			return nil, apierr.AlreadyExists("mini-program %q already exists", mp.GetId())
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		cells, err := put(tx, mp)
		return []Change{{ID: mp.GetId(), New: mp, Cells: cells}}, err
	})
	if err != nil {
		return nil, err
	}
	return mp, nil
}

// Update replaces the fields named by paths (every writable field when paths
// is empty) of the stored mini-program with those of in. expectedVersion 0
// means any version.
func (c *Catalog) Update(ctx context.Context, in *v1.MiniProgram, paths []string, expectedVersion int64) (*v1.MiniProgram, error) {
	var out *v1.MiniProgram
	err := c.update(ctx, func(tx store.Tx) ([]Change, error) {
		cur, err := get(tx, in.GetId())
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound(in.GetId())
		} else if err != nil {
			return nil, err
		}
		if expectedVersion != 0 && cur.GetVersion() != expectedVersion {
			return nil, apierr.Aborted("mini-program %q is at version %d, not %d: re-read and retry", in.GetId(), cur.GetVersion(), expectedVersion)
		}
		var next *v1.MiniProgram
		if len(paths) == 0 {
			next = writable(in)
		} else {
			next = writable(cur)
			fieldmask.Apply(next, in, paths)
		}
		var v apierr.Violations
		validate.MiniProgram(&v, "mini_program", next)
		if err := v.Err(); err != nil {
			return nil, err
		}
		next.Version = cur.GetVersion() + 1
		next.CreateTime = cur.GetCreateTime()
		next.UpdateTime = timestamppb.New(c.now())
		out = next
		cells, err := put(tx, next)
		return []Change{{ID: next.GetId(), New: next, Cells: cells}}, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Delete removes the mini-program id. expectedVersion 0 means any version.
func (c *Catalog) Delete(ctx context.Context, id string, expectedVersion int64) error {
	return c.update(ctx, func(tx store.Tx) ([]Change, error) {
		cur, err := get(tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound(id)
		} else if err != nil {
			return nil, err
		}
		if expectedVersion != 0 && cur.GetVersion() != expectedVersion {
			return nil, apierr.Aborted("mini-program %q is at version %d, not %d: re-read and retry", id, cur.GetVersion(), expectedVersion)
		}
		return []Change{{ID: id}}, tx.Delete(Key(id))
	})
}

// List returns up to n mini-programs with ids after `after`, in id order,
// only of category (unspecified = all). more reports whether any record
// follows the page.
func (c *Catalog) List(ctx context.Context, after string, category v1.Category, n int) (page []*v1.MiniProgram, more bool, err error) {
	err = c.st.View(ctx, func(tx store.Tx) error {
		var derr error
		scanAfter := ""
		if after != "" {
			scanAfter = Key(after)
		}
		serr := tx.Scan(KeyPrefix, scanAfter, func(key string, val []byte) bool {
			mp, err := Decode(key[len(KeyPrefix):], val)
			if err != nil {
				derr = err
				return false
			}
			if category != v1.Category_CATEGORY_UNSPECIFIED && mp.GetCategory() != category {
				return true
			}
			if len(page) == n {
				more = true // one matching record follows the page
				return false
			}
			page = append(page, mp)
			return true
		})
		if serr != nil {
			return serr
		}
		return derr
	})
	return page, more, err
}

// UpsertResult says what happened to one item of an upsert batch.
type UpsertResult int

// Outcomes of an upserted item.
const (
	Created UpsertResult = iota + 1
	Updated
)

// Upsert writes every item of batch, already validated, in one durable
// transaction: new ids are created at version 1, existing ones replaced with
// their version plus one and their create_time kept. Either the whole batch
// is committed or none of it. It takes ownership of the items (it sets their
// version and times): the caller must not use them afterwards.
func (c *Catalog) Upsert(ctx context.Context, batch []*v1.MiniProgram) ([]UpsertResult, error) {
	items := make([]UpsertItem, len(batch))
	for i, mp := range batch {
		items[i].MiniProgram = mp
	}
	return c.upsert(ctx, items, -1)
}

// UpsertItem is one item of an UpsertHeld batch: the mini-program, already
// validated, and optionally the wire bytes it was decoded from.
type UpsertItem struct {
	MiniProgram *v1.MiniProgram
	// Wire, when not nil, is the encoding MiniProgram was decoded from, and
	// StorableWire(Wire) holds: the record is then Wire with the server's
	// fields appended (in place if it has WireTailSize spare capacity),
	// instead of a new encoding of the message. The batch takes it over.
	Wire []byte
}

// UpsertHeld is Upsert for a writer that acknowledges later, such as an
// import stream, which answers once at its end: the batch is as durable
// when it returns, but its changes reach the listeners (the Nearby index)
// only once more than maxHeld changes are held (see store.Committer), with
// the next other write, or at Flush — so that the index is rebuilt once for
// many batches. The caller must call Flush before it acknowledges anything,
// including in an error that says what was committed.
func (c *Catalog) UpsertHeld(ctx context.Context, batch []UpsertItem, maxHeld int) ([]UpsertResult, error) {
	return c.upsert(ctx, batch, max(maxHeld, 0))
}

// Flush hands every change UpsertHeld holds to the listeners.
func (c *Catalog) Flush() { c.commits.Flush() }

// upsert is Upsert (maxHeld < 0) and UpsertHeld.
func (c *Catalog) upsert(ctx context.Context, batch []UpsertItem, maxHeld int) ([]UpsertResult, error) {
	res := make([]UpsertResult, len(batch))
	ts := timestamppb.New(c.now())
	fn := func(tx store.Tx) ([]Change, error) {
		changes := make([]Change, 0, len(batch))
		// Records replaced by one import mostly share their create_time
		// (they were imported together): share its message too.
		var lastCreated timeParts
		var lastTS *timestamppb.Timestamp
		// What the stored record of cur.id holds; one closure for the
		// batch, not one per item.
		var cur struct {
			id      string
			version int64
			created timeParts
		}
		peek := func(b []byte) error {
			var err error
			cur.version, cur.created, err = readMeta(cur.id, b)
			return err
		}
		for i, item := range batch {
			mp := item.MiniProgram
			// The batch is the caller's to give away (an import's decoded
			// stream): set the output-only fields in place rather than
			// deep-copy a million messages.
			mp.Version, mp.CreateTime, mp.UpdateTime = 0, nil, nil
			key := Key(mp.GetId())
			cur.id = mp.GetId()
			err := tx.Peek(key, peek)
			switch {
			case err == nil:
				mp.Version = cur.version + 1
				if created := cur.created; created.set {
					if lastTS == nil || created != lastCreated {
						lastCreated = created
						lastTS = &timestamppb.Timestamp{Seconds: created.seconds, Nanos: created.nanos}
					}
					mp.CreateTime = lastTS
				}
				res[i] = Updated
			case errors.Is(err, store.ErrNotFound):
				mp.Version, mp.CreateTime = 1, ts
				res[i] = Created
			default:
				return nil, err
			}
			mp.UpdateTime = ts
			cells, err := putAt(tx, key, mp, item.Wire)
			if err != nil {
				return nil, err
			}
			changes = append(changes, Change{ID: mp.GetId(), New: mp, Cells: cells})
		}
		return changes, nil
	}
	var err error
	if maxHeld < 0 {
		err = c.commits.Update(ctx, fn)
	} else {
		err = c.commits.UpdateHeld(ctx, fn, maxHeld)
	}
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Count returns the number of stored mini-programs.
func (c *Catalog) Count(ctx context.Context) (int, error) {
	n := 0
	err := c.st.View(ctx, func(tx store.Tx) error {
		return tx.Scan(KeyPrefix, "", func(string, []byte) bool { n++; return true })
	})
	return n, err
}

// LoadRaw calls fn with the id and the encoded record of every stored
// mini-program, in id order, without decoding them, so that a loader can
// decode on every core (Decode). raw is only valid during the call.
func (c *Catalog) LoadRaw(ctx context.Context, fn func(id string, raw []byte) error) error {
	return c.st.View(ctx, func(tx store.Tx) error {
		var ferr error
		err := tx.Scan(KeyPrefix, "", func(key string, val []byte) bool {
			ferr = fn(key[len(KeyPrefix):], val)
			return ferr == nil
		})
		if err != nil {
			return err
		}
		return ferr
	})
}

// Load calls fn for every stored mini-program in id order; used at start to
// build the indexes. A corrupt record stops the load with an error.
func (c *Catalog) Load(ctx context.Context, fn func(*v1.MiniProgram) error) error {
	return c.st.View(ctx, func(tx store.Tx) error {
		var ferr error
		err := tx.Scan(KeyPrefix, "", func(key string, val []byte) bool {
			mp, err := Decode(key[len(KeyPrefix):], val)
			if err == nil {
				err = fn(mp)
			}
			ferr = err
			return err == nil
		})
		if err != nil {
			return err
		}
		return ferr
	})
}
