package validate

import (
	"fmt"
	"unicode"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// MaxEventIDBytes bounds a caller's event id: ids are remembered (for
// de-duplication) for as long as tokens live, so their size is memory.
const MaxEventIDBytes = 128

// servingRequest validates the requests of the serving side of campaigns
// (events, stats, reach, diagnosis); it reports whether req was one of them.
func servingRequest(v *apierr.Violations, req any) bool {
	switch r := req.(type) {
	case *v1.ReportEventsRequest:
		ReportEvents(v, r)
	case *v1.GetCampaignStatsRequest:
		checkCampaignID(v, "id", r.GetId())
		checkTimestamp(v, "start_time", r.GetStartTime())
		checkTimestamp(v, "end_time", r.GetEndTime())
		if s, e := r.GetStartTime(), r.GetEndTime(); s != nil && e != nil && s.IsValid() && e.IsValid() && !s.AsTime().Before(e.AsTime()) {
			v.Add("end_time", "must be after start_time")
		}
	case *v1.EstimateReachRequest:
		if r.GetGeofence() == nil {
			v.Add("geofence", "required")
		} else {
			Geofence(v, "geofence", r.GetGeofence())
		}
		Targeting(v, "targeting", r.GetTargeting())
	case *v1.DiagnoseCampaignRequest:
		checkCampaignID(v, "id", r.GetId())
		LatLng(v, "location", r.GetLocation())
		User(v, "user", r.GetUser())
		checkTimestamp(v, "time", r.GetTime())
	default:
		return false
	}
	return true
}

// ReportEvents checks the shape of an events report. Tokens are not checked
// here: a bad token is the rejection of its one event (with a reason), not
// of the call. What makes the call INVALID_ARGUMENT is what no event could
// be processed with: a missing or unprintable id, an unknown type.
func ReportEvents(v *apierr.Violations, r *v1.ReportEventsRequest) {
	if len(r.GetEvents()) == 0 {
		v.Add("events", "at least one event is required")
	}
	for i, e := range r.GetEvents() {
		p := fmt.Sprintf("events[%d]", i)
		id := e.GetEventId()
		switch {
		case id == "":
			v.Add(p+".event_id", "required: a unique id per event, so that a retried report is not counted twice")
		case len(id) > MaxEventIDBytes:
			v.Add(p+".event_id", "%d bytes: at most %d are allowed", len(id), MaxEventIDBytes)
		case !printable(id):
			v.Add(p+".event_id", "must be printable UTF-8 without spaces or control characters")
		}
		switch e.GetType() {
		case v1.EventType_EVENT_TYPE_IMPRESSION, v1.EventType_EVENT_TYPE_CLICK:
		case v1.EventType_EVENT_TYPE_UNSPECIFIED:
			v.Add(p+".type", "required: EVENT_TYPE_IMPRESSION or EVENT_TYPE_CLICK")
		default:
			v.Add(p+".type", "%d: not an EventType", e.GetType())
		}
		if e.GetEventToken() == "" {
			v.Add(p+".event_token", "required: the event_token of the Nearby result the event is about")
		}
		checkTimestamp(v, p+".time", e.GetTime())
	}
}

func printable(s string) bool {
	for _, r := range s {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// checkTimestamp accepts nil (unset) or a valid timestamp.
func checkTimestamp(v *apierr.Violations, path string, t *timestamppb.Timestamp) {
	if t == nil {
		return
	}
	if err := t.CheckValid(); err != nil {
		v.Add(path, "%v", err)
	}
}
