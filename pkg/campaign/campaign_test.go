package campaign

import (
	"context"
	"errors"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/catalog"
	"github.com/aroundme/aroundme/pkg/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

func sample() *v1.Campaign {
	return &v1.Campaign{
		Name: "Spring", MiniProgramId: "bike",
		Geofence: &v1.Geofence{Include: []*v1.Area{{Shape: &v1.Area_Circle{Circle: &v1.Circle{
			Center: &v1.LatLng{Latitude: 39.9, Longitude: 116.4}, RadiusM: 500}}}}},
		Budget:   &v1.Budget{TotalMicros: 100},
		Bid:      &v1.Bid{Model: v1.PricingModel_PRICING_MODEL_CPC, AmountMicros: 5},
		Creative: &v1.Creative{Headline: "Ride"},
	}
}

func code(err error) codes.Code {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return codes.OK
	}
	return codes.Unknown
}

// TestListenersAndSpend: listeners get every write, in order, as stored
// (never a serving status), and only writes; the spend hook decides
// BUDGET_EXHAUSTED.
func TestListenersAndSpend(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.Set(catalog.Key("bike"), []byte{}) }); err != nil {
		t.Fatal(err)
	}
	spent := int64(0)
	s := New(st, Options{Now: func() time.Time { return time.Unix(1e9, 0) }, Spend: func(string) int64 { return spent }})
	var got []Change
	s.Listen(func(ch []Change) { got = append(got, ch...) })

	acme := Tenant{AdvertiserID: "acme"}
	c, err := s.Create(ctx, acme, sample())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetState(ctx, acme, c.GetId(), Pause); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetState(ctx, acme, c.GetId(), Pause); err != nil { // no write
		t.Fatal(err)
	}
	if _, err := s.SetState(ctx, Tenant{AdvertiserID: "other"}, c.GetId(), Resume); code(err) != codes.NotFound {
		t.Fatalf("other tenant: %v", err)
	}
	if _, err := s.SetState(ctx, Tenant{}, c.GetId(), Resume); code(err) != codes.NotFound {
		t.Fatalf("zero tenant: %v", err)
	}
	if _, err := s.Create(ctx, Tenant{All: true}, sample()); code(err) != codes.PermissionDenied {
		t.Fatalf("admin create: %v", err)
	}
	r, err := s.SetState(ctx, Tenant{All: true}, c.GetId(), Resume)
	if err != nil || r.GetServingStatus() != v1.ServingStatus_SERVING_STATUS_SERVING {
		t.Fatalf("resume: %v %v", err, r)
	}
	if len(got) != 3 || got[0].New.GetVersion() != 1 || got[1].New.GetVersion() != 2 || got[2].New.GetVersion() != 3 {
		t.Fatalf("changes: %v", got)
	}
	for _, ch := range got {
		if ch.ID != c.GetId() || ch.New.GetServingStatus() != 0 || ch.New.GetCoverage().GetCellCount() == 0 {
			t.Fatalf("change %v", ch)
		}
	}
	spent = 100
	g, err := s.Get(ctx, acme, c.GetId())
	if err != nil || g.GetServingStatus() != v1.ServingStatus_SERVING_STATUS_BUDGET_EXHAUSTED {
		t.Fatalf("spent budget: %v %v", err, g.GetServingStatus())
	}
	// What is stored carries no serving status.
	var n int
	if err := s.Load(ctx, func(c *v1.Campaign, cov []byte) error {
		n++
		if c.GetServingStatus() != 0 || !proto.Equal(c, got[2].New) {
			t.Fatalf("stored %v\nwant %v", c, got[2].New)
		}
		// The record carries its covering through every later write, so a
		// restart need not cover the fence again.
		gc := DecodeCovering(cov)
		if gc == nil || int64(gc.CellCount()) != c.GetCoverage().GetCellCount() || gc.CellCount() != got[0].Covering.CellCount() {
			t.Fatalf("stored covering %v, coverage %v", gc, c.GetCoverage())
		}
		return nil
	}); err != nil || n != 1 {
		t.Fatalf("load: %v %d", err, n)
	}
}

// TestCorruptRecord: a record that does not parse fails reads instead of
// vanishing from them.
func TestCorruptRecord(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.Set(Key("c-bad"), []byte{0xff, 0xff}) }); err != nil {
		t.Fatal(err)
	}
	s := New(st, Options{})
	if _, _, err := s.List(ctx, Tenant{All: true}, "", 10); err == nil || code(err) != codes.Unknown {
		t.Fatalf("list: %v", err)
	}
	if _, err := s.Get(ctx, Tenant{All: true}, "c-bad"); err == nil || code(err) != codes.Unknown {
		t.Fatalf("get: %v", err)
	}
}
