package dataset

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

// BenchCampaignCount is the size of the campaign set of the performance
// goal: 100,000 active campaigns on top of the benchmark catalog.
const BenchCampaignCount = 100_000

// Fence radius bounds of the benchmark campaigns, in metres.
const (
	DefaultMinFenceRadiusM = 200
	DefaultMaxFenceRadiusM = 5000
)

// DefaultPolygonShare is the share of benchmark campaigns fenced by a
// polygon instead of a circle.
const DefaultPolygonShare = 0.1

// CampaignImageURLPrefix starts every generated creative image URL:
// CampaignImageURLPrefix + "<i>.jpg".
const CampaignImageURLPrefix = "https://cdn.example.com/ads/"

// CampaignSpec describes a synthetic set of geofenced campaigns that
// promote the mini-programs of a catalog. The same CampaignSpec always
// yields the same campaigns, byte for byte.
type CampaignSpec struct {
	// Seed selects the campaigns; it is independent of Catalog.Seed.
	Seed int64
	// Campaigns is how many campaigns to generate (>= 0).
	Campaigns int
	// Catalog is the catalog the campaigns promote mini-programs of
	// (only its first Catalog.MiniPrograms items, so they must be loaded
	// on the server) and whose Cities and SigmaM place the fences: the
	// campaigns crowd the same downtowns as the places and the users.
	Catalog Spec
	// MinRadiusM and MaxRadiusM bound the fence size: a circle's radius,
	// a polygon's outer radius. It is drawn log-uniformly, so small
	// neighbourhood fences are as common per octave as district-wide
	// ones. 0 means DefaultMinFenceRadiusM / DefaultMaxFenceRadiusM.
	MinRadiusM, MaxRadiusM float64
	// PolygonShare is the share of campaigns fenced by a polygon, in
	// [0, 1]; the others are circles.
	PolygonShare float64
}

// BenchCampaignSpec is the benchmark campaign set: n campaigns (the goal
// uses BenchCampaignCount) over catalog, fences of 200 m to 5 km, one in
// ten a polygon. With 100,000 campaigns over BenchSpec (seed 1), the
// centre of Beijing lies in 230 fences (217 of them circles), Shanghai's in
// 233, and the point of an average benchmark query (Queries) in about 80:
// the same order as the 157 fences per random point of the Tile38 anchor.
func BenchCampaignSpec(seed int64, n int, catalog Spec) CampaignSpec {
	return CampaignSpec{
		Seed:         seed,
		Campaigns:    n,
		Catalog:      catalog,
		MinRadiusM:   DefaultMinFenceRadiusM,
		MaxRadiusM:   DefaultMaxFenceRadiusM,
		PolygonShare: DefaultPolygonShare,
	}
}

// BenchCampaigns returns the n campaigns of BenchCampaignSpec(seed, n,
// catalog) in a slice. To stream a large set without holding it, use
// GenerateCampaigns. It panics if the spec is invalid.
func BenchCampaigns(seed int64, n int, catalog Spec) []*pb.Campaign {
	out := make([]*pb.Campaign, 0, max(n, 0))
	if err := GenerateCampaigns(BenchCampaignSpec(seed, n, catalog), func(_ int, c *pb.Campaign) error {
		out = append(out, c)
		return nil
	}); err != nil {
		panic(err)
	}
	return out
}

// radii returns the radius bounds with the defaults applied.
func (cs CampaignSpec) radii() (lo, hi float64) {
	lo, hi = cs.MinRadiusM, cs.MaxRadiusM
	if lo == 0 {
		lo = DefaultMinFenceRadiusM
	}
	if hi == 0 {
		hi = DefaultMaxFenceRadiusM
	}
	return lo, hi
}

// Validate reports every problem of cs at once, or nil when
// GenerateCampaigns accepts it.
func (cs CampaignSpec) Validate() error {
	var errs []error
	if cs.Campaigns < 0 {
		errs = append(errs, fmt.Errorf("dataset: Campaigns %d < 0", cs.Campaigns))
	}
	if err := cs.Catalog.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("dataset: Catalog: %w", err))
	}
	if cs.Catalog.MiniPrograms < 1 {
		errs = append(errs, errors.New("dataset: Catalog.MiniPrograms must be >= 1: campaigns promote its mini-programs"))
	}
	lo, hi := cs.radii()
	if !(lo >= 10 && lo <= hi && hi <= 50000) {
		errs = append(errs, fmt.Errorf("dataset: fence radii [%v, %v] m: want 10 <= MinRadiusM <= MaxRadiusM <= 50000", lo, hi))
	}
	if !(cs.PolygonShare >= 0 && cs.PolygonShare <= 1) {
		errs = append(errs, fmt.Errorf("dataset: PolygonShare %v outside [0, 1]", cs.PolygonShare))
	}
	return errors.Join(errs...)
}

