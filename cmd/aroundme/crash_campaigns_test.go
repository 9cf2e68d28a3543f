package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"google.golang.org/grpc"
)

// Campaign writes and events in the SIGKILL rounds of TestCrashKill.
//
// Campaign ids are the server's, so a create in flight at the kill cannot
// be looked up by id: every create carries a unique name instead, and after
// a restart each stored campaign must be an acknowledged one (with its last
// acknowledged state, or a state change then in flight) or an in-flight
// create, whole.
//
// Events are billed by a ledger that persists in batches: a crash may lose
// the events accepted in the last flush interval, never more, and never
// invents any. With --counter-flush-interval 100ms, every impression
// accepted more than crashSlack before the kill must survive it.

const (
	crashFlushInterval = "100ms"
	crashSlack         = 1500 * time.Millisecond // the flush interval, plus an fsync, plus scheduling noise on a loaded 2-core CI machine
	promoID            = "promo"
)

var promoAt = &v1.LatLng{Latitude: 31.25, Longitude: 121.4}

// campaignCrashState is what the client side knows across rounds.
type campaignCrashState struct {
	mu       sync.Mutex
	acked    map[string]v1.CampaignState // id → last acknowledged state
	inflight map[string][]v1.CampaignState
	creating map[string]bool // names of creates not acknowledged
	names    map[string]bool // names of acknowledged creates
	seq      int

	// Impressions: the stored count read after the last restart, and this
	// round's accepted impressions with their acknowledgement times.
	stored   int64
	accepted []time.Time
	pending  int // impressions reported but not answered at the kill
	eventSeq int
}

func newCampaignCrashState() *campaignCrashState {
	return &campaignCrashState{acked: map[string]v1.CampaignState{}, inflight: map[string][]v1.CampaignState{},
		creating: map[string]bool{}, names: map[string]bool{}}
}

func crashCampaign(name string) *v1.Campaign {
	return &v1.Campaign{
		Name: name, MiniProgramId: promoID,
		Geofence: &v1.Geofence{Include: []*v1.Area{{Shape: &v1.Area_Circle{Circle: &v1.Circle{Center: promoAt, RadiusM: 20000}}}}},
		Budget:   &v1.Budget{TotalMicros: 1_000_000_000_000, Pacing: v1.Pacing_PACING_ASAP},
		Bid:      &v1.Bid{Model: v1.PricingModel_PRICING_MODEL_CPM, AmountMicros: 1_000_000},
		Creative: &v1.Creative{Headline: name},
	}
}

// setup creates the promoted mini-program once.
func (cs *campaignCrashState) setup(t *testing.T, conn *grpc.ClientConn) {
	t.Helper()
	_, err := v1.NewCatalogServiceClient(conn).CreateMiniProgram(admin(), &v1.CreateMiniProgramRequest{MiniProgram: &v1.MiniProgram{
		Id: promoID, Name: "Promo", Category: v1.Category_CATEGORY_TRANSPORT, Places: []*v1.Place{{Id: "p", Location: promoAt}},
	}})
	if err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		t.Fatal(err)
	}
}

