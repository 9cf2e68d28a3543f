package server

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/config"
	"github.com/aroundme/aroundme/pkg/ledger"
	"github.com/aroundme/aroundme/pkg/validate"
	"github.com/aroundme/aroundme/targeting"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// openCampaign is a campaign with nothing that could keep it from serving
// inside its 1 km fence around here: no targeting, no schedule, a large
// budget spent as fast as allowed, no cap.
func openCampaign() *v1.Campaign {
	return &v1.Campaign{
		Name:          "Open",
		MiniProgramId: promotedMP,
		Geofence:      &v1.Geofence{Include: []*v1.Area{circleArea(here.Latitude, here.Longitude, 1000)}},
		Budget:        &v1.Budget{TotalMicros: 1_000_000_000, Pacing: v1.Pacing_PACING_ASAP},
		Bid:           &v1.Bid{Model: v1.PricingModel_PRICING_MODEL_CPM, AmountMicros: 2_000_000},
		Creative:      &v1.Creative{Headline: "Ride for free today", CallToAction: "Ride now", ImageUrl: "https://cdn.example.com/ad.png"},
	}
}

// sponsoredHarness is a campaign harness with organic mini-programs around
// here (the promoted one among them, 300 m north).
func sponsoredHarness(t *testing.T, mutate ...func(*config.Config)) *harness {
	t.Helper()
	h := newHarness(t, "", mutate...)
	promoted := sample(promotedMP)
	promoted.Places = []*v1.Place{placeAt("bike-300", 300)}
	promoted.Audience = nil
	create(t, h, promoted)
	for i := range 8 {
		create(t, h, &v1.MiniProgram{Id: fmt.Sprintf("shop-%d", i), Name: "Shop", Category: v1.Category_CATEGORY_SHOPPING,
			Places: []*v1.Place{placeAt(fmt.Sprintf("s%d", i), float64(50+100*i))}, Rating: 4})
	}
	return h
}

type nearbyOpt func(*v1.NearbyRequest)

func user(u *v1.UserContext) nearbyOpt { return func(r *v1.NearbyRequest) { r.User = u } }
func located(ll *v1.LatLng) nearbyOpt  { return func(r *v1.NearbyRequest) { r.Location = ll } }

func (h *harness) nearby(opts ...nearbyOpt) *v1.NearbyResponse {
	h.t.Helper()
	req := &v1.NearbyRequest{Location: here, User: &v1.UserContext{UserId: "u-1", Age: 30}}
	for _, o := range opts {
		o(req)
	}
	resp, err := v1.NewDiscoveryServiceClient(h.conn).Nearby(as(clientKey), req)
	if err != nil {
		h.t.Fatalf("nearby: %v", err)
	}
	return resp
}

// sponsoredBy returns the campaign ids of the sponsored results, in order.
func sponsoredBy(resp *v1.NearbyResponse) []string {
	var out []string
	for _, r := range resp.GetResults() {
		if r.GetSponsorship() != nil {
			out = append(out, r.GetSponsorship().GetCampaignId())
		}
	}
	return out
}

func (h *harness) report(evs ...*v1.Event) []*v1.EventResult {
	h.t.Helper()
	resp, err := v1.NewDiscoveryServiceClient(h.conn).ReportEvents(as(clientKey), &v1.ReportEventsRequest{Events: evs})
	if err != nil {
		h.t.Fatalf("report: %v", err)
	}
	return resp.GetResults()
}

func (h *harness) diagnose(id string, ll *v1.LatLng, u *v1.UserContext) []v1.IneligibilityReason {
	h.t.Helper()
	resp, err := h.campaigns().DiagnoseCampaign(as(acmeKey), &v1.DiagnoseCampaignRequest{Id: id, Location: ll, User: u})
	if err != nil {
		h.t.Fatalf("diagnose: %v", err)
	}
	if resp.GetEligible() != (len(resp.GetReasons()) == 0) {
		h.t.Fatalf("eligible %v with reasons %v", resp.GetEligible(), resp.GetReasons())
	}
	return resp.GetReasons()
}

