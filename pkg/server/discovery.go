package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/config"
	"github.com/aroundme/aroundme/pkg/eventtoken"
	"github.com/aroundme/aroundme/pkg/index"
	"github.com/aroundme/aroundme/pkg/pagetoken"
	"github.com/aroundme/aroundme/pkg/validate"
	"github.com/aroundme/aroundme/pkg/wirefmt"
	"github.com/aroundme/aroundme/targeting"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protowire"
)

const nearbyTokenPurpose = "Nearby"

// newDiscoveryService returns the service; key is the server secret.
func newDiscoveryService(ix *index.Index, sp *sponsors, key []byte, ttl time.Duration, now func() time.Time, reg prometheus.Registerer) (*discoveryService, error) {
	signer, err := eventtoken.NewSigner(key)
	if err != nil {
		return nil, err
	}
	s := &discoveryService{ix: ix, pages: pagetoken.New(key), events: signer, userSalt: derive(key, "user id salt"),
		tokenTTL: ttl, now: now, metrics: newNearbyMetrics(reg), sp: sp}
	s.userMACs.New = func() any { return &userMAC{mac: hmac.New(sha256.New, s.userSalt)} }
	return s, nil
}

// discoveryService implements DiscoveryService over the index.
type discoveryService struct {
	v1.UnimplementedDiscoveryServiceServer
	ix        *index.Index
	pages     *pagetoken.Codec
	events    *eventtoken.Signer
	userSalt  []byte
	userMACs  sync.Pool // of *userMAC: keyed once, reset per use
	tokenTTL  time.Duration
	now       func() time.Time
	metrics   *nearbyMetrics
	sp        *sponsors // nil = no sponsored results (tests of organic ranking alone)
	maxEvents int       // events per ReportEvents call
}

