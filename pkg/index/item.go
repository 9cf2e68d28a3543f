package index

import (
	"encoding/binary"
	"math"
	"unsafe"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/wirefmt"
	"github.com/aroundme/aroundme/targeting"
	"google.golang.org/protobuf/encoding/protowire"
)

// Item is one visible mini-program as the index holds it: what Nearby needs
// to filter, score and answer, and nothing more. A million of them live in
// memory and the garbage collector visits each object on every cycle, so an
// item is kept to two objects: the struct (with its place inline when it has
// one) and a single string holding all its text. Items are immutable and
// shared by snapshots.
type Item struct {
	ID string // a substring of Card
	// Card is the item's aroundme.v1.MiniProgramCard, encoded: Nearby
	// copies it into responses as is. It and every place's Wire are
	// substrings of the item's one text allocation. The name and icon URL
	// are read from it (Name, IconURL) rather than kept as fields: a
	// million items, 32 bytes each.
	Card       string
	Rating     float64
	Popularity int64
	Static     float64 // the static part of the score (see targeting.Weights)
	Audience   targeting.Audience
	Category   v1.Category
	Places     []PlaceInfo
	Offers     []*v1.Offer // shared, read-only
}

// PlaceInfo is a place: where it is for the scan, what it is for responses.
type PlaceInfo struct {
	Pt geo.Point // unit vector
	ID string    // a substring of Wire
	// Wire is the place as an encoded aroundme.v1.Place (id, location,
	// label), which Nearby copies into responses as is; the position and
	// the label are read from it (LatLng, Label) rather than kept as fields.
	Wire string
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
//
// The text allocation holds the encoded card, then each encoded place; the
// item's strings are views of it. Encoding at index time costs ~50 bytes
// an item over the bare text and saves Nearby re-encoding (and sizing) five
// strings and three numbers per result from fields scattered in memory.
func (f *itemFields) build(w targeting.Weights, cells []uint64, offers []*v1.Offer) *Item {
	cardSize := wirefmt.SizeString(cardID, f.id) + wirefmt.SizeString(cardName, f.name) +
		wirefmt.SizeVarint(cardCategory, uint64(f.category)) + wirefmt.SizeString(cardIconURL, f.icon) +
		wirefmt.SizeDouble(cardRating, f.rating)
	size := cardSize
	for i := range f.places {
		size += f.places[i].wireSize()
	}
	buf := make([]byte, 0, size)
	buf, idAt := appendText(buf, cardID, f.id)
	buf = wirefmt.AppendString(buf, cardName, f.name)
	buf = wirefmt.AppendVarint(buf, cardCategory, uint64(f.category))
	buf = wirefmt.AppendString(buf, cardIconURL, f.icon)
	buf = wirefmt.AppendDouble(buf, cardRating, f.rating)
	type span struct{ start, id int }
	var spans [4]span
	ps := spans[:0]
	for i := range f.places {
		p := &f.places[i]
		sp := span{start: len(buf)}
		buf, sp.id = appendText(buf, plID, p.id)
		buf = wirefmt.AppendMessageHeader(buf, plLocation, wirefmt.SizeDouble(llLatitude, p.lat)+wirefmt.SizeDouble(llLongitude, p.lng))
		buf = wirefmt.AppendDouble(buf, llLatitude, p.lat)
		buf = wirefmt.AppendDouble(buf, llLongitude, p.lng)
		buf = wirefmt.AppendString(buf, plLabel, p.label)
		ps = append(ps, sp)
	}
	text := unsafe.String(unsafe.SliceData(buf), len(buf)) // buf is not written again
	view := func(at int, n int) string { return text[at : at+n] }

	var it *Item
	if len(f.places) == 1 {
		sp := &singlePlaceItem{}
		it = &sp.Item
		it.Places = sp.place[:]
	} else {
		it = &Item{Places: make([]PlaceInfo, len(f.places))}
	}
	it.Card = text[:cardSize]
	it.ID = view(idAt, len(f.id))
	it.Rating, it.Popularity = f.rating, f.popularity
	it.Audience = f.audience
	it.Category = f.category
	it.Offers = offers
	it.Static = w.Static(it.Rating, it.Popularity, it.Audience)
	for i, p := range f.places {
		end := len(text)
		if i+1 < len(ps) {
			end = ps[i+1].start
		}
		it.Places[i] = PlaceInfo{Pt: geo.PointFromDeg(p.lat, p.lng), ID: view(ps[i].id, len(p.id)), Wire: text[ps[i].start:end]}
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
	lat, lng := it.Places[i].LatLng()
	return geo.CellOf(lat, lng, LeafRes)
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

// Field numbers of aroundme.v1.MiniProgramCard (discovery.proto).
const cardID, cardName, cardCategory, cardIconURL, cardRating = 1, 2, 3, 4, 5

// wireSize is the size of the place encoded as an aroundme.v1.Place.
func (p *placeFields) wireSize() int {
	return wirefmt.SizeString(plID, p.id) +
		wirefmt.SizeMessage(plLocation, wirefmt.SizeDouble(llLatitude, p.lat)+wirefmt.SizeDouble(llLongitude, p.lng)) +
		wirefmt.SizeString(plLabel, p.label)
}

// appendText appends a string field and returns where the string's bytes
// start in b (they are absent, and the start unused, when s is empty).
func appendText(b []byte, num protowire.Number, s string) ([]byte, int) {
	b = wirefmt.AppendString(b, num, s)
	return b, len(b) - len(s)
}

// Name is the mini-program's name, read from the card.
func (it *Item) Name() string { return string(wireField(it.Card, cardName)) }

// IconURL is the mini-program's icon URL, read from the card.
func (it *Item) IconURL() string { return string(wireField(it.Card, cardIconURL)) }

// Label is the place's label, read from its wire form.
func (p *PlaceInfo) Label() string { return string(wireField(p.Wire, plLabel)) }

// LatLng is the place's position in degrees, read from its wire form (as
// given, -0 included; an absent coordinate is +0).
func (p *PlaceInfo) LatLng() (latDeg, lngDeg float64) {
	loc := wireField(p.Wire, plLocation)
	return wireDouble(loc, llLatitude), wireDouble(loc, llLongitude)
}

// wireDouble is the double field num of m, +0 when absent.
func wireDouble(m []byte, num protowire.Number) float64 {
	v := wireField(unsafe.String(unsafe.SliceData(m), len(m)), num)
	if len(v) != 8 {
		return 0
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(v))
}

// wireField returns the value of field num in m, a message build encoded
// (so well formed, each field at most once): a length-delimited field's
// bytes, a fixed64's eight, a varint's encoding; nil when it is absent.
// It reads m in place, without copying: the result must not be written.
func wireField(m string, num protowire.Number) []byte {
	b := unsafe.Slice(unsafe.StringData(m), len(m))
	for len(b) > 0 {
		n, typ, tl := protowire.ConsumeTag(b)
		if tl < 0 {
			return nil
		}
		vl := protowire.ConsumeFieldValue(n, typ, b[tl:])
		if vl < 0 {
			return nil
		}
		if n == num {
			v := b[tl : tl+vl]
			if typ == protowire.BytesType {
				_, hl := protowire.ConsumeVarint(v)
				v = v[hl:]
			}
			return v[:len(v):len(v)]
		}
		b = b[tl+vl:]
	}
	return nil
}
