package server

import (
	"bytes"
	"math"
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/index"
	"github.com/aroundme/aroundme/pkg/wirefmt"
	"github.com/aroundme/aroundme/targeting"
	"google.golang.org/protobuf/proto"
)

// TestNearbyWireMatchesProto: the hand-written encoding of results is byte
// for byte what proto.Marshal makes of the same response built as messages,
// for zero values, negative zero, unicode, offers, reasons, sponsorships
// and page tokens.
func TestNearbyWireMatchesProto(t *testing.T) {
	w := targeting.DefaultWeights()
	mps := []*v1.MiniProgram{
		{Id: "a", Name: "Ünïcödé 单车", Category: v1.Category_CATEGORY_TRANSPORT, IconUrl: "https://x/a.png", Rating: 4.5,
			Places: []*v1.Place{{Id: "p1", Label: "北京 #1", Location: &v1.LatLng{Latitude: 39.9, Longitude: 116.4}}},
			Offers: []*v1.Offer{{Id: "o1", Title: "Deposit waived", MinCreditScore: 650}, {Id: "o2", Title: "Free"}}},
		{Id: "b", Name: "Zero", Category: v1.Category_CATEGORY_GAMES,
			Places: []*v1.Place{{Id: "p", Location: &v1.LatLng{}}, {Id: "q", Location: &v1.LatLng{Latitude: math.Copysign(0, -1), Longitude: -180}}}},
	}
	var hits []index.Hit
	for i, mp := range mps {
		it := index.NewItem(mp, w)
		hits = append(hits, index.Hit{Item: it, Place: i, DistanceM: float64(i) * 12.5, Score: 0.5 - float64(i)})
	}
	for _, next := range []string{"", "next-token"} {
		want := &v1.NearbyResponse{NextPageToken: next}
		var b []byte
		for i := range hits {
			h := &hits[i]
			pl := h.Item.Places[h.Place]
			r := wireResult{hit: h, offers: h.Item.Offers, token: []byte("tok-" + h.Item.ID)}
			if i == 0 {
				r.reasons = []string{"nearest place", "", "score 0.5"}
			}
			var sp *v1.Sponsorship
			if i == 1 {
				r.sponsor = &liveCampaign{id: "c-0123", headline: "Ride 骑行", image: "https://x/i.png"}
				sp = &v1.Sponsorship{CampaignId: "c-0123", Headline: "Ride 骑行", ImageUrl: "https://x/i.png"}
			}
			b = appendResult(b, &r)
			want.Results = append(want.Results, &v1.NearbyResult{
				MiniProgram: &v1.MiniProgramCard{Id: h.Item.ID, Name: h.Item.Name(), Category: h.Item.Category, IconUrl: h.Item.IconURL(), Rating: h.Item.Rating},
				Place:       &v1.Place{Id: pl.ID, Label: pl.Label(), Location: latLngOf(&pl)},
				DistanceM:   h.DistanceM, Score: h.Score, Offers: r.offers, EventToken: string(r.token), Reasons: r.reasons,
				Sponsorship: sp,
			})
		}
		b = wirefmt.AppendString(b, fResponseNextPageToken, next)
		wantBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, wantBytes) {
			t.Fatalf("wire encoding differs from proto.Marshal:\n got %x\nwant %x", b, wantBytes)
		}
		got := &v1.NearbyResponse{}
		if err := proto.Unmarshal(b, got); err != nil || !proto.Equal(got, want) {
			t.Fatalf("decoded %v, %v", got, err)
		}
	}
}

func latLngOf(p *index.PlaceInfo) *v1.LatLng {
	lat, lng := p.LatLng()
	return &v1.LatLng{Latitude: lat, Longitude: lng}
}
