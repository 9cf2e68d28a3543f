package validate

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/fieldmask"
)

// Campaign limits of the contract, and this service's own bounds where the
// contract is silent (areas, dayparts, frequency window), so that one
// request cannot make validation or storage unbounded.
const (
	MaxHeadlineRunes     = 40
	MaxCallToActionRunes = 40
	MaxAreas             = 100 // per include or exclude list
	MaxDayparts          = 100
	MaxTimeZoneBytes     = 64
	MaxFrequencyWindow   = 30 * 24 * time.Hour
	// MaxFrequencyImpressions bounds a frequency cap: the ledger keeps at
	// most this many impression times per user and campaign
	// (ledger.MaxFrequencyTimes, checked equal by a server test).
	MaxFrequencyImpressions = 256
)

// CampaignReadOnly are the campaign fields an update mask may not name: the
// id names the record, the rest are output only.
var CampaignReadOnly = map[string]bool{
	"id": true, "advertiser_id": true, "state": true, "serving_status": true,
	"coverage": true, "version": true, "create_time": true, "update_time": true,
}

// campaignRequest validates the CampaignService requests; it reports
// whether req was one of them.
func campaignRequest(v *apierr.Violations, req any) bool {
	switch r := req.(type) {
	case *v1.CreateCampaignRequest:
		if r.GetCampaign() == nil {
			v.Add("campaign", "required")
			break
		}
		Campaign(v, "campaign", r.GetCampaign())
	case *v1.UpdateCampaignRequest:
		if r.GetCampaign() == nil {
			v.Add("campaign", "required")
			break
		}
		checkCampaignID(v, "campaign.id", r.GetCampaign().GetId())
		checkVersion(v, "expected_version", r.GetExpectedVersion())
		paths := r.GetUpdateMask().GetPaths()
		if err := fieldmask.Check(r.GetCampaign().ProtoReflect().Descriptor(), paths, CampaignReadOnly); err != nil {
			v.Add("update_mask", "%v", err)
		}
		if len(paths) == 0 {
			// A full replacement must be a whole valid campaign; a masked
			// update is checked after the merge, by the service.
			Campaign(v, "campaign", r.GetCampaign())
		}
	case *v1.GetCampaignRequest:
		checkCampaignID(v, "id", r.GetId())
	case *v1.PauseCampaignRequest:
		checkCampaignID(v, "id", r.GetId())
	case *v1.ResumeCampaignRequest:
		checkCampaignID(v, "id", r.GetId())
	case *v1.ArchiveCampaignRequest:
		checkCampaignID(v, "id", r.GetId())
	case *v1.ListCampaignsRequest:
		checkPageSize(v, "page_size", r.GetPageSize())
		checkPageToken(v, "page_token", r.GetPageToken())
	default:
		return false
	}
	return true
}

// checkCampaignID accepts what could be a server-assigned id. Ids are
// opaque to callers, so the check is only the id syntax shared with
// mini-programs (which "c-<hex>" satisfies): it keeps arbitrary bytes out
// of store keys and error messages.
func checkCampaignID(v *apierr.Violations, path, id string) { checkID(v, path, id) }

// Campaign checks every writable field of c, recording violations under the
// path prefix, and returns its geofence in geo's terms (meaningful only when
// nothing was recorded). Output-only fields are ignored. The covering-size
// cap is not checked here: it depends on the server's configuration and
// costs a covering, so the campaign store checks it when it computes the
// coverage it stores.
func Campaign(v *apierr.Violations, prefix string, c *v1.Campaign) geo.Geofence {
	p := func(f string) string { return prefix + "." + f }
	checkText(v, p("name"), c.GetName(), 1, MaxNameRunes)
	checkID(v, p("mini_program_id"), c.GetMiniProgramId())
	var gf geo.Geofence
	if c.GetGeofence() == nil {
		v.Add(p("geofence"), "required")
	} else {
		gf = Geofence(v, p("geofence"), c.GetGeofence())
	}
	Targeting(v, p("targeting"), c.GetTargeting())
	Schedule(v, p("schedule"), c.GetSchedule())
	checkBudget(v, p("budget"), c.GetBudget())
	checkBid(v, p("bid"), c.GetBid())
	checkFrequencyCap(v, p("frequency_cap"), c.GetFrequencyCap())
	checkCreative(v, p("creative"), c.GetCreative())
	return gf
}

