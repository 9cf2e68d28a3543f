package targeting

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestAudienceCheck(t *testing.T) {
	const female, male = 1, 2
	const ios, android = 1, 2
	adults := Audience{MinAge: 18}
	teens := Audience{MinAge: 12, MaxAge: 17}
	women := Audience{Genders: 1 << female}
	iosOnly := Audience{OSes: 1 << ios}
	tests := []struct {
		name string
		a    Audience
		u    User
		want Failure
	}{
		{"open admits unknown", Audience{}, User{}, 0},
		{"open admits minor", Audience{}, User{Age: 10}, 0},
		{"adult admitted", adults, User{Age: 18}, 0},
		{"17 too young", adults, User{Age: 17}, FailAge},
		{"unknown age fails a bound", adults, User{}, FailAge},
		{"teen range", teens, User{Age: 15}, 0},
		{"teen range, 18", teens, User{Age: 18}, FailAge},
		{"minor in a restricted audience", teens, User{Age: 13}, FailMinor},
		{"14 is not a minor", teens, User{Age: 14}, 0},
		{"gender match", women, User{Gender: female}, 0},
		{"gender mismatch", women, User{Gender: male}, FailGender},
		{"unknown gender", women, User{}, FailGender},
		{"os match", iosOnly, User{OS: ios}, 0},
		{"os mismatch", iosOnly, User{OS: android}, FailOS},
		{"every failure", Audience{MinAge: 30, Genders: 1 << female, OSes: 1 << ios}, User{Age: 12, Gender: male, OS: android}, FailAge | FailGender | FailOS | FailMinor},
		{"out-of-range enum", women, User{Gender: 200}, FailGender},
	}
	for _, tc := range tests {
		if got := tc.a.Check(tc.u); got != tc.want {
			t.Errorf("%s: got %b, want %b", tc.name, got, tc.want)
		}
		if tc.a.Admits(tc.u) != (tc.want == 0) {
			t.Errorf("%s: Admits disagrees with Check", tc.name)
		}
	}
}

func TestQualifiesFor(t *testing.T) {
	for _, c := range []struct {
		score, min int32
		ok         bool
	}{{0, 0, true}, {700, 0, true}, {650, 650, true}, {649, 650, false}, {0, 650, false}} {
		if QualifiesFor(User{CreditScore: c.score}, c.min) != c.ok {
			t.Errorf("score %d min %d", c.score, c.min)
		}
	}
}

// TestScoreBounds: every term stays in [0, weight], the distance term falls
// with distance, and Score is the sum — on random inputs.
func TestScoreBounds(t *testing.T) {
	w := DefaultWeights()
	if err := w.Validate(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 100000 {
		d1, d2 := rng.Float64()*50000, rng.Float64()*50000
		if d1 > d2 {
			d1, d2 = d2, d1
		}
		if w.DistanceTerm(d1) < w.DistanceTerm(d2) {
			t.Fatalf("distance term rises: %v %v", d1, d2)
		}
		a := Audience{MinAge: int32(rng.IntN(2) * 18), Genders: uint32(rng.IntN(2) * 2)}
		terms := w.StaticTerms(rng.Float64()*6-0.5, rng.Int64N(1e12), a)
		if terms.Rating < 0 || terms.Rating > w.Rating || terms.Popularity < 0 || terms.Popularity > w.Popularity || terms.Audience < 0 || terms.Audience > w.Audience {
			t.Fatalf("term out of range: %+v", terms)
		}
		s := w.Score(d1, terms.Sum())
		if math.Abs(s-(w.DistanceTerm(d1)+terms.Sum())) > 0 {
			t.Fatal("Score is not the sum")
		}
	}
	if w.DistanceTerm(w.DistanceHalfM) != w.Distance/2 {
		t.Fatal("distance term does not halve at DistanceHalfM")
	}
	bad := Weights{Distance: -1, DistanceHalfM: 0, PopularityLog10Cap: 0, Rating: math.NaN()}
	if err := bad.Validate(); err == nil {
		t.Fatal("bad weights accepted")
	}
}
