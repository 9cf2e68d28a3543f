package dataset

import (
	"math"
	"math/rand/v2"
	"strconv"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

// MaxPlaces is the most places a mini-program may have (the API limit).
const MaxPlaces = 1000

// IconURLPrefix starts every generated icon URL:
// IconURLPrefix + id + ".png".
const IconURLPrefix = "https://cdn.example.com/icons/"

// AnchorName is the name of item 0 of every catalog: a bike-share chain
// (category TRANSPORT) in every city, whose offers are "deposit-waived"
// (min credit score 650) and "first-ride-free" (no minimum).
const AnchorName = "Sunny Bike"

const (
	// anchorPlaces is the size of the anchor chain.
	anchorPlaces = 200
	// paretoAlpha shapes chain sizes: most chains have tens of places, a
	// few have hundreds.
	paretoAlpha = 2.2
	// minChainXmin is the smallest Pareto scale; below it, fewer chains are
	// made instead of smaller ones.
	minChainXmin = 5
	// multiSiteShare is the part of the extra places (beyond one per
	// mini-program) that goes to small businesses with 2 or 3 branches.
	multiSiteShare = 0.12
	// nationalP is the chance a chain is in every city rather than 1-3.
	nationalP = 0.4
	// hiddenP is the share of hidden mini-programs.
	hiddenP = 0.01
	// labelCache is how many "<city> #<n>" labels are prepared per city.
	labelCache = 32
)

// catCum is the cumulative per-mille category share, in categories order.
var catCum = func() []int {
	cum := make([]int, len(categories))
	t := 0
	for i, c := range categories {
		t += c.perMille
		cum[i] = t
	}
	if t != 1000 {
		panic("dataset: category shares do not add up to 1000")
	}
	return cum
}()

// chainShare is the share of chains in the catalog before scaling.
var chainShare = func() float64 {
	s := 0.0
	for _, c := range categories {
		s += float64(c.perMille) / 1000 * c.chainP
	}
	return s
}()

// placeIDs[k] is "p<k>".
var placeIDs = func() []string {
	ids := make([]string, MaxPlaces+1)
	for k := 1; k <= MaxPlaces; k++ {
		ids[k] = "p" + strconv.Itoa(k)
	}
	return ids
}()

// Generate calls fn for every mini-program of s, in order i = 0, 1, ...,
// s.MiniPrograms-1, and stops at the first error fn returns, returning it.
// It returns the error of s.Validate without calling fn if s is invalid.
//
// Every call gets a fresh message that fn may keep or change. Item i depends
// only on s.Seed, i and the other fields of s, never on s.MiniPrograms: a
// smaller catalog is a prefix of a bigger one. Item 0 is always the
// AnchorName bike-share chain.
func Generate(s Spec, fn func(i int, mp *pb.MiniProgram) error) error {
	if err := s.Validate(); err != nil {
		return err
	}
	g := newGenerator(s)
	for i := 0; i < s.MiniPrograms; i++ {
		if err := fn(i, g.item(i)); err != nil {
			return err
		}
	}
	return nil
}

// generator holds the per-Spec state of Generate; it is not safe for
// concurrent use.
type generator struct {
	seed       int64
	area       area
	labels     [][]string // labels[c][n-1] = "<city c> #<n>"
	multiP     float64    // chance of a 2-3 place business
	chainScale float64    // multiplies every category's chainP
	xmin       float64    // Pareto scale of chain sizes
	chainsOn   bool

	src    *rand.PCG
	r      *rand.Rand
	buf    []byte
	counts []int // places per city within the current item
	sub    []int // cities of the current chain
}

func newGenerator(s Spec) *generator {
	g := &generator{seed: s.Seed, area: newArea(s), src: rand.NewPCG(0, 0)}
	g.r = rand.New(g.src)
	g.counts = make([]int, len(s.Cities))
	g.labels = make([][]string, len(s.Cities))
	for c, city := range s.Cities {
		g.labels[c] = make([]string, labelCache)
		for n := range labelCache {
			g.labels[c][n] = city.Name + " #" + strconv.Itoa(n+1)
		}
	}
	ppp := s.PlacesPerProgram
	if ppp == 0 {
		ppp = DefaultPlacesPerProgram
	}
	extra := ppp - 1
	chainExtra := (1 - multiSiteShare) * extra
	g.chainsOn = chainExtra > 0
	g.chainScale = 1
	if g.chainsOn {
		// Chains must add chainExtra places per mini-program on average:
		// chainShare·(E[size]-1) = chainExtra. Solve for the Pareto scale.
		want := 1 + chainExtra/chainShare
		if want <= cappedParetoMean(minChainXmin) {
			g.xmin = minChainXmin
			g.chainScale = chainExtra / (chainShare * (cappedParetoMean(minChainXmin) - 1))
		} else {
			lo, hi := float64(minChainXmin), float64(MaxPlaces)
			for range 60 {
				mid := (lo + hi) / 2
				if cappedParetoMean(mid) < want {
					lo = mid
				} else {
					hi = mid
				}
			}
			g.xmin = (lo + hi) / 2
		}
	}
	// Small businesses have 2 or 3 places (1.5 extra on average) and are
	// drawn among the mini-programs that are not chains.
	g.multiP = multiSiteShare * extra / 1.5 / (1 - chainShare*g.chainScale)
	return g
}

// cappedParetoMean is E[min(X, MaxPlaces)] for X ~ Pareto(xm, paretoAlpha).
func cappedParetoMean(xm float64) float64 {
	a, c := paretoAlpha, float64(MaxPlaces)
	return xm*a/(a-1) - math.Pow(xm, a)*math.Pow(c, 1-a)/(a-1)
}

// single is the allocation of a one-place mini-program: one object instead
// of four.
type single struct {
	mp  pb.MiniProgram
	ptr [1]*pb.Place
	p   pb.Place
	ll  pb.LatLng
}

// item builds mini-program i.
func (g *generator) item(i int) *pb.MiniProgram {
	reseed(g.src, domainCatalog, g.seed, uint64(i))
	r := g.r

	var (
		cd    *catDef
		chain *chainDef
		rule  *audRule
		noun  string
		what  string
		n     int // places
	)
	home := g.area.pickCity(r)
	national := false
	if i == 0 {
		cd, chain = catByEnum(pb.Category_CATEGORY_TRANSPORT), &bikeShare
		noun, what = chain.noun, chain.what
		national = true
		n = 1
		if g.chainsOn {
			n = anchorPlaces
		}
	} else {
		x := r.IntN(1000)
		ci := 0
		for catCum[ci] <= x {
			ci++
		}
		cd = &categories[ci]
		if g.chainsOn && len(cd.chains) > 0 && r.Float64() < cd.chainP*g.chainScale {
			chain = &cd.chains[r.IntN(len(cd.chains))]
			noun, what = chain.noun, chain.what
			u := 1 - r.Float64() // (0, 1]
			// Round stochastically so that the mean size is exactly the
			// Pareto mean the scale was solved for.
			n = int(math.Min(MaxPlaces, g.xmin*math.Pow(u, -1/paretoAlpha)) + r.Float64())
			n = max(2, min(MaxPlaces, n))
			national = len(g.area.cities) > 1 && r.Float64() < nationalP
		} else {
			kinds := cd.kinds
			if cd.style == styleGame {
				kinds = gameGenres
			}
			u := r.Float64()
			for j := range cd.rules {
				if u < cd.rules[j].p {
					rule = &cd.rules[j]
					if len(rule.kinds) > 0 {
						kinds = rule.kinds
					}
					break
				}
				u -= cd.rules[j].p
			}
			k := &kinds[r.IntN(len(kinds))]
			noun, what = k.noun, k.what
			n = 1
			if r.Float64() < g.multiP {
				n = 2 + r.IntN(2)
			}
		}
	}

	// Allocate the message and its places together.
	var mp *pb.MiniProgram
	var places []pb.Place
	var lls []pb.LatLng
	if n == 1 {
		o := new(single)
		o.ptr[0] = &o.p
		o.p.Location = &o.ll
		mp = &o.mp
		mp.Places = o.ptr[:]
	} else {
		mp = new(pb.MiniProgram)
		mp.Places = make([]*pb.Place, n)
		places = make([]pb.Place, n)
		lls = make([]pb.LatLng, n)
		for k := range n {
			places[k].Location = &lls[k]
			mp.Places[k] = &places[k]
		}
	}
	mp.Category = cd.cat

	// Places: a chain spreads over its cities, anything else stays home.
	g.sub = g.sub[:0]
	switch {
	case national:
		for c := range g.area.cities {
			g.sub = append(g.sub, c)
		}
	case chain != nil:
		g.sub = append(g.sub, home)
		for extra := r.IntN(3); extra > 0 && len(g.sub) < len(g.area.cities); extra-- {
			c := g.area.pickCity(r)
			if !containsInt(g.sub, c) {
				g.sub = append(g.sub, c)
			}
		}
	default:
		g.sub = append(g.sub, home)
	}
	subTotal := 0.0
	for _, c := range g.sub {
		subTotal += g.area.weight(c)
	}
	clear(g.counts)
	for k, p := range mp.Places {
		c := g.sub[0]
		if len(g.sub) > 1 {
			x := r.Float64() * subTotal
			for _, sc := range g.sub {
				c = sc
				if x -= g.area.weight(sc); x < 0 {
					break
				}
			}
		}
		g.counts[c]++
		p.Id = placeIDs[k+1]
		if cnt := g.counts[c]; cnt <= labelCache {
			p.Label = g.labels[c][cnt-1]
		} else {
			p.Label = g.area.cities[c].Name + " #" + strconv.Itoa(cnt)
		}
		p.Location.Latitude, p.Location.Longitude = g.area.point(r, c)
	}

	// Id and icon share one string.
	g.buf = append(g.buf[:0], IconURLPrefix...)
	g.buf = append(g.buf, "mp-"...)
	for pad := 1000000; pad > i+1; pad /= 10 {
		g.buf = append(g.buf, '0')
	}
	g.buf = strconv.AppendInt(g.buf, int64(i+1), 10)
	g.buf = append(g.buf, ".png"...)
	mp.IconUrl = string(g.buf)
	mp.Id = mp.IconUrl[len(IconURLPrefix) : len(mp.IconUrl)-len(".png")]

	// Name and description share one string: "<name>: <what> in <city>...".
	b := g.buf[:0]
	if i == 0 {
		b = append(b, AnchorName...)
	} else {
		b = g.appendName(b, cd, noun, home)
	}
	nameLen := len(b)
	used := 0 // cities that got places
	for _, c := range g.sub {
		if g.counts[c] > 0 {
			used++
			home = c
		}
	}
	g.buf = g.appendDescription(b, cd, what, n, used, home, rule)
	mp.Description = string(g.buf)
	mp.Name = mp.Description[:nameLen]

	if rule != nil {
		mp.Audience = &pb.Audience{
			MinAge:           rule.minAge,
			MaxAge:           rule.maxAge,
			Genders:          append([]pb.Gender(nil), rule.genders...),
			OperatingSystems: append([]pb.OperatingSystem(nil), rule.oses...),
		}
	}

	// Offers.
	switch {
	case i == 0:
		mp.Offers = []*pb.Offer{newOffer(offerDepositWaived), newOffer(offerFirstRideFree)}
	case chain != nil && chain.offers != nil:
		for _, o := range chain.offers {
			if r.Float64() < o.p {
				mp.Offers = append(mp.Offers, newOffer(o))
			}
		}
	case len(cd.offers) > 0 && r.Float64() < cd.offerP:
		a := r.IntN(len(cd.offers))
		mp.Offers = append(mp.Offers, newOffer(cd.offers[a]))
		if len(cd.offers) > 1 && r.IntN(10) < 3 {
			b := (a + 1 + r.IntN(len(cd.offers)-1)) % len(cd.offers)
			mp.Offers = append(mp.Offers, newOffer(cd.offers[b]))
		}
	}

	// Rating: most between 3.5 and 4.8, a few unrated (0).
	if i == 0 {
		mp.Rating = 4.6
	} else if r.IntN(100) >= 3 {
		var x float64
		if r.IntN(100) < 85 {
			x = 4.2 + 0.3*r.NormFloat64()
		} else {
			x = 3.3 + 0.8*r.NormFloat64()
		}
		mp.Rating = math.Round(math.Max(1, math.Min(5, x))*10) / 10
	}

	// Popularity: log-normal, heavier for games, higher for chains.
	mu, sd := 6.0, 1.8
	if cd.style == styleGame {
		sd = 2.2
	}
	if chain != nil {
		mu += 2.5
	}
	if i == 0 {
		mu += 3
	}
	z := math.Max(-6, math.Min(6, r.NormFloat64()))
	mp.Popularity = int64(math.Exp(mu + sd*z))

	mp.Hidden = i != 0 && r.Float64() < hiddenP
	return mp
}

// appendName appends a display name in the style of cd to b.
func (g *generator) appendName(b []byte, cd *catDef, noun string, home int) []byte {
	r := g.r
	switch cd.style {
	case styleGame:
		if r.IntN(10) < 6 {
			b = append(b, gameAdjectives[r.IntN(len(gameAdjectives))]...)
			b = append(b, ' ')
		}
		b = append(b, gameNouns[r.IntN(len(gameNouns))]...)
		b = append(b, ' ')
		return append(b, noun...)
	case styleCity:
		b = append(b, g.area.cities[home].Name...)
		b = append(b, ' ')
		b = append(b, noun...)
		b = append(b, ", "...)
		b = append(b, brands[r.IntN(len(brands))]...)
		return append(b, roadSuffix...)
	}
	b1 := r.IntN(len(brands))
	b = append(b, brands[b1]...)
	b = append(b, ' ')
	if r.IntN(4) == 0 {
		b2 := (b1 + 1 + r.IntN(len(brands)-1)) % len(brands)
		b = append(b, brands[b2]...)
		b = append(b, ' ')
	}
	return append(b, noun...)
}

// appendDescription appends the description proper to b, which holds the
// name: n places over `cities` cities, all in home when cities is 1. The
// result is at most 80 + ~200 bytes, well below the 500-character limit.
func (g *generator) appendDescription(b []byte, cd *catDef, what string, n, cities, home int, rule *audRule) []byte {
	r := g.r
	b = append(b, ": "...)
	b = append(b, what...)
	switch {
	case cd.style == styleGame:
		b = append(b, ", made in "...)
		b = append(b, g.area.cities[home].Name...)
	case n > 1:
		b = append(b, " at "...)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, " locations in "...)
		if cities > 1 {
			b = strconv.AppendInt(b, int64(cities), 10)
			b = append(b, " cities"...)
		} else {
			b = append(b, g.area.cities[home].Name...)
		}
	default:
		b = append(b, " in "...)
		b = append(b, g.area.cities[home].Name...)
	}
	b = append(b, ". "...)
	b = append(b, cd.taglines[r.IntN(len(cd.taglines))]...)
	if rule != nil && rule.note != "" {
		b = append(b, ' ')
		b = append(b, rule.note...)
	}
	return b
}

func newOffer(o offerDef) *pb.Offer {
	return &pb.Offer{Id: o.id, Title: o.title, MinCreditScore: o.min}
}

func catByEnum(c pb.Category) *catDef {
	for i := range categories {
		if categories[i].cat == c {
			return &categories[i]
		}
	}
	panic("dataset: no category " + c.String())
}

func containsInt(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}
