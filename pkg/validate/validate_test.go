package validate

import (
	"math"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"google.golang.org/protobuf/proto"
)

// TestValidID: the byte-by-byte check is the contract's pattern.
func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"a", true}, {"0", true}, {"bike-share_2.0", true}, {strings.Repeat("a", 64), true},
		{"", false}, {strings.Repeat("a", 65), false}, {"-a", false}, {"_a", false}, {".a", false},
		{"A", false}, {"a b", false}, {"a/b", false}, {"a\n", false}, {"é", false}, {"a\x00", false},
	} {
		if got := ValidID(tc.id); got != tc.want {
			t.Errorf("ValidID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

// TestMiniProgramOK: the allocation-free check accepts exactly what the
// detailed one finds no violation in, over random mutations of a valid
// mini-program touching every rule.
func TestMiniProgramOK(t *testing.T) {
	mutations := []func(r *rand.Rand, mp *v1.MiniProgram){
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.Name = "" },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.Name = strings.Repeat("名", MaxNameRunes) },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.Name = strings.Repeat("名", MaxNameRunes+1) },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.Name = "\xff" },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.Description = strings.Repeat("d", MaxDescriptionRunes+1) },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.Category = 0 },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.Category = 99 },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.IconUrl = "https://cdn.example.com/i.png" },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.IconUrl = "ftp://cdn.example.com/i.png" },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.IconUrl = "/relative.png" },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.IconUrl = "https://%zz" },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.IconUrl = "https://x/" + strings.Repeat("a", MaxURLBytes) },
		func(r *rand.Rand, mp *v1.MiniProgram) {
			n := 1 + r.IntN(40)
			if r.IntN(10) == 0 {
				n = MaxPlaces + r.IntN(2)
			}
			mp.Places = nil
			for i := range n {
				mp.Places = append(mp.Places, &v1.Place{Id: "p" + strings.Repeat("x", i%70) + string(rune('a'+i%26)),
					Location: &v1.LatLng{Latitude: float64(i % 90), Longitude: float64(i % 180)}})
			}
		},
		func(r *rand.Rand, mp *v1.MiniProgram) { // a repeated place id, maybe far apart
			if len(mp.Places) > 1 {
				mp.Places[r.IntN(len(mp.Places))].Id = mp.Places[r.IntN(len(mp.Places))].Id
			}
		},
		func(r *rand.Rand, mp *v1.MiniProgram) { mp.Places[r.IntN(len(mp.Places))].Id = "Bad" },
		func(r *rand.Rand, mp *v1.MiniProgram) { mp.Places[r.IntN(len(mp.Places))].Location = nil },
		func(r *rand.Rand, mp *v1.MiniProgram) {
			mp.Places[r.IntN(len(mp.Places))].Location = &v1.LatLng{Latitude: []float64{90, -90, 90.0001, math.NaN(), math.Inf(1)}[r.IntN(5)]}
		},
		func(r *rand.Rand, mp *v1.MiniProgram) {
			mp.Places[r.IntN(len(mp.Places))].Location = &v1.LatLng{Longitude: []float64{180, -180, -180.5, math.NaN(), math.Inf(-1)}[r.IntN(5)]}
		},
		func(r *rand.Rand, mp *v1.MiniProgram) {
			mp.Places[r.IntN(len(mp.Places))].Label = strings.Repeat("l", MaxLabelRunes+r.IntN(2))
		},
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.Audience = nil },
		func(r *rand.Rand, mp *v1.MiniProgram) {
			mp.Audience = &v1.Audience{MinAge: int32(r.IntN(160) - 5), MaxAge: int32(r.IntN(160) - 5)}
		},
		func(r *rand.Rand, mp *v1.MiniProgram) {
			mp.Audience = &v1.Audience{Genders: []v1.Gender{v1.Gender(r.IntN(5))}, OperatingSystems: []v1.OperatingSystem{v1.OperatingSystem(r.IntN(6))}}
		},
		func(r *rand.Rand, mp *v1.MiniProgram) { mp.Rating = []float64{0, 5, -0.1, 5.1, math.NaN()}[r.IntN(5)] },
		func(_ *rand.Rand, mp *v1.MiniProgram) { mp.Popularity = -1 },
		func(r *rand.Rand, mp *v1.MiniProgram) {
			n := r.IntN(20)
			if r.IntN(10) == 0 {
				n = MaxOffers + r.IntN(2)
			}
			mp.Offers = nil
			for i := range n {
				mp.Offers = append(mp.Offers, &v1.Offer{Id: "o" + strings.Repeat("y", i), Title: "t"})
			}
		},
		func(r *rand.Rand, mp *v1.MiniProgram) {
			if len(mp.Offers) > 1 {
				mp.Offers[r.IntN(len(mp.Offers))].Id = mp.Offers[r.IntN(len(mp.Offers))].Id
			}
		},
		func(r *rand.Rand, mp *v1.MiniProgram) {
			if len(mp.Offers) > 0 {
				o := mp.Offers[r.IntN(len(mp.Offers))]
				switch r.IntN(3) {
				case 0:
					o.Title = ""
				case 1:
					o.MinCreditScore = int32(r.IntN(1100) - 50)
				default:
					o.Id = "-x"
				}
			}
		},
	}
	// Mutations of a place pick one: none left, nothing to mutate.
	for i, m := range mutations {
		mutations[i] = func(r *rand.Rand, mp *v1.MiniProgram) {
			if len(mp.Places) == 0 {
				mp.Places = append(mp.Places, &v1.Place{Id: "p", Location: &v1.LatLng{}})
			}
			m(r, mp)
		}
	}
	r := rand.New(rand.NewPCG(3, 3))
	accepted, rejected := 0, 0
	for range 20000 {
		mp := proto.Clone(seedMiniProgram()).(*v1.MiniProgram)
		for range r.IntN(4) {
			mutations[r.IntN(len(mutations))](r, mp)
		}
		if r.IntN(50) == 0 {
			mp.Places = nil
		}
		var v apierr.Violations
		checkMiniProgram(&v, "mini_program", mp)
		want := v.Err() == nil
		if got := miniProgramOK(mp); got != want {
			t.Fatalf("miniProgramOK = %v, detailed check: %v, for %v", got, v.Err(), mp)
		}
		if want {
			accepted++
		} else {
			rejected++
		}
	}
	if accepted < 1000 || rejected < 1000 {
		t.Fatalf("lopsided cases: %d accepted, %d rejected", accepted, rejected)
	}
}

