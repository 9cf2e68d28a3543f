package server

import (
	"context"
	"errors"
	"time"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/eventtoken"
	"github.com/aroundme/aroundme/pkg/ledger"
	"github.com/aroundme/aroundme/pkg/validate"
	h3 "github.com/uber/h3-go/v4"
	"google.golang.org/grpc/codes"
)

// ReportEvents verifies each event's token, then hands the verified events
// to the ledger, which de-duplicates, charges and counts them. A bad event
// is rejected with a reason and the others go on: the call fails only when
// the request itself is malformed (validated by the chain) or too large.
func (s *discoveryService) ReportEvents(ctx context.Context, req *v1.ReportEventsRequest) (*v1.ReportEventsResponse, error) {
	evs := req.GetEvents()
	if len(evs) > s.maxEvents {
		return nil, &apierr.Error{Code: codes.InvalidArgument, Message: "too many events",
			Violations: []apierr.FieldViolation{{Field: "events", Description: "at most " + itoa(s.maxEvents) + " events per call: split the report"}}}
	}
	now := s.now()
	resp := &v1.ReportEventsResponse{Results: make([]*v1.EventResult, len(evs))}
	batch := make([]ledger.Event, 0, len(evs))
	at := make([]int, 0, len(evs))
	m := s.sp.metrics
	for i, e := range evs {
		resp.Results[i] = &v1.EventResult{EventId: e.GetEventId()}
		c, err := s.events.Verify(e.GetEventToken(), now)
		if err != nil {
			label := "malformed"
			switch {
			case errors.Is(err, eventtoken.ErrForged):
				label = "forged"
			case errors.Is(err, eventtoken.ErrExpired):
				label = "expired"
			}
			resp.Results[i].Reason = err.Error()
			m.rejected.WithLabelValues(label).Inc()
			continue
		}
		batch = append(batch, ledger.Event{ID: e.GetEventId(), Type: ledger.EventType(e.GetType()), Claims: c})
		at = append(at, i)
	}
	results := make([]ledger.Result, len(batch))
	s.sp.ledger.Record(batch, results)
	for j, r := range results {
		out := resp.Results[at[j]]
		out.Accepted, out.Reason = r.Accepted, r.Reason
		ev := &batch[j]
		switch {
		case !r.Accepted:
			m.rejected.WithLabelValues(rejectLabel(r.Reason)).Inc()
		case ev.Claims.CampaignID == "":
			m.organic.Inc()
		default:
			if ev.Type == ledger.Impression {
				m.impressions.Inc()
			} else {
				m.clicks.Inc()
			}
			m.spend.Add(float64(r.ChargedMicros))
			if lc := s.sp.lookup(ev.Claims.CampaignID); lc != nil {
				s.sp.refreshCTR(lc) // the auction learns from this event at once
			}
		}
	}
	return resp, nil
}

