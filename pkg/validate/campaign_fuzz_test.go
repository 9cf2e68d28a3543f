package validate

import (
	"math"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func seedCampaign() *v1.Campaign {
	return &v1.Campaign{
		Name: "Spring", MiniProgramId: "bike",
		Geofence: &v1.Geofence{Include: []*v1.Area{
			{Shape: &v1.Area_Circle{Circle: &v1.Circle{Center: &v1.LatLng{Latitude: 39.9, Longitude: 116.4}, RadiusM: 500}}},
			{Shape: &v1.Area_Polygon{Polygon: &v1.Polygon{Vertices: []*v1.LatLng{{Latitude: 39.9, Longitude: 116.4}, {Latitude: 39.91, Longitude: 116.4}, {Latitude: 39.9, Longitude: 116.41}}}}},
			{Shape: &v1.Area_Cells{Cells: &v1.CellSet{H3Cells: []string{"8931aa42a6fffff"}}}},
		}},
		Targeting:    &v1.Targeting{MinAge: 18, Genders: []v1.Gender{1}},
		Schedule:     &v1.Schedule{TimeZone: "Asia/Shanghai", Dayparts: []*v1.Daypart{{Days: []v1.DayOfWeek{1}, StartMinute: 60, EndMinute: 120}}},
		Budget:       &v1.Budget{TotalMicros: 100, DailyMicros: 10},
		Bid:          &v1.Bid{Model: 1, AmountMicros: 5},
		FrequencyCap: &v1.FrequencyCap{MaxImpressions: 2, Window: durationpb.New(time.Hour)},
		Creative:     &v1.Creative{Headline: "Ride", ImageUrl: "https://x.example/a.png"},
	}
}

// FuzzCampaignRequest feeds arbitrary bytes, decoded as each campaign
// request, through the real validation (geo's shape checks included): it
// must never panic, and whatever it accepts must satisfy the contract's
// invariants.
func FuzzCampaignRequest(f *testing.F) {
	for _, m := range []proto.Message{
		&v1.CreateCampaignRequest{Campaign: seedCampaign()},
		&v1.UpdateCampaignRequest{Campaign: seedCampaign(), UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"budget.total_micros"}}},
		&v1.ListCampaignsRequest{PageSize: 10},
		&v1.GetCampaignRequest{Id: "c-0123456789abcdef"},
	} {
		b, _ := proto.Marshal(m)
		for kind := range uint8(4) {
			f.Add(kind, b)
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		var req proto.Message
		switch kind % 4 {
		case 0:
			req = &v1.CreateCampaignRequest{}
		case 1:
			req = &v1.UpdateCampaignRequest{}
		case 2:
			req = &v1.ListCampaignsRequest{}
		default:
			req = &v1.PauseCampaignRequest{}
		}
		if proto.Unmarshal(data, req) != nil || Request(req) != nil {
			return
		}
		var c *v1.Campaign
		switch r := req.(type) {
		case *v1.CreateCampaignRequest:
			c = r.GetCampaign()
		case *v1.UpdateCampaignRequest:
			if !ValidID(r.GetCampaign().GetId()) {
				t.Fatalf("accepted id %q", r.GetCampaign().GetId())
			}
			if len(r.GetUpdateMask().GetPaths()) == 0 {
				c = r.GetCampaign()
			}
		case *v1.ListCampaignsRequest:
			if r.PageSize < 0 || r.PageSize > MaxPageSize {
				t.Fatalf("accepted page_size %d", r.PageSize)
			}
		case *v1.PauseCampaignRequest:
			if !ValidID(r.GetId()) {
				t.Fatalf("accepted id %q", r.GetId())
			}
		}
		if c == nil {
			return
		}
		if len(c.GetGeofence().GetInclude()) == 0 {
			t.Fatal("accepted a geofence without include areas")
		}
		for _, a := range append(c.GetGeofence().GetInclude(), c.GetGeofence().GetExclude()...) {
			if a.GetShape() == nil {
				t.Fatal("accepted an area without a shape")
			}
			if r := a.GetCircle().GetRadiusM(); a.GetCircle() != nil && !(r >= 10 && r <= 50000) {
				t.Fatalf("accepted radius %v", r)
			}
			if ll := a.GetCircle().GetCenter(); ll != nil && (math.IsNaN(ll.Latitude) || math.Abs(ll.Latitude) > 90) {
				t.Fatalf("accepted centre %v", ll)
			}
			if n := len(a.GetPolygon().GetVertices()); a.GetPolygon() != nil && (n < 3 || n > 1001) {
				t.Fatalf("accepted %d vertices", n) // 1001: a repeated closing vertex
			}
		}
		if c.GetBudget().GetTotalMicros() <= 0 || c.GetBudget().GetDailyMicros() < 0 || c.GetBudget().GetDailyMicros() > c.GetBudget().GetTotalMicros() {
			t.Fatalf("accepted budget %v", c.GetBudget())
		}
		if b := c.GetBid(); b.GetAmountMicros() <= 0 || (b.GetModel() != v1.PricingModel_PRICING_MODEL_CPM && b.GetModel() != v1.PricingModel_PRICING_MODEL_CPC) {
			t.Fatalf("accepted bid %v", b)
		}
		if s := c.GetSchedule(); s.GetStartTime() != nil && s.GetEndTime() != nil && !s.GetStartTime().AsTime().Before(s.GetEndTime().AsTime()) {
			t.Fatalf("accepted schedule %v", s)
		}
		for _, d := range c.GetSchedule().GetDayparts() {
			if d.StartMinute < 0 || d.EndMinute <= d.StartMinute || d.EndMinute > 1440 {
				t.Fatalf("accepted daypart %v", d)
			}
		}
		if fc := c.GetFrequencyCap(); fc.GetMaxImpressions() > 0 && fc.GetWindow().AsDuration() <= 0 {
			t.Fatalf("accepted frequency cap %v", fc)
		}
	})
}