// GenerateCampaigns calls fn for every campaign of cs, in order i = 0, 1,
// ..., cs.Campaigns-1, and stops at the first error fn returns, returning
// it. It returns the error of cs.Validate without calling fn if cs is
// invalid.
//
// Campaign i depends only on cs.Seed, i and the other fields of cs, never
// on cs.Campaigns, so a smaller set is a prefix of a bigger one. What a
// campaign holds, and why:
//
//   - Fence. A city by weight, a centre drawn like a place (a Gaussian of
//     σ = Catalog.SigmaM around the city centre), a size log-uniform in
//     [MinRadiusM, MaxRadiusM]. Most fences are one circle; PolygonShare
//     of them are a convex-ish polygon of 5 to 12 vertices (every sixth
//     with a hole in the middle), and 2% of all carve a small circle out
//     (geofence.exclude), so every path of the covering index is taken.
//   - Mini-program. A visible mini-program of the catalog with a place in
//     the fence's city (a shop advertised around its own town), falling
//     back to the catalog's item 0, the national bike-share chain.
//   - Targeting. About 70% untargeted; the rest bound age (18+, 18-35,
//     25-44), gender, operating system or credit score.
//   - Schedule. About 80% always on (half of them with an explicit
//     Asia/Shanghai zone and a start in the past); 20% in dayparts of the
//     China Standard Time day (lunch, evening, commute, weekends, office
//     hours, late night). No campaign ends, so a set keeps serving
//     whatever the date of the run.
//   - Budget. 10,000 to 1,000,000 (in currency units, as micros), so that
//     no benchmark exhausts one; 70% EVEN with a 30-day daily budget, 30%
//     ASAP.
//   - Bid. 60% CPM of 2 to 30 per thousand, 40% CPC of 0.3 to 3 per click:
//     every bid clears the default reserve.
//   - Frequency cap on a quarter of them; a creative on every one.
//
// Every campaign passes the API's validation (pkg/validate) and its fence
// covers within the default cap of 20,000 H3 cells; output-only fields are
// left empty.
func GenerateCampaigns(cs CampaignSpec, fn func(i int, c *pb.Campaign) error) error {
	if err := cs.Validate(); err != nil {
		return err
	}
	g := newCampaignGenerator(cs)
	for i := 0; i < cs.Campaigns; i++ {
		if err := fn(i, g.Campaign(i)); err != nil {
			return err
		}
	}
	return nil
}

// ProbeCampaigns returns n campaigns drawn like those of GenerateCampaigns
// but from a stream of their own (so they do not repeat the set), each
// fenced by a single circle of radiusM: the "create a 5 km circle
// campaign" of the latency goal. It panics if cs is invalid or radiusM is
// outside [10, 50000].
func ProbeCampaigns(cs CampaignSpec, n int, radiusM float64) []*pb.Campaign {
	if err := cs.Validate(); err != nil {
		panic(err)
	}
	if !(radiusM >= 10 && radiusM <= 50000) {
		panic(fmt.Sprintf("dataset: probe radius %v m outside [10, 50000]", radiusM))
	}
	g := newCampaignGenerator(cs)
	out := make([]*pb.Campaign, 0, max(n, 0))
	for i := range n {
		out = append(out, g.Probe(i, radiusM))
	}
	return out
}

// CampaignGenerator makes the campaigns of a CampaignSpec one at a time, in
// any order: campaign i is the same whichever generator makes it, so that
// concurrent loaders each own one generator and split the indexes. A
// generator is not safe for concurrent use.
type CampaignGenerator struct {
	cs     CampaignSpec
	area   area
	lo, hi float64
	cat    *generator // the catalog's own generator, to check candidates
	csrc   *rand.PCG  // the catalog's stream, to draw a candidate's home city
	cr     *rand.Rand
	src    *rand.PCG
	r      *rand.Rand
}

