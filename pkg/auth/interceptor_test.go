package auth

import (
	"context"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const (
	methodCreateMiniProgram = "/aroundme.v1.CatalogService/CreateMiniProgram"
	methodCreateCampaign    = "/aroundme.v1.CampaignService/CreateCampaign"
	methodSearch            = "/aroundme.v1.DiscoveryService/Search"
	methodHealthCheck       = "/grpc.health.v1.Health/Check"
	methodReflection        = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
	methodReflectionAlpha   = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
	methodUnlisted          = "/aroundme.v1.SecretService/DoIt"
)

var testPolicy = map[string]Role{
	"/aroundme.v1.CatalogService/":  RoleAdmin,
	"/aroundme.v1.CampaignService/": RoleAdvertiser,
	// A full method name overrides its service prefix.
	"/aroundme.v1.CampaignService/EstimateReach": RoleClient,
	"/aroundme.v1.DiscoveryService/":             RoleClient,
}

func newTestAuthorizer(t *testing.T) *Authorizer {
	t.Helper()
	ks, err := ParseKeys([]byte(validYAML()))
	if err != nil {
		t.Fatal(err)
	}
	return NewAuthorizer(ks, testPolicy)
}

// withAuth returns an incoming context carrying the given authorization
// values; none means metadata without an authorization entry.
func withAuth(vals ...string) context.Context {
	md := metadata.Pairs("x-request-id", "42")
	for _, v := range vals {
		md.Append("authorization", v)
	}
	return metadata.NewIncomingContext(context.Background(), md)
}

type authCase struct {
	name    string
	ctx     context.Context
	method  string
	want    codes.Code
	wantMsg string     // substring of the status message, if want != OK
	wantP   *Principal // principal the handler must see, if want == OK
}

func authCases() []authCase {
	admin := &Principal{Name: "ops", Role: RoleAdmin}
	adv := &Principal{Name: "acme-ads", Role: RoleAdvertiser, AdvertiserID: "acme"}
	client := &Principal{Name: "mobile-app", Role: RoleClient}
	return []authCase{
		{name: "no metadata", ctx: context.Background(), method: methodCreateMiniProgram,
			want: codes.Unauthenticated, wantMsg: "missing authorization: send 'authorization: Bearer <key>'"},
		{name: "no authorization", ctx: withAuth(), method: methodCreateMiniProgram,
			want: codes.Unauthenticated, wantMsg: "missing authorization: send 'authorization: Bearer <key>'"},
		{name: "malformed: no scheme", ctx: withAuth(adminKey), method: methodCreateMiniProgram,
			want: codes.Unauthenticated, wantMsg: "malformed authorization header: want 'Bearer <key>'"},
		{name: "malformed: basic scheme", ctx: withAuth("Basic " + adminKey), method: methodCreateMiniProgram,
			want: codes.Unauthenticated, wantMsg: "malformed authorization header"},
		{name: "malformed: empty key", ctx: withAuth("Bearer "), method: methodCreateMiniProgram,
			want: codes.Unauthenticated, wantMsg: "malformed authorization header"},
		{name: "malformed: empty value", ctx: withAuth(""), method: methodCreateMiniProgram,
			want: codes.Unauthenticated, wantMsg: "malformed authorization header"},
		{name: "malformed: key with space", ctx: withAuth("Bearer " + adminKey + " extra"), method: methodCreateMiniProgram,
			want: codes.Unauthenticated, wantMsg: "malformed authorization header"},
		{name: "malformed: two values", ctx: withAuth("Bearer "+adminKey, "Bearer "+clientKey), method: methodCreateMiniProgram,
			want: codes.Unauthenticated, wantMsg: "malformed authorization header"},
		{name: "unknown key", ctx: withAuth("Bearer am_not_a_key"), method: methodCreateMiniProgram,
			want: codes.Unauthenticated, wantMsg: "unknown API key"},
		{name: "unknown key on unlisted method", ctx: withAuth("Bearer am_not_a_key"), method: methodUnlisted,
			want: codes.Unauthenticated, wantMsg: "unknown API key"},
		{name: "no key on unlisted method", ctx: context.Background(), method: methodUnlisted,
			want: codes.Unauthenticated, wantMsg: "missing authorization"},
		{name: "client calls catalog", ctx: withAuth("Bearer " + clientKey), method: methodCreateMiniProgram,
			want: codes.PermissionDenied, wantMsg: "role client may not call " + methodCreateMiniProgram},
		{name: "advertiser calls catalog", ctx: withAuth("Bearer " + advertiserKey), method: methodCreateMiniProgram,
			want: codes.PermissionDenied, wantMsg: "role advertiser may not call " + methodCreateMiniProgram},
		{name: "client calls campaign", ctx: withAuth("Bearer " + clientKey), method: methodCreateCampaign,
			want: codes.PermissionDenied, wantMsg: "role client may not call " + methodCreateCampaign},
		{name: "advertiser calls discovery", ctx: withAuth("Bearer " + advertiserKey), method: methodSearch,
			want: codes.PermissionDenied, wantMsg: "role advertiser may not call " + methodSearch},
		{name: "admin calls catalog", ctx: withAuth("Bearer " + adminKey), method: methodCreateMiniProgram,
			want: codes.OK, wantP: admin},
		{name: "admin calls campaign", ctx: withAuth("Bearer " + adminKey), method: methodCreateCampaign,
			want: codes.OK, wantP: admin},
		{name: "admin calls discovery", ctx: withAuth("Bearer " + adminKey), method: methodSearch,
			want: codes.OK, wantP: admin},
		{name: "advertiser calls campaign", ctx: withAuth("Bearer " + advertiserKey), method: methodCreateCampaign,
			want: codes.OK, wantP: adv},
		{name: "lower-case bearer scheme", ctx: withAuth("bearer " + advertiserKey), method: methodCreateCampaign,
			want: codes.OK, wantP: adv},
		{name: "client calls discovery", ctx: withAuth("Bearer " + clientKey), method: methodSearch,
			want: codes.OK, wantP: client},
		{name: "exact method overrides prefix", ctx: withAuth("Bearer " + clientKey), method: "/aroundme.v1.CampaignService/EstimateReach",
			want: codes.OK, wantP: client},
		{name: "health without key", ctx: context.Background(), method: methodHealthCheck,
			want: codes.OK},
		{name: "health with bad key", ctx: withAuth("garbage"), method: "/grpc.health.v1.Health/Watch",
			want: codes.OK},
		{name: "reflection v1 without key", ctx: context.Background(), method: methodReflection,
			want: codes.OK},
		{name: "reflection v1alpha without key", ctx: context.Background(), method: methodReflectionAlpha,
			want: codes.OK},
		{name: "method not in policy", ctx: withAuth("Bearer " + clientKey), method: methodUnlisted,
			want: codes.PermissionDenied, wantMsg: "role client may not call " + methodUnlisted},
		{name: "admin calls method not in policy", ctx: withAuth("Bearer " + adminKey), method: methodUnlisted,
			want: codes.PermissionDenied, wantMsg: "role admin may not call " + methodUnlisted},
		{name: "prefix does not match other service", ctx: withAuth("Bearer " + adminKey), method: "/aroundme.v1.CatalogServiceX/Do",
			want: codes.PermissionDenied},
	}
}

// checkResult verifies the outcome of one interceptor call.
func checkResult(t *testing.T, tc authCase, err error, called bool, seen Principal, seenOK bool) {
	t.Helper()
	if got := status.Code(err); got != tc.want {
		t.Fatalf("code = %v (%v), want %v", got, err, tc.want)
	}
	if tc.want != codes.OK {
		if called {
			t.Error("handler ran for a rejected call")
		}
		if !strings.Contains(status.Convert(err).Message(), tc.wantMsg) {
			t.Errorf("message %q does not contain %q", status.Convert(err).Message(), tc.wantMsg)
		}
		for _, k := range []string{adminKey, clientKey, advertiserKey, "am_not_a_key"} {
			if strings.Contains(err.Error(), k) {
				t.Errorf("status %q echoes a key", err)
			}
		}
		return
	}
	if !called {
		t.Fatal("handler did not run")
	}
	if tc.wantP == nil {
		if seenOK {
			t.Errorf("open method got principal %+v, want none", seen)
		}
		return
	}
	if !seenOK || seen != *tc.wantP {
		t.Errorf("principal = %+v, %v; want %+v", seen, seenOK, *tc.wantP)
	}
}

func TestUnaryServerInterceptor(t *testing.T) {
	interceptor := newTestAuthorizer(t).UnaryServerInterceptor()
	for _, tc := range authCases() {
		t.Run(tc.name, func(t *testing.T) {
			var (
				called bool
				seen   Principal
				seenOK bool
			)
			handler := func(ctx context.Context, req any) (any, error) {
				called = true
				seen, seenOK = PrincipalFrom(ctx)
				return "resp", nil
			}
			resp, err := interceptor(tc.ctx, "req", &grpc.UnaryServerInfo{FullMethod: tc.method}, handler)
			checkResult(t, tc, err, called, seen, seenOK)
			if err == nil && resp != "resp" {
				t.Errorf("resp = %v, want handler's response", resp)
			}
		})
	}
}

// fakeStream is the minimal grpc.ServerStream the interceptor needs.
type fakeStream struct {
	grpc.ServerStream // nil: any other method panics, which the test would catch
	ctx               context.Context
}

func (s *fakeStream) Context() context.Context { return s.ctx }

func TestStreamServerInterceptor(t *testing.T) {
	interceptor := newTestAuthorizer(t).StreamServerInterceptor()
	for _, tc := range authCases() {
		t.Run(tc.name, func(t *testing.T) {
			var (
				called bool
				seen   Principal
				seenOK bool
			)
			handler := func(srv any, ss grpc.ServerStream) error {
				called = true
				seen, seenOK = PrincipalFrom(ss.Context())
				return nil
			}
			info := &grpc.StreamServerInfo{FullMethod: tc.method, IsClientStream: true}
			err := interceptor(nil, &fakeStream{ctx: tc.ctx}, info, handler)
			checkResult(t, tc, err, called, seen, seenOK)
		})
	}
}

func TestSetKeys(t *testing.T) {
	a := newTestAuthorizer(t)
	interceptor := a.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: methodCreateMiniProgram}
	ok := func(context.Context, any) (any, error) { return nil, nil }

	if _, err := interceptor(withAuth("Bearer "+adminKey), nil, info, ok); err != nil {
		t.Fatalf("before swap: %v", err)
	}
	newKey := "am_rotated"
	ks, err := ParseKeys([]byte("keys:\n  - name: ops2\n    sha256: " + HashKey(newKey) + "\n    role: admin\n"))
	if err != nil {
		t.Fatal(err)
	}
	a.SetKeys(ks)
	if _, err := interceptor(withAuth("Bearer "+adminKey), nil, info, ok); status.Code(err) != codes.Unauthenticated {
		t.Errorf("old key after swap: %v, want Unauthenticated", err)
	}
	if _, err := interceptor(withAuth("Bearer "+newKey), nil, info, ok); err != nil {
		t.Errorf("new key after swap: %v", err)
	}
	a.SetKeys(nil)
	if _, err := interceptor(withAuth("Bearer "+newKey), nil, info, ok); status.Code(err) != codes.Unauthenticated {
		t.Errorf("nil key set: %v, want Unauthenticated", err)
	}
}

