package auth

import (
	"fmt"
	"strconv"
)

// Role is the coarse permission level of a [Principal]. Authorization
// decisions are made per role, not per key, so that rotating or adding a key
// never changes what a caller may do.
//
// The zero value is deliberately not a valid role: a Principal or policy
// entry whose role was never set satisfies nothing instead of silently
// becoming a client.
type Role int

const (
	// RoleClient is an end-user application: it discovers mini programs.
	RoleClient Role = iota + 1
	// RoleAdvertiser manages the campaigns of one advertiser, identified by
	// Principal.AdvertiserID.
	RoleAdvertiser
	// RoleAdmin operates the service and satisfies every role requirement.
	RoleAdmin
)

// String returns the role's name as written in the keys file ("client",
// "advertiser", "admin"), so that log lines and status messages use the same
// vocabulary as the configuration.
func (r Role) String() string {
	switch r {
	case RoleClient:
		return "client"
	case RoleAdvertiser:
		return "advertiser"
	case RoleAdmin:
		return "admin"
	default:
		return "Role(" + strconv.Itoa(int(r)) + ")"
	}
}

// ParseRole is the inverse of [Role.String]. It is exact and case-sensitive
// ("Admin" is rejected) so that the keys file has a single spelling per role.
func ParseRole(s string) (Role, error) {
	switch s {
	case "client":
		return RoleClient, nil
	case "advertiser":
		return RoleAdvertiser, nil
	case "admin":
		return RoleAdmin, nil
	default:
		return 0, fmt.Errorf("unknown role %s: want client, advertiser or admin", quoteShort(s))
	}
}

// Satisfies reports whether a principal with role r may call a method that
// requires role required. An admin satisfies every requirement (the API
// contract lets admins do everything advertisers and clients may); any other
// role satisfies only itself, so an advertiser key cannot be used as a client
// key and vice versa. Invalid roles satisfy nothing.
func (r Role) Satisfies(required Role) bool {
	if !r.valid() || !required.valid() {
		return false
	}
	return r == RoleAdmin || r == required
}

func (r Role) valid() bool {
	return r == RoleClient || r == RoleAdvertiser || r == RoleAdmin
}

// Principal is the authenticated identity of a caller. The interceptors put
// it into the request context (see [PrincipalFrom]) so that handlers can make
// finer decisions, e.g. restrict an advertiser to its own campaigns.
type Principal struct {
	// Name is the key's free-text name from the keys file; it is safe to log,
	// unlike the key itself.
	Name string
	// Role is what the caller may do.
	Role Role
	// AdvertiserID is set iff Role is RoleAdvertiser.
	AdvertiserID string
}
