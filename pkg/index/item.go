package index

import (
	"strings"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/targeting"
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

// itemFields are the parts of a mini-program an Item is built from, however
// they were decoded.
type itemFields struct {
	id, name, icon string
	rating         float64
	popularity     int64
	category       v1.Category
	audience       targeting.Audience
	places         []placeFields
	offers         []*v1.Offer
}

type placeFields struct {
	id, label string
	lat, lng  float64
}

// NewItem converts a stored mini-program; nil for a hidden one, which is not
// served and so not indexed. It makes no cgo call (see Leaves).
func NewItem(mp *v1.MiniProgram, w targeting.Weights) *Item {
	if mp.GetHidden() {
		return nil
	}
	f := itemFields{
		id: mp.GetId(), name: mp.GetName(), icon: mp.GetIconUrl(),
		rating: mp.GetRating(), popularity: mp.GetPopularity(), category: mp.GetCategory(),
		audience: AudienceOf(mp.GetAudience()), offers: mp.GetOffers(),
		places: make([]placeFields, len(mp.GetPlaces())),
	}
	for i, p := range mp.GetPlaces() {
		f.places[i] = placeFields{id: p.GetId(), label: p.GetLabel(),
			lat: p.GetLocation().GetLatitude(), lng: p.GetLocation().GetLongitude()}
	}
	return f.build(w)
}

// build lays the item out in two allocations (see Item).
func (f *itemFields) build(w targeting.Weights) *Item {
	size := len(f.id) + len(f.name) + len(f.icon)
	for _, p := range f.places {
		size += len(p.id) + len(p.label)
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(f.id)
	b.WriteString(f.name)
	b.WriteString(f.icon)
	for _, p := range f.places {
		b.WriteString(p.id)
		b.WriteString(p.label)
	}
	text, off := b.String(), 0
	next := func(n int) string { off += n; return text[off-n : off] }

	var it *Item
	if len(f.places) == 1 {
		sp := &singlePlaceItem{}
		it = &sp.Item
		it.Places = sp.place[:]
	} else {
		it = &Item{Places: make([]PlaceInfo, len(f.places))}
	}
	it.ID, it.Name, it.IconURL = next(len(f.id)), next(len(f.name)), next(len(f.icon))
	it.Rating, it.Popularity = f.rating, f.popularity
	it.Audience = f.audience
	it.Category = f.category
	it.Offers = f.offers
	it.Static = w.Static(it.Rating, it.Popularity, it.Audience)
	for i, p := range f.places {
		it.Places[i] = PlaceInfo{Pt: geo.PointFromDeg(p.lat, p.lng), Lat: p.lat, Lng: p.lng,
			ID: next(len(p.id)), Label: next(len(p.label))}
	}
	return it
}

// Leaves returns the H3 cell (LeafRes) of each place: one geo.CellOf per
// place (~0.5 µs), which is why loaders compute them in parallel and hand
// them to Apply in the Change.
func (it *Item) Leaves() []uint64 {
	out := make([]uint64, len(it.Places))
	for i, p := range it.Places {
		out[i] = geo.CellOf(p.Lat, p.Lng, LeafRes)
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
