package campaign

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/catalog"
	"github.com/aroundme/aroundme/pkg/fieldmask"
	"github.com/aroundme/aroundme/pkg/store"
	"github.com/aroundme/aroundme/pkg/validate"
	"github.com/aroundme/aroundme/targeting"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// KeyPrefix starts the store key of every campaign.
const KeyPrefix = "cmp/"

// Key is the store key of a campaign.
func Key(id string) string { return KeyPrefix + id }

// Tenant is whose campaigns a call may see: one advertiser's, or, for an
// admin, everyone's. The zero Tenant sees nothing and may create nothing,
// so a forgotten tenant fails closed.
type Tenant struct {
	// AdvertiserID is the advertiser of the credentials.
	AdvertiserID string
	// All is set for admins.
	All bool
}

func (t Tenant) owns(c *v1.Campaign) bool {
	return t.All || (t.AdvertiserID != "" && c.GetAdvertiserId() == t.AdvertiserID)
}

// Change is one committed change: New is the record after the write, as
// stored (no serving status). Campaigns are never deleted (archived is
// their end), so New is never nil today.
type Change struct {
	ID  string
	New *v1.Campaign
	// Covering is the geofence's covering: computed by this write (a
	// create, or an update that changed the fence) or decoded from the
	// record (nil only for an old record that carries none), so that the
	// covering index does not compute it again.
	Covering *geo.GeofenceCovering
}

// Listener receives every committed batch of changes, in commit order,
// after the write is durable and before it is acknowledged, so that the
// covering index (when it lands) is never behind an answered write. Records
// handed over must not be modified.
type Listener func([]Change)

// SpendFunc returns a campaign's billed spend so far, in micros. It decides
// SERVING_STATUS_BUDGET_EXHAUSTED.
//
// HOOK: spend counters come with the events work (ReportEvents); until then
// the default is NoSpend and no campaign is ever BUDGET_EXHAUSTED.
type SpendFunc func(campaignID string) int64

// NoSpend is the SpendFunc before events are counted: nothing is spent.
func NoSpend(string) int64 { return 0 }

// Options configure a Store.
type Options struct {
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// MaxFenceCells caps a geofence's covering (0 = geo.DefaultMaxCells).
	MaxFenceCells int
	// Spend reports spend for the serving status; nil = NoSpend.
	Spend SpendFunc
}

// Store reads and writes campaigns.
type Store struct {
	st     store.Store
	now    func() time.Time
	policy geo.CoverPolicy
	spend  SpendFunc

	commits *store.Committer[Change] // durable writes, then listeners, in commit order
}

// New returns a Store over st.
func New(st store.Store, o Options) *Store {
	s := &Store{st: st, commits: store.NewCommitter[Change](st), now: o.Now, spend: o.Spend, policy: geo.CoverPolicy{MaxCells: o.MaxFenceCells}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.spend == nil {
		s.spend = NoSpend
	}
	if s.policy.MaxCells <= 0 {
		s.policy.MaxCells = geo.DefaultMaxCells
	}
	return s
}

// Listen adds l to the listeners of committed changes.
func (s *Store) Listen(l Listener) { s.commits.Listen(l) }

// update runs fn in a store transaction and, once it is durable, hands its
// changes to the listeners.
func (s *Store) update(ctx context.Context, fn func(tx store.Tx) ([]Change, error)) error {
	return s.commits.Update(ctx, fn)
}

// CoveringField is a field number outside the Campaign schema under which a
// stored record also carries its geofence's covering (geo's binary
// encoding): a cache of a pure but costly function of the record (~3 ms
// for a 5 km circle), written with it in the same transaction, so that a
// restart with 100,000 campaigns decodes coverings instead of recomputing
// them. A record without it, or with one that does not decode, has its
// covering computed again. It never leaves this package: Decode strips it.
const CoveringField = 536870001

// Decode parses a stored record. A record that does not parse is corruption
// of the data file and is reported as such, never skipped.
func Decode(id string, b []byte) (*v1.Campaign, error) {
	c, _, err := decodeRecord(id, b)
	return c, err
}

// decodeRecord parses a stored record and returns the encoded covering it
// carries (nil if none).
func decodeRecord(id string, b []byte) (*v1.Campaign, []byte, error) {
	c := &v1.Campaign{}
	if err := proto.Unmarshal(b, c); err != nil {
		return nil, nil, fmt.Errorf("campaign: record %q is corrupt: %w", id, err)
	}
	var cov []byte
	if unk := c.ProtoReflect().GetUnknown(); len(unk) > 0 {
		for len(unk) > 0 {
			num, typ, n := protowire.ConsumeTag(unk)
			if n < 0 {
				break
			}
			m := protowire.ConsumeFieldValue(num, typ, unk[n:])
			if m < 0 {
				break
			}
			if num == CoveringField && typ == protowire.BytesType {
				cov, _ = protowire.ConsumeBytes(unk[n:])
				cov = slices.Clone(cov)
			}
			unk = unk[n+m:]
		}
		c.ProtoReflect().SetUnknown(nil)
	}
	return c, cov, nil
}

// stored is a decoded record and its encoded covering.
type stored struct {
	c   *v1.Campaign
	cov []byte
}

func get(tx store.Tx, id string) (stored, error) {
	b, err := tx.Get(Key(id))
	if err != nil {
		return stored{}, err
	}
	c, cov, err := decodeRecord(id, b)
	return stored{c, cov}, err
}

// getOwned returns the stored campaign id if t may see it; otherwise
// NOT_FOUND, the same answer as for an id that does not exist.
func getOwned(tx store.Tx, t Tenant, id string) (stored, error) {
	r, err := get(tx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !t.owns(r.c)) {
		return stored{}, notFound(id)
	}
	return r, err
}

// put writes c with its encoded covering cov (nil = none).
func put(tx store.Tx, c *v1.Campaign, cov []byte) error {
	c.ServingStatus = v1.ServingStatus_SERVING_STATUS_UNSPECIFIED // computed, never stored
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		return err
	}
	if len(cov) > 0 {
		b = protowire.AppendTag(b, CoveringField, protowire.BytesType)
		b = protowire.AppendBytes(b, cov)
	}
	return tx.Set(Key(c.GetId()), b)
}

