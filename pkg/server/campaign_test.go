package server

import (
	"math"
	"strings"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/config"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// promotedMP is the mini-program the test campaigns promote.
const promotedMP = "sunny-bike"

func (h *harness) campaigns() v1.CampaignServiceClient { return v1.NewCampaignServiceClient(h.conn) }

// newCampaignHarness is a harness whose catalog holds promotedMP.
func newCampaignHarness(t *testing.T, dataDir string, mutate ...func(*config.Config)) *harness {
	t.Helper()
	h := newHarness(t, dataDir, mutate...)
	if _, err := h.catalog().GetMiniProgram(as(adminKey), &v1.GetMiniProgramRequest{Id: promotedMP}); err != nil {
		create(t, h, sample(promotedMP))
	}
	return h
}

func circleArea(lat, lng, radiusM float64) *v1.Area {
	return &v1.Area{Shape: &v1.Area_Circle{Circle: &v1.Circle{Center: &v1.LatLng{Latitude: lat, Longitude: lng}, RadiusM: radiusM}}}
}

func polygonArea(vs ...[2]float64) *v1.Area {
	p := &v1.Polygon{}
	for _, v := range vs {
		p.Vertices = append(p.Vertices, &v1.LatLng{Latitude: v[0], Longitude: v[1]})
	}
	return &v1.Area{Shape: &v1.Area_Polygon{Polygon: p}}
}

// sampleCampaign is a valid campaign: a 1 km circle in Sanlitun.
func sampleCampaign() *v1.Campaign {
	return &v1.Campaign{
		Name:          "Spring rides",
		MiniProgramId: promotedMP,
		Geofence:      &v1.Geofence{Include: []*v1.Area{circleArea(39.9334, 116.4540, 1000)}},
		Targeting: &v1.Targeting{MinAge: 18, MaxAge: 60, Genders: []v1.Gender{v1.Gender_GENDER_FEMALE},
			OperatingSystems: []v1.OperatingSystem{v1.OperatingSystem_OPERATING_SYSTEM_IOS}, MinCreditScore: 600},
		Schedule: &v1.Schedule{TimeZone: "Asia/Shanghai", Dayparts: []*v1.Daypart{
			{Days: []v1.DayOfWeek{v1.DayOfWeek_DAY_OF_WEEK_MONDAY}, StartMinute: 7 * 60, EndMinute: 24 * 60}}},
		Budget:       &v1.Budget{TotalMicros: 1_000_000_000, DailyMicros: 100_000_000, Pacing: v1.Pacing_PACING_ASAP},
		Bid:          &v1.Bid{Model: v1.PricingModel_PRICING_MODEL_CPM, AmountMicros: 2_000_000},
		FrequencyCap: &v1.FrequencyCap{MaxImpressions: 3, Window: durationpb.New(24 * time.Hour)},
		Creative:     &v1.Creative{Headline: "Ride for free today", CallToAction: "Ride now", ImageUrl: "https://cdn.example.com/ad.png"},
	}
}

func mustCreateCampaign(t *testing.T, h *harness, key string, c *v1.Campaign) *v1.Campaign {
	t.Helper()
	resp, err := h.campaigns().CreateCampaign(as(key), &v1.CreateCampaignRequest{Campaign: c})
	if err != nil {
		t.Fatalf("create campaign: %v", err)
	}
	return resp.GetCampaign()
}

func TestCreateCampaign(t *testing.T) {
	h := newCampaignHarness(t, "")
	cc := h.campaigns()
	ts := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(h.now.Add(d)) }
	tests := []struct {
		name   string
		mutate func(c *v1.Campaign)
		status v1.ServingStatus
	}{
		{"no schedule serves now", func(c *v1.Campaign) { c.Schedule = nil }, v1.ServingStatus_SERVING_STATUS_SERVING},
		{"inside the schedule", func(c *v1.Campaign) {
			c.Schedule.StartTime, c.Schedule.EndTime = ts(-time.Hour), ts(time.Hour)
		}, v1.ServingStatus_SERVING_STATUS_SERVING},
		{"before start", func(c *v1.Campaign) { c.Schedule.StartTime = ts(time.Hour) }, v1.ServingStatus_SERVING_STATUS_PENDING},
		{"after end", func(c *v1.Campaign) {
			c.Schedule.StartTime, c.Schedule.EndTime = ts(-2*time.Hour), ts(-time.Hour)
		}, v1.ServingStatus_SERVING_STATUS_ENDED},
		{"output-only fields are ignored", func(c *v1.Campaign) {
			c.Id, c.AdvertiserId, c.State = "c-mine", "other", v1.CampaignState_CAMPAIGN_STATE_ARCHIVED
			c.ServingStatus, c.Version = v1.ServingStatus_SERVING_STATUS_ENDED, 7
			c.Coverage = &v1.Coverage{CellCount: 1, AreaKm2: 1}
			c.CreateTime = ts(-time.Hour)
		}, v1.ServingStatus_SERVING_STATUS_SERVING},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := sampleCampaign()
			tc.mutate(in)
			got := mustCreateCampaign(t, h, acmeKey, in)
			if !strings.HasPrefix(got.GetId(), "c-") || len(got.GetId()) != 18 || got.GetId() == "c-mine" {
				t.Fatalf("id %q: want server-assigned c-<16 hex>", got.GetId())
			}
			if got.GetAdvertiserId() != "acme" || got.GetState() != v1.CampaignState_CAMPAIGN_STATE_ACTIVE || got.GetVersion() != 1 {
				t.Fatalf("advertiser %q state %v version %d", got.GetAdvertiserId(), got.GetState(), got.GetVersion())
			}
			if !got.GetCreateTime().AsTime().Equal(h.now) || !proto.Equal(got.GetCreateTime(), got.GetUpdateTime()) {
				t.Fatalf("times %v %v, want %v", got.GetCreateTime(), got.GetUpdateTime(), h.now)
			}
			if got.GetServingStatus() != tc.status {
				t.Fatalf("serving status %v, want %v", got.GetServingStatus(), tc.status)
			}
			// A 1 km circle: π km², a few hundred cells.
			if cov := got.GetCoverage(); math.Abs(cov.GetAreaKm2()-math.Pi)/math.Pi > 0.01 || cov.GetCellCount() < 10 {
				t.Fatalf("coverage %v", cov)
			}
			read, err := cc.GetCampaign(as(acmeKey), &v1.GetCampaignRequest{Id: got.GetId()})
			if err != nil || !proto.Equal(read.GetCampaign(), got) {
				t.Fatalf("get: %v\n%v\nwant %v", err, read.GetCampaign(), got)
			}
		})
	}
}