// FuzzMiniProgramOK: on any decodable mini-program, the allocation-free
// check and the detailed one agree.
func FuzzMiniProgramOK(f *testing.F) {
	b, _ := proto.Marshal(seedMiniProgram())
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		mp := &v1.MiniProgram{}
		if proto.Unmarshal(data, mp) != nil {
			return
		}
		var v apierr.Violations
		checkMiniProgram(&v, "mini_program", mp)
		if got, want := miniProgramOK(mp), v.Err() == nil; got != want {
			t.Fatalf("miniProgramOK = %v, detailed check: %v", got, v.Err())
		}
	})
}

// TestPlainHTTP: the fast path takes the usual icon URLs and leaves the rest
// to url.Parse.
func TestPlainHTTP(t *testing.T) {
	for _, c := range []struct {
		s          string
		plain, abs bool
	}{
		{"https://cdn.example.com/icons/mp-1.png", true, true},
		{"http://a", true, true},
		{"https://a.b/c_d~e/", true, true},
		{"https://", false, false},
		{"https:///x", false, false},
		{"https://a.b/c?d=1", false, true},
		{"https://a.b:8443/c", false, true},
		{"https://user@a.b/c", false, true},
		{"https://a_b/c", false, true},
		{"HTTPS://a.b/c", false, true},
		{"ftp://a.b/c", false, false},
		{"https://a b/c", false, false},
		{"/relative", false, false},
	} {
		if got := plainHTTP(c.s); got != c.plain {
			t.Errorf("plainHTTP(%q) = %v, want %v", c.s, got, c.plain)
		}
		if got := absoluteHTTP(c.s); got != c.abs {
			t.Errorf("absoluteHTTP(%q) = %v, want %v", c.s, got, c.abs)
		}
	}
}

// FuzzPlainHTTP: whatever the fast path accepts, url.Parse accepts too, with
// scheme http(s), a host, and nothing moved into query, fragment or user.
func FuzzPlainHTTP(f *testing.F) {
	for _, s := range []string{"https://cdn.example.com/icons/mp-1.png", "http://a", "https://a.b/c_d~e/", "https://a.b:80/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !plainHTTP(s) {
			return
		}
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			t.Fatalf("plainHTTP(%q) but url.Parse gives %#v, %v", s, u, err)
		}
	})
}