// Nearby answers "mini-programs around me": the request was validated by the
// chain; here it becomes an index query, and the hits a response.
func (s *discoveryService) Nearby(ctx context.Context, req *v1.NearbyRequest) (*v1.NearbyResponse, error) {
	q := index.Query{
		LatDeg:     req.GetLocation().GetLatitude(),
		LngDeg:     req.GetLocation().GetLongitude(),
		RadiusM:    req.GetRadiusM(),
		Limit:      int(req.GetLimit()),
		Categories: index.CategoryMask(req.GetCategories()),
		User:       userOf(req.GetUser()),
	}
	if q.RadiusM == 0 {
		q.RadiusM = validate.DefaultRadiusM
	}
	if q.Limit == 0 {
		q.Limit = validate.DefaultLimit
	}
	fp := fingerprint(req, q.RadiusM)
	var cur cursor
	if tok := req.GetPageToken(); tok != "" {
		c, err := s.decodeCursor(tok, fp)
		if err != nil {
			return nil, err
		}
		cur = c
		q.After = &cur.Cursor
	}
	limit := q.Limit
	now := s.now()
	if t := req.GetTime(); t != nil {
		now = t.AsTime()
	}
	userHash := s.userHash(req.GetUser().GetUserId())

	// Sponsored slots are sold on the first page only; the mini-programs
	// they promote are left out of the organic results of every page (the
	// cursor carries them), so none appears twice in a result set.
	var spons []sponsored
	spp := sponsoredBufs.Get().(*[]sponsored)
	defer func() { clear(*spp); *spp = (*spp)[:0]; sponsoredBufs.Put(spp) }()
	// One catalog snapshot for the promoted items and the search, so that
	// a promoted item is left out of the organic results by identity.
	snap := s.ix.Snapshot()
	var excluded [config.MaxSponsoredSlots]*index.Item
	if s.sp != nil && req.GetPageToken() == "" {
		if slots := s.usableSlots(limit, req.GetExcludeSponsored()); slots > 0 {
			spons = s.sp.pick(&q, snap, userHash, now, slots, (*spp)[:0])
			s.sp.metrics.observeSlots(slots, len(spons))
			w := s.ix.Weights()
			var promoted [config.MaxSponsoredSlots]string // cur.Excluded without an allocation
			cur.Excluded = promoted[:0]
			for i := range spons {
				h := &spons[i].hit
				h.Score = h.Item.Static + w.DistanceTerm(h.DistanceM)
				cur.Excluded = append(cur.Excluded, h.Item.ID)
				excluded[i] = h.Item
			}
			*spp = spons
		}
	}
	organic := limit - len(spons)
	q.Limit = organic + 1 + len(cur.Excluded) // one more, to know whether a next page exists

	if req.GetPageToken() != "" {
		for i, id := range cur.Excluded { // promoted on the first page
			excluded[i] = snap.Item(id) // nil: gone since, nothing to leave out
		}
	}
	hitsp := hitBufs.Get().(*[]index.Hit)
	defer func() { *hitsp = (*hitsp)[:0]; hitBufs.Put(hitsp) }()
	hits, st := snap.Search(&q, (*hitsp)[:0])
	*hitsp = hits
	if s.sp != nil && req.GetPageToken() == "" {
		s.sp.reach.Observe(st.Cell) // the request's coarse cell, for EstimateReach
	}
	if len(cur.Excluded) > 0 {
		// By identity: comparing ids would read every hit's item (a cache
		// miss each) just to drop one or two.
		ex := excluded[:len(cur.Excluded)]
		hits = slices.DeleteFunc(hits, func(h index.Hit) bool { return slices.Contains(ex, h.Item) })
	}
	s.metrics.observe(st, min(len(hits), organic)+len(spons))

	next := ""
	if len(hits) > organic {
		after := index.Cursor{Score: math.Inf(1)} // nothing organic shown yet: the next page starts at the top
		if organic > 0 {
			last := hits[organic-1]
			after = index.Cursor{Score: last.Score, ID: last.Item.ID}
		}
		next = s.encodeCursor(fp, cursor{Cursor: after, Excluded: cur.Excluded})
		hits = hits[:organic]
	}
	resp := &v1.NearbyResponse{}
	if len(hits)+len(spons) == 0 {
		resp.NextPageToken = next
		return resp, nil
	}
	claims := eventtoken.Claims{
		IssuedAt:  now,
		ExpiresAt: now.Add(s.tokenTTL),
		UserHash:  userHash,
		Cell:      st.Cell,
	}
	if t := req.GetTime(); t != nil {
		// Tokens live on the server's clock: a request's own time drives
		// schedules, never how long its tokens may be redeemed.
		claims.IssuedAt = s.now()
		claims.ExpiresAt = claims.IssuedAt.Add(s.tokenTTL)
	}
	binary.LittleEndian.PutUint64(claims.Nonce[:], rand.Uint64())

	touch(hits)
	sc := wireScratch.Get().(*nearbyScratch)
	defer wireScratch.Put(sc)
	sc.tokens = sc.tokens[:0]
	sc.results = sc.results[:0]
	for i := range hits {
		sc.results = append(sc.results, wireResult{hit: &hits[i]})
	}
	for i := range spons {
		pos := min(s.sp.slots[i], len(sc.results))
		sc.results = slices.Insert(sc.results, pos, wireResult{hit: &spons[i].hit, sponsor: spons[i].lc, price: spons[i].price})
	}
	ends := sc.ends[:0]
	for i := range sc.results {
		r := &sc.results[i]
		claims.Index = uint8(i)
		claims.MiniProgramID = r.hit.Item.ID
		claims.PlaceID = r.hit.Item.Places[r.hit.Place].ID
		claims.CampaignID, claims.PriceMicros, claims.PricingModel = "", 0, eventtoken.PricingNone
		if r.sponsor != nil {
			claims.CampaignID, claims.PriceMicros, claims.PricingModel = r.sponsor.id, r.price, r.sponsor.bid.Model
		}
		sc.tokens = s.events.Append(sc.tokens, &claims)
		ends = append(ends, len(sc.tokens))
	}
	sc.ends = ends
	w := snap.Weights()
	size, start := 0, 0
	for i := range sc.results {
		r := &sc.results[i]
		r.offers = qualifyingOffers(r.hit.Item.Offers, q.User)
		r.token = sc.tokens[start:ends[i]]
		start = ends[i]
		if req.GetExplain() {
			r.reasons = explain(r.hit, q.User, w)
			if r.sponsor != nil {
				r.reasons = append([]string{sponsoredReason(r.sponsor, r.price)}, r.reasons...)
			}
		}
		r.size = resultSize(r)
		size += protowire.SizeTag(fResponseResults) + protowire.SizeBytes(r.size)
	}
	if next != "" {
		size += wirefmt.SizeString(fResponseNextPageToken, next)
	}
	// The response's bytes, exactly sized, in a recycled buffer that the
	// codec hands to the transport and takes back once written (codec.go).
	b := (*respBufs.Get(size))[:0]
	for i := range sc.results {
		b = appendResult(b, &sc.results[i])
	}
	b = wirefmt.AppendString(b, fResponseNextPageToken, next)
	resp.ProtoReflect().SetUnknown(b)
	clear(sc.results) // drop references to items and offers
	return resp, nil
}