// rejectLabel maps a ledger rejection to its metric label.
func rejectLabel(reason string) string {
	switch reason {
	case ledger.ReasonDuplicateEventID:
		return "duplicate_event_id"
	case ledger.ReasonTokenReused:
		return "replayed"
	case ledger.ReasonUnknownCampaign:
		return "unknown_campaign"
	}
	return "other"
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// GetCampaignStats reports accepted events: totals, per local day, and per
// coarse cell seen by at least k distinct users.
func (s *campaignService) GetCampaignStats(ctx context.Context, req *v1.GetCampaignStatsRequest) (*v1.GetCampaignStatsResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.camps.Get(ctx, t, req.GetId()); err != nil {
		return nil, err // NOT_FOUND for another advertiser's campaign too
	}
	var from, to time.Time
	if req.GetStartTime() != nil {
		from = req.GetStartTime().AsTime()
	}
	if req.GetEndTime() != nil {
		to = req.GetEndTime().AsTime()
	}
	rep, err := s.sp.ledger.StatsContext(ctx, req.GetId(), from, to)
	if err != nil {
		s.sp.log.Error("campaign stats: reading past days failed", "error", err.Error())
		return nil, apierr.Unavailable("campaign stats cannot be read right now: retry later")
	}
	stats := func(c ledger.Counts) *v1.Stats {
		return &v1.Stats{Impressions: c.Impressions, Clicks: c.Clicks, SpendMicros: c.SpendMicros}
	}
	resp := &v1.GetCampaignStatsResponse{Totals: stats(rep.Totals)}
	for _, d := range rep.Days {
		resp.Days = append(resp.Days, &v1.DailyStats{Date: d.Date, Stats: stats(d.Counts)})
	}
	for _, c := range rep.Cells {
		resp.Cells = append(resp.Cells, &v1.CellStats{H3Cell: h3.Cell(int64(c.Cell)).String(), Stats: stats(c.Counts)})
	}
	return resp, nil
}

// EstimateReach sizes a prospective fence: its area and covering, the
// mini-programs with a place inside, and the Nearby requests seen inside it
// in the last 7 days (estimated from coarse per-cell counters). Targeting
// is validated but does not narrow the request estimate: the counters keep
// no demographics, by design.
func (s *campaignService) EstimateReach(ctx context.Context, req *v1.EstimateReachRequest) (*v1.EstimateReachResponse, error) {
	if _, err := tenant(ctx); err != nil {
		return nil, err
	}
	var v apierr.Violations
	g := validate.Geofence(&v, "geofence", req.GetGeofence())
	if err := v.Err(); err != nil {
		return nil, err
	}
	gc, err := g.Cover(s.sp.policy)
	if err != nil {
		return nil, coverError(err, "geofence", s.sp.policy.MaxCells)
	}
	return &v1.EstimateReachResponse{
		AreaKm2:            g.AreaOf(gc),
		CellCount:          int64(gc.CellCount()),
		MiniProgramsInside: int64(s.sp.items.Snapshot().CountInside(g, gc)),
		RecentRequests:     s.sp.reach.Estimate(gc),
	}, nil
}

// coverError turns a failed covering into INVALID_ARGUMENT at the shape
// that crossed the cap.
func coverError(err error, prefix string, maxCells int) error {
	if !errors.Is(err, geo.ErrTooManyCells) {
		return err
	}
	path := prefix
	var ce *geo.CoverError
	if errors.As(err, &ce) && ce.Path != "" {
		path += "." + ce.Path
	}
	var v apierr.Violations
	v.Add(path, "the geofence's covering would need more than %d H3 cells in total, the server's cap: use fewer areas or simpler polygons", maxCells)
	return v.Err()
}

// DiagnoseCampaign answers "would my ad show here, to this user, now — and
// if not, why?" with the very decision Nearby makes (sponsors.decide),
// reading counters and recording nothing.
func (s *campaignService) DiagnoseCampaign(ctx context.Context, req *v1.DiagnoseCampaignRequest) (*v1.DiagnoseCampaignResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.camps.Get(ctx, t, req.GetId())
	if err != nil {
		return nil, err
	}
	lc := s.sp.lookup(c.GetId())
	if lc == nil { // only if the listener failed to convert it (logged)
		return nil, apierr.Unavailable("campaign %q cannot be diagnosed right now: retry later", c.GetId())
	}
	now := s.sp.now()
	if req.GetTime() != nil {
		now = req.GetTime().AsTime()
	}
	lat, lng := req.GetLocation().GetLatitude(), req.GetLocation().GetLongitude()
	inInc, inExc, ok := s.sp.fences.Snapshot().LocateDetail(lat, lng, lc.id)
	if !ok { // archived: not indexed; the exact test answers the same
		inInc, inExc = anyContains(lc.fence.Include, lat, lng), anyContains(lc.fence.Exclude, lat, lng)
	}
	u := userOf(req.GetUser())
	reasons := s.sp.decide(lc, u, s.userHash(req.GetUser().GetUserId()), now, inInc, inExc)
	resp := &v1.DiagnoseCampaignResponse{Eligible: reasons == 0, InsideGeofence: inInc && !inExc}
	for _, r := range reasons.List() {
		resp.Reasons = append(resp.Reasons, v1.IneligibilityReason(r))
	}
	return resp, nil
}

func anyContains(shapes []geo.Shape, lat, lng float64) bool {
	for _, sh := range shapes {
		if sh.ContainsDeg(lat, lng) {
			return true
		}
	}
	return false
}