// sponsoredResult returns the first sponsored result.
func sponsoredResult(t *testing.T, resp *v1.NearbyResponse) *v1.NearbyResult {
	t.Helper()
	for _, r := range resp.GetResults() {
		if r.GetSponsorship() != nil {
			return r
		}
	}
	t.Fatalf("no sponsored result in %v", ids(resp))
	return nil
}

func TestSponsoredSlot(t *testing.T) {
	h := sponsoredHarness(t)
	c := mustCreateCampaign(t, h, acmeKey, openCampaign())

	resp := h.nearby()
	if got := sponsoredBy(resp); !slices.Equal(got, []string{c.GetId()}) {
		t.Fatalf("sponsored %v, want [%s]", got, c.GetId())
	}
	first := resp.GetResults()[0]
	sp := first.GetSponsorship()
	if sp == nil || sp.GetHeadline() != "Ride for free today" || sp.GetCallToAction() != "Ride now" || sp.GetImageUrl() != "https://cdn.example.com/ad.png" {
		t.Fatalf("slot 1 is %v", first)
	}
	if first.GetMiniProgram().GetId() != promotedMP || first.GetPlace().GetId() != "bike-300" || first.GetDistanceM() < 290 || first.GetDistanceM() > 310 || first.GetEventToken() == "" {
		t.Fatalf("sponsored result %v", first)
	}
	// The organic copy is gone: the promoted mini-program appears once.
	if n := slices.Index(ids(resp), promotedMP); n != 0 || slices.Contains(ids(resp)[1:], promotedMP) {
		t.Fatalf("promoted mini-program at %d in %v", n, ids(resp))
	}
	if len(resp.GetResults()) != 9 {
		t.Fatalf("%d results, want all 9 mini-programs", len(resp.GetResults()))
	}
	// Opting out, or standing outside the fence, shows the organic list.
	for name, r := range map[string]*v1.NearbyResponse{
		"exclude_sponsored": h.nearby(func(r *v1.NearbyRequest) { r.ExcludeSponsored = true }),
		"outside the fence": h.nearby(located(at(1500)), func(r *v1.NearbyRequest) { r.RadiusM = 5000 }),
	} {
		if got := sponsoredBy(r); len(got) != 0 {
			t.Fatalf("%s: sponsored %v", name, got)
		}
		if !slices.Contains(ids(r), promotedMP) {
			t.Fatalf("%s: organic copy missing from %v", name, ids(r))
		}
	}
	// The explanation says why the slot is there.
	ex := h.nearby(func(r *v1.NearbyRequest) { r.Explain = true })
	if rs := ex.GetResults()[0].GetReasons(); len(rs) == 0 || !strings.Contains(rs[0], "sponsored") {
		t.Fatalf("reasons %v", rs)
	}
}

// TestSponsoredSlotsAndPaging: two campaigns fill positions 1 and 4; the
// mini-programs they promote appear on no later page; paging still returns
// every organic mini-program exactly once.
func TestSponsoredSlotsAndPaging(t *testing.T) {
	h := sponsoredHarness(t)
	c1 := mustCreateCampaign(t, h, acmeKey, openCampaign())
	second := openCampaign()
	second.MiniProgramId = "shop-7" // the farthest: organically last
	second.Bid.AmountMicros = 1_000_000
	c2 := mustCreateCampaign(t, h, acmeKey, second)
	third := openCampaign() // same mini-program as c1, lower bid: never a second slot
	third.Bid.AmountMicros = 1_500_000
	mustCreateCampaign(t, h, acmeKey, third)

	var seen []string
	tok := ""
	for page := 0; ; page++ {
		resp := h.nearby(func(r *v1.NearbyRequest) { r.Limit = 4; r.PageToken = tok })
		if page == 0 {
			if got := sponsoredBy(resp); !slices.Equal(got, []string{c1.GetId(), c2.GetId()}) {
				t.Fatalf("sponsored %v, want [%s %s]", got, c1.GetId(), c2.GetId())
			}
			if resp.GetResults()[0].GetSponsorship() == nil || resp.GetResults()[3].GetSponsorship() == nil || len(resp.GetResults()) != 4 {
				t.Fatalf("slots not at positions 1 and 4: %v", ids(resp))
			}
		} else if len(sponsoredBy(resp)) != 0 {
			t.Fatalf("page %d has sponsored results", page)
		}
		seen = append(seen, ids(resp)...)
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	slices.Sort(seen)
	want := []string{"shop-0", "shop-1", "shop-2", "shop-3", "shop-4", "shop-5", "shop-6", "shop-7", promotedMP}
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Fatalf("pages returned %v, want each of %v once", seen, want)
	}
	// With one result per page only slot 1 exists.
	if got := sponsoredBy(h.nearby(func(r *v1.NearbyRequest) { r.Limit = 1 })); !slices.Equal(got, []string{c1.GetId()}) {
		t.Fatalf("limit 1: sponsored %v", got)
	}
}