func TestSetKeysConcurrent(t *testing.T) {
	// Run with -race: swapping keys while calls are in flight is safe.
	a := newTestAuthorizer(t)
	ks, _ := ParseKeys([]byte(validYAML()))
	interceptor := a.UnaryServerInterceptor()
	info := &grpc.UnaryServerInfo{FullMethod: methodCreateMiniProgram}
	ok := func(context.Context, any) (any, error) { return nil, nil }
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				a.SetKeys(ks)
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if _, err := interceptor(withAuth("Bearer "+adminKey), nil, info, ok); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestNewAuthorizerRejectsBadPolicy(t *testing.T) {
	for name, policy := range map[string]map[string]Role{
		"no leading slash": {"aroundme.v1.CatalogService/": RoleAdmin},
		"bare slash":       {"/": RoleAdmin},
		"zero role":        {"/aroundme.v1.CatalogService/": Role(0)},
		"unknown role":     {"/aroundme.v1.CatalogService/": Role(9)},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("NewAuthorizer did not panic")
				}
			}()
			NewAuthorizer(nil, policy)
		})
	}
}

func TestNewAuthorizerCopiesPolicy(t *testing.T) {
	policy := map[string]Role{methodCreateMiniProgram: RoleAdmin}
	a := NewAuthorizer(nil, policy)
	policy[methodCreateMiniProgram] = RoleClient
	if r, _ := a.requiredRole(methodCreateMiniProgram); r != RoleAdmin {
		t.Error("Authorizer shares the caller's policy map")
	}
}

func TestWithPrincipal(t *testing.T) {
	if _, ok := PrincipalFrom(context.Background()); ok {
		t.Error("PrincipalFrom(empty ctx) = true")
	}
	p := Principal{Name: "n", Role: RoleAdvertiser, AdvertiserID: "acme"}
	got, ok := PrincipalFrom(WithPrincipal(context.Background(), p))
	if !ok || got != p {
		t.Errorf("PrincipalFrom = %+v, %v; want %+v", got, ok, p)
	}
}