// encodeCovering returns gc's encoding, nil for nil.
func encodeCovering(gc *geo.GeofenceCovering) []byte {
	if gc == nil {
		return nil
	}
	return gc.AppendBinary(nil)
}

// DecodeCovering returns the covering a record carried, or nil when it
// carried none or one that does not decode (the caller covers the fence
// again).
func DecodeCovering(cov []byte) *geo.GeofenceCovering {
	if len(cov) == 0 {
		return nil
	}
	gc, err := geo.DecodeGeofenceCovering(cov)
	if err != nil {
		return nil
	}
	return &gc
}

func notFound(id string) error { return apierr.NotFound("campaign %q not found", id) }

// requireMiniProgram fails unless the promoted mini-program exists. It
// reads the catalog's key in the write's own transaction, so a campaign
// can never be committed for a mini-program deleted concurrently.
func requireMiniProgram(tx store.Tx, id string) error {
	_, err := tx.Get(catalog.Key(id))
	if errors.Is(err, store.ErrNotFound) {
		return apierr.FailedPrecondition("mini-program %q does not exist: a campaign must promote an existing mini-program", id)
	}
	return err
}

// writable returns a copy of c with the output-only fields cleared.
func writable(c *v1.Campaign) *v1.Campaign {
	out := proto.Clone(c).(*v1.Campaign)
	out.Id, out.AdvertiserId = "", ""
	out.State, out.ServingStatus, out.Coverage = 0, 0, nil
	out.Version, out.CreateTime, out.UpdateTime = 0, nil, nil
	return out
}

// check validates every writable field of c and, when its geofence is new
// (prev nil or different), computes the covering and the coverage it will
// be stored with (the covering is returned for the index; nil when the
// fence is unchanged); a fence whose covering would exceed the cell cap is
// INVALID_ARGUMENT at the shape that crossed it.
func (s *Store) check(c *v1.Campaign, prev *v1.Campaign) (*geo.GeofenceCovering, error) {
	var v apierr.Violations
	gf := validate.Campaign(&v, "campaign", c)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if prev != nil && prev.GetCoverage() != nil && proto.Equal(prev.GetGeofence(), c.GetGeofence()) {
		c.Coverage = proto.Clone(prev.GetCoverage()).(*v1.Coverage)
		return nil, nil
	}
	gc, err := gf.Cover(s.policy)
	if err != nil {
		if !errors.Is(err, geo.ErrTooManyCells) {
			return nil, err // a valid shape that cannot be covered is a bug, not the caller's
		}
		path := "campaign.geofence"
		var ce *geo.CoverError
		if errors.As(err, &ce) && ce.Path != "" {
			path += "." + ce.Path
		}
		v.Add(path, "the geofence's covering would need more than %d H3 cells in total, the server's cap: use fewer areas or simpler polygons", s.policy.MaxCells)
		return nil, v.Err()
	}
	c.Coverage = &v1.Coverage{CellCount: int64(gc.CellCount()), AreaKm2: gf.AreaOf(gc)}
	return &gc, nil
}

