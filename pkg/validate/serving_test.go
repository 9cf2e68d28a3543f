package validate

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func violationFields(err error) []string {
	e, ok := err.(*apierr.Error)
	if !ok {
		return nil
	}
	var out []string
	for _, fv := range e.Violations {
		out = append(out, fv.Field)
	}
	return out
}

func TestServingRequests(t *testing.T) {
	ev := func(id, tok string, typ v1.EventType) *v1.Event {
		return &v1.Event{EventId: id, EventToken: tok, Type: typ}
	}
	ts := timestamppb.New(time.Unix(1e9, 0))
	for _, tc := range []struct {
		name string
		req  proto.Message
		want string // the field of the one violation; "" = valid
	}{
		{"events ok", &v1.ReportEventsRequest{Events: []*v1.Event{ev("e1", "tok", v1.EventType_EVENT_TYPE_CLICK)}}, ""},
		// A bad token is its event's rejection, not the call's.
		{"garbage token is the event's problem", &v1.ReportEventsRequest{Events: []*v1.Event{ev("e1", "!!", v1.EventType_EVENT_TYPE_IMPRESSION)}}, ""},
		{"no events", &v1.ReportEventsRequest{}, "events"},
		{"no id", &v1.ReportEventsRequest{Events: []*v1.Event{ev("", "t", 1)}}, "events[0].event_id"},
		{"long id", &v1.ReportEventsRequest{Events: []*v1.Event{ev(strings.Repeat("a", 129), "t", 1)}}, "events[0].event_id"},
		{"control char", &v1.ReportEventsRequest{Events: []*v1.Event{ev("a\nb", "t", 1)}}, "events[0].event_id"},
		{"no type", &v1.ReportEventsRequest{Events: []*v1.Event{ev("a", "t", 1), ev("b", "t", 0)}}, "events[1].type"},
		{"unknown type", &v1.ReportEventsRequest{Events: []*v1.Event{ev("a", "t", 9)}}, "events[0].type"},
		{"no token", &v1.ReportEventsRequest{Events: []*v1.Event{ev("a", "", 1)}}, "events[0].event_token"},
		{"bad time", &v1.ReportEventsRequest{Events: []*v1.Event{{EventId: "a", EventToken: "t", Type: 1, Time: &timestamppb.Timestamp{Nanos: -1}}}}, "events[0].time"},
		{"stats ok", &v1.GetCampaignStatsRequest{Id: "c-1", StartTime: ts}, ""},
		{"stats bad id", &v1.GetCampaignStatsRequest{Id: "C 1"}, "id"},
		{"stats reversed range", &v1.GetCampaignStatsRequest{Id: "c-1", StartTime: ts, EndTime: ts}, "end_time"},
		{"reach no fence", &v1.EstimateReachRequest{}, "geofence"},
		{"reach bad radius", &v1.EstimateReachRequest{Geofence: &v1.Geofence{Include: []*v1.Area{{Shape: &v1.Area_Circle{Circle: &v1.Circle{Center: &v1.LatLng{}, RadiusM: 1}}}}}}, "geofence.include[0].circle.radius_m"},
		{"reach ok", &v1.EstimateReachRequest{Geofence: seedCampaign().GetGeofence()}, ""},
		{"diagnose ok", &v1.DiagnoseCampaignRequest{Id: "c-1", Location: &v1.LatLng{Latitude: 1}}, ""},
		{"diagnose no location", &v1.DiagnoseCampaignRequest{Id: "c-1"}, "location"},
		{"diagnose bad age", &v1.DiagnoseCampaignRequest{Id: "c-1", Location: &v1.LatLng{}, User: &v1.UserContext{Age: -1}}, "user.age"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Request(tc.req)
			got := violationFields(err)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected %v", err)
				}
				return
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("violations %v (%v), want just %q", got, err, tc.want)
			}
		})
	}
}

// FuzzServingRequest feeds arbitrary bytes, decoded as each serving-side
// campaign request, through the real validation: never a panic, and an
// accepted events report has ids and types that the ledger can key on.
func FuzzServingRequest(f *testing.F) {
	for _, m := range []proto.Message{
		&v1.ReportEventsRequest{Events: []*v1.Event{{EventId: "e1", EventToken: "AQ", Type: 1}}},
		&v1.GetCampaignStatsRequest{Id: "c-1"},
		&v1.EstimateReachRequest{Geofence: seedCampaign().GetGeofence()},
		&v1.DiagnoseCampaignRequest{Id: "c-1", Location: &v1.LatLng{Latitude: 1}},
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
			req = &v1.ReportEventsRequest{}
		case 1:
			req = &v1.GetCampaignStatsRequest{}
		case 2:
			req = &v1.EstimateReachRequest{}
		default:
			req = &v1.DiagnoseCampaignRequest{}
		}
		if proto.Unmarshal(data, req) != nil || Request(req) != nil {
			return
		}
		if r, ok := req.(*v1.ReportEventsRequest); ok {
			for _, e := range r.GetEvents() {
				if e.GetEventId() == "" || len(e.GetEventId()) > MaxEventIDBytes || e.GetType() < 1 || e.GetType() > 2 {
					t.Fatalf("accepted %v", e)
				}
			}
		}
	})
}
