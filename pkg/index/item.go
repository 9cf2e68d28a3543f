package index

import (
	"strings"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/targeting"
	h3 "github.com/uber/h3-go/v4"
)

// Item is one visible mini-program as the index holds it: what Nearby needs
// to filter, score and answer, and nothing more. A million of them live in
// memory and the garbage collector visits each object on every cycle, so an
// item is kept to two objects: the struct (with its place inline when it has
// one) and a single string holding all its text. Items are immutable and
// shared by snapshots.
type Item struct {
	ID, Name, IconURL string // substrings of one shared string
	Rating            float64
	Popularity        int64
	Static            float64 // the static part of the score (see targeting.Weights)
	Audience          targeting.Audience
	Category          v1.Category
	Places            []PlaceInfo
	Offers            []*v1.Offer // shared, read-only
}

// PlaceInfo is a place: where it is for the scan, what it is for responses.
type PlaceInfo struct {
	Pt        geo.Point // unit vector
	Lat, Lng  float64
	ID, Label string
}

// Terms returns the static terms of the item's score, for explanations.
func (it *Item) Terms(w targeting.Weights) targeting.Terms {
	return w.StaticTerms(it.Rating, it.Popularity, it.Audience)
}

// singlePlaceItem lays out an item and its only place in one allocation.
type singlePlaceItem struct {
	Item
	place [1]PlaceInfo
}

// NewItem converts a stored mini-program; nil for a hidden one, which is not
// served and so not indexed. It makes no cgo call (see Leaves).
func NewItem(mp *v1.MiniProgram, w targeting.Weights) *Item {
	if mp.GetHidden() {
		return nil
	}
	places := mp.GetPlaces()
	size := len(mp.GetId()) + len(mp.GetName()) + len(mp.GetIconUrl())
	for _, p := range places {
		size += len(p.GetId()) + len(p.GetLabel())
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(mp.GetId())
	b.WriteString(mp.GetName())
	b.WriteString(mp.GetIconUrl())
	for _, p := range places {
		b.WriteString(p.GetId())
		b.WriteString(p.GetLabel())
	}
	text, off := b.String(), 0
	next := func(n int) string { off += n; return text[off-n : off] }

	var it *Item
	if len(places) == 1 {
		sp := &singlePlaceItem{}
		it = &sp.Item
		it.Places = sp.place[:]
	} else {
		it = &Item{Places: make([]PlaceInfo, len(places))}
	}
	it.ID, it.Name, it.IconURL = next(len(mp.GetId())), next(len(mp.GetName())), next(len(mp.GetIconUrl()))
	it.Rating, it.Popularity = mp.GetRating(), mp.GetPopularity()
	it.Audience = AudienceOf(mp.GetAudience())
	it.Category = mp.GetCategory()
	it.Offers = mp.GetOffers()
	it.Static = w.Static(it.Rating, it.Popularity, it.Audience)
	for i, p := range places {
		lat, lng := p.GetLocation().GetLatitude(), p.GetLocation().GetLongitude()
		it.Places[i] = PlaceInfo{Pt: geo.PointFromDeg(lat, lng), Lat: lat, Lng: lng,
			ID: next(len(p.GetId())), Label: next(len(p.GetLabel()))}
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
