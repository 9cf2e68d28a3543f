package dataset

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/aroundme/aroundme/geo"
	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/validate"
)

// smallCatalog is the benchmark catalog cut to n mini-programs.
func smallCatalog(n int) Spec {
	s := BenchSpec(1)
	s.MiniPrograms = n
	return s
}

func campaignDigest(t testing.TB, cs CampaignSpec) []byte {
	t.Helper()
	h := sha256.New()
	opts := proto.MarshalOptions{Deterministic: true}
	if err := GenerateCampaigns(cs, func(_ int, c *pb.Campaign) error {
		b, err := opts.Marshal(c)
		h.Write(b)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

func TestCampaignsDeterministic(t *testing.T) {
	cs := BenchCampaignSpec(7, 2000, smallCatalog(5000))
	if a, b := campaignDigest(t, cs), campaignDigest(t, cs); !bytes.Equal(a, b) {
		t.Fatal("same spec gave different campaigns")
	}
	other := cs
	other.Seed = 8
	if bytes.Equal(campaignDigest(t, cs), campaignDigest(t, other)) {
		t.Fatal("seeds 7 and 8 gave the same campaigns")
	}
	// A smaller set is a prefix of a bigger one.
	small := BenchCampaigns(7, 300, smallCatalog(5000))
	big := BenchCampaigns(7, 600, smallCatalog(5000))
	for i := range small {
		if !proto.Equal(small[i], big[i]) {
			t.Fatalf("campaign %d differs between the sets of 300 and 600", i)
		}
	}
	// A generator makes campaign i whatever it made before.
	g, err := NewCampaignGenerator(BenchCampaignSpec(7, 0, smallCatalog(5000)))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{599, 3, 250, 3, 0} {
		if c := g.Campaign(i); !proto.Equal(c, big[i]) {
			t.Fatalf("generator's campaign %d differs from GenerateCampaigns'", i)
		}
	}
	if _, err := NewCampaignGenerator(CampaignSpec{}); err == nil {
		t.Fatal("NewCampaignGenerator accepted an empty spec")
	}
	// Probe campaigns are their own stream.
	probes := ProbeCampaigns(cs, 50, 5000)
	for i, p := range probes {
		if proto.Equal(p.GetGeofence(), big[i].GetGeofence()) {
			t.Fatalf("probe %d repeats campaign %d's fence", i, i)
		}
		if !proto.Equal(p, g.Probe(i, 5000)) {
			t.Fatalf("generator's probe %d differs from ProbeCampaigns'", i)
		}
	}
}

// TestCampaignsValid checks a sample against the API's own validation, the
// default covering cap, and the catalog they promote from; and that the
// mix is what GenerateCampaigns documents.
func TestCampaignsValid(t *testing.T) {
	const n = 4000
	cat := smallCatalog(20_000)
	programs := map[string]*pb.MiniProgram{}
	if err := Generate(cat, func(_ int, mp *pb.MiniProgram) error {
		programs[mp.Id] = mp
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cities := map[string]bool{}
	for _, c := range cat.Cities {
		cities[c.Name] = true
	}
	var polygons, holes, excludes, targeted, dayparts, cpc, asap, capped, fallback int
	policy := geo.CoverPolicy{MaxCells: geo.DefaultMaxCells}
	err := GenerateCampaigns(BenchCampaignSpec(3, n, cat), func(i int, c *pb.Campaign) error {
		if err := validate.Request(&pb.CreateCampaignRequest{Campaign: c}); err != nil {
			t.Fatalf("campaign %d does not validate: %v\n%v", i, err, c)
		}
		if i%20 == 0 {
			// Covering costs milliseconds: a sample.
			var v apierr.Violations
			gf := validate.Geofence(&v, "geofence", c.GetGeofence())
			if _, err := gf.Cover(policy); err != nil {
				t.Fatalf("campaign %d: covering: %v", i, err)
			}
		}
		if c.Id != "" || c.AdvertiserId != "" || c.Version != 0 || c.State != 0 || c.Coverage != nil {
			t.Fatalf("campaign %d: output-only field set", i)
		}
		// The promoted mini-program is visible and has a place in the
		// fence's city (named last in the campaign's name).
		mp := programs[c.MiniProgramId]
		if mp == nil || mp.Hidden {
			t.Fatalf("campaign %d promotes %q: missing or hidden", i, c.MiniProgramId)
		}
		city := c.Name[strings.LastIndex(c.Name, " ")+1:]
		if !cities[city] {
			// Xi'an has no space; other names are one word too.
			t.Fatalf("campaign %d: name %q does not end with a city", i, c.Name)
		}
		if c.MiniProgramId == MiniProgramID(0) {
			fallback++
		} else if !slices.ContainsFunc(mp.Places, func(p *pb.Place) bool { return strings.HasPrefix(p.Label, city+" #") }) {
			t.Fatalf("campaign %d in %s promotes %s, which has no place there", i, city, mp.Id)
		}
		inc := c.Geofence.Include[0]
		if len(c.Geofence.Include) != 1 {
			t.Fatalf("campaign %d: %d include areas", i, len(c.Geofence.Include))
		}
		if ci := inc.GetCircle(); ci != nil {
			if ci.RadiusM < DefaultMinFenceRadiusM || ci.RadiusM > DefaultMaxFenceRadiusM {
				t.Fatalf("campaign %d: radius %v", i, ci.RadiusM)
			}
		} else {
			polygons++
			p := inc.GetPolygon()
			if len(p.Vertices) < 5 || len(p.Vertices) > 12 {
				t.Fatalf("campaign %d: %d vertices", i, len(p.Vertices))
			}
			if len(p.Holes) > 0 {
				holes++
			}
		}
		if len(c.Geofence.Exclude) > 0 {
			excludes++
		}
		if c.Targeting != nil {
			targeted++
		}
		if len(c.GetSchedule().GetDayparts()) > 0 {
			dayparts++
		}
		if c.GetSchedule().GetEndTime() != nil {
			t.Fatalf("campaign %d ends", i)
		}
		if c.Bid.Model == pb.PricingModel_PRICING_MODEL_CPC {
			cpc++
		}
		if c.Budget.Pacing == pb.Pacing_PACING_ASAP {
			asap++
		}
		if c.Budget.TotalMicros < 1e10 {
			t.Fatalf("campaign %d: budget %d too small for a benchmark", i, c.Budget.TotalMicros)
		}
		if c.FrequencyCap != nil {
			capped++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("of %d: polygons %d (with a hole %d), excludes %d, targeted %d, dayparts %d, CPC %d, ASAP %d, capped %d, promoting item 0 %d",
		n, polygons, holes, excludes, targeted, dayparts, cpc, asap, capped, fallback)
	for _, c := range []struct {
		name   string
		got    int
		lo, hi float64
	}{
		{"polygons", polygons, 0.07, 0.13}, {"holes", holes, 0.005, 0.04}, {"excludes", excludes, 0.005, 0.04},
		{"targeted", targeted, 0.25, 0.35}, {"dayparts", dayparts, 0.16, 0.24}, {"CPC", cpc, 0.35, 0.45},
		{"ASAP", asap, 0.25, 0.35}, {"capped", capped, 0.2, 0.3}, {"item 0", fallback, 0, 0.01},
	} {
		if f := float64(c.got) / n; f < c.lo || f > c.hi {
			t.Errorf("%s share %.3f, want [%v, %v]", c.name, f, c.lo, c.hi)
		}
	}
}

// TestCampaignDensity is the density the performance goal asks for: with
// 100,000 benchmark campaigns, the first city's centre (Beijing) lies in
// more than 100 fences.
func TestCampaignDensity(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 100,000 campaigns")
	}
	cat := BenchSpec(1)
	centre := cat.Cities[0]
	circles, fences, n := 0, 0, 0
	err := GenerateCampaigns(BenchCampaignSpec(1, BenchCampaignCount, cat), func(_ int, c *pb.Campaign) error {
		n++
		var v apierr.Violations
		gf := validate.Geofence(&v, "geofence", c.GetGeofence())
		if err := v.Err(); err != nil {
			return err
		}
		if ci := c.Geofence.Include[0].GetCircle(); ci != nil {
			circle := geo.Circle{Center: geo.LatLngDeg{Lat: ci.Center.Latitude, Lng: ci.Center.Longitude}, RadiusM: ci.RadiusM}
			if circle.ContainsDeg(centre.Lat, centre.Lng) {
				circles++
			}
		}
		if gf.ContainsDeg(centre.Lat, centre.Lng) {
			fences++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s centre: in %d of %d circles, %d fences of every shape", centre.Name, circles, n, fences)
	if circles <= 100 {
		t.Errorf("%s centre lies in %d circles, want > 100", centre.Name, circles)
	}
}

func TestProbeCampaigns(t *testing.T) {
	cs := BenchCampaignSpec(1, 0, smallCatalog(3000))
	ps := ProbeCampaigns(cs, 40, 5000)
	if len(ps) != 40 {
		t.Fatalf("%d probes", len(ps))
	}
	for i, p := range ps {
		if err := validate.Request(&pb.CreateCampaignRequest{Campaign: p}); err != nil {
			t.Fatalf("probe %d: %v", i, err)
		}
		g := p.GetGeofence()
		if len(g.Include) != 1 || len(g.Exclude) != 0 || g.Include[0].GetCircle().GetRadiusM() != 5000 {
			t.Fatalf("probe %d: fence %v, want one 5 km circle", i, g)
		}
		if !strings.HasPrefix(p.Name, "probe ") {
			t.Fatalf("probe %d: name %q", i, p.Name)
		}
	}
}

func TestMiniProgramID(t *testing.T) {
	want := map[int]string{}
	if err := Generate(smallCatalog(1200), func(i int, mp *pb.MiniProgram) error {
		want[i] = mp.Id
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, id := range want {
		if got := MiniProgramID(i); got != id {
			t.Fatalf("MiniProgramID(%d) = %q, Generate says %q", i, got, id)
		}
	}
	if got := MiniProgramID(BenchMiniPrograms - 1); got != "mp-1000000" {
		t.Fatalf("last benchmark id %q", got)
	}
}

func TestCampaignSpecValidate(t *testing.T) {
	good := BenchCampaignSpec(1, 10, smallCatalog(10))
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	zero := good
	zero.MinRadiusM, zero.MaxRadiusM = 0, 0
	if err := zero.Validate(); err != nil {
		t.Fatalf("default radii: %v", err)
	}
	for name, mod := range map[string]func(*CampaignSpec){
		"negative count": func(c *CampaignSpec) { c.Campaigns = -1 },
		"empty catalog":  func(c *CampaignSpec) { c.Catalog.MiniPrograms = 0 },
		"no cities":      func(c *CampaignSpec) { c.Catalog.Cities = nil },
		"radii reversed": func(c *CampaignSpec) { c.MinRadiusM, c.MaxRadiusM = 3000, 2000 },
		"radius too big": func(c *CampaignSpec) { c.MaxRadiusM = 60000 },
		"tiny radius":    func(c *CampaignSpec) { c.MinRadiusM = 5 },
		"polygon share":  func(c *CampaignSpec) { c.PolygonShare = 1.5 },
	} {
		cs := good
		cs.Catalog.Cities = append([]City(nil), good.Catalog.Cities...)
		mod(&cs)
		if cs.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
		if GenerateCampaigns(cs, func(int, *pb.Campaign) error { t.Fatal("called"); return nil }) == nil {
			t.Errorf("%s: GenerateCampaigns accepted", name)
		}
	}
}

// BenchmarkCampaign is what load-bench adds to each create's measured
// latency by generating the campaign inside the call.
func BenchmarkCampaign(b *testing.B) {
	g, err := NewCampaignGenerator(BenchCampaignSpec(1, 0, BenchSpec(1)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		g.Campaign(i)
	}
}
