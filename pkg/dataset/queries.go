package dataset

import (
	"math"
	"math/rand/v2"
	"strconv"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

// Query is one "what is around me" request: where the user is and who the
// user is.
type Query struct {
	// Location is drawn from the same distribution as the places.
	Location *pb.LatLng
	// User is a synthetic user profile; its UserId is "u<number>".
	User *pb.UserContext
}

// Queries returns n queries for the catalog of s, seeded by seed (not
// s.Seed, so that one catalog can be queried with many query sets). The
// same arguments always give the same queries.
//
// Positions follow the place distribution of s: a city by weight, then a
// Gaussian of σ = s.SigmaM around its centre. Users come from a population
// of max(1, n/2) ids, so a user typically asks about twice; the profile of
// a user id is the same in every query: age 12–70 (10% unknown), gender
// (10% unknown), phone OS (Android, iOS, HarmonyOS, a few other or unknown)
// with a version, credit score 350–850 (30% unknown).
//
// Queries panics if s.Validate fails; n <= 0 gives nil.
func Queries(s Spec, seed int64, n int) []Query {
	if err := s.Validate(); err != nil {
		panic(err)
	}
	if n <= 0 {
		return nil
	}
	a := newArea(s)
	src := rand.NewPCG(0, 0)
	r := rand.New(src)
	usrc := rand.NewPCG(0, 0)
	ur := rand.New(usrc)
	population := max(1, n/2)

	out := make([]Query, n)
	lls := make([]pb.LatLng, n)
	users := make([]pb.UserContext, n)
	for i := range out {
		reseed(src, domainQuery, seed, uint64(i))
		ll := &lls[i]
		ll.Latitude, ll.Longitude = a.point(r, a.pickCity(r))
		id := 1 + r.IntN(population)
		reseed(usrc, domainUser, seed, uint64(id))
		u := &users[i]
		fillUser(ur, u, id)
		out[i] = Query{Location: ll, User: u}
	}
	return out
}

// ageBands is the age pyramid of super-app users: [lo, hi] and weight in %.
var ageBands = []struct{ lo, hi, pct int }{
	{12, 17, 8}, {18, 24, 17}, {25, 34, 28}, {35, 44, 22}, {45, 54, 14}, {55, 70, 11},
}

var osVersions = [...][]string{
	pb.OperatingSystem_OPERATING_SYSTEM_IOS:       {"16.7", "17.5", "17.6", "18.2", "18.5", "26.0"},
	pb.OperatingSystem_OPERATING_SYSTEM_ANDROID:   {"11", "12", "13", "14", "15"},
	pb.OperatingSystem_OPERATING_SYSTEM_HARMONYOS: {"3.0", "4.0", "4.2", "5.0", "5.1"},
	pb.OperatingSystem_OPERATING_SYSTEM_OTHER:     {""},
}

// fillUser writes the profile of user id into u.
func fillUser(r *rand.Rand, u *pb.UserContext, id int) {
	u.UserId = "u" + strconv.Itoa(id)

	if r.IntN(100) >= 10 {
		x := r.IntN(100)
		for _, b := range ageBands {
			if x < b.pct {
				u.Age = int32(b.lo + r.IntN(b.hi-b.lo+1))
				break
			}
			x -= b.pct
		}
	}

	switch x := r.IntN(100); {
	case x < 10:
		// unknown
	case x < 54:
		u.Gender = pb.Gender_GENDER_FEMALE
	case x < 99:
		u.Gender = pb.Gender_GENDER_MALE
	default:
		u.Gender = pb.Gender_GENDER_OTHER
	}

	switch x := r.IntN(100); {
	case x < 55:
		u.Os = pb.OperatingSystem_OPERATING_SYSTEM_ANDROID
	case x < 80:
		u.Os = pb.OperatingSystem_OPERATING_SYSTEM_IOS
	case x < 97:
		u.Os = pb.OperatingSystem_OPERATING_SYSTEM_HARMONYOS
	case x < 98:
		u.Os = pb.OperatingSystem_OPERATING_SYSTEM_OTHER
	default:
		// unknown
	}
	if vs := osVersions[u.Os]; len(vs) > 0 {
		u.OsVersion = vs[r.IntN(len(vs))]
	}

	if r.IntN(100) >= 30 {
		x := 680 + 70*r.NormFloat64()
		u.CreditScore = int32(math.Round(math.Max(350, math.Min(850, x))))
	}
}