// NewCampaignGenerator returns a generator of cs's campaigns, or the error
// of cs.Validate. cs.Campaigns does not bound it.
func NewCampaignGenerator(cs CampaignSpec) (*CampaignGenerator, error) {
	if err := cs.Validate(); err != nil {
		return nil, err
	}
	return newCampaignGenerator(cs), nil
}

// Campaign returns campaign i (>= 0) of the spec, as GenerateCampaigns
// does: a fresh message the caller may keep or change.
func (g *CampaignGenerator) Campaign(i int) *pb.Campaign { return g.campaign(domainCampaign, i, 0) }

// Probe returns probe campaign i (>= 0), as ProbeCampaigns does, fenced by
// one circle of radiusM (which the caller keeps in [10, 50000]).
func (g *CampaignGenerator) Probe(i int, radiusM float64) *pb.Campaign {
	return g.campaign(domainProbe, i, radiusM)
}

// MiniProgramID is the id of item i of every catalog: "mp-0000001" for
// item 0, zero-padded to 7 digits.
func MiniProgramID(i int) string {
	s := strconv.Itoa(i + 1)
	if len(s) < 7 {
		s = "0000000"[:7-len(s)] + s
	}
	return "mp-" + s
}

// Seed domains of the campaign streams.
const (
	domainCampaign uint64 = 0x63616d70 // "camp"
	domainProbe    uint64 = 0x70726f62 // "prob"
)

const (
	// promoteTries bounds the draws for a mini-program with a place in the
	// fence's city before falling back to item 0.
	promoteTries = 512
	// excludeP is the share of fences with an excluded circle.
	excludeP = 0.02
	// holeP is the share of polygons with a hole.
	holeP = 1.0 / 6
)

func newCampaignGenerator(cs CampaignSpec) *CampaignGenerator {
	g := &CampaignGenerator{cs: cs, area: newArea(cs.Catalog), cat: newGenerator(cs.Catalog),
		csrc: rand.NewPCG(0, 0), src: rand.NewPCG(0, 0)}
	g.cr, g.r = rand.New(g.csrc), rand.New(g.src)
	g.lo, g.hi = cs.radii()
	return g
}

// homeCity is the city item i of the catalog is drawn in: the first draw of
// its stream, as generator.item makes it.
func (g *CampaignGenerator) homeCity(i int) int {
	reseed(g.csrc, domainCatalog, g.cs.Catalog.Seed, uint64(i))
	return g.area.pickCity(g.cr)
}

// promote picks a visible mini-program with a place in city c.
func (g *CampaignGenerator) promote(c int) string {
	n := g.cs.Catalog.MiniPrograms
	for range promoteTries {
		i := g.r.IntN(n)
		if i == 0 || g.homeCity(i) != c {
			continue
		}
		// The home city is only where a chain starts: check the item.
		if mp := g.cat.item(i); !mp.Hidden && g.cat.counts[c] > 0 {
			return mp.Id
		}
	}
	return MiniProgramID(0)
}

// campaign builds campaign i of a domain; radiusM > 0 forces one circle of
// that radius.
func (g *CampaignGenerator) campaign(domain uint64, i int, radiusM float64) *pb.Campaign {
	reseed(g.src, domain, g.cs.Seed, uint64(i))
	r := g.r
	city := g.area.pickCity(r)
	lat, lng := g.area.point(r, city)
	size := radiusM
	if size == 0 {
		size = g.lo * math.Pow(g.hi/g.lo, r.Float64())
	}
	polygon := radiusM == 0 && r.Float64() < g.cs.PolygonShare
	fence := &pb.Geofence{}
	if polygon {
		fence.Include = []*pb.Area{{Shape: &pb.Area_Polygon{Polygon: starPolygon(r, lat, lng, size, r.Float64() < holeP)}}}
	} else {
		fence.Include = []*pb.Area{circleArea(lat, lng, size)}
	}
	if radiusM == 0 && r.Float64() < excludeP {
		// A hole in the middle: a quarter of the size, well inside even
		// the polygon's inner radius.
		fence.Exclude = []*pb.Area{circleArea(lat, lng, size/4)}
	}

	cityName := g.area.cities[city].Name
	c := &pb.Campaign{
		Name:          "bench " + strconv.Itoa(i+1) + " " + cityName,
		MiniProgramId: g.promote(city),
		Geofence:      fence,
		Targeting:     benchTargeting(r),
		Schedule:      benchSchedule(r),
		Budget:        benchBudget(r),
		Bid:           benchBid(r),
		FrequencyCap:  benchFrequencyCap(r),
		Creative: &pb.Creative{
			Headline:     headline(r, cityName),
			CallToAction: callsToAction[r.IntN(len(callsToAction))],
			ImageUrl:     CampaignImageURLPrefix + strconv.FormatUint(domain, 16) + "-" + strconv.Itoa(i+1) + ".jpg",
		},
	}
	if radiusM > 0 {
		c.Name = "probe " + strconv.Itoa(i+1) + " " + cityName
	}
	return c
}