// check verifies the stored campaigns and the impression count after a
// restart, then starts the next round's bookkeeping. killed is when the
// previous process was killed (zero before the first round).
func (cs *campaignCrashState) check(t *testing.T, conn *grpc.ClientConn, killed time.Time) {
	t.Helper()
	c := v1.NewCampaignServiceClient(conn)
	stored := map[string]*v1.Campaign{}
	tok := ""
	for {
		resp, err := c.ListCampaigns(advertiser(), &v1.ListCampaignsRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, cp := range resp.GetCampaigns() {
			stored[cp.GetId()] = cp
		}
		if tok = resp.GetNextPageToken(); tok == "" {
			break
		}
	}
	for id, st := range cs.acked {
		cp := stored[id]
		if cp == nil {
			t.Fatalf("acknowledged campaign %s lost", id)
		}
		if cp.GetState() != st && !containsState(cs.inflight[id], cp.GetState()) {
			t.Fatalf("campaign %s is %v; acknowledged %v, in flight %v", id, cp.GetState(), st, cs.inflight[id])
		}
		cs.acked[id] = cp.GetState() // a state change in flight may have landed
		cs.inflight[id] = nil
	}
	for id, cp := range stored {
		if _, ok := cs.acked[id]; ok {
			continue
		}
		if !cs.creating[cp.GetName()] || cp.GetCreative().GetHeadline() != cp.GetName() || cp.GetVersion() != 1 {
			t.Fatalf("stored campaign %s (%q, v%d) was never created by the test, or not whole", id, cp.GetName(), cp.GetVersion())
		}
		cs.acked[id] = cp.GetState()
		cs.names[cp.GetName()] = true
	}
	cs.creating = map[string]bool{}

	// Impressions: read the campaign that carries them (the first one).
	var total int64
	for id := range cs.acked {
		s, err := c.GetCampaignStats(advertiser(), &v1.GetCampaignStatsRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		total += s.GetTotals().GetImpressions()
	}
	if !killed.IsZero() {
		sure := 0
		for _, at := range cs.accepted {
			if at.Before(killed.Add(-crashSlack)) {
				sure++
			}
		}
		lo, hi := cs.stored+int64(sure), cs.stored+int64(len(cs.accepted)+cs.pending)
		if total < lo || total > hi {
			t.Fatalf("%d impressions stored after the kill; want %d..%d (%d before the round, %d accepted, %d more than %v before the kill, %d unanswered)",
				total, lo, hi, cs.stored, len(cs.accepted), sure, crashSlack, cs.pending)
		}
	}
	cs.stored, cs.accepted, cs.pending = total, nil, 0
}

func containsState(ss []v1.CampaignState, s v1.CampaignState) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// writer creates campaigns and pauses/resumes them until ctx ends.
func (cs *campaignCrashState) writer(ctx context.Context, conn *grpc.ClientConn) {
	c := v1.NewCampaignServiceClient(conn)
	for ctx.Err() == nil {
		cs.mu.Lock()
		cs.seq++
		n := cs.seq
		var target string
		for id := range cs.acked { // map order: a random acknowledged campaign
			target = id
			break
		}
		cs.mu.Unlock()
		if n%3 != 0 || target == "" {
			name := fmt.Sprintf("crash-%06d", n)
			cs.mu.Lock()
			cs.creating[name] = true
			cs.mu.Unlock()
			resp, err := c.CreateCampaign(advertiser(), &v1.CreateCampaignRequest{Campaign: crashCampaign(name)})
			if err == nil {
				cs.mu.Lock()
				cs.acked[resp.GetCampaign().GetId()] = resp.GetCampaign().GetState()
				cs.names[name] = true
				delete(cs.creating, name)
				cs.mu.Unlock()
			}
			continue
		}
		cs.mu.Lock()
		want := v1.CampaignState_CAMPAIGN_STATE_PAUSED
		if cs.acked[target] == want {
			want = v1.CampaignState_CAMPAIGN_STATE_ACTIVE
		}
		cs.inflight[target] = append(cs.inflight[target], want)
		cs.mu.Unlock()
		var err error
		if want == v1.CampaignState_CAMPAIGN_STATE_PAUSED {
			_, err = c.PauseCampaign(advertiser(), &v1.PauseCampaignRequest{Id: target})
		} else {
			_, err = c.ResumeCampaign(advertiser(), &v1.ResumeCampaignRequest{Id: target})
		}
		if err == nil {
			cs.mu.Lock()
			cs.acked[target] = want
			cs.inflight[target] = nil
			cs.mu.Unlock()
		}
	}
}

// events asks Nearby where the campaigns are and reports an impression of
// every sponsored result, until ctx ends.
func (cs *campaignCrashState) events(ctx context.Context, conn *grpc.ClientConn) {
	d := v1.NewDiscoveryServiceClient(conn)
	for ctx.Err() == nil {
		resp, err := d.Nearby(admin(), &v1.NearbyRequest{Location: promoAt, RadiusM: 1000, User: &v1.UserContext{UserId: "crash-user"}})
		if err != nil {
			continue
		}
		for _, r := range resp.GetResults() {
			if r.GetSponsorship() == nil {
				continue
			}
			cs.mu.Lock()
			cs.eventSeq++
			id := fmt.Sprintf("ev-%d", cs.eventSeq)
			cs.pending++
			cs.mu.Unlock()
			res, err := d.ReportEvents(admin(), &v1.ReportEventsRequest{Events: []*v1.Event{{EventId: id, EventToken: r.GetEventToken(), Type: v1.EventType_EVENT_TYPE_IMPRESSION}}})
			if err != nil {
				continue // unanswered: it stays pending (it may or may not count)
			}
			cs.mu.Lock()
			cs.pending--
			if res.GetResults()[0].GetAccepted() {
				cs.accepted = append(cs.accepted, time.Now())
			}
			cs.mu.Unlock()
		}
	}
}