// TestSponsoredEligibility: targeting, minors, schedule, dayparts and
// state each keep a campaign out, and DiagnoseCampaign says why — every
// reason, through the same decision.
func TestSponsoredEligibility(t *testing.T) {
	h := sponsoredHarness(t)
	c := openCampaign()
	c.Targeting = &v1.Targeting{MinAge: 18, Genders: []v1.Gender{v1.Gender_GENDER_FEMALE}, MinCreditScore: 600}
	id := mustCreateCampaign(t, h, acmeKey, c).GetId()
	woman := &v1.UserContext{UserId: "u-1", Age: 30, Gender: v1.Gender_GENDER_FEMALE, CreditScore: 700}
	if len(sponsoredBy(h.nearby(user(woman)))) != 1 {
		t.Fatal("an admitted user sees no sponsored result")
	}
	if r := h.diagnose(id, here, woman); len(r) != 0 {
		t.Fatalf("diagnose admitted user: %v", r)
	}
	R := func(rs ...v1.IneligibilityReason) []v1.IneligibilityReason { return rs }
	for _, tc := range []struct {
		name string
		ll   *v1.LatLng
		u    *v1.UserContext
		want []v1.IneligibilityReason
	}{
		{"unknown age and gender", here, &v1.UserContext{CreditScore: 700}, R(v1.IneligibilityReason_INELIGIBILITY_REASON_AGE, v1.IneligibilityReason_INELIGIBILITY_REASON_GENDER)},
		{"low credit", here, &v1.UserContext{Age: 30, Gender: v1.Gender_GENDER_FEMALE, CreditScore: 500}, R(v1.IneligibilityReason_INELIGIBILITY_REASON_CREDIT_SCORE)},
		{"minor", here, &v1.UserContext{Age: 12, Gender: v1.Gender_GENDER_FEMALE, CreditScore: 700}, R(v1.IneligibilityReason_INELIGIBILITY_REASON_AGE, v1.IneligibilityReason_INELIGIBILITY_REASON_MINOR)},
		{"outside, man", at(3000), &v1.UserContext{Age: 30, Gender: v1.Gender_GENDER_MALE, CreditScore: 700}, R(v1.IneligibilityReason_INELIGIBILITY_REASON_OUTSIDE_GEOFENCE, v1.IneligibilityReason_INELIGIBILITY_REASON_GENDER)},
	} {
		if got := h.diagnose(id, tc.ll, tc.u); !slices.Equal(got, tc.want) {
			t.Errorf("%s: diagnose %v, want %v", tc.name, got, tc.want)
		}
		if got := sponsoredBy(h.nearby(located(tc.ll), user(tc.u), func(r *v1.NearbyRequest) { r.RadiusM = 5000 })); len(got) != 0 {
			t.Errorf("%s: sponsored %v", tc.name, got)
		}
	}
	// A minor sees no sponsored result even from an untargeted campaign.
	mustCreateCampaign(t, h, acmeKey, openCampaign())
	if got := sponsoredBy(h.nearby(user(&v1.UserContext{Age: 13}))); len(got) != 0 {
		t.Fatalf("minor sees %v", got)
	}
}