func circleArea(lat, lng, radiusM float64) *pb.Area {
	return &pb.Area{Shape: &pb.Area_Circle{Circle: &pb.Circle{
		Center: &pb.LatLng{Latitude: lat, Longitude: lng}, RadiusM: radiusM,
	}}}
}

// offset moves (lat, lng) by (east, north) metres on the local plane.
func offset(lat, lng, east, north float64) *pb.LatLng {
	dLat := north / metresPerDegree
	dLng := east / (metresPerDegree * math.Max(math.Cos(lat*math.Pi/180), 1e-6))
	return &pb.LatLng{Latitude: clampLat(lat + dLat), Longitude: wrapLng(lng + dLng)}
}

// starPolygon is a convex-ish polygon of 5 to 12 vertices around the
// centre: vertex k at angle 2π(k + jitter)/n with jitter in ±0.3 and at
// 70-100% of radiusM. Angles strictly increase, so the ring is star-shaped
// around the centre and never crosses itself (the degree plane is an
// affine image of the local metric plane, which keeps that). Its edges
// stay more than a third of radiusM from the centre, so the optional hole,
// a hexagon of a quarter of radiusM, never touches them.
func starPolygon(r *rand.Rand, lat, lng, radiusM float64, hole bool) *pb.Polygon {
	n := 5 + r.IntN(8)
	rot := r.Float64() * 2 * math.Pi
	p := &pb.Polygon{Vertices: make([]*pb.LatLng, n)}
	for k := range n {
		a := rot + 2*math.Pi*(float64(k)+0.6*(r.Float64()-0.5))/float64(n)
		d := radiusM * (0.7 + 0.3*r.Float64())
		p.Vertices[k] = offset(lat, lng, d*math.Cos(a), d*math.Sin(a))
	}
	if hole {
		ring := &pb.Ring{Vertices: make([]*pb.LatLng, 6)}
		for k := range 6 {
			a := rot + 2*math.Pi*float64(k)/6
			ring.Vertices[k] = offset(lat, lng, radiusM/4*math.Cos(a), radiusM/4*math.Sin(a))
		}
		p.Holes = []*pb.Ring{ring}
	}
	return p
}

// benchTargeting: most campaigns target everyone.
func benchTargeting(r *rand.Rand) *pb.Targeting {
	switch x := r.IntN(100); {
	case x < 70:
		return nil
	case x < 78:
		return &pb.Targeting{MinAge: 18}
	case x < 84:
		return &pb.Targeting{MinAge: 18, MaxAge: 35}
	case x < 88:
		return &pb.Targeting{MinAge: 25, MaxAge: 44}
	case x < 92:
		return &pb.Targeting{Genders: []pb.Gender{pb.Gender_GENDER_FEMALE}}
	case x < 94:
		return &pb.Targeting{Genders: []pb.Gender{pb.Gender_GENDER_MALE}, MinAge: 18}
	case x < 96:
		return &pb.Targeting{OperatingSystems: []pb.OperatingSystem{pb.OperatingSystem_OPERATING_SYSTEM_IOS}}
	case x < 98:
		return &pb.Targeting{OperatingSystems: []pb.OperatingSystem{
			pb.OperatingSystem_OPERATING_SYSTEM_ANDROID, pb.OperatingSystem_OPERATING_SYSTEM_HARMONYOS}}
	default:
		return &pb.Targeting{MinCreditScore: int32(600 + 50*r.IntN(3))}
	}
}

// benchZone is the zone of every scheduled benchmark campaign: the cities
// are Chinese.
const benchZone = "Asia/Shanghai"

