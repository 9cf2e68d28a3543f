package server

import (
	"math"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/index"
	"google.golang.org/protobuf/encoding/protowire"
)

// Nearby's results are written straight to the protobuf wire format and
// handed to gRPC as the response's unknown fields, which Marshal emits
// verbatim. On the wire it is an ordinary NearbyResponse; on the server it
// costs one byte buffer per response instead of five messages per result,
// no reflection and no re-validation of strings that were validated when
// they were written. (Field numbers are those of discovery.proto and
// common.proto; TestNearbyWireMatchesProto checks the encoding against
// proto.Marshal of the same response built as messages.)
const (
	fResponseResults       = 1
	fResponseNextPageToken = 2

	fResultMiniProgram = 1
	fResultPlace       = 2
	fResultDistance    = 3
	fResultScore       = 4
	fResultSponsorship = 5
	fResultOffers      = 6
	fResultEventToken  = 7
	fResultReasons     = 8

	fCardID       = 1
	fCardName     = 2
	fCardCategory = 3
	fCardIconURL  = 4
	fCardRating   = 5

	fPlaceID       = 1
	fPlaceLocation = 2
	fPlaceLabel    = 3

	fLatLngLatitude  = 1
	fLatLngLongitude = 2

	fSponsorshipCampaignID   = 1
	fSponsorshipHeadline     = 2
	fSponsorshipCallToAction = 3
	fSponsorshipImageURL     = 4

	fOfferID             = 1
	fOfferTitle          = 2
	fOfferMinCreditScore = 3
)

// wireResult is one result to encode.
type wireResult struct {
	hit     *index.Hit
	sponsor *liveCampaign // set on sponsored results
	price   int64         // a sponsored result's clearing price
	offers  []*v1.Offer
	token   []byte
	reasons []string
	size    int // resultSize, once computed
}

func sizeString(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeBytes(len(s))
}

func sizeDouble(num protowire.Number, v float64) int {
	if v == 0 && !math.Signbit(v) {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeFixed64()
}

func sizeVarint(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

func sizeMessage(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendDouble(b []byte, num protowire.Number, v float64) []byte {
	if v == 0 && !math.Signbit(v) {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendMessageHeader(b []byte, num protowire.Number, n int) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}

func cardSize(it *index.Item) int {
	return sizeString(fCardID, it.ID) + sizeString(fCardName, it.Name) +
		sizeVarint(fCardCategory, uint64(it.Category)) + sizeString(fCardIconURL, it.IconURL) +
		sizeDouble(fCardRating, it.Rating)
}

func latLngSize(p *index.PlaceInfo) int {
	return sizeDouble(fLatLngLatitude, p.Lat) + sizeDouble(fLatLngLongitude, p.Lng)
}

func placeSize(p *index.PlaceInfo) int {
	return sizeString(fPlaceID, p.ID) + sizeMessage(fPlaceLocation, latLngSize(p)) + sizeString(fPlaceLabel, p.Label)
}

func offerSize(o *v1.Offer) int {
	// int32 is encoded as a sign-extended varint.
	return sizeString(fOfferID, o.GetId()) + sizeString(fOfferTitle, o.GetTitle()) +
		sizeVarint(fOfferMinCreditScore, uint64(int64(o.GetMinCreditScore())))
}

func sponsorshipSize(lc *liveCampaign) int {
	return sizeString(fSponsorshipCampaignID, lc.id) + sizeString(fSponsorshipHeadline, lc.headline) +
		sizeString(fSponsorshipCallToAction, lc.cta) + sizeString(fSponsorshipImageURL, lc.image)
}

func resultSize(r *wireResult) int {
	h := r.hit
	pl := &h.Item.Places[h.Place]
	n := sizeMessage(fResultMiniProgram, cardSize(h.Item)) +
		sizeMessage(fResultPlace, placeSize(pl)) +
		sizeDouble(fResultDistance, h.DistanceM) + sizeDouble(fResultScore, h.Score)
	if r.sponsor != nil {
		n += sizeMessage(fResultSponsorship, sponsorshipSize(r.sponsor))
	}
	for _, o := range r.offers {
		n += sizeMessage(fResultOffers, offerSize(o))
	}
	if len(r.token) > 0 {
		n += protowire.SizeTag(fResultEventToken) + protowire.SizeBytes(len(r.token))
	}
	for _, s := range r.reasons {
		n += protowire.SizeTag(fResultReasons) + protowire.SizeBytes(len(s))
	}
	return n
}

// appendResult appends one NearbyResponse.results element (tag included).
func appendResult(b []byte, r *wireResult) []byte {
	h := r.hit
	it := h.Item
	pl := &it.Places[h.Place]
	if r.size == 0 {
		r.size = resultSize(r)
	}
	b = appendMessageHeader(b, fResponseResults, r.size)

	b = appendMessageHeader(b, fResultMiniProgram, cardSize(it))
	b = appendString(b, fCardID, it.ID)
	b = appendString(b, fCardName, it.Name)
	b = appendVarint(b, fCardCategory, uint64(it.Category))
	b = appendString(b, fCardIconURL, it.IconURL)
	b = appendDouble(b, fCardRating, it.Rating)

	b = appendMessageHeader(b, fResultPlace, placeSize(pl))
	b = appendString(b, fPlaceID, pl.ID)
	b = appendMessageHeader(b, fPlaceLocation, latLngSize(pl))
	b = appendDouble(b, fLatLngLatitude, pl.Lat)
	b = appendDouble(b, fLatLngLongitude, pl.Lng)
	b = appendString(b, fPlaceLabel, pl.Label)

	b = appendDouble(b, fResultDistance, h.DistanceM)
	b = appendDouble(b, fResultScore, h.Score)
	if lc := r.sponsor; lc != nil {
		b = appendMessageHeader(b, fResultSponsorship, sponsorshipSize(lc))
		b = appendString(b, fSponsorshipCampaignID, lc.id)
		b = appendString(b, fSponsorshipHeadline, lc.headline)
		b = appendString(b, fSponsorshipCallToAction, lc.cta)
		b = appendString(b, fSponsorshipImageURL, lc.image)
	}
	for _, o := range r.offers {
		b = appendMessageHeader(b, fResultOffers, offerSize(o))
		b = appendString(b, fOfferID, o.GetId())
		b = appendString(b, fOfferTitle, o.GetTitle())
		b = appendVarint(b, fOfferMinCreditScore, uint64(int64(o.GetMinCreditScore())))
	}
	if len(r.token) > 0 {
		b = protowire.AppendTag(b, fResultEventToken, protowire.BytesType)
		b = protowire.AppendBytes(b, r.token)
	}
	for _, s := range r.reasons { // repeated: even an empty one is encoded
		b = protowire.AppendTag(b, fResultReasons, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	return b
}