// withStatus returns c with its serving status computed at the store's now.
func (s *Store) withStatus(c *v1.Campaign) *v1.Campaign {
	sch := c.GetSchedule()
	var start, end time.Time
	if sch.GetStartTime() != nil {
		start = sch.GetStartTime().AsTime()
	}
	if sch.GetEndTime() != nil {
		end = sch.GetEndTime().AsTime()
	}
	st := targeting.CampaignStatus(targeting.CampaignState(c.GetState()), start, end, s.now(),
		s.spend(c.GetId()), c.GetBudget().GetTotalMicros())
	c.ServingStatus = v1.ServingStatus(st)
	return c
}

// newID returns "c-" and 16 random hex digits (64 bits: collisions are
// checked anyway, never assumed away).
func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "c-" + hex.EncodeToString(b[:])
}

// Create stores a new campaign of t's advertiser, ACTIVE, at version 1.
// Output-only fields of in are ignored.
func (s *Store) Create(ctx context.Context, t Tenant, in *v1.Campaign) (*v1.Campaign, error) {
	if t.AdvertiserID == "" {
		return nil, apierr.New(codes.PermissionDenied, "only advertisers create campaigns: a campaign belongs to the advertiser whose credentials create it (admins may read and change any campaign)")
	}
	c := writable(in)
	gc, err := s.check(c, nil)
	if err != nil {
		return nil, err
	}
	ts := timestamppb.New(s.now())
	c.AdvertiserId = t.AdvertiserID
	c.State = v1.CampaignState_CAMPAIGN_STATE_ACTIVE
	c.Version, c.CreateTime, c.UpdateTime = 1, ts, ts
	err = s.update(ctx, func(tx store.Tx) ([]Change, error) {
		if err := requireMiniProgram(tx, c.GetMiniProgramId()); err != nil {
			return nil, err
		}
		for range 8 {
			c.Id = newID()
			if _, err := tx.Get(Key(c.Id)); errors.Is(err, store.ErrNotFound) {
				return []Change{{ID: c.Id, New: c, Covering: gc}}, put(tx, c, encodeCovering(gc))
			} else if err != nil {
				return nil, err
			}
		}
		return nil, errors.New("campaign: no free id after 8 random draws")
	})
	if err != nil {
		return nil, err
	}
	return s.withStatus(proto.Clone(c).(*v1.Campaign)), nil
}

