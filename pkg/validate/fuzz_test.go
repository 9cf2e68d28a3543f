package validate

import (
	"math"
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func seedMiniProgram() *v1.MiniProgram {
	return &v1.MiniProgram{
		Id: "bike", Name: "Bike", Category: v1.Category_CATEGORY_TRANSPORT,
		Places:   []*v1.Place{{Id: "p1", Location: &v1.LatLng{Latitude: 39.9, Longitude: 116.4}}},
		Audience: &v1.Audience{MinAge: 16, Genders: []v1.Gender{v1.Gender_GENDER_FEMALE}},
		Offers:   []*v1.Offer{{Id: "o", Title: "Deposit waived", MinCreditScore: 650}},
	}
}

// FuzzRequest feeds arbitrary bytes, decoded as each catalog request, through
// the real validation: it must never panic, and whatever it accepts must
// satisfy the contract's invariants.
func FuzzRequest(f *testing.F) {
	for _, m := range []proto.Message{
		&v1.CreateMiniProgramRequest{MiniProgram: seedMiniProgram()},
		&v1.UpdateMiniProgramRequest{MiniProgram: seedMiniProgram(), UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"audience.min_age"}}},
		&v1.ListMiniProgramsRequest{PageSize: 10, Category: 3},
		&v1.NearbyRequest{Location: &v1.LatLng{Latitude: 39.9, Longitude: 116.4}, RadiusM: 2000, Limit: 20,
			User: &v1.UserContext{Age: 30, Gender: 1, Os: 2, CreditScore: 700}, Categories: []v1.Category{3}},
	} {
		b, _ := proto.Marshal(m)
		for kind := range uint8(6) {
			f.Add(kind, b)
		}
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		var req proto.Message
		switch kind % 6 {
		case 5:
			req = &v1.NearbyRequest{}
		case 0:
			req = &v1.CreateMiniProgramRequest{}
		case 1:
			req = &v1.UpdateMiniProgramRequest{}
		case 2:
			req = &v1.ListMiniProgramsRequest{}
		case 3:
			req = &v1.GetMiniProgramRequest{}
		default:
			req = &v1.DeleteMiniProgramRequest{}
		}
		if proto.Unmarshal(data, req) != nil {
			return
		}
		if Request(req) != nil {
			return
		}
		var mp *v1.MiniProgram
		switch r := req.(type) {
		case *v1.CreateMiniProgramRequest:
			mp = r.GetMiniProgram()
		case *v1.UpdateMiniProgramRequest:
			if len(r.GetUpdateMask().GetPaths()) == 0 {
				mp = r.GetMiniProgram()
			}
		case *v1.ListMiniProgramsRequest:
			if r.PageSize < 0 || r.PageSize > MaxPageSize {
				t.Fatalf("accepted page_size %d", r.PageSize)
			}
		case *v1.NearbyRequest:
			l := r.GetLocation()
			if l == nil || math.IsNaN(l.Latitude) || math.Abs(l.Latitude) > 90 || math.IsNaN(l.Longitude) || math.Abs(l.Longitude) > 180 {
				t.Fatalf("accepted location %v", l)
			}
			if !(r.RadiusM >= 0 && r.RadiusM <= MaxRadiusM) || r.Limit < 0 || r.Limit > MaxLimit {
				t.Fatalf("accepted radius %v limit %d", r.RadiusM, r.Limit)
			}
			for _, c := range r.Categories {
				if c <= 0 || c > v1.Category_CATEGORY_SPORTS {
					t.Fatalf("accepted category %d", c)
				}
			}
			if a := r.GetUser().GetAge(); a < 0 || a > MaxAge {
				t.Fatalf("accepted age %d", a)
			}
		}
		if mp == nil {
			return
		}
		if !ValidID(mp.GetId()) || len(mp.GetPlaces()) == 0 || len(mp.GetPlaces()) > MaxPlaces {
			t.Fatalf("accepted bad id or places: %q %d", mp.GetId(), len(mp.GetPlaces()))
		}
		for _, p := range mp.GetPlaces() {
			lat, lng := p.GetLocation().GetLatitude(), p.GetLocation().GetLongitude()
			if p.GetLocation() == nil || math.IsNaN(lat) || math.IsNaN(lng) || math.Abs(lat) > 90 || math.Abs(lng) > 180 {
				t.Fatalf("accepted bad location %v", p.GetLocation())
			}
		}
		if r := mp.GetRating(); !(r >= 0 && r <= 5) {
			t.Fatalf("accepted rating %v", r)
		}
	})
}
