package validate

import (
	"fmt"
	"math"
	"net/url"
	"unicode/utf8"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/fieldmask"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Limits of the contract.
const (
	MaxNameRunes        = 80
	MaxDescriptionRunes = 500
	MaxPlaces           = 1000
	MaxOffers           = 100
	MaxLabelRunes       = 200
	MaxURLBytes         = 2048
	MaxAge              = 150
	MaxCreditScore      = 1000
	MaxPageSize         = 1000
	MaxPageTokenBytes   = 4096
)

// ValidID reports whether id is a valid mini-program id (place and offer
// ids follow the same rule): ^[a-z0-9][a-z0-9_.-]{0,63}$, checked byte by
// byte — an import checks one per item and one per place.
func ValidID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// Request validates one unary request. Requests of types it does not know
// pass unchecked (the service is then responsible).
func Request(req any) error {
	var v apierr.Violations
	switch r := req.(type) {
	case *v1.CreateMiniProgramRequest:
		if r.GetMiniProgram() == nil {
			v.Add("mini_program", "required")
			break
		}
		checkID(&v, "mini_program.id", r.GetMiniProgram().GetId())
		MiniProgram(&v, "mini_program", r.GetMiniProgram())
	case *v1.GetMiniProgramRequest:
		checkID(&v, "id", r.GetId())
	case *v1.DeleteMiniProgramRequest:
		checkID(&v, "id", r.GetId())
		checkVersion(&v, "expected_version", r.GetExpectedVersion())
	case *v1.UpdateMiniProgramRequest:
		if r.GetMiniProgram() == nil {
			v.Add("mini_program", "required")
			break
		}
		checkID(&v, "mini_program.id", r.GetMiniProgram().GetId())
		checkVersion(&v, "expected_version", r.GetExpectedVersion())
		paths := r.GetUpdateMask().GetPaths()
		if err := fieldmask.Check(r.GetMiniProgram().ProtoReflect().Descriptor(), paths, MiniProgramReadOnly); err != nil {
			v.Add("update_mask", "%v", err)
		}
		if len(paths) == 0 {
			// A full replacement must be a whole valid mini-program; a
			// masked update is checked after the merge, by the service.
			MiniProgram(&v, "mini_program", r.GetMiniProgram())
		}
	case *v1.NearbyRequest:
		Nearby(&v, r)
	case *v1.ListMiniProgramsRequest:
		checkPageSize(&v, "page_size", r.GetPageSize())
		checkPageToken(&v, "page_token", r.GetPageToken())
		if c := r.GetCategory(); c != v1.Category_CATEGORY_UNSPECIFIED {
			checkEnum(&v, "category", c)
		}
	default:
		if !campaignRequest(&v, req) {
			servingRequest(&v, req)
		}
	}
	return v.Err()
}

// Nearby limits of the contract.
const (
	DefaultRadiusM   = 2000
	MaxRadiusM       = 50000
	DefaultLimit     = 20
	MaxLimit         = 100
	MaxAccuracyM     = 1e6
	MaxUserIDBytes   = 128
	MaxOSVersionRune = 64
)

// Nearby checks a Nearby request.
func Nearby(v *apierr.Violations, r *v1.NearbyRequest) {
	LatLng(v, "location", r.GetLocation())
	if a := float64(r.GetAccuracyM()); math.IsNaN(a) || a < 0 || a > MaxAccuracyM {
		v.Add("accuracy_m", "%v: must be a finite number in [0, %v]", a, MaxAccuracyM)
	}
	User(v, "user", r.GetUser())
	if rm := r.GetRadiusM(); math.IsNaN(rm) || rm < 0 || rm > MaxRadiusM {
		v.Add("radius_m", "%v: must be in [0, %d] (0 = %d)", rm, MaxRadiusM, DefaultRadiusM)
	}
	if l := r.GetLimit(); l < 0 || l > MaxLimit {
		v.Add("limit", "%d: must be in [0, %d] (0 = %d)", l, MaxLimit, DefaultLimit)
	}
	for i, c := range r.GetCategories() {
		if c == v1.Category_CATEGORY_UNSPECIFIED {
			v.Add(fmt.Sprintf("categories[%d]", i), "CATEGORY_UNSPECIFIED is not a category")
		} else {
			checkEnum(v, fmt.Sprintf("categories[%d]", i), c)
		}
	}
	checkPageToken(v, "page_token", r.GetPageToken())
	checkTimestamp(v, "time", r.GetTime())
}

// User checks a user context; nil means an anonymous user.
func User(v *apierr.Violations, path string, u *v1.UserContext) {
	if u == nil {
		return
	}
	if len(u.GetUserId()) > MaxUserIDBytes {
		v.Add(path+".user_id", "%d bytes: at most %d are allowed", len(u.GetUserId()), MaxUserIDBytes)
	}
	if a := u.GetAge(); a < 0 || a > MaxAge {
		v.Add(path+".age", "%d: must be in [0, %d] (0 = unknown)", a, MaxAge)
	}
	if g := u.GetGender(); g != v1.Gender_GENDER_UNSPECIFIED {
		checkEnum(v, path+".gender", g)
	}
	if o := u.GetOs(); o != v1.OperatingSystem_OPERATING_SYSTEM_UNSPECIFIED {
		checkEnum(v, path+".os", o)
	}
	checkText(v, path+".os_version", u.GetOsVersion(), 0, MaxOSVersionRune)
	if c := u.GetCreditScore(); c < 0 || c > MaxCreditScore {
		v.Add(path+".credit_score", "%d: must be in [0, %d] (0 = unknown)", c, MaxCreditScore)
	}
}

// MiniProgramReadOnly are the mini-program fields an update mask may not
// name: the id names the record, the rest are output only.
var MiniProgramReadOnly = map[string]bool{
	"id": true, "version": true, "create_time": true, "update_time": true,
}

// MiniProgram checks every writable field of mp, recording violations under
// the path prefix. Output-only fields are ignored.
func MiniProgram(v *apierr.Violations, prefix string, mp *v1.MiniProgram) {
	if miniProgramOK(mp) {
		return // the common case, without building a path per field
	}
	checkMiniProgram(v, prefix, mp)
}

// checkMiniProgram is MiniProgram without the fast path: it records every
// violation with its path.
func checkMiniProgram(v *apierr.Violations, prefix string, mp *v1.MiniProgram) {
	p := func(f string) string { return prefix + "." + f }
	checkText(v, p("name"), mp.GetName(), 1, MaxNameRunes)
	checkText(v, p("description"), mp.GetDescription(), 0, MaxDescriptionRunes)
	if mp.GetCategory() == v1.Category_CATEGORY_UNSPECIFIED {
		v.Add(p("category"), "required")
	} else {
		checkEnum(v, p("category"), mp.GetCategory())
	}
	checkURL(v, p("icon_url"), mp.GetIconUrl())
	places := mp.GetPlaces()
	switch {
	case len(places) == 0:
		v.Add(p("places"), "at least one place is required")
	case len(places) > MaxPlaces:
		v.Add(p("places"), "%d places: at most %d are allowed", len(places), MaxPlaces)
	default:
		seen := make(map[string]int, len(places))
		for i, pl := range places {
			pp := fmt.Sprintf("%s[%d]", p("places"), i)
			if !ValidID(pl.GetId()) {
				v.Add(pp+".id", "%q: want ^[a-z0-9][a-z0-9_.-]{0,63}$", clip(pl.GetId()))
			} else if j, dup := seen[pl.GetId()]; dup {
				v.Add(pp+".id", "%q repeats places[%d].id", pl.GetId(), j)
			} else {
				seen[pl.GetId()] = i
			}
			LatLng(v, pp+".location", pl.GetLocation())
			checkText(v, pp+".label", pl.GetLabel(), 0, MaxLabelRunes)
		}
	}
	Audience(v, p("audience"), mp.GetAudience())
	if r := mp.GetRating(); math.IsNaN(r) || r < 0 || r > 5 {
		v.Add(p("rating"), "%v: must be a number in [0, 5]", r)
	}
	if mp.GetPopularity() < 0 {
		v.Add(p("popularity"), "%d: must not be negative", mp.GetPopularity())
	}
	offers := mp.GetOffers()
	if len(offers) > MaxOffers {
		v.Add(p("offers"), "%d offers: at most %d are allowed", len(offers), MaxOffers)
	} else {
		seen := make(map[string]int, len(offers))
		for i, o := range offers {
			op := fmt.Sprintf("%s[%d]", p("offers"), i)
			if !ValidID(o.GetId()) {
				v.Add(op+".id", "%q: want ^[a-z0-9][a-z0-9_.-]{0,63}$", clip(o.GetId()))
			} else if j, dup := seen[o.GetId()]; dup {
				v.Add(op+".id", "%q repeats offers[%d].id", o.GetId(), j)
			} else {
				seen[o.GetId()] = i
			}
			checkText(v, op+".title", o.GetTitle(), 1, MaxNameRunes)
			if s := o.GetMinCreditScore(); s < 0 || s > MaxCreditScore {
				v.Add(op+".min_credit_score", "%d: must be in [0, %d]", s, MaxCreditScore)
			}
		}
	}
}

// miniProgramOK reports whether MiniProgram would record no violation for
// mp, without allocating: it checks the same rules with the same
// predicates, so an import of a million valid items builds no field path,
// message or map for them. TestMiniProgramOK holds the two together.
func miniProgramOK(mp *v1.MiniProgram) bool {
	if !textOK(mp.GetName(), 1, MaxNameRunes) || !textOK(mp.GetDescription(), 0, MaxDescriptionRunes) ||
		mp.GetCategory() == v1.Category_CATEGORY_UNSPECIFIED || !enumOK(mp.GetCategory()) ||
		!urlOK(mp.GetIconUrl()) {
		return false
	}
	places := mp.GetPlaces()
	if len(places) == 0 || len(places) > MaxPlaces {
		return false
	}
	for _, pl := range places {
		if !ValidID(pl.GetId()) || !latLngOK(pl.GetLocation()) || !textOK(pl.GetLabel(), 0, MaxLabelRunes) {
			return false
		}
	}
	if hasRepeats(places, (*v1.Place).GetId) {
		return false
	}
	if a := mp.GetAudience(); a != nil && !demographicsOK(a.GetMinAge(), a.GetMaxAge(), a.GetGenders(), a.GetOperatingSystems()) {
		return false
	}
	if r := mp.GetRating(); math.IsNaN(r) || r < 0 || r > 5 {
		return false
	}
	if mp.GetPopularity() < 0 {
		return false
	}
	offers := mp.GetOffers()
	if len(offers) > MaxOffers {
		return false
	}
	for _, o := range offers {
		if !ValidID(o.GetId()) || !textOK(o.GetTitle(), 1, MaxNameRunes) {
			return false
		}
		if s := o.GetMinCreditScore(); s < 0 || s > MaxCreditScore {
			return false
		}
	}
	return !hasRepeats(offers, (*v1.Offer).GetId)
}

// hasRepeats reports whether two elements of xs have the same id: pairs
// compared for the few places and offers most items have, a map past that.
func hasRepeats[T any](xs []T, id func(T) string) bool {
	if len(xs) > 16 {
		seen := make(map[string]bool, len(xs))
		for _, x := range xs {
			if seen[id(x)] {
				return true
			}
			seen[id(x)] = true
		}
		return false
	}
	for i := 1; i < len(xs); i++ {
		for _, x := range xs[:i] {
			if id(x) == id(xs[i]) {
				return true
			}
		}
	}
	return false
}

// latLngOK reports whether LatLng records no violation for ll.
func latLngOK(ll *v1.LatLng) bool {
	if ll == nil {
		return false
	}
	lat, lng := ll.GetLatitude(), ll.GetLongitude()
	return !math.IsNaN(lat) && !math.IsInf(lat, 0) && lat >= -90 && lat <= 90 &&
		!math.IsNaN(lng) && !math.IsInf(lng, 0) && lng >= -180 && lng <= 180
}

// demographicsOK reports whether checkDemographics records no violation.
func demographicsOK(minAge, maxAge int32, genders []v1.Gender, oses []v1.OperatingSystem) bool {
	if minAge < 0 || minAge > MaxAge || maxAge < 0 || maxAge > MaxAge || (minAge > 0 && maxAge > 0 && minAge > maxAge) {
		return false
	}
	for _, g := range genders {
		if g == v1.Gender_GENDER_UNSPECIFIED || !enumOK(g) {
			return false
		}
	}
	for _, o := range oses {
		if o == v1.OperatingSystem_OPERATING_SYSTEM_UNSPECIFIED || !enumOK(o) {
			return false
		}
	}
	return true
}

// LatLng checks that ll is present, finite and in range.
func LatLng(v *apierr.Violations, path string, ll *v1.LatLng) {
	if ll == nil {
		v.Add(path, "required")
		return
	}
	if lat := ll.GetLatitude(); math.IsNaN(lat) || math.IsInf(lat, 0) || lat < -90 || lat > 90 {
		v.Add(path+".latitude", "%v: must be a finite number in [-90, 90]", lat)
	}
	if lng := ll.GetLongitude(); math.IsNaN(lng) || math.IsInf(lng, 0) || lng < -180 || lng > 180 {
		v.Add(path+".longitude", "%v: must be a finite number in [-180, 180]", lng)
	}
}

// Audience checks an audience rule; nil means everyone.
func Audience(v *apierr.Violations, path string, a *v1.Audience) {
	if a == nil {
		return
	}
	checkDemographics(v, path, a.GetMinAge(), a.GetMaxAge(), a.GetGenders(), a.GetOperatingSystems())
}

// checkDemographics checks the age bounds, genders and operating systems
// that audiences and campaign targeting share.
func checkDemographics(v *apierr.Violations, path string, minAge, maxAge int32, genders []v1.Gender, oses []v1.OperatingSystem) {
	checkAgeBounds(v, path, minAge, maxAge)
	for i, g := range genders {
		if g == v1.Gender_GENDER_UNSPECIFIED {
			v.Add(fmt.Sprintf("%s.genders[%d]", path, i), "GENDER_UNSPECIFIED is not a gender")
		} else {
			checkEnum(v, fmt.Sprintf("%s.genders[%d]", path, i), g)
		}
	}
	for i, o := range oses {
		if o == v1.OperatingSystem_OPERATING_SYSTEM_UNSPECIFIED {
			v.Add(fmt.Sprintf("%s.operating_systems[%d]", path, i), "OPERATING_SYSTEM_UNSPECIFIED is not an operating system")
		} else {
			checkEnum(v, fmt.Sprintf("%s.operating_systems[%d]", path, i), o)
		}
	}
}

func checkAgeBounds(v *apierr.Violations, path string, minAge, maxAge int32) {
	if minAge < 0 || minAge > MaxAge {
		v.Add(path+".min_age", "%d: must be in [0, %d]", minAge, MaxAge)
	}
	if maxAge < 0 || maxAge > MaxAge {
		v.Add(path+".max_age", "%d: must be in [0, %d]", maxAge, MaxAge)
	}
	if minAge > 0 && maxAge > 0 && minAge > maxAge {
		v.Add(path+".max_age", "%d is below min_age %d", maxAge, minAge)
	}
}

func checkID(v *apierr.Violations, path, id string) {
	if id == "" {
		v.Add(path, "required")
	} else if !ValidID(id) {
		v.Add(path, "%q: want ^[a-z0-9][a-z0-9_.-]{0,63}$", clip(id))
	}
}

func checkVersion(v *apierr.Violations, path string, ver int64) {
	if ver < 0 {
		v.Add(path, "%d: must not be negative (0 = any version)", ver)
	}
}

func checkPageSize(v *apierr.Violations, path string, n int32) {
	if n < 0 || n > MaxPageSize {
		v.Add(path, "%d: must be in [0, %d] (0 = default)", n, MaxPageSize)
	}
}

func checkPageToken(v *apierr.Violations, path, tok string) {
	if len(tok) > MaxPageTokenBytes {
		v.Add(path, "too long: pass next_page_token back unchanged")
	}
}

// textOK reports whether checkText records no violation for s.
func textOK(s string, minRunes, maxRunes int) bool {
	if len(s) > 4*maxRunes || !utf8.ValidString(s) {
		return false // more bytes than maxRunes runes can take
	}
	n := utf8.RuneCountInString(s)
	return n >= minRunes && n <= maxRunes
}

func checkText(v *apierr.Violations, path, s string, minRunes, maxRunes int) {
	if !utf8.ValidString(s) {
		v.Add(path, "not valid UTF-8")
		return
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < minRunes && n == 0:
		v.Add(path, "required")
	case n < minRunes:
		v.Add(path, "%d characters: at least %d are needed", n, minRunes)
	case n > maxRunes:
		v.Add(path, "%d characters: at most %d are allowed", n, maxRunes)
	}
}

func checkURL(v *apierr.Violations, path, s string) {
	if s == "" {
		return
	}
	if len(s) > MaxURLBytes {
		v.Add(path, "%d bytes: at most %d are allowed", len(s), MaxURLBytes)
		return
	}
	if !absoluteHTTP(s) {
		v.Add(path, "%q: want an absolute http(s) URL", clip(s))
	}
}

// urlOK reports whether checkURL records no violation for s.
func urlOK(s string) bool {
	return s == "" || (len(s) <= MaxURLBytes && absoluteHTTP(s))
}

// absoluteHTTP reports whether s parses as a URL with scheme http or https
// and a host.
func absoluteHTTP(s string) bool {
	if plainHTTP(s) {
		return true
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// plainHTTP recognises, without url.Parse, the usual shape of an icon URL:
// "http://" or "https://", a host of letters, digits, dots and hyphens, then
// nothing or a path of letters, digits and "-._~/". url.Parse takes every
// such string as is, with that scheme and host (FuzzPlainHTTP checks it);
// anything else goes to url.Parse. An import of a million mini-programs
// spends 5% of its CPU in url.Parse (and allocates a URL per item) without it.
func plainHTTP(s string) bool {
	var rest string
	switch {
	case len(s) > 8 && s[:8] == "https://":
		rest = s[8:]
	case len(s) > 7 && s[:7] == "http://":
		rest = s[7:]
	default:
		return false
	}
	host := true
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '-':
		case c == '/':
			if host && i == 0 {
				return false // no host
			}
			host = false
		case !host && (c == '_' || c == '~'):
		default:
			return false
		}
	}
	return true
}

// checkEnum rejects numbers that the enum does not define (proto3 lets any
// int32 through the wire).
func checkEnum(v *apierr.Violations, path string, e protoreflect.Enum) {
	if !enumOK(e) {
		v.Add(path, "%d is not a known value of %s", e.Number(), e.Descriptor().Name())
	}
}

// enumOK reports whether checkEnum records no violation for e.
func enumOK(e protoreflect.Enum) bool {
	return e.Descriptor().Values().ByNumber(e.Number()) != nil
}

// clip shortens a bad value for echoing it back in a message.
func clip(s string) string {
	if len(s) <= 70 {
		return s
	}
	return s[:67] + "..."
}
