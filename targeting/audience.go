package targeting

// MinorAge is the age below which demographic targeting is never applied
// (PIPL-style protection of minors): a user whose known age is below it sees
// only mini-programs with no audience rule, and no sponsored results.
const MinorAge = 14

// User is what the rules may know of a user. Zero values mean unknown.
type User struct {
	Age         int32 // years; 0 = unknown
	Gender      uint8 // API enum number; 0 = unknown
	OS          uint8 // API enum number; 0 = unknown
	CreditScore int32 // 0 = unknown
}

// Minor reports whether the user's known age is below MinorAge.
func (u User) Minor() bool { return u.Age > 0 && u.Age < MinorAge }

// Audience is a hard eligibility rule. Genders and OSes are bit sets over the
// API enum numbers (bit n set = value n admitted); 0 admits every value.
type Audience struct {
	MinAge, MaxAge int32 // 0 = no bound
	Genders        uint32
	OSes           uint32
}

// Restricted reports whether the audience has any bound at all.
func (a Audience) Restricted() bool {
	return a.MinAge > 0 || a.MaxAge > 0 || a.Genders != 0 || a.OSes != 0
}

// Dimensions counts the bounded dimensions (age, gender, OS), 0 to 3.
func (a Audience) Dimensions() int {
	n := 0
	if a.MinAge > 0 || a.MaxAge > 0 {
		n++
	}
	if a.Genders != 0 {
		n++
	}
	if a.OSes != 0 {
		n++
	}
	return n
}

// Failure names the dimensions of an audience a user fails, as bits.
type Failure uint8

// The dimensions a user can fail.
const (
	FailAge Failure = 1 << iota
	FailGender
	FailOS
	FailMinor // the user is a minor and the audience is restricted
)

// Check returns the dimensions u fails (0 = admitted). A minor fails every
// restricted audience, whatever its bounds.
func (a Audience) Check(u User) Failure {
	var f Failure
	if u.Minor() && a.Restricted() {
		f |= FailMinor
	}
	if a.MinAge > 0 && (u.Age == 0 || u.Age < a.MinAge) {
		f |= FailAge
	}
	if a.MaxAge > 0 && (u.Age == 0 || u.Age > a.MaxAge) {
		f |= FailAge
	}
	if a.Genders != 0 && (u.Gender == 0 || u.Gender > 31 || a.Genders&(1<<u.Gender) == 0) {
		f |= FailGender
	}
	if a.OSes != 0 && (u.OS == 0 || u.OS > 31 || a.OSes&(1<<u.OS) == 0) {
		f |= FailOS
	}
	return f
}

// Admits reports whether u may see a mini-program with this audience.
func (a Audience) Admits(u User) bool { return a.Check(u) == 0 }

// QualifiesFor reports whether u qualifies for an offer needing
// minCreditScore (0 = everyone; an unknown score fails any other bound).
func QualifiesFor(u User, minCreditScore int32) bool {
	return minCreditScore <= 0 || (u.CreditScore > 0 && u.CreditScore >= minCreditScore)
}
