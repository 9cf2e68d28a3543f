package server

import (
	"context"
	"strings"
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/types/known/emptypb"
)

// TestAuthOutcomes calls one RPC of each service with every kind of
// credential and states the code each must get.
func TestAuthOutcomes(t *testing.T) {
	h := newHarness(t, "")
	cat := h.catalog()
	disc := v1.NewDiscoveryServiceClient(h.conn)
	camp := v1.NewCampaignServiceClient(h.conn)
	calls := map[string]func(ctx context.Context) error{
		"catalog": func(ctx context.Context) error {
			_, err := cat.ListMiniPrograms(ctx, &v1.ListMiniProgramsRequest{})
			return err
		},
		"discovery": func(ctx context.Context) error {
			_, err := disc.Nearby(ctx, &v1.NearbyRequest{Location: &v1.LatLng{Latitude: 39.9, Longitude: 116.4}})
			return err
		},
		"campaign": func(ctx context.Context) error {
			_, err := camp.ListCampaigns(ctx, &v1.ListCampaignsRequest{})
			return err
		},
	}
	raw := func(v string) context.Context {
		return metadata.AppendToOutgoingContext(context.Background(), "authorization", v)
	}
	tests := []struct {
		name string
		ctx  context.Context
		want map[string]codes.Code
	}{
		{"no credentials", context.Background(), map[string]codes.Code{"catalog": codes.Unauthenticated, "discovery": codes.Unauthenticated, "campaign": codes.Unauthenticated}},
		{"unknown key", as("not-a-key"), map[string]codes.Code{"catalog": codes.Unauthenticated, "discovery": codes.Unauthenticated, "campaign": codes.Unauthenticated}},
		{"no Bearer scheme", raw(adminKey), map[string]codes.Code{"catalog": codes.Unauthenticated, "discovery": codes.Unauthenticated, "campaign": codes.Unauthenticated}},
		{"empty bearer", raw("Bearer "), map[string]codes.Code{"catalog": codes.Unauthenticated, "discovery": codes.Unauthenticated, "campaign": codes.Unauthenticated}},
		{"client", as(clientKey), map[string]codes.Code{"catalog": codes.PermissionDenied, "discovery": codes.OK, "campaign": codes.PermissionDenied}},
		{"advertiser", as(acmeKey), map[string]codes.Code{"catalog": codes.PermissionDenied, "discovery": codes.PermissionDenied, "campaign": codes.OK}},
		{"admin", as(adminKey), map[string]codes.Code{"catalog": codes.OK, "discovery": codes.OK, "campaign": codes.OK}},
	}
	for _, tc := range tests {
		for svc, call := range calls {
			t.Run(tc.name+"/"+svc, func(t *testing.T) {
				wantCode(t, call(tc.ctx), tc.want[svc], "")
			})
		}
	}

	t.Run("health is open", func(t *testing.T) {
		resp, err := healthpb.NewHealthClient(h.conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health: %v %v", err, resp)
		}
	})
	t.Run("reflection is open", func(t *testing.T) {
		st, err := rpb.NewServerReflectionClient(h.conn).ServerReflectionInfo(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Send(&rpb.ServerReflectionRequest{MessageRequest: &rpb.ServerReflectionRequest_ListServices{}}); err != nil {
			t.Fatal(err)
		}
		resp, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, s := range resp.GetListServicesResponse().GetService() {
			names[s.Name] = true
		}
		for _, want := range []string{"aroundme.v1.CatalogService", "aroundme.v1.DiscoveryService", "aroundme.v1.CampaignService", "grpc.health.v1.Health"} {
			if !names[want] {
				t.Errorf("reflection does not list %s: %v", want, names)
			}
		}
	})
	t.Run("metrics count calls by code", func(t *testing.T) {
		if len(h.metric("grpc_server_handled_total", "ListMiniPrograms", "Unauthenticated")) == 0 {
			t.Fatal("no grpc_server_handled_total for Unauthenticated ListMiniPrograms")
		}
	})
}

// TestPanicRecovery registers a handler that panics and checks that the
// caller gets a plain INTERNAL without the panic's text, and that it is
// counted.
func TestPanicRecovery(t *testing.T) {
	Policy["/test.Panicker/"] = auth.RoleClient
	defer delete(Policy, "/test.Panicker/")
	h2 := newHarnessWith(t, "", func(s *grpc.Server) {
		s.RegisterService(&grpc.ServiceDesc{
			ServiceName: "test.Panicker",
			HandlerType: (*any)(nil),
			Methods: []grpc.MethodDesc{{MethodName: "Boom", Handler: func(srv any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/test.Panicker/Boom"}, func(context.Context, any) (any, error) {
					panic("secret internal detail")
				})
			}}},
		}, struct{}{})
	})
	err := h2.conn.Invoke(as(clientKey), "/test.Panicker/Boom", &emptypb.Empty{}, &emptypb.Empty{})
	wantCode(t, err, codes.Internal, "")
	if msg := err.Error(); strings.Contains(msg, "secret") || strings.Contains(msg, "goroutine") {
		t.Fatalf("panic detail leaked: %s", msg)
	}
	if got := h2.metric("aroundme_server_panics_total", "value:1"); len(got) != 1 {
		t.Fatalf("panic not counted: %v", h2.metric("aroundme_server_panics_total"))
	}
	// The server keeps serving.
	if _, err := h2.catalog().ListMiniPrograms(as(adminKey), &v1.ListMiniProgramsRequest{}); err != nil {
		t.Fatal(err)
	}
}
