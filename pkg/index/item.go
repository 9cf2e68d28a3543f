package index

import (
	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/targeting"
	h3 "github.com/uber/h3-go/v4"
)

// Item is one visible mini-program as the index holds it: what Nearby needs
// to filter, score and answer, and nothing more (a million of them live in
// memory, so the decoded protos are not kept). Items are immutable and shared
// by snapshots.
type Item struct {
	ID, Name, IconURL string
	Rating            float64
	Popularity        int64
	Static            float64 // the static part of the score (see targeting.Weights)
	Audience          targeting.Audience
	Category          v1.Category
	Places            []PlaceInfo
	Points            []geo.Point // unit vector of each place, for the scan
	Offers            []*v1.Offer // shared, read-only
}

// PlaceInfo is a place as responses show it.
type PlaceInfo struct {
	ID, Label string
	Lat, Lng  float64
}

// Terms returns the static terms of the item's score, for explanations.
func (it *Item) Terms(w targeting.Weights) targeting.Terms {
	return w.StaticTerms(it.Rating, it.Popularity, it.Audience)
}

// NewItem converts a stored mini-program; nil for a hidden one, which is not
// served and so not indexed. It makes no cgo call (see Leaves).
func NewItem(mp *v1.MiniProgram, w targeting.Weights) *Item {
	if mp.GetHidden() {
		return nil
	}
	aud := AudienceOf(mp.GetAudience())
	it := &Item{
		ID: mp.GetId(), Name: mp.GetName(), IconURL: mp.GetIconUrl(),
		Rating:     mp.GetRating(),
		Popularity: mp.GetPopularity(),
		Audience:   aud,
		Category:   mp.GetCategory(),
		Places:     make([]PlaceInfo, len(mp.GetPlaces())),
		Points:     make([]geo.Point, len(mp.GetPlaces())),
		Offers:     mp.GetOffers(),
	}
	it.Static = w.Static(it.Rating, it.Popularity, aud)
	for i, p := range mp.GetPlaces() {
		lat, lng := p.GetLocation().GetLatitude(), p.GetLocation().GetLongitude()
		it.Places[i] = PlaceInfo{ID: p.GetId(), Label: p.GetLabel(), Lat: lat, Lng: lng}
		it.Points[i] = geo.PointFromDeg(lat, lng)
	}
	return it
}

// Leaves returns the H3 cell (LeafRes) of each place: one cgo call per
// place, which is why loaders compute them in parallel and hand them to
// Apply in the Change.
func (it *Item) Leaves() []uint64 {
	out := make([]uint64, len(it.Places))
	for i, p := range it.Places {
		out[i] = uint64(h3.LatLngToCell(h3.LatLng{Lat: p.Lat, Lng: p.Lng}, LeafRes))
	}
	return out
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