// usableSlots is how many sponsored slots a page of limit results has: the
// configured positions that fall within it, none when the caller opted out.
func (s *discoveryService) usableSlots(limit int, excluded bool) int {
	if excluded || s.sp == nil {
		return 0
	}
	n := 0
	for _, p := range s.sp.slots {
		if p < limit {
			n++
		}
	}
	return n
}

// sponsoredReason explains a sponsored result.
func sponsoredReason(lc *liveCampaign, price int64) string {
	unit := "1000 impressions"
	if lc.bid.Model == targeting.PricingCPC {
		unit = "click"
	}
	return fmt.Sprintf("sponsored: campaign %q won the auction for this slot (bid %d micros per %s, pays %d: second price)", lc.id, lc.bid.AmountMicros, unit, price)
}

// sponsoredBufs recycles the sponsored picks of a request.
var sponsoredBufs = sync.Pool{New: func() any { b := make([]sponsored, 0, config.MaxSponsoredSlots); return &b }}

// hitBufs recycles the hit slices of searches.
var hitBufs = sync.Pool{New: func() any { b := make([]index.Hit, 0, maxHitsPerSearch); return &b }}

// maxHitsPerSearch sizes pooled hit buffers for the largest page (and one
// more, to know whether a next page exists).
const maxHitsPerSearch = validate.MaxLimit + 1

// nearbyScratch is a Nearby call's reusable working memory.
type nearbyScratch struct {
	tokens  []byte
	ends    []int
	results []wireResult
}

var wireScratch = sync.Pool{New: func() any { return &nearbyScratch{} }}

// touch reads, for every hit, the memory the response is about to use — the
// item, its place, its text and its offers — in loops with nothing else to
// do, so that the CPU overlaps the cache misses (a million items do not stay
// in cache) instead of taking them one by one between HMACs and while
// encoding. Each loop only reads what the one before brought in, so every
// miss of a loop is independent of the others. An item's text is one
// allocation (the encoded card, then each encoded place: see index.Item),
// two or three cache lines: the card's ends and the place's ends cover
// them; offers are messages of their own.
func touch(hits []index.Hit) {
	var sink int
	for i := range hits {
		it := hits[i].Item
		sink += len(it.Card) + len(it.Places) + len(it.Offers)
	}
	for i := range hits {
		it := hits[i].Item
		pl := &it.Places[hits[i].Place]
		sink += len(pl.Wire) + first(it.Card) + last(it.Card)
		for _, o := range it.Offers {
			sink += len(o.GetId()) + len(o.GetTitle())
		}
	}
	for i := range hits {
		it := hits[i].Item
		pl := &it.Places[hits[i].Place]
		sink += first(pl.Wire) + last(pl.Wire)
		for _, o := range it.Offers {
			sink += first(o.GetId()) + first(o.GetTitle())
		}
	}
	runtime.KeepAlive(sink)
}