func TestCreateCampaignValidation(t *testing.T) {
	h := newCampaignHarness(t, "")
	cc := h.campaigns()
	ts := func(d time.Duration) *timestamppb.Timestamp { return timestamppb.New(h.now.Add(d)) }
	ring := func(n int) *v1.Area {
		vs := make([][2]float64, n)
		for i := range vs {
			a := 2 * math.Pi * float64(i) / float64(n)
			vs[i] = [2]float64{39.9 + 0.01*math.Sin(a), 116.4 + 0.01*math.Cos(a)}
		}
		return polygonArea(vs...)
	}
	const g = "campaign.geofence."
	tests := []struct {
		name   string
		mutate func(c *v1.Campaign)
		code   codes.Code
		field  string
	}{
		{"valid", func(*v1.Campaign) {}, codes.OK, ""},
		{"valid polygon, cells and exclude", func(c *v1.Campaign) {
			c.Geofence.Include = append(c.Geofence.Include, ring(8),
				&v1.Area{Shape: &v1.Area_Cells{Cells: &v1.CellSet{H3Cells: []string{"8931aa42a6fffff"}}}})
			c.Geofence.Exclude = []*v1.Area{circleArea(39.9334, 116.4540, 100)}
		}, codes.OK, ""},
		{"minimal", func(c *v1.Campaign) { c.Targeting, c.Schedule, c.FrequencyCap = nil, nil, nil }, codes.OK, ""},
		{"name missing", func(c *v1.Campaign) { c.Name = "" }, codes.InvalidArgument, "campaign.name"},
		{"name too long", func(c *v1.Campaign) { c.Name = strings.Repeat("n", 81) }, codes.InvalidArgument, "campaign.name"},
		{"name 80 runes", func(c *v1.Campaign) { c.Name = strings.Repeat("名", 80) }, codes.OK, ""},
		{"mini_program_id missing", func(c *v1.Campaign) { c.MiniProgramId = "" }, codes.InvalidArgument, "campaign.mini_program_id"},
		{"mini_program_id malformed", func(c *v1.Campaign) { c.MiniProgramId = "Bad Id" }, codes.InvalidArgument, "campaign.mini_program_id"},
		{"mini-program does not exist", func(c *v1.Campaign) { c.MiniProgramId = "no-such-app" }, codes.FailedPrecondition, ""},
		{"geofence missing", func(c *v1.Campaign) { c.Geofence = nil }, codes.InvalidArgument, "campaign.geofence"},
		{"no include", func(c *v1.Campaign) { c.Geofence.Include = nil }, codes.InvalidArgument, g + "include"},
		{"area without shape", func(c *v1.Campaign) { c.Geofence.Include = []*v1.Area{{}} }, codes.InvalidArgument, g + "include[0]"},
		{"circle too small", func(c *v1.Campaign) { c.Geofence.Include[0] = circleArea(39.9, 116.4, 9) }, codes.InvalidArgument, g + "include[0].circle.radius_m"},
		{"circle too large", func(c *v1.Campaign) { c.Geofence.Include[0] = circleArea(39.9, 116.4, 50001) }, codes.InvalidArgument, g + "include[0].circle.radius_m"},
		{"circle radius NaN", func(c *v1.Campaign) { c.Geofence.Include[0] = circleArea(39.9, 116.4, math.NaN()) }, codes.InvalidArgument, g + "include[0].circle.radius_m"},
		{"circle centre missing", func(c *v1.Campaign) {
			c.Geofence.Include[0].GetCircle().Center = nil
		}, codes.InvalidArgument, g + "include[0].circle.center"},
		{"circle centre off the globe", func(c *v1.Campaign) { c.Geofence.Include[0] = circleArea(91, 116.4, 100) }, codes.InvalidArgument, g + "include[0].circle.center"},
		{"polygon of 2 vertices", func(c *v1.Campaign) {
			c.Geofence.Include[0] = polygonArea([2]float64{39.9, 116.4}, [2]float64{39.91, 116.41})
		}, codes.InvalidArgument, g + "include[0].polygon.vertices"},
		{"polygon of 1001 vertices", func(c *v1.Campaign) { c.Geofence.Include[0] = ring(1001) }, codes.InvalidArgument, g + "include[0].polygon.vertices"},
		{"polygon of 1000 vertices", func(c *v1.Campaign) { c.Geofence.Include[0] = ring(1000) }, codes.OK, ""},
		{"polygon vertex off the globe", func(c *v1.Campaign) {
			a := ring(5)
			a.GetPolygon().Vertices[3].Latitude = 99
			c.Geofence.Include[0] = a
		}, codes.InvalidArgument, g + "include[0].polygon.vertices[3]"},
		{"self-crossing polygon", func(c *v1.Campaign) {
			c.Geofence.Include[0] = polygonArea([2]float64{0, 0}, [2]float64{1, 1}, [2]float64{0, 1}, [2]float64{1, 0})
		}, codes.InvalidArgument, ""},
		{"cell not hex", func(c *v1.Campaign) {
			c.Geofence.Include[0] = &v1.Area{Shape: &v1.Area_Cells{Cells: &v1.CellSet{H3Cells: []string{"8931aa42a6fffff", "zz"}}}}
		}, codes.InvalidArgument, g + "include[0].cells.h3_cells[1]"},
		{"empty cell set", func(c *v1.Campaign) {
			c.Geofence.Include[0] = &v1.Area{Shape: &v1.Area_Cells{Cells: &v1.CellSet{}}}
		}, codes.InvalidArgument, g + "include[0].cells.h3_cells"},
		{"bad exclude", func(c *v1.Campaign) {
			c.Geofence.Exclude = []*v1.Area{circleArea(39.9, 116.4, 1)}
		}, codes.InvalidArgument, g + "exclude[0].circle.radius_m"},
		{"too many areas", func(c *v1.Campaign) {
			for range 100 {
				c.Geofence.Include = append(c.Geofence.Include, circleArea(39.9, 116.4, 100))
			}
		}, codes.InvalidArgument, g + "include"},
		{"min_age negative", func(c *v1.Campaign) { c.Targeting.MinAge = -1 }, codes.InvalidArgument, "campaign.targeting.min_age"},
		{"max_age over 150", func(c *v1.Campaign) { c.Targeting.MaxAge = 151 }, codes.InvalidArgument, "campaign.targeting.max_age"},
		{"min_age above max_age", func(c *v1.Campaign) { c.Targeting.MinAge, c.Targeting.MaxAge = 40, 30 }, codes.InvalidArgument, "campaign.targeting.max_age"},
		{"gender unspecified", func(c *v1.Campaign) { c.Targeting.Genders = []v1.Gender{0} }, codes.InvalidArgument, "campaign.targeting.genders[0]"},
		{"gender unknown", func(c *v1.Campaign) { c.Targeting.Genders = []v1.Gender{1, 99} }, codes.InvalidArgument, "campaign.targeting.genders[1]"},
		{"os unspecified", func(c *v1.Campaign) { c.Targeting.OperatingSystems = []v1.OperatingSystem{0} }, codes.InvalidArgument, "campaign.targeting.operating_systems[0]"},
		{"credit score over 1000", func(c *v1.Campaign) { c.Targeting.MinCreditScore = 1001 }, codes.InvalidArgument, "campaign.targeting.min_credit_score"},
		{"credit score negative", func(c *v1.Campaign) { c.Targeting.MinCreditScore = -1 }, codes.InvalidArgument, "campaign.targeting.min_credit_score"},
		{"end before start", func(c *v1.Campaign) { c.Schedule.StartTime, c.Schedule.EndTime = ts(time.Hour), ts(0) }, codes.InvalidArgument, "campaign.schedule.end_time"},
		{"end equals start", func(c *v1.Campaign) { c.Schedule.StartTime, c.Schedule.EndTime = ts(0), ts(0) }, codes.InvalidArgument, "campaign.schedule.end_time"},
		{"invalid timestamp", func(c *v1.Campaign) { c.Schedule.StartTime = &timestamppb.Timestamp{Nanos: -1} }, codes.InvalidArgument, "campaign.schedule.start_time"},
		{"unknown time zone", func(c *v1.Campaign) { c.Schedule.TimeZone = "Mars/Olympus_Mons" }, codes.InvalidArgument, "campaign.schedule.time_zone"},
		{"Local is not a zone", func(c *v1.Campaign) { c.Schedule.TimeZone = "Local" }, codes.InvalidArgument, "campaign.schedule.time_zone"},
		{"empty time zone is UTC", func(c *v1.Campaign) { c.Schedule.TimeZone = "" }, codes.OK, ""},
		{"daypart start 1440", func(c *v1.Campaign) { c.Schedule.Dayparts[0].StartMinute = 1440 }, codes.InvalidArgument, "campaign.schedule.dayparts[0].start_minute"},
		{"daypart start negative", func(c *v1.Campaign) { c.Schedule.Dayparts[0].StartMinute = -1 }, codes.InvalidArgument, "campaign.schedule.dayparts[0].start_minute"},
		{"daypart end not after start", func(c *v1.Campaign) { c.Schedule.Dayparts[0].EndMinute = 7 * 60 }, codes.InvalidArgument, "campaign.schedule.dayparts[0].end_minute"},
		{"daypart end past midnight", func(c *v1.Campaign) { c.Schedule.Dayparts[0].EndMinute = 1441 }, codes.InvalidArgument, "campaign.schedule.dayparts[0].end_minute"},
		{"daypart day unspecified", func(c *v1.Campaign) { c.Schedule.Dayparts[0].Days = []v1.DayOfWeek{0} }, codes.InvalidArgument, "campaign.schedule.dayparts[0].days[0]"},
		{"daypart day unknown", func(c *v1.Campaign) { c.Schedule.Dayparts[0].Days = []v1.DayOfWeek{8} }, codes.InvalidArgument, "campaign.schedule.dayparts[0].days[0]"},
		{"budget missing", func(c *v1.Campaign) { c.Budget = nil }, codes.InvalidArgument, "campaign.budget"},
		{"total zero", func(c *v1.Campaign) { c.Budget.TotalMicros, c.Budget.DailyMicros = 0, 0 }, codes.InvalidArgument, "campaign.budget.total_micros"},
		{"daily negative", func(c *v1.Campaign) { c.Budget.DailyMicros = -1 }, codes.InvalidArgument, "campaign.budget.daily_micros"},
		{"daily above total", func(c *v1.Campaign) { c.Budget.DailyMicros = c.Budget.TotalMicros + 1 }, codes.InvalidArgument, "campaign.budget.daily_micros"},
		{"pacing unknown", func(c *v1.Campaign) { c.Budget.Pacing = 7 }, codes.InvalidArgument, "campaign.budget.pacing"},
		{"pacing unspecified is even", func(c *v1.Campaign) { c.Budget.Pacing = 0 }, codes.OK, ""},
		{"bid missing", func(c *v1.Campaign) { c.Bid = nil }, codes.InvalidArgument, "campaign.bid"},
		{"bid model missing", func(c *v1.Campaign) { c.Bid.Model = 0 }, codes.InvalidArgument, "campaign.bid.model"},
		{"bid model unknown", func(c *v1.Campaign) { c.Bid.Model = 3 }, codes.InvalidArgument, "campaign.bid.model"},
		{"bid amount zero", func(c *v1.Campaign) { c.Bid.AmountMicros = 0 }, codes.InvalidArgument, "campaign.bid.amount_micros"},
		{"cap negative", func(c *v1.Campaign) { c.FrequencyCap.MaxImpressions = -1 }, codes.InvalidArgument, "campaign.frequency_cap.max_impressions"},
		{"cap without window", func(c *v1.Campaign) { c.FrequencyCap.Window = nil }, codes.InvalidArgument, "campaign.frequency_cap.window"},
		{"cap window zero", func(c *v1.Campaign) { c.FrequencyCap.Window = durationpb.New(0) }, codes.InvalidArgument, "campaign.frequency_cap.window"},
		{"cap window over 30 days", func(c *v1.Campaign) { c.FrequencyCap.Window = durationpb.New(31 * 24 * time.Hour) }, codes.InvalidArgument, "campaign.frequency_cap.window"},
		{"no cap needs no window", func(c *v1.Campaign) { c.FrequencyCap = &v1.FrequencyCap{} }, codes.OK, ""},
		{"creative missing", func(c *v1.Campaign) { c.Creative = nil }, codes.InvalidArgument, "campaign.creative"},
		{"headline missing", func(c *v1.Campaign) { c.Creative.Headline = "" }, codes.InvalidArgument, "campaign.creative.headline"},
		{"headline too long", func(c *v1.Campaign) { c.Creative.Headline = strings.Repeat("h", 41) }, codes.InvalidArgument, "campaign.creative.headline"},
		{"call to action too long", func(c *v1.Campaign) { c.Creative.CallToAction = strings.Repeat("c", 41) }, codes.InvalidArgument, "campaign.creative.call_to_action"},
		{"image url not http", func(c *v1.Campaign) { c.Creative.ImageUrl = "ftp://example.com/a.png" }, codes.InvalidArgument, "campaign.creative.image_url"},
		{"image url relative", func(c *v1.Campaign) { c.Creative.ImageUrl = "/a.png" }, codes.InvalidArgument, "campaign.creative.image_url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := sampleCampaign()
			tc.mutate(c)
			_, err := cc.CreateCampaign(as(acmeKey), &v1.CreateCampaignRequest{Campaign: c})
			wantCode(t, err, tc.code, tc.field)
		})
	}
	t.Run("campaign missing", func(t *testing.T) {
		_, err := cc.CreateCampaign(as(acmeKey), &v1.CreateCampaignRequest{})
		wantCode(t, err, codes.InvalidArgument, "campaign")
	})
}