// Geofence checks every area of g and converts it to geo's Geofence. Shape
// problems are geo's own (geo.Problem paths, put under each area's path, so
// a bad vertex is "<path>.include[0].polygon.vertices[3]").
func Geofence(v *apierr.Violations, path string, g *v1.Geofence) geo.Geofence {
	var gf geo.Geofence
	if len(g.GetInclude()) == 0 {
		v.Add(path+".include", "at least one area is required")
	}
	list := func(name string, areas []*v1.Area) []geo.Shape {
		if len(areas) > MaxAreas {
			v.Add(path+"."+name, "%d areas: at most %d are allowed", len(areas), MaxAreas)
			return nil
		}
		shapes := make([]geo.Shape, 0, len(areas))
		for i, a := range areas {
			ap := fmt.Sprintf("%s.%s[%d]", path, name, i)
			if s := area(v, ap, a); s != nil {
				shapes = append(shapes, s)
			}
		}
		return shapes
	}
	gf.Include = list("include", g.GetInclude())
	gf.Exclude = list("exclude", g.GetExclude())
	return gf
}

// area converts one Area, or records why it cannot be and returns nil.
func area(v *apierr.Violations, path string, a *v1.Area) geo.Shape {
	addProblems := func(sub string, ps []geo.Problem) {
		for _, pr := range ps {
			switch {
			case pr.Path == "":
				v.Add(sub, "%s", pr.Message)
			case pr.Path[0] == '[':
				v.Add(sub+pr.Path, "%s", pr.Message)
			default:
				v.Add(sub+"."+pr.Path, "%s", pr.Message)
			}
		}
	}
	switch s := a.GetShape().(type) {
	case *v1.Area_Circle:
		sub := path + ".circle"
		if s.Circle.GetCenter() == nil {
			v.Add(sub+".center", "required")
			return nil
		}
		c := geo.Circle{Center: latLngDeg(s.Circle.GetCenter()), RadiusM: s.Circle.GetRadiusM()}
		if ps := c.Validate(); len(ps) > 0 {
			addProblems(sub, ps)
			return nil
		}
		return c
	case *v1.Area_Polygon:
		sub := path + ".polygon"
		outer := make([]geo.LatLngDeg, len(s.Polygon.GetVertices()))
		for i, ll := range s.Polygon.GetVertices() {
			outer[i] = latLngDeg(ll)
		}
		holes := make([][]geo.LatLngDeg, len(s.Polygon.GetHoles()))
		for h, r := range s.Polygon.GetHoles() {
			holes[h] = make([]geo.LatLngDeg, len(r.GetVertices()))
			for i, ll := range r.GetVertices() {
				holes[h][i] = latLngDeg(ll)
			}
		}
		pg, ps := geo.NewPolygon(outer, holes...)
		if len(ps) > 0 {
			addProblems(sub, ps)
			return nil
		}
		return pg
	case *v1.Area_Cells:
		sub := path + ".cells"
		if len(s.Cells.GetH3Cells()) == 0 {
			v.Add(sub+".h3_cells", "at least one cell is required")
			return nil
		}
		cs, ps := geo.ParseCellSet(s.Cells.GetH3Cells())
		if len(ps) > 0 {
			addProblems(sub, ps)
			return nil
		}
		return cs
	}
	v.Add(path, "exactly one shape (circle, polygon or cells) is required")
	return nil
}

// latLngDeg converts a position; a missing one becomes NaN so that geo
// reports it as not finite at its own path.
func latLngDeg(ll *v1.LatLng) geo.LatLngDeg {
	if ll == nil {
		return geo.LatLngDeg{Lat: math.NaN(), Lng: math.NaN()}
	}
	return geo.LatLngDeg{Lat: ll.GetLatitude(), Lng: ll.GetLongitude()}
}

// Targeting checks a campaign's targeting; nil means everyone.
func Targeting(v *apierr.Violations, path string, t *v1.Targeting) {
	if t == nil {
		return
	}
	checkDemographics(v, path, t.GetMinAge(), t.GetMaxAge(), t.GetGenders(), t.GetOperatingSystems())
	if s := t.GetMinCreditScore(); s < 0 || s > MaxCreditScore {
		v.Add(path+".min_credit_score", "%d: must be in [0, %d] (0 = no bound)", s, MaxCreditScore)
	}
}

// Schedule checks a campaign's schedule; nil means always, in UTC.
func Schedule(v *apierr.Violations, path string, s *v1.Schedule) {
	if s == nil {
		return
	}
	startOK, endOK := true, true
	if t := s.GetStartTime(); t != nil {
		if err := t.CheckValid(); err != nil {
			v.Add(path+".start_time", "%v", err)
			startOK = false
		}
	}
	if t := s.GetEndTime(); t != nil {
		if err := t.CheckValid(); err != nil {
			v.Add(path+".end_time", "%v", err)
			endOK = false
		}
	}
	if s.GetStartTime() != nil && s.GetEndTime() != nil && startOK && endOK &&
		!s.GetStartTime().AsTime().Before(s.GetEndTime().AsTime()) {
		v.Add(path+".end_time", "must be after start_time")
	}
	if tz := s.GetTimeZone(); tz != "" {
		if _, err := LoadTimeZone(tz); err != nil {
			v.Add(path+".time_zone", "%v", err)
		}
	}
	if len(s.GetDayparts()) > MaxDayparts {
		v.Add(path+".dayparts", "%d dayparts: at most %d are allowed", len(s.GetDayparts()), MaxDayparts)
		return
	}
	for i, d := range s.GetDayparts() {
		dp := fmt.Sprintf("%s.dayparts[%d]", path, i)
		for j, day := range d.GetDays() {
			if day == v1.DayOfWeek_DAY_OF_WEEK_UNSPECIFIED {
				v.Add(fmt.Sprintf("%s.days[%d]", dp, j), "DAY_OF_WEEK_UNSPECIFIED is not a day")
			} else {
				checkEnum(v, fmt.Sprintf("%s.days[%d]", dp, j), day)
			}
		}
		start, end := d.GetStartMinute(), d.GetEndMinute()
		if start < 0 || start >= 24*60 {
			v.Add(dp+".start_minute", "%d: must be in [0, 1440)", start)
		}
		if end <= start || end > 24*60 {
			v.Add(dp+".end_minute", "%d: must be in (start_minute, 1440]", end)
		}
	}
}