// first and last are a string's first and last bytes, 0 if it is empty.
func first(s string) int {
	if s == "" {
		return 0
	}
	return int(s[0])
}

func last(s string) int {
	if s == "" {
		return 0
	}
	return int(s[len(s)-1])
}

// qualifyingOffers returns the offers u qualifies for, sharing the item's
// slice when it qualifies for all of them (the common case allocates nothing).
func qualifyingOffers(offers []*v1.Offer, u targeting.User) []*v1.Offer {
	n := 0
	for _, o := range offers {
		if targeting.QualifiesFor(u, o.GetMinCreditScore()) {
			n++
		}
	}
	if n == len(offers) {
		return offers
	}
	if n == 0 {
		return nil
	}
	out := make([]*v1.Offer, 0, n)
	for _, o := range offers {
		if targeting.QualifiesFor(u, o.GetMinCreditScore()) {
			out = append(out, o)
		}
	}
	return out
}

// userOf converts the request's user into the targeting view of it.
func userOf(u *v1.UserContext) targeting.User {
	return targeting.User{
		Age:         u.GetAge(),
		Gender:      uint8(u.GetGender()),
		OS:          uint8(u.GetOs()),
		CreditScore: u.GetCreditScore(),
	}
}

// userHash is the salted hash of a user id (0 for none): the only form in
// which a user id is ever kept or put in a token.
func (s *discoveryService) userHash(id string) uint64 {
	if id == "" {
		return 0
	}
	m := s.userMACs.Get().(*userMAC)
	defer s.userMACs.Put(m)
	m.mac.Reset()
	// The id goes through the state's own buffer: converting it in the
	// call would allocate (bytes passed to a hash.Hash escape).
	m.buf = append(m.buf[:0], id...)
	m.mac.Write(m.buf)
	h := binary.BigEndian.Uint64(m.mac.Sum(m.sum[:0]))
	if h == 0 {
		h = 1
	}
	return h
}

