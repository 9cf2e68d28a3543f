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
	// Cell is the place's H3 cell at LeafRes when the item was built with
	// its cells (NewItemWithCells, DecodeItem of a record that carries
	// them), else 0. Kept so that replacing or removing the item finds the
	// leaves it sits in without an H3 computation per place — and finds
	// exactly the leaves it was put in.
	Cell uint64
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
}

type placeFields struct {
	id, label string
	lat, lng  float64
}

// NewItem converts a stored mini-program; nil for a hidden one, which is not
// served and so not indexed. It computes no H3 cell (see Leaves).
func NewItem(mp *v1.MiniProgram, w targeting.Weights) *Item {
	return NewItemWithCells(mp, w, nil)
}

// NewItemWithCells is NewItem for a caller that knows the H3 cell
// (LeafRes) of each place, as the catalog does for what it writes: the item
// keeps them (PlaceInfo.Cell), so Apply neither computes them now nor when
// the item is later replaced. cells of the wrong length are ignored.
func NewItemWithCells(mp *v1.MiniProgram, w targeting.Weights, cells []uint64) *Item {
	if mp.GetHidden() {
		return nil
	}
	f := itemFields{
		id: mp.GetId(), name: mp.GetName(), icon: mp.GetIconUrl(),
		rating: mp.GetRating(), popularity: mp.GetPopularity(), category: mp.GetCategory(),
		audience: AudienceOf(mp.GetAudience()),
		places:   make([]placeFields, len(mp.GetPlaces())),
	}
	for i, p := range mp.GetPlaces() {
		f.places[i] = placeFields{id: p.GetId(), label: p.GetLabel(),
			lat: p.GetLocation().GetLatitude(), lng: p.GetLocation().GetLongitude()}
	}
	return f.build(w, cells, mp.GetOffers())
}

// build lays the item out in two allocations (see Item), with the cells of
// its places if cells has one per place, and offers (kept, shared). The
// offers are not a field of f so that f, whose strings and places may live
// on the caller's stack, does not escape.
func (f *itemFields) build(w targeting.Weights, cells []uint64, offers []*v1.Offer) *Item {
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
	it.Offers = offers
	it.Static = w.Static(it.Rating, it.Popularity, it.Audience)
	for i, p := range f.places {
		it.Places[i] = PlaceInfo{Pt: geo.PointFromDeg(p.lat, p.lng), Lat: p.lat, Lng: p.lng,
			ID: next(len(p.id)), Label: next(len(p.label))}
		if len(cells) == len(f.places) {
			it.Places[i].Cell = cells[i]
		}
	}
	return it
}

// hasCells reports whether the item was built with its places' cells.
func (it *Item) hasCells() bool { return len(it.Places) > 0 && it.Places[0].Cell != 0 }

// HasCells reports whether the item knows the H3 cell of each of its places
// (built with them), so that a loader need not compute them (Leaves).
func (it *Item) HasCells() bool { return it.hasCells() }

// Leaves returns the H3 cell (LeafRes) of each place: the ones it was built
// with, else one geo.CellOf per place (~0.5 µs), which is why loaders
// compute them in parallel and hand them to Apply in the Change.
func (it *Item) Leaves() []uint64 {
	out := make([]uint64, len(it.Places))
	for i := range it.Places {
		out[i] = it.leaf(i)
	}
	return out
}

// leaf returns the H3 cell (LeafRes) of place i.
func (it *Item) leaf(i int) uint64 {
	if c := it.Places[i].Cell; c != 0 {
		return c
	}
	p := &it.Places[i]
	return geo.CellOf(p.Lat, p.Lng, LeafRes)
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