// benchStart is the start of the campaigns that have one: in the past,
// fixed, so that output never depends on the clock.
var benchStart = time.Date(2025, time.January, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))

var (
	everyDay = []pb.DayOfWeek{
		pb.DayOfWeek_DAY_OF_WEEK_MONDAY, pb.DayOfWeek_DAY_OF_WEEK_TUESDAY, pb.DayOfWeek_DAY_OF_WEEK_WEDNESDAY,
		pb.DayOfWeek_DAY_OF_WEEK_THURSDAY, pb.DayOfWeek_DAY_OF_WEEK_FRIDAY, pb.DayOfWeek_DAY_OF_WEEK_SATURDAY,
		pb.DayOfWeek_DAY_OF_WEEK_SUNDAY,
	}
	weekdays = everyDay[:5]
	weekend  = everyDay[5:]
)

// daypart is one window of the local day, in minutes.
type daypart struct {
	days       []pb.DayOfWeek
	start, end int32
}

// dayparts are the schedules of the campaigns that have them.
var dayparts = [][]daypart{
	{{everyDay, 11 * 60, 14 * 60}},                              // lunch
	{{everyDay, 17 * 60, 22 * 60}},                              // evening
	{{weekdays, 7 * 60, 10 * 60}, {weekdays, 17 * 60, 20 * 60}}, // commute
	{{weekend, 0, 24 * 60}},                                     // weekends
	{{weekdays, 9 * 60, 18 * 60}},                               // office hours
	{{everyDay, 20 * 60, 24 * 60}},                              // late night
}

// benchSchedule: most campaigns are always on.
func benchSchedule(r *rand.Rand) *pb.Schedule {
	switch x := r.IntN(100); {
	case x < 40:
		return nil
	case x < 80:
		return &pb.Schedule{TimeZone: benchZone, StartTime: timestamppb.New(benchStart)}
	default:
		s := &pb.Schedule{TimeZone: benchZone}
		for _, d := range dayparts[r.IntN(len(dayparts))] {
			s.Dayparts = append(s.Dayparts, &pb.Daypart{Days: slices.Clone(d.days), StartMinute: d.start, EndMinute: d.end})
		}
		return s
	}
}

// logUniform draws from [lo, hi) log-uniformly.
func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return lo * math.Pow(hi/lo, r.Float64())
}

func benchBudget(r *rand.Rand) *pb.Budget {
	total := int64(logUniform(r, 1e10, 1e12))
	if r.IntN(10) < 3 {
		return &pb.Budget{TotalMicros: total, Pacing: pb.Pacing_PACING_ASAP}
	}
	return &pb.Budget{TotalMicros: total, DailyMicros: total / 30, Pacing: pb.Pacing_PACING_EVEN}
}

func benchBid(r *rand.Rand) *pb.Bid {
	if r.IntN(10) < 6 {
		return &pb.Bid{Model: pb.PricingModel_PRICING_MODEL_CPM, AmountMicros: int64(logUniform(r, 2e6, 3e7))}
	}
	return &pb.Bid{Model: pb.PricingModel_PRICING_MODEL_CPC, AmountMicros: int64(logUniform(r, 3e5, 3e6))}
}

func benchFrequencyCap(r *rand.Rand) *pb.FrequencyCap {
	if r.IntN(4) != 0 {
		return nil
	}
	window := 24 * time.Hour
	if r.IntN(2) == 0 {
		window = time.Hour
	}
	return &pb.FrequencyCap{MaxImpressions: int32(3 + r.IntN(8)), Window: durationpb.New(window)}
}

// headlines are creative headlines; "{city}" stands for the city name.
var headlines = []string{
	"Lunch deals near you", "20% off today only", "New in {city}", "Free delivery over 30",
	"Try it free this week", "Ride for 1 yuan", "Open now in {city}", "Members save more",
	"Book a table tonight", "Flash sale: 2 for 1", "Your first order free", "Top rated in {city}",
}

var callsToAction = []string{"Open", "Order now", "Ride now", "Book", "Play now", "Get coupon", "Learn more", ""}

// headline picks a headline for a campaign in city.
func headline(r *rand.Rand, city string) string {
	h := strings.Replace(headlines[r.IntN(len(headlines))], "{city}", city, 1)
	if utf8.RuneCountInString(h) > 40 {
		// A long city name (a Spec's own cities may have 32 bytes).
		h = headlines[0]
	}
	return h
}
