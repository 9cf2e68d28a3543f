package dataset

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// digest generates s and hashes the deterministic encoding of every item.
func digest(t testing.TB, s Spec) []byte {
	t.Helper()
	h := sha256.New()
	opts := proto.MarshalOptions{Deterministic: true}
	err := Generate(s, func(_ int, mp *pb.MiniProgram) error {
		b, err := opts.Marshal(mp)
		if err != nil {
			return err
		}
		h.Write(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

func collect(t testing.TB, s Spec) []*pb.MiniProgram {
	t.Helper()
	out := make([]*pb.MiniProgram, 0, s.MiniPrograms)
	if err := Generate(s, func(i int, mp *pb.MiniProgram) error {
		if i != len(out) {
			t.Fatalf("got index %d, want %d", i, len(out))
		}
		out = append(out, mp)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	s := BenchSpec(42)
	s.MiniPrograms = 3000
	a, b := digest(t, s), digest(t, s)
	if !bytes.Equal(a, b) {
		t.Fatal("same spec gave different output")
	}
	s.Seed = 43
	if bytes.Equal(a, digest(t, s)) {
		t.Fatal("different seeds gave the same output")
	}

	// A smaller catalog is a prefix of a bigger one.
	small := DemoSpec(7, 200)
	big := DemoSpec(7, 1000)
	sm, bg := collect(t, small), collect(t, big)
	for i := range sm {
		if !proto.Equal(sm[i], bg[i]) {
			t.Fatalf("item %d differs between n=200 and n=1000", i)
		}
	}
}

func TestGenerateValid(t *testing.T) {
	s := BenchSpec(1)
	s.MiniPrograms = 20_000
	var places, hidden, aud, ageAud, genderAud, osAud, offers, chains int
	ids := make(map[string]bool, s.MiniPrograms)
	err := Generate(s, func(i int, mp *pb.MiniProgram) error {
		if !idPattern.MatchString(mp.Id) {
			t.Fatalf("item %d: bad id %q", i, mp.Id)
		}
		if ids[mp.Id] {
			t.Fatalf("item %d: duplicate id %q", i, mp.Id)
		}
		ids[mp.Id] = true
		if n := utf8.RuneCountInString(mp.Name); n < 1 || n > 80 {
			t.Fatalf("%s: name %q has %d chars", mp.Id, mp.Name, n)
		}
		if n := utf8.RuneCountInString(mp.Description); n > 500 || n == 0 {
			t.Fatalf("%s: description has %d chars", mp.Id, n)
		}
		if mp.IconUrl != IconURLPrefix+mp.Id+".png" {
			t.Fatalf("%s: icon %q", mp.Id, mp.IconUrl)
		}
		if mp.Category == pb.Category_CATEGORY_UNSPECIFIED || pb.Category_name[int32(mp.Category)] == "" {
			t.Fatalf("%s: category %v", mp.Id, mp.Category)
		}
		if !(mp.Rating >= 0 && mp.Rating <= 5) || math.Abs(mp.Rating*10-math.Round(mp.Rating*10)) > 1e-9 {
			t.Fatalf("%s: rating %v", mp.Id, mp.Rating)
		}
		if mp.Popularity < 0 {
			t.Fatalf("%s: popularity %d", mp.Id, mp.Popularity)
		}
		if mp.Version != 0 || mp.CreateTime != nil || mp.UpdateTime != nil {
			t.Fatalf("%s: output-only field set", mp.Id)
		}
		if n := len(mp.Places); n < 1 || n > MaxPlaces {
			t.Fatalf("%s: %d places", mp.Id, n)
		}
		if len(mp.Places) >= 5 {
			chains++
		}
		places += len(mp.Places)
		pids := map[string]bool{}
		for _, p := range mp.Places {
			if p.Id == "" || pids[p.Id] {
				t.Fatalf("%s: place id %q empty or repeated", mp.Id, p.Id)
			}
			pids[p.Id] = true
			if !strings.Contains(p.Label, " #") {
				t.Fatalf("%s: label %q", mp.Id, p.Label)
			}
			checkLatLng(t, p.Location)
		}
		if a := mp.Audience; a != nil {
			aud++
			if a.MinAge > 0 || a.MaxAge > 0 {
				ageAud++
			}
			if a.MinAge < 0 || a.MaxAge < 0 || (a.MaxAge > 0 && a.MinAge > a.MaxAge) {
				t.Fatalf("%s: ages %d-%d", mp.Id, a.MinAge, a.MaxAge)
			}
			if len(a.Genders) > 0 {
				genderAud++
			}
			if len(a.OperatingSystems) > 0 {
				osAud++
			}
		}
		if len(mp.Offers) > 0 {
			offers++
		}
		oids := map[string]bool{}
		for _, o := range mp.Offers {
			if o.Id == "" || o.Title == "" || oids[o.Id] || o.MinCreditScore < 0 {
				t.Fatalf("%s: bad offer %v", mp.Id, o)
			}
			oids[o.Id] = true
		}
		if mp.Hidden {
			hidden++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n := float64(s.MiniPrograms)
	ratio := float64(places) / n
	t.Logf("places/program %.3f, chains(>=5 places) %.2f%%, hidden %.2f%%, audience %.2f%% (age %.2f%%, gender %.2f%%, os %.2f%%), offers %.2f%%",
		ratio, 100*float64(chains)/n, 100*float64(hidden)/n, 100*float64(aud)/n,
		100*float64(ageAud)/n, 100*float64(genderAud)/n, 100*float64(osAud)/n, 100*float64(offers)/n)
	if ratio < 1.4 || ratio > 1.6 {
		t.Errorf("places per program = %.3f, want 1.4-1.6", ratio)
	}
	if h := float64(hidden) / n; h < 0.005 || h > 0.015 {
		t.Errorf("hidden share %.4f, want ~1%%", h)
	}
	if c := float64(chains) / n; c < 0.015 || c > 0.04 {
		t.Errorf("chain share %.4f, want ~2-3%%", c)
	}
	for name, c := range map[string]int{"age": ageAud, "gender": genderAud, "os": osAud} {
		if f := float64(c) / n; f < 0.01 || f > 0.08 {
			t.Errorf("%s-restricted share %.4f, want a few percent", name, f)
		}
	}
	if f := float64(aud) / n; f > 0.2 {
		t.Errorf("audience-restricted share %.4f, want most unrestricted", f)
	}
}

func checkLatLng(t testing.TB, ll *pb.LatLng) {
	t.Helper()
	if ll == nil || math.IsNaN(ll.Latitude) || math.IsNaN(ll.Longitude) ||
		ll.Latitude < -90 || ll.Latitude > 90 || ll.Longitude < -180 || ll.Longitude > 180 {
		t.Fatalf("bad position %v", ll)
	}
}

func TestCategoryMix(t *testing.T) {
	s := DemoSpec(2024, 50_000)
	counts := map[pb.Category]int{}
	if err := Generate(s, func(_ int, mp *pb.MiniProgram) error {
		counts[mp.Category]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	games := counts[pb.Category_CATEGORY_GAMES]
	for c := pb.Category(1); int(c) < len(pb.Category_name); c++ {
		k := counts[c]
		t.Logf("%-24v %5.2f%%", c, 100*float64(k)/float64(s.MiniPrograms))
		if c != pb.Category_CATEGORY_GAMES && k >= games {
			t.Errorf("%v (%d) not smaller than games (%d)", c, k, games)
		}
	}
	if len(counts) != len(pb.Category_name)-1 {
		t.Errorf("got %d categories, want %d", len(counts), len(pb.Category_name)-1)
	}
	if share := float64(games) / float64(s.MiniPrograms); math.Abs(share-0.28) > 0.02 {
		t.Errorf("games share %.4f, want 0.28 ± 0.02", share)
	}
}

func TestAnchorBikeShare(t *testing.T) {
	for _, s := range []Spec{DemoSpec(1, 1), BenchSpec(99)} {
		s.MiniPrograms = 1
		mp := collect(t, s)[0]
		if !strings.Contains(mp.Name, "Bike") || mp.Category != pb.Category_CATEGORY_TRANSPORT {
			t.Fatalf("item 0 is %q (%v)", mp.Name, mp.Category)
		}
		if mp.Audience != nil || mp.Hidden {
			t.Fatalf("item 0 restricted or hidden")
		}
		want := &pb.Offer{Id: "deposit-waived", Title: "Deposit waived", MinCreditScore: 650}
		if len(mp.Offers) == 0 || !proto.Equal(mp.Offers[0], want) {
			t.Fatalf("item 0 offers %v", mp.Offers)
		}
		cities := map[string]bool{}
		for _, p := range mp.Places {
			cities[p.Label[:strings.Index(p.Label, " #")]] = true
		}
		if len(mp.Places) < 100 || len(cities) < 2 {
			t.Fatalf("item 0 has %d places in %d cities", len(mp.Places), len(cities))
		}
	}
}

func TestBikeChainsHaveDepositOffer(t *testing.T) {
	s := BenchSpec(5)
	s.MiniPrograms = 20_000
	bikes := 0
	for _, mp := range collect(t, s) {
		if mp.Category != pb.Category_CATEGORY_TRANSPORT || !strings.HasSuffix(mp.Name, " Bike") || len(mp.Places) < 2 {
			continue
		}
		bikes++
		if len(mp.Offers) == 0 || mp.Offers[0].Id != "deposit-waived" || mp.Offers[0].MinCreditScore != 650 {
			t.Fatalf("%s %q: offers %v", mp.Id, mp.Name, mp.Offers)
		}
	}
	if bikes < 2 {
		t.Fatalf("only %d bike-share chains", bikes)
	}
}

func TestGenerateStopsAtError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	err := Generate(DemoSpec(1, 100), func(i int, _ *pb.MiniProgram) error {
		calls++
		if i == 9 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 10 {
		t.Fatalf("err %v after %d calls, want stop after 10", err, calls)
	}
}

func TestValidate(t *testing.T) {
	bad := []Spec{
		{MiniPrograms: 1},
		{MiniPrograms: -1, Cities: DemoCities()},
		{MiniPrograms: 1, Cities: []City{{Name: "", Lat: 0, Lng: 0}}},
		{MiniPrograms: 1, Cities: []City{{Name: "X", Lat: 91}}},
		{MiniPrograms: 1, Cities: []City{{Name: "X", Lng: math.NaN()}}},
		{MiniPrograms: 1, Cities: []City{{Name: "X", Weight: -1}}},
		{MiniPrograms: 1, Cities: DemoCities(), SigmaM: math.Inf(1)},
		{MiniPrograms: 1, Cities: DemoCities(), PlacesPerProgram: 0.5},
		{MiniPrograms: 1, Cities: DemoCities(), PlacesPerProgram: 5},
	}
	for i, s := range bad {
		if s.Validate() == nil {
			t.Errorf("spec %d: Validate accepted %+v", i, s)
		}
		if Generate(s, func(int, *pb.MiniProgram) error { return nil }) == nil {
			t.Errorf("spec %d: Generate accepted it", i)
		}
	}
	for _, s := range []Spec{DemoSpec(1, 10), BenchSpec(1), {Cities: []City{{Name: "Null Island"}}}} {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%v): %v", s.Cities[0].Name, err)
		}
	}
}

func TestPlacesPerProgramTarget(t *testing.T) {
	for _, target := range []float64{1, 1.1, 2.5} {
		s := BenchSpec(3)
		s.MiniPrograms = 20_000
		s.PlacesPerProgram = target
		places := 0
		for _, mp := range collect(t, s) {
			places += len(mp.Places)
		}
		got := float64(places) / float64(s.MiniPrograms)
		if target == 1 && got != 1 {
			t.Errorf("target 1: got %.4f", got)
		}
		if math.Abs(got-target) > 0.1*target {
			t.Errorf("target %.2f: got %.3f", target, got)
		}
	}
}

func TestEdgeCities(t *testing.T) {
	// Centres on a pole and on the antimeridian, a huge σ: every position
	// must still be valid.
	s := Spec{
		Seed:         1,
		MiniPrograms: 500,
		Cities: []City{
			{Name: "North Pole", Lat: 90, Lng: 0, Weight: 1},
			{Name: "Suva", Lat: -18.14, Lng: 178.44, Weight: 1},
			{Name: "Apia", Lat: -13.83, Lng: -171.76, Weight: 1},
		},
		SigmaM: 2_000_000,
	}
	if err := Generate(s, func(_ int, mp *pb.MiniProgram) error {
		for _, p := range mp.Places {
			checkLatLng(t, p.Location)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, q := range Queries(s, 1, 500) {
		checkLatLng(t, q.Location)
	}
}

func TestQueries(t *testing.T) {
	s := BenchSpec(1)
	a, b := Queries(s, 9, 5000), Queries(s, 9, 5000)
	if len(a) != 5000 {
		t.Fatalf("got %d queries", len(a))
	}
	byUser := map[string]*pb.UserContext{}
	var unknownCredit, unknownAge int
	for i := range a {
		if !proto.Equal(a[i].Location, b[i].Location) || !proto.Equal(a[i].User, b[i].User) {
			t.Fatalf("query %d differs between runs", i)
		}
		checkLatLng(t, a[i].Location)
		u := a[i].User
		if !regexp.MustCompile(`^u[0-9]+$`).MatchString(u.UserId) {
			t.Fatalf("user id %q", u.UserId)
		}
		if prev := byUser[u.UserId]; prev != nil && !proto.Equal(prev, u) {
			t.Fatalf("user %s has two profiles: %v / %v", u.UserId, prev, u)
		}
		byUser[u.UserId] = u
		if u.Age != 0 && (u.Age < 12 || u.Age > 70) {
			t.Fatalf("age %d", u.Age)
		}
		if u.Age == 0 {
			unknownAge++
		}
		if u.CreditScore == 0 {
			unknownCredit++
		} else if u.CreditScore < 350 || u.CreditScore > 850 {
			t.Fatalf("credit score %d", u.CreditScore)
		}
	}
	if f := float64(unknownCredit) / 5000; math.Abs(f-0.3) > 0.05 {
		t.Errorf("unknown credit share %.3f, want ~0.3", f)
	}
	if unknownAge == 0 || len(byUser) < 1000 {
		t.Errorf("unknown ages %d, distinct users %d", unknownAge, len(byUser))
	}
	// Distances to the nearest centre follow a Rayleigh law: mean σ·√(π/2).
	sum := 0.0
	for _, q := range a {
		best := math.Inf(1)
		for _, c := range s.Cities {
			dy := (q.Location.Latitude - c.Lat) * metresPerDegree
			dx := (q.Location.Longitude - c.Lng) * metresPerDegree * math.Cos(c.Lat*math.Pi/180)
			best = math.Min(best, math.Hypot(dx, dy))
		}
		sum += best
	}
	if mean, want := sum/float64(len(a)), s.SigmaM*math.Sqrt(math.Pi/2); math.Abs(mean-want) > 0.05*want {
		t.Errorf("mean distance to the nearest centre %.0f m, want %.0f m", mean, want)
	}
	if c := Queries(s, 10, 10); proto.Equal(c[0].Location, a[0].Location) {
		t.Error("different seeds gave the same first query")
	}
	if Queries(s, 1, 0) != nil {
		t.Error("n=0 gave queries")
	}
}

// BenchmarkGenerate generates the whole 1M BenchSpec catalog per iteration;
// run it once with -benchtime 1x.
func BenchmarkGenerate(b *testing.B) {
	s := BenchSpec(1)
	b.ReportAllocs()
	places := 0
	for b.Loop() {
		places = 0
		if err := Generate(s, func(_ int, mp *pb.MiniProgram) error {
			places += len(mp.Places)
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(s.MiniPrograms), "ns/item")
	b.ReportMetric(float64(places)/float64(s.MiniPrograms), "places/item")
}