// LoadTimeZone resolves a schedule's IANA time zone ("" = UTC). "Local" is
// refused: it would mean the server's own zone, which the caller cannot
// know and which may differ between replicas.
//
// Zones are loaded once and shared (a *time.Location is immutable): the
// server resolves every campaign's zone at start-up, and time.LoadLocation
// reads and parses the zone file into a new Location on every call — 100k
// campaigns in a handful of zones made 100k copies (~3.5 µs and a few KB
// each, kept for the campaign's life). Only names that loaded are kept,
// so the cache holds at most the zones of the tz database.
func LoadTimeZone(name string) (*time.Location, error) {
	switch {
	case name == "":
		return time.UTC, nil
	case len(name) > MaxTimeZoneBytes || !utf8.ValidString(name):
		return nil, fmt.Errorf("not an IANA time zone name")
	case name == "Local" || strings.HasPrefix(name, "/") || strings.Contains(name, ".."):
		return nil, fmt.Errorf("%q: want an IANA time zone name such as Asia/Shanghai", clip(name))
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("%q: unknown IANA time zone", clip(name))
	}
	zones.Store(strings.Clone(name), loc)
	return loc, nil
}

// zones caches LoadTimeZone's locations by name.
var zones sync.Map

func checkBudget(v *apierr.Violations, path string, b *v1.Budget) {
	if b == nil {
		v.Add(path, "required")
		return
	}
	if b.GetTotalMicros() <= 0 {
		v.Add(path+".total_micros", "%d: must be positive", b.GetTotalMicros())
	}
	if d := b.GetDailyMicros(); d < 0 {
		v.Add(path+".daily_micros", "%d: must not be negative (0 = no daily cap)", d)
	} else if d > b.GetTotalMicros() && b.GetTotalMicros() > 0 {
		v.Add(path+".daily_micros", "%d: must not exceed total_micros %d", d, b.GetTotalMicros())
	}
	if p := b.GetPacing(); p != v1.Pacing_PACING_UNSPECIFIED {
		checkEnum(v, path+".pacing", p)
	}
}

func checkBid(v *apierr.Violations, path string, b *v1.Bid) {
	if b == nil {
		v.Add(path, "required")
		return
	}
	if m := b.GetModel(); m == v1.PricingModel_PRICING_MODEL_UNSPECIFIED {
		v.Add(path+".model", "required: PRICING_MODEL_CPM or PRICING_MODEL_CPC")
	} else {
		checkEnum(v, path+".model", m)
	}
	if b.GetAmountMicros() <= 0 {
		v.Add(path+".amount_micros", "%d: must be positive", b.GetAmountMicros())
	}
}

func checkFrequencyCap(v *apierr.Violations, path string, f *v1.FrequencyCap) {
	if f == nil {
		return
	}
	if n := f.GetMaxImpressions(); n < 0 || n > MaxFrequencyImpressions {
		v.Add(path+".max_impressions", "%d: must be in [0, %d] (0 = no cap)", n, MaxFrequencyImpressions)
	}
	w := f.GetWindow()
	if w == nil {
		if f.GetMaxImpressions() > 0 {
			v.Add(path+".window", "required when max_impressions is set")
		}
		return
	}
	if err := w.CheckValid(); err != nil {
		v.Add(path+".window", "%v", err)
	} else if d := w.AsDuration(); d <= 0 || d > MaxFrequencyWindow {
		v.Add(path+".window", "%v: must be positive and at most %v", d, MaxFrequencyWindow)
	}
}

func checkCreative(v *apierr.Violations, path string, c *v1.Creative) {
	if c == nil {
		v.Add(path, "required")
		return
	}
	checkText(v, path+".headline", c.GetHeadline(), 1, MaxHeadlineRunes)
	checkText(v, path+".call_to_action", c.GetCallToAction(), 0, MaxCallToActionRunes)
	checkURL(v, path+".image_url", c.GetImageUrl())
}