// Get returns campaign id, if t may see it, with its serving status.
func (s *Store) Get(ctx context.Context, t Tenant, id string) (*v1.Campaign, error) {
	var r stored
	err := s.st.View(ctx, func(tx store.Tx) error {
		var err error
		r, err = getOwned(tx, t, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.withStatus(r.c), nil
}

// Update replaces the fields named by paths (every writable field when paths
// is empty) of the stored campaign in.id with those of in. expectedVersion 0
// means any version. Paths must have passed fieldmask.Check against
// validate.CampaignReadOnly. The promoted mini-program must exist at the
// time of every update, as at create.
func (s *Store) Update(ctx context.Context, t Tenant, in *v1.Campaign, paths []string, expectedVersion int64) (*v1.Campaign, error) {
	var out *v1.Campaign
	err := s.update(ctx, func(tx store.Tx) ([]Change, error) {
		rec, err := getOwned(tx, t, in.GetId())
		if err != nil {
			return nil, err
		}
		cur := rec.c
		if expectedVersion != 0 && cur.GetVersion() != expectedVersion {
			return nil, apierr.Aborted("campaign %q is at version %d, not %d: re-read and retry", cur.GetId(), cur.GetVersion(), expectedVersion)
		}
		if cur.GetState() == v1.CampaignState_CAMPAIGN_STATE_ARCHIVED {
			return nil, apierr.FailedPrecondition("campaign %q is archived: archived campaigns cannot be changed", cur.GetId())
		}
		var next *v1.Campaign
		if len(paths) == 0 {
			next = writable(in)
		} else {
			next = writable(cur)
			fieldmask.Apply(next, in, paths)
		}
		gc, err := s.check(next, cur)
		if err != nil {
			return nil, err
		}
		if err := requireMiniProgram(tx, next.GetMiniProgramId()); err != nil {
			return nil, err
		}
		next.Id, next.AdvertiserId, next.State = cur.GetId(), cur.GetAdvertiserId(), cur.GetState()
		next.Version = cur.GetVersion() + 1
		next.CreateTime = cur.GetCreateTime()
		next.UpdateTime = timestamppb.New(s.now())
		out = next
		cov := rec.cov
		if gc != nil {
			cov = encodeCovering(gc)
		} else {
			gc = DecodeCovering(cov)
		}
		return []Change{{ID: next.GetId(), New: next, Covering: gc}}, put(tx, next, cov)
	})
	if err != nil {
		return nil, err
	}
	return s.withStatus(proto.Clone(out).(*v1.Campaign)), nil
}

// Action is a state change a caller asks for.
type Action int

// The state changes of the contract.
const (
	Pause Action = iota + 1
	Resume
	Archive
)

func (a Action) String() string {
	switch a {
	case Pause:
		return "paused"
	case Resume:
		return "resumed"
	case Archive:
		return "archived"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// SetState applies a to campaign id. Archived is final: pausing or resuming
// an archived campaign is FAILED_PRECONDITION. A change to the state the
// campaign is already in (pause a paused one, resume an active one, archive
// an archived one) succeeds without a write, so a retry after a lost answer
// neither fails nor bumps the version.
func (s *Store) SetState(ctx context.Context, t Tenant, id string, a Action) (*v1.Campaign, error) {
	var out *v1.Campaign
	err := s.update(ctx, func(tx store.Tx) ([]Change, error) {
		rec, err := getOwned(tx, t, id)
		if err != nil {
			return nil, err
		}
		cur := rec.c
		var want v1.CampaignState
		switch a {
		case Pause:
			want = v1.CampaignState_CAMPAIGN_STATE_PAUSED
		case Resume:
			want = v1.CampaignState_CAMPAIGN_STATE_ACTIVE
		case Archive:
			want = v1.CampaignState_CAMPAIGN_STATE_ARCHIVED
		default:
			return nil, fmt.Errorf("campaign: unknown action %d", a)
		}
		out = cur
		switch {
		case cur.GetState() == want:
			return nil, nil
		case cur.GetState() == v1.CampaignState_CAMPAIGN_STATE_ARCHIVED:
			return nil, apierr.FailedPrecondition("campaign %q is archived and cannot be %s: archived is final", id, a)
		}
		cur.State = want
		cur.Version++
		cur.UpdateTime = timestamppb.New(s.now())
		return []Change{{ID: id, New: cur, Covering: DecodeCovering(rec.cov)}}, put(tx, cur, rec.cov)
	})
	if err != nil {
		return nil, err
	}
	return s.withStatus(proto.Clone(out).(*v1.Campaign)), nil
}

// List returns up to n campaigns that t may see with ids after `after`, in
// id order, with their serving status. more reports whether any such
// campaign follows the page.
//
// An advertiser's page is found by scanning every campaign and skipping the
// others': fine for thousands of campaigns; a per-advertiser key index is
// the step after that.
func (s *Store) List(ctx context.Context, t Tenant, after string, n int) (page []*v1.Campaign, more bool, err error) {
	err = s.st.View(ctx, func(tx store.Tx) error {
		var derr error
		scanAfter := ""
		if after != "" {
			scanAfter = Key(after)
		}
		serr := tx.Scan(KeyPrefix, scanAfter, func(key string, val []byte) bool {
			c, err := Decode(key[len(KeyPrefix):], val)
			if err != nil {
				derr = err
				return false
			}
			if !t.owns(c) {
				return true
			}
			if len(page) == n {
				more = true
				return false
			}
			page = append(page, c)
			return true
		})
		if serr != nil {
			return serr
		}
		return derr
	})
	if err != nil {
		return nil, false, err
	}
	for _, c := range page {
		s.withStatus(c)
	}
	return page, more, nil
}

// Load calls fn for every stored campaign in id order, as stored (no
// serving status), with the encoded covering its record carries (nil if
// none; see DecodeCovering): what the covering index builds itself from at
// start. A corrupt record stops the load with an error.
func (s *Store) Load(ctx context.Context, fn func(c *v1.Campaign, cov []byte) error) error {
	return s.st.View(ctx, func(tx store.Tx) error {
		var ferr error
		err := tx.Scan(KeyPrefix, "", func(key string, val []byte) bool {
			c, cov, err := decodeRecord(key[len(KeyPrefix):], val)
			if err == nil {
				err = fn(c, cov)
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