// TestCampaignFenceCap: a fence whose covering needs more than
// --max-fence-cells is refused at the shape that crossed the cap. (A circle
// of any size covers in about 220 cells: the resolution follows the
// perimeter. Two of them cross 300.)
func TestCampaignFenceCap(t *testing.T) {
	h := newCampaignHarness(t, "", func(c *config.Config) { c.Campaign.MaxFenceCells = 300 })
	c := sampleCampaign()
	c.Geofence.Include = append(c.Geofence.Include, circleArea(31.23, 121.47, 20000))
	_, err := h.campaigns().CreateCampaign(as(acmeKey), &v1.CreateCampaignRequest{Campaign: c})
	wantCode(t, err, codes.InvalidArgument, "campaign.geofence.include[1].circle")
	c.Geofence.Include = c.Geofence.Include[:1]
	mustCreateCampaign(t, h, acmeKey, c)
}

func TestCampaignTenancy(t *testing.T) {
	h := newCampaignHarness(t, "")
	cc := h.campaigns()
	mine := mustCreateCampaign(t, h, acmeKey, sampleCampaign())
	theirs := mustCreateCampaign(t, h, otherKey, sampleCampaign())
	if theirs.GetAdvertiserId() != "other" {
		t.Fatalf("advertiser %q", theirs.GetAdvertiserId())
	}
	id := mine.GetId()
	upd := func(key string) error {
		c := sampleCampaign()
		c.Id, c.Name = id, "renamed by "+key
		_, err := cc.UpdateCampaign(as(key), &v1.UpdateCampaignRequest{Campaign: c, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
		return err
	}
	calls := map[string]func(key string) error{
		"get": func(key string) error {
			_, err := cc.GetCampaign(as(key), &v1.GetCampaignRequest{Id: id})
			return err
		},
		"update": upd,
		"pause": func(key string) error {
			_, err := cc.PauseCampaign(as(key), &v1.PauseCampaignRequest{Id: id})
			return err
		},
		"resume": func(key string) error {
			_, err := cc.ResumeCampaign(as(key), &v1.ResumeCampaignRequest{Id: id})
			return err
		},
		"archive": func(key string) error {
			_, err := cc.ArchiveCampaign(as(key), &v1.ArchiveCampaignRequest{Id: id})
			return err
		},
	}
	// Another advertiser gets NOT_FOUND for everything, and changes nothing;
	// a client is refused by role. (Archive last, as admin: it is final.)
	for _, name := range []string{"get", "update", "pause", "resume", "archive"} {
		t.Run("other/"+name, func(t *testing.T) { wantCode(t, calls[name](otherKey), codes.NotFound, "") })
		t.Run("client/"+name, func(t *testing.T) { wantCode(t, calls[name](clientKey), codes.PermissionDenied, "") })
	}
	got, err := cc.GetCampaign(as(acmeKey), &v1.GetCampaignRequest{Id: id})
	if err != nil || !proto.Equal(got.GetCampaign(), mine) {
		t.Fatalf("another advertiser changed the campaign: %v %v", err, got)
	}
	// The answer for another's campaign is the answer for no campaign.
	_, errOther := cc.GetCampaign(as(otherKey), &v1.GetCampaignRequest{Id: id})
	_, errNone := cc.GetCampaign(as(otherKey), &v1.GetCampaignRequest{Id: "c-0000000000000000"})
	if strings.ReplaceAll(errOther.Error(), id, "X") != strings.ReplaceAll(errNone.Error(), "c-0000000000000000", "X") {
		t.Fatalf("not-found answers differ: %v / %v", errOther, errNone)
	}
	// Lists show only one's own; the admin's shows everything.
	for key, want := range map[string][]string{acmeKey: {mine.GetId()}, otherKey: {theirs.GetId()}, adminKey: {mine.GetId(), theirs.GetId()}} {
		resp, err := cc.ListCampaigns(as(key), &v1.ListCampaignsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range resp.GetCampaigns() {
			got = append(got, c.GetId())
		}
		if strings.Join(sortedCopy(got), ",") != strings.Join(sortedCopy(want), ",") {
			t.Errorf("list as %s: %v, want %v", key, got, want)
		}
	}
	// An admin acts on any advertiser's campaign, which stays the advertiser's.
	for _, name := range []string{"get", "update", "pause", "resume", "archive"} {
		if err := calls[name](adminKey); err != nil {
			t.Fatalf("admin %s: %v", name, err)
		}
	}
	got, err = cc.GetCampaign(as(acmeKey), &v1.GetCampaignRequest{Id: id})
	if err != nil || got.GetCampaign().GetAdvertiserId() != "acme" || got.GetCampaign().GetState() != v1.CampaignState_CAMPAIGN_STATE_ARCHIVED || got.GetCampaign().GetVersion() != 5 {
		t.Fatalf("after the admin's changes: %v %v", err, got)
	}
	// Only advertisers create: a campaign belongs to the credentials' advertiser.
	_, err = cc.CreateCampaign(as(adminKey), &v1.CreateCampaignRequest{Campaign: sampleCampaign()})
	wantCode(t, err, codes.PermissionDenied, "")
	_, err = cc.CreateCampaign(as(clientKey), &v1.CreateCampaignRequest{Campaign: sampleCampaign()})
	wantCode(t, err, codes.PermissionDenied, "")
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestUpdateCampaign(t *testing.T) {
	h := newCampaignHarness(t, "")
	cc := h.campaigns()
	create(t, h, sample("other-app"))
	orig := mustCreateCampaign(t, h, acmeKey, sampleCampaign())
	id := orig.GetId()
	created := h.now
	h.now = h.now.Add(time.Minute)
	mask := func(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }
	with := func(f func(c *v1.Campaign)) *v1.Campaign {
		c := sampleCampaign()
		c.Id = id
		f(c)
		return c
	}
	version := int64(1)
	tests := []struct {
		name     string
		req      *v1.UpdateCampaignRequest
		code     codes.Code
		field    string
		check    func(t *testing.T, c *v1.Campaign)
		bumpsVer bool
	}{
		{"masked field", &v1.UpdateCampaignRequest{Campaign: with(func(c *v1.Campaign) { c.Budget.TotalMicros = 5e9; c.Name = "ignored" }),
			UpdateMask: mask("budget.total_micros"), ExpectedVersion: 1}, codes.OK, "",
			func(t *testing.T, c *v1.Campaign) {
				if c.GetBudget().GetTotalMicros() != 5e9 || c.GetName() != orig.GetName() || c.GetBudget().GetDailyMicros() != orig.GetBudget().GetDailyMicros() {
					t.Fatalf("merge: %v", c)
				}
			}, true},
		{"stale version", &v1.UpdateCampaignRequest{Campaign: with(func(c *v1.Campaign) { c.Name = "x" }),
			UpdateMask: mask("name"), ExpectedVersion: 1}, codes.Aborted, "", nil, false},
		{"geofence change recomputes coverage", &v1.UpdateCampaignRequest{Campaign: with(func(c *v1.Campaign) {
			c.Geofence.Include[0].GetCircle().RadiusM = 2000
		}), UpdateMask: mask("geofence")}, codes.OK, "",
			func(t *testing.T, c *v1.Campaign) {
				if a := c.GetCoverage().GetAreaKm2(); math.Abs(a-4*math.Pi)/(4*math.Pi) > 0.01 {
					t.Fatalf("coverage %v", c.GetCoverage())
				}
			}, true},
		{"masked merge must be valid", &v1.UpdateCampaignRequest{Campaign: with(func(c *v1.Campaign) { c.Name = "" }),
			UpdateMask: mask("name")}, codes.InvalidArgument, "campaign.name", nil, false},
		{"masked bad shape", &v1.UpdateCampaignRequest{Campaign: with(func(c *v1.Campaign) {
			c.Geofence.Include[0].GetCircle().RadiusM = 1
		}), UpdateMask: mask("geofence.include")}, codes.InvalidArgument, "campaign.geofence.include[0].circle.radius_m", nil, false},
		{"full replacement must be valid", &v1.UpdateCampaignRequest{Campaign: with(func(c *v1.Campaign) { c.Bid = nil })},
			codes.InvalidArgument, "campaign.bid", nil, false},
		{"output-only path", &v1.UpdateCampaignRequest{Campaign: with(func(*v1.Campaign) {}), UpdateMask: mask("state")},
			codes.InvalidArgument, "update_mask", nil, false},
		{"advertiser path", &v1.UpdateCampaignRequest{Campaign: with(func(*v1.Campaign) {}), UpdateMask: mask("advertiser_id")},
			codes.InvalidArgument, "update_mask", nil, false},
		{"coverage path", &v1.UpdateCampaignRequest{Campaign: with(func(*v1.Campaign) {}), UpdateMask: mask("coverage.area_km2")},
			codes.InvalidArgument, "update_mask", nil, false},
		{"unknown path", &v1.UpdateCampaignRequest{Campaign: with(func(*v1.Campaign) {}), UpdateMask: mask("nope")},
			codes.InvalidArgument, "update_mask", nil, false},
		{"negative version", &v1.UpdateCampaignRequest{Campaign: with(func(*v1.Campaign) {}), ExpectedVersion: -1},
			codes.InvalidArgument, "expected_version", nil, false},
		{"missing id", &v1.UpdateCampaignRequest{Campaign: with(func(c *v1.Campaign) { c.Id = "" })},
			codes.InvalidArgument, "campaign.id", nil, false},
		{"unknown id", &v1.UpdateCampaignRequest{Campaign: with(func(c *v1.Campaign) { c.Id = "c-0000000000000000" })},
			codes.NotFound, "", nil, false},
		{"missing campaign", &v1.UpdateCampaignRequest{}, codes.InvalidArgument, "campaign", nil, false},
		{"mini-program must exist", &v1.UpdateCampaignRequest{Campaign: with(func(c *v1.Campaign) { c.MiniProgramId = "no-such-app" }),
			UpdateMask: mask("mini_program_id")}, codes.FailedPrecondition, "", nil, false},
		{"another mini-program", &v1.UpdateCampaignRequest{Campaign: with(func(c *v1.Campaign) { c.MiniProgramId = "other-app" }),
			UpdateMask: mask("mini_program_id")}, codes.OK, "",
			func(t *testing.T, c *v1.Campaign) {
				if c.GetMiniProgramId() != "other-app" {
					t.Fatal(c.GetMiniProgramId())
				}
			}, true},
		{"full replacement ignores output-only fields", &v1.UpdateCampaignRequest{Campaign: with(func(c *v1.Campaign) {
			c.Name, c.AdvertiserId, c.State, c.Version = "Replaced", "other", v1.CampaignState_CAMPAIGN_STATE_ARCHIVED, 99
			c.Targeting = nil
		})}, codes.OK, "",
			func(t *testing.T, c *v1.Campaign) {
				if c.GetName() != "Replaced" || c.GetTargeting() != nil || c.GetAdvertiserId() != "acme" || c.GetState() != v1.CampaignState_CAMPAIGN_STATE_ACTIVE {
					t.Fatalf("replace: %v", c)
				}
			}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := cc.UpdateCampaign(as(acmeKey), tc.req)
			wantCode(t, err, tc.code, tc.field)
			if tc.bumpsVer {
				version++
			}
			got, gerr := cc.GetCampaign(as(acmeKey), &v1.GetCampaignRequest{Id: id})
			if gerr != nil || got.GetCampaign().GetVersion() != version {
				t.Fatalf("stored version %d, want %d (%v)", got.GetCampaign().GetVersion(), version, gerr)
			}
			if tc.code != codes.OK {
				return
			}
			c := resp.GetCampaign()
			if !proto.Equal(c, got.GetCampaign()) {
				t.Fatalf("answer %v\nstored %v", c, got.GetCampaign())
			}
			if c.GetId() != id || !c.GetCreateTime().AsTime().Equal(created) || !c.GetUpdateTime().AsTime().Equal(h.now) || c.GetServingStatus() != v1.ServingStatus_SERVING_STATUS_SERVING {
				t.Fatalf("output fields: %v", c)
			}
			tc.check(t, c)
		})
	}
}

func TestCampaignStateMachine(t *testing.T) {
	h := newCampaignHarness(t, "")
	cc := h.campaigns()
	id := mustCreateCampaign(t, h, acmeKey, sampleCampaign()).GetId()
	type step struct {
		op      string
		code    codes.Code
		state   v1.CampaignState
		status  v1.ServingStatus
		version int64
	}
	const (
		active, paused, archived = v1.CampaignState_CAMPAIGN_STATE_ACTIVE, v1.CampaignState_CAMPAIGN_STATE_PAUSED, v1.CampaignState_CAMPAIGN_STATE_ARCHIVED
		serving, sPaused, sArch  = v1.ServingStatus_SERVING_STATUS_SERVING, v1.ServingStatus_SERVING_STATUS_PAUSED, v1.ServingStatus_SERVING_STATUS_ARCHIVED
	)
	do := func(op string) (*v1.Campaign, error) {
		switch op {
		case "pause":
			r, err := cc.PauseCampaign(as(acmeKey), &v1.PauseCampaignRequest{Id: id})
			return r.GetCampaign(), err
		case "resume":
			r, err := cc.ResumeCampaign(as(acmeKey), &v1.ResumeCampaignRequest{Id: id})
			return r.GetCampaign(), err
		case "archive":
			r, err := cc.ArchiveCampaign(as(acmeKey), &v1.ArchiveCampaignRequest{Id: id})
			return r.GetCampaign(), err
		default: // update
			c := sampleCampaign()
			c.Id, c.Name = id, "renamed"
			r, err := cc.UpdateCampaign(as(acmeKey), &v1.UpdateCampaignRequest{Campaign: c, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
			return r.GetCampaign(), err
		}
	}
	for i, s := range []step{
		{"resume", codes.OK, active, serving, 1}, // already active: no write
		{"pause", codes.OK, paused, sPaused, 2},
		{"pause", codes.OK, paused, sPaused, 2},  // retry: no write
		{"update", codes.OK, paused, sPaused, 3}, // a paused campaign may be edited
		{"resume", codes.OK, active, serving, 4},
		{"pause", codes.OK, paused, sPaused, 5},
		{"archive", codes.OK, archived, sArch, 6},
		{"archive", codes.OK, archived, sArch, 6}, // retry: no write
		{"resume", codes.FailedPrecondition, archived, sArch, 6},
		{"pause", codes.FailedPrecondition, archived, sArch, 6},
		{"update", codes.FailedPrecondition, archived, sArch, 6},
	} {
		c, err := do(s.op)
		wantCode(t, err, s.code, "")
		got, gerr := cc.GetCampaign(as(acmeKey), &v1.GetCampaignRequest{Id: id})
		if gerr != nil {
			t.Fatal(gerr)
		}
		g := got.GetCampaign()
		if g.GetState() != s.state || g.GetServingStatus() != s.status || g.GetVersion() != s.version {
			t.Fatalf("step %d %s: state %v status %v version %d, want %v %v %d", i, s.op, g.GetState(), g.GetServingStatus(), g.GetVersion(), s.state, s.status, s.version)
		}
		if err == nil && !proto.Equal(c, g) {
			t.Fatalf("step %d %s: answer %v, stored %v", i, s.op, c, g)
		}
	}
	for _, bad := range []string{"", "Bad Id"} {
		_, err := cc.PauseCampaign(as(acmeKey), &v1.PauseCampaignRequest{Id: bad})
		wantCode(t, err, codes.InvalidArgument, "id")
	}
	_, err := cc.ArchiveCampaign(as(acmeKey), &v1.ArchiveCampaignRequest{Id: "c-0000000000000000"})
	wantCode(t, err, codes.NotFound, "")
}

func TestListCampaigns(t *testing.T) {
	h := newCampaignHarness(t, "")
	cc := h.campaigns()
	want := map[string][]string{}
	for i := range 11 {
		key, adv := acmeKey, "acme"
		if i%3 == 0 {
			key, adv = otherKey, "other"
		}
		want[adv] = append(want[adv], mustCreateCampaign(t, h, key, sampleCampaign()).GetId())
	}
	want["*"] = append(append([]string(nil), want["acme"]...), want["other"]...)
	var acmeTok string
	for _, tc := range []struct {
		key, scope string
		size       int32
	}{{acmeKey, "acme", 3}, {otherKey, "other", 1}, {adminKey, "*", 4}, {acmeKey, "acme", 0}, {adminKey, "*", 1000}} {
		seen := map[string]int{}
		var order []string
		tok := ""
		pages := 0
		for {
			resp, err := cc.ListCampaigns(as(tc.key), &v1.ListCampaignsRequest{PageSize: tc.size, PageToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if tc.size > 0 && len(resp.GetCampaigns()) > int(tc.size) {
				t.Fatalf("page of %d > %d", len(resp.GetCampaigns()), tc.size)
			}
			for _, c := range resp.GetCampaigns() {
				seen[c.GetId()]++
				order = append(order, c.GetId())
				if c.GetServingStatus() != v1.ServingStatus_SERVING_STATUS_SERVING || c.GetCoverage() == nil {
					t.Fatalf("computed fields missing: %v", c)
				}
			}
			if tc.scope == "acme" && tc.size == 3 && acmeTok == "" {
				acmeTok = resp.GetNextPageToken()
			}
			if tok = resp.GetNextPageToken(); tok == "" {
				break
			}
		}
		if len(seen) != len(want[tc.scope]) || len(order) != len(seen) {
			t.Fatalf("%s size %d: saw %v, want each of %v once", tc.scope, tc.size, seen, want[tc.scope])
		}
		for _, id := range want[tc.scope] {
			if seen[id] != 1 {
				t.Fatalf("%s: %s seen %d times", tc.scope, id, seen[id])
			}
		}
		if strings.Join(order, ",") != strings.Join(sortedCopy(order), ",") {
			t.Fatalf("not in id order: %v", order)
		}
		if tc.size == 3 && pages != 3 {
			t.Fatalf("%d pages of 3 for %d campaigns", pages, len(order))
		}
	}
	tampered := []byte(acmeTok)
	tampered[len(tampered)/2] ^= 1
	for _, tc := range []struct {
		name, key, tok string
		size           int32
		field          string
	}{
		{"tampered token", acmeKey, string(tampered), 0, "page_token"},
		{"garbage token", acmeKey, "not-a-token", 0, "page_token"},
		{"another advertiser's token", otherKey, acmeTok, 0, "page_token"},
		{"an advertiser's token as admin", adminKey, acmeTok, 0, "page_token"},
		{"page size over 1000", acmeKey, "", 1001, "page_size"},
		{"negative page size", acmeKey, "", -1, "page_size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cc.ListCampaigns(as(tc.key), &v1.ListCampaignsRequest{PageToken: tc.tok, PageSize: tc.size})
			wantCode(t, err, codes.InvalidArgument, tc.field)
		})
	}
}

// TestCampaignRestart: acknowledged campaign writes survive a restart, and
// the computed serving status follows the clock after it.
func TestCampaignRestart(t *testing.T) {
	dir := t.TempDir()
	h := newCampaignHarness(t, dir)
	c := sampleCampaign()
	c.Schedule.StartTime = timestamppb.New(h.now.Add(-time.Hour))
	c.Schedule.EndTime = timestamppb.New(h.now.Add(time.Hour))
	live := mustCreateCampaign(t, h, acmeKey, c)
	paused := mustCreateCampaign(t, h, otherKey, sampleCampaign())
	resp, err := h.campaigns().PauseCampaign(as(otherKey), &v1.PauseCampaignRequest{Id: paused.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	paused = resp.GetCampaign()
	now := h.now
	h.stop()

	h2 := newCampaignHarness(t, dir)
	h2.now = now
	for key, want := range map[string]*v1.Campaign{acmeKey: live, otherKey: paused} {
		got, err := h2.campaigns().GetCampaign(as(key), &v1.GetCampaignRequest{Id: want.GetId()})
		if err != nil || !proto.Equal(got.GetCampaign(), want) {
			t.Fatalf("after restart: %v\n%v\nwant %v", err, got.GetCampaign(), want)
		}
	}
	h2.now = now.Add(2 * time.Hour)
	got, err := h2.campaigns().GetCampaign(as(acmeKey), &v1.GetCampaignRequest{Id: live.GetId()})
	if err != nil || got.GetCampaign().GetServingStatus() != v1.ServingStatus_SERVING_STATUS_ENDED {
		t.Fatalf("status after the end: %v %v", err, got.GetCampaign().GetServingStatus())
	}
	// Writes go on from the stored version.
	r, err := h2.campaigns().ResumeCampaign(as(otherKey), &v1.ResumeCampaignRequest{Id: paused.GetId()})
	if err != nil || r.GetCampaign().GetVersion() != 3 {
		t.Fatalf("resume after restart: %v %v", err, r.GetCampaign())
	}
}
