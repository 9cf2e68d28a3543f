package auth

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Status messages. They are fixed strings (plus role and method) and never
// contain the presented key, so they are safe to return and to log.
const (
	msgMissing   = "missing authorization: send 'authorization: Bearer <key>'"
	msgMalformed = "malformed authorization header: want 'Bearer <key>'"
	msgUnknown   = "unknown API key"
)

// openPrefixes are the method prefixes callable without a key: load
// balancers and orchestrators probe health without credentials, and
// reflection only describes the public API (grpcurl, debugging).
var openPrefixes = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// Authorizer authenticates gRPC calls by API key and authorizes them against
// a per-method role policy. It is safe for concurrent use, and its key set
// can be replaced at runtime (SetKeys) without restarting the server.
type Authorizer struct {
	keys     atomic.Pointer[KeySet]
	exact    map[string]Role // full method name -> required role
	prefixes []policyPrefix  // longest first
}

type policyPrefix struct {
	prefix string
	role   Role
}

// NewAuthorizer returns an Authorizer that authenticates against keys and
// requires, for each method, the role given by policy. A policy key is either
// a full method name ("/aroundme.v1.CatalogService/CreateMiniProgram") or,
// when it ends in "/", a service prefix ("/aroundme.v1.CatalogService/"). A
// full method name wins over a prefix; among prefixes the longest wins.
//
// The policy fails closed: a method that matches no policy entry and is not
// open (gRPC health and reflection) is denied with PERMISSION_DENIED to every
// caller, admins included, so a new RPC stays unreachable until someone
// decides who may call it. Callers are always authenticated before the policy
// is consulted, so an unauthenticated caller cannot probe which methods are
// covered.
//
// keys may be nil, in which case every authenticated method is rejected until
// SetKeys is called. policy is copied. NewAuthorizer panics if a policy key
// does not start with "/" or a role is invalid: the policy is static code,
// and a mistake in it must stop the server at startup rather than guess.
func NewAuthorizer(keys *KeySet, policy map[string]Role) *Authorizer {
	a := &Authorizer{exact: make(map[string]Role)}
	for m, r := range policy {
		if !strings.HasPrefix(m, "/") || len(m) < 2 {
			panic(fmt.Sprintf("auth: policy key %q must be a full method name or service prefix starting with '/'", m))
		}
		if !r.valid() {
			panic(fmt.Sprintf("auth: policy for %q has invalid role %s", m, r))
		}
		if strings.HasSuffix(m, "/") {
			a.prefixes = append(a.prefixes, policyPrefix{prefix: m, role: r})
		} else {
			a.exact[m] = r
		}
	}
	sort.Slice(a.prefixes, func(i, j int) bool {
		return len(a.prefixes[i].prefix) > len(a.prefixes[j].prefix)
	})
	a.keys.Store(keys)
	return a
}

// SetKeys atomically replaces the key set, e.g. after the keys file was
// reloaded. Calls in flight finish with the set they started with. A nil set
// rejects every key (fail closed).
func (a *Authorizer) SetKeys(keys *KeySet) {
	a.keys.Store(keys)
}

// requiredRole returns the role policy requires for method, if any.
func (a *Authorizer) requiredRole(method string) (Role, bool) {
	if r, ok := a.exact[method]; ok {
		return r, true
	}
	for _, p := range a.prefixes {
		if strings.HasPrefix(method, p.prefix) {
			return p.role, true
		}
	}
	return 0, false
}

func isOpen(method string) bool {
	for _, p := range openPrefixes {
		if strings.HasPrefix(method, p) {
			return true
		}
	}
	return false
}

// authorize decides a call. For open methods it returns ctx unchanged (no
// principal: the caller was not authenticated). Otherwise it returns ctx
// carrying the caller's Principal, or a status error.
func (a *Authorizer) authorize(ctx context.Context, method string) (context.Context, error) {
	if isOpen(method) {
		return ctx, nil
	}
	key, err := bearerKey(ctx)
	if err != nil {
		return nil, err
	}
	p, ok := a.keys.Load().Authenticate(key)
	if !ok {
		return nil, status.Error(codes.Unauthenticated, msgUnknown)
	}
	req, ok := a.requiredRole(method)
	if !ok || !p.Role.Satisfies(req) {
		return nil, status.Errorf(codes.PermissionDenied, "role %s may not call %s", p.Role, method)
	}
	return WithPrincipal(ctx, p), nil
}

// bearerKey extracts the key from the incoming "authorization: Bearer <key>"
// metadata. The scheme is matched case-insensitively (RFC 7235); exactly one
// authorization value is accepted, since several would be ambiguous.
//
// Only this one key's values are read: FromIncomingContext would copy every
// header of the call, on every call (2% of the server's CPU under load).
func bearerKey(ctx context.Context) (string, error) {
	vals := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(vals) == 0 {
		return "", status.Error(codes.Unauthenticated, msgMissing)
	}
	if len(vals) > 1 {
		return "", status.Error(codes.Unauthenticated, msgMalformed)
	}
	scheme, key, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	key = strings.TrimLeft(key, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" || strings.ContainsAny(key, " \t\r\n") {
		return "", status.Error(codes.Unauthenticated, msgMalformed)
	}
	return key, nil
}

// UnaryServerInterceptor returns the interceptor that authorizes unary calls
// and passes the caller's Principal to the handler through the context.
func (a *Authorizer) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := a.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor returns the interceptor that authorizes streaming
// calls; the handler's stream.Context() carries the caller's Principal.
func (a *Authorizer) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := a.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &principalStream{ServerStream: ss, ctx: ctx})
	}
}

// principalStream overrides Context so that stream handlers see the
// Principal added by the interceptor.
type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *principalStream) Context() context.Context { return s.ctx }

type principalKey struct{}

// WithPrincipal returns a context carrying p, as the interceptors do. It lets
// handler tests (and in-process callers) supply an identity without keys or
// metadata.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller's Principal placed in ctx by the
// interceptors (or WithPrincipal). It returns false for open methods (health,
// reflection), which are not authenticated; handlers needing an identity must
// treat false as unauthenticated.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