// userMAC is a pooled HMAC state for userHash, with its scratch.
type userMAC struct {
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// fingerprint identifies the result set a page token belongs to: every
// request field that changes which results there are or how they rank. A
// page token replayed with other values is INVALID_ARGUMENT (AIP-158), so a
// cursor is never applied to a ranking it was not taken from. The page size
// may change between pages.
func fingerprint(req *v1.NearbyRequest, radiusM float64) uint64 {
	h := fnv.New64a()
	var b [8]byte
	put := func(v uint64) { binary.LittleEndian.PutUint64(b[:], v); h.Write(b[:]) }
	put(math.Float64bits(req.GetLocation().GetLatitude()))
	put(math.Float64bits(req.GetLocation().GetLongitude()))
	put(math.Float64bits(radiusM))
	put(uint64(index.CategoryMask(req.GetCategories())))
	u := req.GetUser()
	put(uint64(u.GetAge())<<32 | uint64(u.GetCreditScore()))
	put(uint64(u.GetGender())<<8 | uint64(u.GetOs()))
	h.Write([]byte(u.GetUserId()))
	if req.GetExcludeSponsored() {
		put(1)
	}
	return h.Sum64()
}

// cursor is where the next page starts, and the mini-programs the first
// page showed as sponsored (left out of the organic results of every page).
type cursor struct {
	index.Cursor
	Excluded []string
}

// encodeCursor signs the position after which the next page starts. Layout:
// fingerprint (8), score (8), the id, then each excluded id, each id
// preceded by its length (1 byte; ids are at most 64 bytes).
func (s *discoveryService) encodeCursor(fp uint64, c cursor) string {
	var arr [160]byte // most cursors fit: the token's string is the one allocation
	buf := arr[:16]
	binary.BigEndian.PutUint64(buf[0:], fp)
	binary.BigEndian.PutUint64(buf[8:], math.Float64bits(c.Score))
	buf = append(append(buf, byte(len(c.ID))), c.ID...)
	for _, id := range c.Excluded {
		buf = append(append(buf, byte(len(id))), id...)
	}
	return s.pages.Encode(nearbyTokenPurpose, buf)
}

func (s *discoveryService) decodeCursor(tok string, fp uint64) (cursor, error) {
	raw, err := s.pages.Decode(nearbyTokenPurpose, tok)
	if err != nil || len(raw) < 17 {
		return cursor{}, badToken()
	}
	if binary.BigEndian.Uint64(raw) != fp {
		return cursor{}, &apierr.Error{Code: codes.InvalidArgument, Message: "invalid page_token",
			Violations: []apierr.FieldViolation{{Field: "page_token", Description: "the token belongs to a request with other location, radius, categories or user: repeat the first page's request with only page_token (and limit) changed"}}}
	}
	c := cursor{Cursor: index.Cursor{Score: math.Float64frombits(binary.BigEndian.Uint64(raw[8:]))}}
	rest := raw[16:]
	for first := true; len(rest) > 0; first = false {
		n := int(rest[0])
		if n > eventtoken.MaxIDLen || 1+n > len(rest) || len(c.Excluded) == config.MaxSponsoredSlots {
			return cursor{}, badToken()
		}
		id := string(rest[1 : 1+n])
		if first {
			c.ID = id
		} else {
			c.Excluded = append(c.Excluded, id)
		}
		rest = rest[1+n:]
	}
	return c, nil
}

// explain says in words why a hit is there and how it scored.
func explain(h *index.Hit, u targeting.User, w targeting.Weights) []string {
	it := h.Item
	t := it.Terms(w)
	t.Distance = w.DistanceTerm(h.DistanceM)
	out := []string{
		fmt.Sprintf("nearest place %q at %.0f m", it.Places[h.Place].ID, h.DistanceM),
		fmt.Sprintf("score %.4f = distance %.4f + rating %.4f + popularity %.4f + audience fit %.4f",
			h.Score, t.Distance, t.Rating, t.Popularity, t.Audience),
	}
	a := it.Audience
	if !a.Restricted() {
		out = append(out, "audience: open to everyone")
	} else {
		var rules []string
		if a.MinAge > 0 || a.MaxAge > 0 {
			rules = append(rules, fmt.Sprintf("age %s matched (%d)", ageRange(a.MinAge, a.MaxAge), u.Age))
		}
		if a.Genders != 0 {
			rules = append(rules, fmt.Sprintf("gender %s matched", v1.Gender(u.Gender)))
		}
		if a.OSes != 0 {
			rules = append(rules, fmt.Sprintf("operating system %s matched", v1.OperatingSystem(u.OS)))
		}
		out = append(out, "audience: "+strings.Join(rules, ", "))
	}
	var perks []string
	for _, o := range it.Offers {
		if targeting.QualifiesFor(u, o.GetMinCreditScore()) {
			if o.GetMinCreditScore() > 0 {
				perks = append(perks, fmt.Sprintf("%q (credit score %d ≥ %d)", o.GetTitle(), u.CreditScore, o.GetMinCreditScore()))
			} else {
				perks = append(perks, fmt.Sprintf("%q", o.GetTitle()))
			}
		}
	}
	if len(perks) > 0 {
		sort.Strings(perks)
		out = append(out, "offers: "+strings.Join(perks, ", "))
	}
	return out
}

func ageRange(lo, hi int32) string {
	switch {
	case hi == 0:
		return fmt.Sprintf("%d+", lo)
	case lo == 0:
		return fmt.Sprintf("≤%d", hi)
	}
	return fmt.Sprintf("%d-%d", lo, hi)
}
