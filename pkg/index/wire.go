package index

import (
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"unsafe"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/targeting"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// errRecord is returned for a record that is not a well-formed MiniProgram.
var errRecord = errors.New("malformed mini-program record")

// Field numbers of aroundme.v1.MiniProgram, Place, LatLng and Audience
// (catalog.proto, common.proto).
const (
	mpID, mpName, mpCategory, mpIconURL, mpPlaces, mpAudience = 1, 2, 4, 5, 6, 7
	mpRating, mpPopularity, mpOffers, mpHidden                = 8, 9, 10, 11
	plID, plLocation, plLabel                                 = 1, 2, 3
	llLatitude, llLongitude                                   = 1, 2
	auMinAge, auMaxAge, auGenders, auOSes                     = 1, 2, 3, 4
)

// DecodeItem builds the Item of an encoded MiniProgram record directly from
// its wire bytes, reading only the fields the index needs — at start-up this
// replaces a full proto.Unmarshal per record and most of its garbage. It
// returns the id and the item (nil when hidden). If the record carries a
// packed-fixed64 field cellsField with one cell per place, the item's places
// keep those cells (PlaceInfo.Cell; HasCells reports it), else they have none.
// Nothing returned refers to raw (strings are copied into the item's one
// text allocation), so raw may be reused. Any malformation is an error,
// never a panic.
//
// Until build copies them, the decoded strings are views of raw, not
// copies, and up to four places (and their cells) are decoded into buffers
// on the stack: a record costs the item's own two allocations plus one per
// offer (a million records are decoded at every start).
func DecodeItem(raw []byte, w targeting.Weights, cellsField protowire.Number) (id string, it *Item, err error) {
	var f itemFields
	var offers []*v1.Offer
	var buf [4]placeFields
	f.places = buf[:0]
	var hidden bool
	var cellBytes []byte
	// A loop rather than forFields: its closure would move buf to the heap.
	for b := raw; len(b) > 0; {
		var num protowire.Number
		var typ protowire.Type
		var v []byte
		var x uint64
		if num, typ, v, x, b = nextField(b); b == nil {
			return "", nil, errRecord
		}
		switch {
		case num == mpID && typ == protowire.BytesType:
			f.id = view(v)
		case num == mpName && typ == protowire.BytesType:
			f.name = view(v)
		case num == mpIconURL && typ == protowire.BytesType:
			f.icon = view(v)
		case num == mpCategory && typ == protowire.VarintType:
			f.category = v1.Category(int32(x))
		case num == mpRating && typ == protowire.Fixed64Type:
			f.rating = math.Float64frombits(x)
		case num == mpPopularity && typ == protowire.VarintType:
			f.popularity = int64(x)
		case num == mpHidden && typ == protowire.VarintType:
			hidden = x != 0
		case num == mpPlaces && typ == protowire.BytesType:
			p, err := decodePlace(v)
			if err != nil {
				return "", nil, err
			}
			f.places = append(f.places, p)
		case num == mpAudience && typ == protowire.BytesType:
			if err := decodeAudience(v, &f.audience); err != nil {
				return "", nil, err
			}
		case num == mpOffers && typ == protowire.BytesType:
			o := &v1.Offer{}
			if err := proto.Unmarshal(v, o); err != nil {
				return "", nil, err
			}
			offers = append(offers, o)
		case num == cellsField && typ == protowire.BytesType:
			cellBytes = v
		}
	}
	if hidden {
		return strings.Clone(f.id), nil, nil
	}
	var cells []uint64
	if len(cellBytes) == 8*len(f.places) {
		var cbuf [4]uint64
		cells = cbuf[:0]
		for i := range f.places {
			cells = append(cells, binary.LittleEndian.Uint64(cellBytes[8*i:]))
		}
	}
	it = f.build(w, cells, offers)
	return it.ID, it, nil
}

// view returns b as a string without copying it: valid only as long as b
// is, and only until b is modified. DecodeItem's fields are such views until
// build copies them.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func decodePlace(b []byte) (placeFields, error) {
	var p placeFields
	err := forFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		switch {
		case num == plID && typ == protowire.BytesType:
			p.id = view(v)
		case num == plLabel && typ == protowire.BytesType:
			p.label = view(v)
		case num == plLocation && typ == protowire.BytesType:
			return forFields(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
				switch {
				case num == llLatitude && typ == protowire.Fixed64Type:
					p.lat = math.Float64frombits(x)
				case num == llLongitude && typ == protowire.Fixed64Type:
					p.lng = math.Float64frombits(x)
				}
				return nil
			})
		}
		return nil
	})
	return p, err
}

func decodeAudience(b []byte, a *targeting.Audience) error {
	set := func(mask *uint32, x uint64) {
		if x > 0 && x < 32 {
			*mask |= 1 << x
		}
	}
	return forFields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == auMinAge && typ == protowire.VarintType:
			a.MinAge = int32(x)
		case num == auMaxAge && typ == protowire.VarintType:
			a.MaxAge = int32(x)
		case (num == auGenders || num == auOSes) && typ == protowire.VarintType:
			if num == auGenders {
				set(&a.Genders, x)
			} else {
				set(&a.OSes, x)
			}
		case (num == auGenders || num == auOSes) && typ == protowire.BytesType: // packed
			for len(v) > 0 {
				e, n := protowire.ConsumeVarint(v)
				if n < 0 {
					return errRecord
				}
				if num == auGenders {
					set(&a.Genders, e)
				} else {
					set(&a.OSes, e)
				}
				v = v[n:]
			}
		}
		return nil
	})
}

// forFields calls fn for every field of an encoded message: v is the payload
// of a length-delimited field, x the value of a varint or fixed one.
func forFields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, v, x, rest := nextField(b)
		if rest == nil {
			return errRecord
		}
		b = rest
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// nextField reads the first field of b: v is the payload of a
// length-delimited field, x the value of a varint or fixed one, rest what
// follows (empty, not nil, at the end; nil if the field is malformed).
// b must not be nil.
func nextField(b []byte) (num protowire.Number, typ protowire.Type, v []byte, x uint64, rest []byte) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return 0, 0, nil, 0, nil
	}
	b = b[n:]
	switch typ {
	case protowire.VarintType:
		x, n = protowire.ConsumeVarint(b)
	case protowire.Fixed64Type:
		x, n = protowire.ConsumeFixed64(b)
	case protowire.Fixed32Type:
		var x32 uint32
		x32, n = protowire.ConsumeFixed32(b)
		x = uint64(x32)
	case protowire.BytesType:
		v, n = protowire.ConsumeBytes(b)
	default:
		n = protowire.ConsumeFieldValue(num, typ, b)
	}
	if n < 0 {
		return 0, 0, nil, 0, nil
	}
	return num, typ, v, x, b[n:] // not nil: b is not
}
