package server

import (
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/index"
	"github.com/aroundme/aroundme/pkg/wirefmt"
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

func offerSize(o *v1.Offer) int {
	// int32 is encoded as a sign-extended varint.
	return wirefmt.SizeString(fOfferID, o.GetId()) + wirefmt.SizeString(fOfferTitle, o.GetTitle()) +
		wirefmt.SizeVarint(fOfferMinCreditScore, uint64(int64(o.GetMinCreditScore())))
}

func sponsorshipSize(lc *liveCampaign) int {
	return wirefmt.SizeString(fSponsorshipCampaignID, lc.id) + wirefmt.SizeString(fSponsorshipHeadline, lc.headline) +
		wirefmt.SizeString(fSponsorshipCallToAction, lc.cta) + wirefmt.SizeString(fSponsorshipImageURL, lc.image)
}

func resultSize(r *wireResult) int {
	h := r.hit
	pl := &h.Item.Places[h.Place]
	n := wirefmt.SizeMessage(fResultMiniProgram, len(h.Item.Card)) +
		wirefmt.SizeMessage(fResultPlace, len(pl.Wire)) +
		wirefmt.SizeDouble(fResultDistance, h.DistanceM) + wirefmt.SizeDouble(fResultScore, h.Score)
	if r.sponsor != nil {
		n += wirefmt.SizeMessage(fResultSponsorship, sponsorshipSize(r.sponsor))
	}
	for _, o := range r.offers {
		n += wirefmt.SizeMessage(fResultOffers, offerSize(o))
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
	b = wirefmt.AppendMessageHeader(b, fResponseResults, r.size)

	// The card and the place were encoded when the item was indexed.
	b = wirefmt.AppendMessageHeader(b, fResultMiniProgram, len(it.Card))
	b = append(b, it.Card...)
	b = wirefmt.AppendMessageHeader(b, fResultPlace, len(pl.Wire))
	b = append(b, pl.Wire...)

	b = wirefmt.AppendDouble(b, fResultDistance, h.DistanceM)
	b = wirefmt.AppendDouble(b, fResultScore, h.Score)
	if lc := r.sponsor; lc != nil {
		b = wirefmt.AppendMessageHeader(b, fResultSponsorship, sponsorshipSize(lc))
		b = wirefmt.AppendString(b, fSponsorshipCampaignID, lc.id)
		b = wirefmt.AppendString(b, fSponsorshipHeadline, lc.headline)
		b = wirefmt.AppendString(b, fSponsorshipCallToAction, lc.cta)
		b = wirefmt.AppendString(b, fSponsorshipImageURL, lc.image)
	}
	for _, o := range r.offers {
		b = wirefmt.AppendMessageHeader(b, fResultOffers, offerSize(o))
		b = wirefmt.AppendString(b, fOfferID, o.GetId())
		b = wirefmt.AppendString(b, fOfferTitle, o.GetTitle())
		b = wirefmt.AppendVarint(b, fOfferMinCreditScore, uint64(int64(o.GetMinCreditScore())))
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
