package index

import (
	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/targeting"
	h3 "github.com/uber/h3-go/v4"
)

// Item is one visible mini-program as the index holds it: what Nearby needs
// to filter, score and answer, precomputed once per write. Items are
// immutable and shared by snapshots.
type Item struct {
	ID string
	// Card, Places and Offers are shared, read-only messages that responses
	// point to instead of copying.
	Card     *v1.MiniProgramCard
	Places   []*v1.Place
	Offers   []*v1.Offer
	Points   []geo.Point // unit vector of each place
	Leaves   []uint64    // H3 cell (LeafRes) of each place
	Category v1.Category
	Audience targeting.Audience
	Terms    targeting.Terms // static terms of the score
	Static   float64         // Terms.Sum()
}

// NewItem converts a stored mini-program; nil for a hidden one, which is not
// served and so not indexed. It makes one H3 call per place.
func NewItem(mp *v1.MiniProgram, w targeting.Weights) *Item {
	if mp.GetHidden() {
		return nil
	}
	aud := AudienceOf(mp.GetAudience())
	it := &Item{
		ID: mp.GetId(),
		Card: &v1.MiniProgramCard{
			Id: mp.GetId(), Name: mp.GetName(), Category: mp.GetCategory(),
			IconUrl: mp.GetIconUrl(), Rating: mp.GetRating(),
		},
		Places:   mp.GetPlaces(),
		Offers:   mp.GetOffers(),
		Points:   make([]geo.Point, len(mp.GetPlaces())),
		Leaves:   make([]uint64, len(mp.GetPlaces())),
		Category: mp.GetCategory(),
		Audience: aud,
		Terms:    w.StaticTerms(mp.GetRating(), mp.GetPopularity(), aud),
	}
	it.Static = it.Terms.Sum()
	for i, p := range mp.GetPlaces() {
		lat, lng := p.GetLocation().GetLatitude(), p.GetLocation().GetLongitude()
		it.Points[i] = geo.PointFromDeg(lat, lng)
		it.Leaves[i] = uint64(h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, LeafRes))
	}
	return it
}

// AudienceOf converts an API audience into the targeting rule.
func AudienceOf(a *v1.Audience) targeting.Audience {
	out := targeting.Audience{MinAge: a.GetMinAge(), MaxAge: a.GetMaxAge()}
	for _, g := range a.GetGenders() {
		if g > 0 && g < 32 {
			out.Genders |= 1 << uint(g)
		}
	}
	for _, o := range a.GetOperatingSystems() {
		if o > 0 && o < 32 {
			out.OSes |= 1 << uint(o)
		}
	}
	return out
}

// CategoryMask returns the bit set of categories (0 = all).
func CategoryMask(cats []v1.Category) uint32 {
	var m uint32
	for _, c := range cats {
		if c > 0 && c < 32 {
			m |= 1 << uint(c)
		}
	}
	return m
}