func TestSponsoredScheduleAndState(t *testing.T) {
	h := sponsoredHarness(t)
	// h.now is Saturday 2026-11-21 09:00 UTC, 17:00 in Shanghai.
	c := openCampaign()
	c.Schedule = &v1.Schedule{TimeZone: "Asia/Shanghai",
		StartTime: timestamppb.New(h.now.Add(time.Hour)), EndTime: timestamppb.New(h.now.Add(48 * time.Hour)),
		Dayparts: []*v1.Daypart{{Days: []v1.DayOfWeek{v1.DayOfWeek_DAY_OF_WEEK_SATURDAY}, StartMinute: 16 * 60, EndMinute: 20 * 60}}}
	id := mustCreateCampaign(t, h, acmeKey, c).GetId()
	anyone := &v1.UserContext{UserId: "u-1"}
	check := func(when string, want ...v1.IneligibilityReason) {
		t.Helper()
		if got := h.diagnose(id, here, anyone); !slices.Equal(got, want) {
			t.Fatalf("%s: diagnose %v, want %v", when, got, want)
		}
		if served := len(sponsoredBy(h.nearby(user(anyone)))) == 1; served != (len(want) == 0) {
			t.Fatalf("%s: served %v with reasons %v", when, served, want)
		}
	}
	check("before start", v1.IneligibilityReason_INELIGIBILITY_REASON_NOT_STARTED)
	h.now = h.now.Add(2 * time.Hour) // 19:00 Saturday in Shanghai
	check("started, in daypart")
	h.now = h.now.Add(2 * time.Hour) // 21:00: after the daypart
	check("after the daypart", v1.IneligibilityReason_INELIGIBILITY_REASON_OUTSIDE_DAYPARTS)
	h.now = h.now.Add(20 * time.Hour) // Sunday 17:00: wrong day
	check("Sunday", v1.IneligibilityReason_INELIGIBILITY_REASON_OUTSIDE_DAYPARTS)
	h.now = h.now.Add(6 * 24 * time.Hour) // next Saturday 17:00, after the end
	check("after the end", v1.IneligibilityReason_INELIGIBILITY_REASON_ENDED)

	h.now = time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC)
	check("back in the daypart")
	if _, err := h.campaigns().PauseCampaign(as(acmeKey), &v1.PauseCampaignRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	check("paused", v1.IneligibilityReason_INELIGIBILITY_REASON_PAUSED)
	if _, err := h.campaigns().ResumeCampaign(as(acmeKey), &v1.ResumeCampaignRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	check("resumed")
	if _, err := h.campaigns().ArchiveCampaign(as(acmeKey), &v1.ArchiveCampaignRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	check("archived", v1.IneligibilityReason_INELIGIBILITY_REASON_ARCHIVED)
	// The request's own time drives schedules too.
	if got := sponsoredBy(h.nearby(user(anyone), func(r *v1.NearbyRequest) { r.Time = timestamppb.New(h.now) })); len(got) != 0 {
		t.Fatalf("archived campaign served: %v", got)
	}
}

// TestSponsoredBudgetAndEvents: impressions charge the second price until
// the budget is gone (the last charge capped at what was left); forged,
// expired, replayed and repeated events are rejected with reasons; stats
// agree with the accepted events.
func TestSponsoredBudgetAndEvents(t *testing.T) {
	h := sponsoredHarness(t, func(c *config.Config) { c.Campaign.StatsKAnonymity = 1 })
	c := openCampaign()
	c.Budget = &v1.Budget{TotalMicros: 250, Pacing: v1.Pacing_PACING_ASAP}
	id := mustCreateCampaign(t, h, acmeKey, c).GetId()

	// A lone bidder pays the reserve: 100,000 micros CPM = 100 per impression.
	tok := func() string { return sponsoredResult(t, h.nearby()).GetEventToken() }
	imp := func(eid, tk string) *v1.Event {
		return &v1.Event{EventId: eid, EventToken: tk, Type: v1.EventType_EVENT_TYPE_IMPRESSION}
	}
	t1, t2 := tok(), tok()
	res := h.report(imp("e1", t1), imp("e2", t2), imp("e1", t2), imp("e3", t1), imp("e4", t1[:len(t1)-2]+"AA"), imp("e5", "garbage"))
	want := []bool{true, true, false, false, false, false}
	for i, r := range res {
		if r.GetAccepted() != want[i] || r.GetEventId() != []string{"e1", "e2", "e1", "e3", "e4", "e5"}[i] || (!r.GetAccepted() && r.GetReason() == "") {
			t.Fatalf("event %d: %v", i, r)
		}
	}
	t3 := tok()
	if r := h.report(imp("e6", t3)); !r[0].GetAccepted() {
		t.Fatalf("third impression: %v", r[0])
	}
	// 300 would be due; the budget had 50 left.
	g, err := h.campaigns().GetCampaign(as(acmeKey), &v1.GetCampaignRequest{Id: id})
	if err != nil || g.GetCampaign().GetServingStatus() != v1.ServingStatus_SERVING_STATUS_BUDGET_EXHAUSTED {
		t.Fatalf("status %v %v", g.GetCampaign().GetServingStatus(), err)
	}
	if got := sponsoredBy(h.nearby()); len(got) != 0 {
		t.Fatalf("exhausted campaign served %v", got)
	}
	if r := h.diagnose(id, here, &v1.UserContext{}); !slices.Equal(r, []v1.IneligibilityReason{v1.IneligibilityReason_INELIGIBILITY_REASON_BUDGET_EXHAUSTED}) {
		t.Fatalf("diagnose %v", r)
	}
	// A click on a CPM result is counted, not billed.
	if r := h.report(&v1.Event{EventId: "c1", EventToken: t1, Type: v1.EventType_EVENT_TYPE_CLICK}); !r[0].GetAccepted() {
		t.Fatalf("click: %v", r[0])
	}
	// Tokens expire.
	h.now = h.now.Add(2 * time.Hour)
	if r := h.report(&v1.Event{EventId: "c2", EventToken: t2, Type: v1.EventType_EVENT_TYPE_CLICK}); r[0].GetAccepted() || r[0].GetReason() == "" {
		t.Fatalf("expired token: %v", r[0])
	}
	st, err := h.campaigns().GetCampaignStats(as(acmeKey), &v1.GetCampaignStatsRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	tot := st.GetTotals()
	if tot.GetImpressions() != 3 || tot.GetClicks() != 1 || tot.GetSpendMicros() != 250 {
		t.Fatalf("totals %v", tot)
	}
	if len(st.GetDays()) != 1 || st.GetDays()[0].GetDate() != "2026-11-21" || st.GetDays()[0].GetStats().GetSpendMicros() != 250 {
		t.Fatalf("days %v", st.GetDays())
	}
	if len(st.GetCells()) != 1 || st.GetCells()[0].GetStats().GetImpressions() != 3 {
		t.Fatalf("cells %v", st.GetCells())
	}
	// Another advertiser learns nothing.
	for _, err := range []error{
		func() error {
			_, err := h.campaigns().GetCampaignStats(as(otherKey), &v1.GetCampaignStatsRequest{Id: id})
			return err
		}(),
		func() error {
			_, err := h.campaigns().DiagnoseCampaign(as(otherKey), &v1.DiagnoseCampaignRequest{Id: id, Location: here})
			return err
		}(),
	} {
		wantCode(t, err, codes.NotFound, "")
	}
	if m := h.metric("aroundme_events_rejected_total"); len(m) == 0 {
		t.Fatal("no rejection metric")
	}
}

// TestFrequencyCap: a user who has seen the campaign max_impressions times
// in the window sees it no more; another user still does; so does the
// first once the window has passed.
func TestFrequencyCap(t *testing.T) {
	h := sponsoredHarness(t)
	c := openCampaign()
	c.FrequencyCap = &v1.FrequencyCap{MaxImpressions: 2, Window: durationpb.New(time.Hour)}
	id := mustCreateCampaign(t, h, acmeKey, c).GetId()
	u1 := &v1.UserContext{UserId: "u-1"}
	for i := range 2 {
		r := sponsoredResult(t, h.nearby(user(u1)))
		if res := h.report(&v1.Event{EventId: fmt.Sprint("i", i), EventToken: r.GetEventToken(), Type: v1.EventType_EVENT_TYPE_IMPRESSION}); !res[0].GetAccepted() {
			t.Fatalf("impression %d: %v", i, res[0])
		}
	}
	if got := sponsoredBy(h.nearby(user(u1))); len(got) != 0 {
		t.Fatalf("capped user sees %v", got)
	}
	if r := h.diagnose(id, here, u1); !slices.Equal(r, []v1.IneligibilityReason{v1.IneligibilityReason_INELIGIBILITY_REASON_FREQUENCY_CAPPED}) {
		t.Fatalf("diagnose %v", r)
	}
	if got := sponsoredBy(h.nearby(user(&v1.UserContext{UserId: "u-2"}))); len(got) != 1 {
		t.Fatal("another user is capped too")
	}
	if got := sponsoredBy(h.nearby(user(&v1.UserContext{}))); len(got) != 0 {
		t.Fatal("an anonymous user, who cannot be counted, sees a capped campaign")
	}
	h.now = h.now.Add(61 * time.Minute)
	if got := sponsoredBy(h.nearby(user(u1))); len(got) != 1 {
		t.Fatal("the cap outlived its window")
	}
}

func TestEstimateReach(t *testing.T) {
	h := sponsoredHarness(t)
	for range 5 {
		h.nearby()
	}
	resp, err := h.campaigns().EstimateReach(as(acmeKey), &v1.EstimateReachRequest{
		Geofence: &v1.Geofence{Include: []*v1.Area{circleArea(here.Latitude, here.Longitude, 500)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Within 500 m: shop-0..4 (50-450 m) and the promoted one (300 m).
	if resp.GetMiniProgramsInside() != 6 || resp.GetCellCount() == 0 || resp.GetAreaKm2() < 0.7 || resp.GetAreaKm2() > 0.9 {
		t.Fatalf("reach %v", resp)
	}
	// Requests are counted per coarse (resolution 7, ~5 km²) cell and
	// shared out by area: a 500 m fence gets its share of here's cell, a
	// 5 km one holds the whole cell and gets every request.
	if r := resp.GetRecentRequests(); r < 0 || r > 2 {
		t.Fatalf("recent requests %d in a 500 m fence, want about 5 × 0.79/5.2", r)
	}
	big, err := h.campaigns().EstimateReach(as(acmeKey), &v1.EstimateReachRequest{
		Geofence: &v1.Geofence{Include: []*v1.Area{circleArea(here.Latitude, here.Longitude, 5000)}},
	})
	if err != nil || big.GetRecentRequests() != 5 || big.GetMiniProgramsInside() != 9 {
		t.Fatalf("5 km reach %v %v", big, err)
	}
	_, err = h.campaigns().EstimateReach(as(acmeKey), &v1.EstimateReachRequest{})
	wantCode(t, err, codes.InvalidArgument, "geofence")
}

// TestFrequencyCapBound: validation caps max_impressions where the ledger
// stops keeping impression times.
func TestFrequencyCapBound(t *testing.T) {
	if validate.MaxFrequencyImpressions != ledger.MaxFrequencyTimes {
		t.Fatalf("validate allows caps up to %d, the ledger counts up to %d", validate.MaxFrequencyImpressions, ledger.MaxFrequencyTimes)
	}
}

// TestReasonNumbers: targeting's reasons are the API's numbers, so the
// conversion in DiagnoseCampaign is a cast.
func TestReasonNumbers(t *testing.T) {
	for r := targeting.ReasonOutsideGeofence; r <= targeting.ReasonFrequencyCapped; r++ {
		name := v1.IneligibilityReason(r).String()
		if want := "INELIGIBILITY_REASON_"; len(name) <= len(want) || name[:len(want)] != want {
			t.Fatalf("reason %d is %s in the API", r, name)
		}
	}
	if v1.IneligibilityReason(targeting.ReasonFrequencyCapped) != v1.IneligibilityReason_INELIGIBILITY_REASON_FREQUENCY_CAPPED ||
		v1.IneligibilityReason(targeting.ReasonMinor) != v1.IneligibilityReason_INELIGIBILITY_REASON_MINOR {
		t.Fatal("reason numbers differ")
	}
}

// TestConcurrentEventsMoney: thousands of events from many goroutines
// against a small budget: billed spend never exceeds it, the accepted
// events' charges add up to it, and the stats agree with the accepted
// events exactly.
func TestConcurrentEventsMoney(t *testing.T) {
	h := sponsoredHarness(t, func(c *config.Config) { c.Campaign.StatsKAnonymity = 1 })
	c := openCampaign()
	c.Budget = &v1.Budget{TotalMicros: 123_457, DailyMicros: 2_050, Pacing: v1.Pacing_PACING_ASAP}
	id := mustCreateCampaign(t, h, acmeKey, c).GetId()
	const tokens, workers, perWorker = 40, 8, 60
	var toks []string
	for i := range tokens {
		r := sponsoredResult(t, h.nearby(user(&v1.UserContext{UserId: fmt.Sprint("u-", i)})))
		toks = append(toks, r.GetEventToken())
	}
	type outcome struct{ accepted, impressions, clicks int }
	results := make(chan outcome, workers)
	for w := range workers {
		go func() {
			var o outcome
			for i := range perWorker {
				// Every worker reports every token (replays across workers
				// must be rejected) with its own event ids.
				k := (w*7 + i) % tokens
				typ := v1.EventType_EVENT_TYPE_IMPRESSION
				if i%3 == 2 {
					typ = v1.EventType_EVENT_TYPE_CLICK
				}
				resp, err := v1.NewDiscoveryServiceClient(h.conn).ReportEvents(as(clientKey), &v1.ReportEventsRequest{Events: []*v1.Event{
					{EventId: fmt.Sprintf("w%d-%d", w, i), EventToken: toks[k], Type: typ},
				}})
				if err != nil {
					t.Error(err)
					break
				}
				if resp.GetResults()[0].GetAccepted() {
					o.accepted++
					if typ == v1.EventType_EVENT_TYPE_CLICK {
						o.clicks++
					} else {
						o.impressions++
					}
				}
			}
			results <- o
		}()
	}
	var total outcome
	for range workers {
		o := <-results
		total.accepted += o.accepted
		total.impressions += o.impressions
		total.clicks += o.clicks
	}
	// Each token is billed once per event type at most.
	if total.impressions > tokens || total.clicks > tokens || total.impressions == 0 {
		t.Fatalf("accepted %+v from %d tokens", total, tokens)
	}
	st, err := h.campaigns().GetCampaignStats(as(acmeKey), &v1.GetCampaignStatsRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	got := st.GetTotals()
	if got.GetImpressions() != int64(total.impressions) || got.GetClicks() != int64(total.clicks) {
		t.Fatalf("stats %v, accepted %+v", got, total)
	}
	// A lone bidder pays the reserve, 100 micros per impression: 40
	// impressions would be 4000, the daily budget is 2050, so the 21st
	// impression is charged the 50 left and the rest nothing.
	if total.impressions != tokens {
		t.Fatalf("%d impressions accepted, want one per token (%d)", total.impressions, tokens)
	}
	if got.GetSpendMicros() != 2_050 {
		t.Fatalf("spend %d, want exactly the daily budget 2050", got.GetSpendMicros())
	}
	if g, err := h.campaigns().GetCampaign(as(acmeKey), &v1.GetCampaignRequest{Id: id}); err != nil || len(sponsoredBy(h.nearby())) != 0 {
		t.Fatalf("a campaign with its daily budget spent still serves (%v, %v)", g.GetCampaign().GetServingStatus(), err)
	}
}

// TestSponsoredRestart: after a restart the covering index serves the same
// campaigns (built from the stored coverings), and spend, stats, frequency
// counts, de-duplication and request counters are what they were.
func TestSponsoredRestart(t *testing.T) {
	dir := t.TempDir()
	mutate := func(c *config.Config) { c.Campaign.StatsKAnonymity = 1 }
	h := newHarness(t, dir, mutate)
	promoted := sample(promotedMP)
	promoted.Places = []*v1.Place{placeAt("bike-300", 300)}
	promoted.Audience = nil
	create(t, h, promoted)
	c := openCampaign()
	c.Budget = &v1.Budget{TotalMicros: 150, Pacing: v1.Pacing_PACING_ASAP}
	c.FrequencyCap = &v1.FrequencyCap{MaxImpressions: 1, Window: durationpb.New(time.Hour)}
	id := mustCreateCampaign(t, h, acmeKey, c).GetId()
	u1 := &v1.UserContext{UserId: "u-1"}
	tok := sponsoredResult(t, h.nearby(user(u1))).GetEventToken()
	if r := h.report(&v1.Event{EventId: "e1", EventToken: tok, Type: v1.EventType_EVENT_TYPE_IMPRESSION}); !r[0].GetAccepted() {
		t.Fatalf("impression: %v", r[0])
	}
	now := h.now
	before, err := h.campaigns().GetCampaignStats(as(acmeKey), &v1.GetCampaignStatsRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	h.stop()

	h2 := newHarness(t, dir, mutate)
	h2.now = now
	after, err := h2.campaigns().GetCampaignStats(as(acmeKey), &v1.GetCampaignStatsRequest{Id: id})
	if err != nil || !proto.Equal(before, after) {
		t.Fatalf("stats after restart %v (%v), before %v", after, err, before)
	}
	// The same token and event id are still known; u-1 is still capped;
	// another user is served from the reloaded covering index.
	if r := h2.report(&v1.Event{EventId: "e1", EventToken: tok, Type: v1.EventType_EVENT_TYPE_IMPRESSION}); r[0].GetAccepted() {
		t.Fatal("a replay after restart was accepted")
	}
	if got := sponsoredBy(h2.nearby(user(u1))); len(got) != 0 {
		t.Fatalf("capped user served after restart: %v", got)
	}
	tok2 := sponsoredResult(t, h2.nearby(user(&v1.UserContext{UserId: "u-2"}))).GetEventToken()
	if r := h2.report(&v1.Event{EventId: "e2", EventToken: tok2, Type: v1.EventType_EVENT_TYPE_IMPRESSION}); !r[0].GetAccepted() {
		t.Fatalf("impression after restart: %v", r[0])
	}
	// 100 + the 50 left of 150: the spend before the restart was kept.
	st, err := h2.campaigns().GetCampaignStats(as(acmeKey), &v1.GetCampaignStatsRequest{Id: id})
	if err != nil || st.GetTotals().GetSpendMicros() != 150 || st.GetTotals().GetImpressions() != 2 {
		t.Fatalf("stats %v %v", st.GetTotals(), err)
	}
	reach, err := h2.campaigns().EstimateReach(as(acmeKey), &v1.EstimateReachRequest{
		Geofence: &v1.Geofence{Include: []*v1.Area{circleArea(here.Latitude, here.Longitude, 5000)}}})
	// Three first pages were asked for from here, one before the restart;
	// the 5 km fence holds here's whole coarse cell, so the estimate is
	// exact.
	if err != nil || reach.GetRecentRequests() != 3 {
		t.Fatalf("reach after restart %v %v", reach, err)
	}
}
