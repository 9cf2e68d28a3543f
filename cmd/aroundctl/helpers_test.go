package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

// testKey is the only API key the fake server accepts.
const testKey = "am_test_key"

// fakeDiscovery answers every Nearby with a fixed response and remembers
// the last request.
type fakeDiscovery struct {
	pb.UnimplementedDiscoveryServiceServer
	resp *pb.NearbyResponse

	mu   sync.Mutex
	last *pb.NearbyRequest
	n    int
}

func (f *fakeDiscovery) Nearby(_ context.Context, req *pb.NearbyRequest) (*pb.NearbyResponse, error) {
	f.mu.Lock()
	f.last = proto.Clone(req).(*pb.NearbyRequest)
	f.n++
	f.mu.Unlock()
	return f.resp, nil
}

func (f *fakeDiscovery) lastRequest() (*pb.NearbyRequest, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, f.n
}

// fakeCatalog implements ImportMiniPrograms: it counts the items, fails
// every one whose index is 7 mod 250, and remembers the ids in order.
type fakeCatalog struct {
	pb.UnimplementedCatalogServiceServer

	mu  sync.Mutex
	ids []string
}

func (f *fakeCatalog) ImportMiniPrograms(stream pb.CatalogService_ImportMiniProgramsServer) error {
	resp := &pb.ImportMiniProgramsResponse{}
	for i := int64(0); ; i++ {
		req, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(resp)
		}
		if err != nil {
			return err
		}
		id := req.GetMiniProgram().GetId()
		f.mu.Lock()
		f.ids = append(f.ids, id)
		f.mu.Unlock()
		if i%250 == 7 {
			resp.Failed++
			resp.Errors = append(resp.Errors, &pb.ImportError{Index: i, Id: id, Message: "mini_program.name: required"})
			continue
		}
		resp.Created++
	}
}

func (f *fakeCatalog) importedIDs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ids...)
}

// requireKey rejects DiscoveryService calls without "Bearer testKey", as
// the real server's auth interceptor does; health stays open.
func requireKey(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if strings.HasPrefix(info.FullMethod, "/aroundme.v1.") {
		md, _ := metadata.FromIncomingContext(ctx)
		if v := md.Get("authorization"); len(v) != 1 || v[0] != "Bearer "+testKey {
			return nil, status.Error(codes.Unauthenticated, "unknown API key")
		}
	}
	return h(ctx, req)
}

// requireKeyStream is requireKey for streams.
func requireKeyStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	_, err := requireKey(ss.Context(), nil, &grpc.UnaryServerInfo{FullMethod: info.FullMethod},
		func(context.Context, any) (any, error) { return nil, h(srv, ss) })
	return err
}

// startFake serves the fake DiscoveryService and CatalogService and the
// real gRPC health server on a loopback port and returns its address.
func startFake(t *testing.T, resp *pb.NearbyResponse) (string, *fakeDiscovery) {
	addr, fd, _ := startFakeCatalog(t, resp)
	return addr, fd
}

// startFakeCatalog is startFake that also returns the fake catalog.
func startFakeCatalog(t *testing.T, resp *pb.NearbyResponse) (string, *fakeDiscovery, *fakeCatalog) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnaryInterceptor(requireKey), grpc.StreamInterceptor(requireKeyStream))
	fd := &fakeDiscovery{resp: resp}
	fc := &fakeCatalog{}
	pb.RegisterDiscoveryServiceServer(srv, fd)
	pb.RegisterCatalogServiceServer(srv, fc)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), fd, fc
}

// result is the outcome of one aroundctl invocation.
type result struct {
	code           int
	stdout, stderr string
}

// runCtl runs aroundctl in-process with the given environment.
func runCtl(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errb)
	return result{code, out.String(), errb.String()}
}

// sampleResponse has a sponsored result with reasons, an organic one
// without offers, a long name far away, and a next page.
func sampleResponse() *pb.NearbyResponse {
	return &pb.NearbyResponse{
		Results: []*pb.NearbyResult{
			{
				MiniProgram: &pb.MiniProgramCard{Id: "sunny-bike", Name: "Sunny Bike", Category: pb.Category_CATEGORY_TRANSPORT, Rating: 4.6},
				Place:       &pb.Place{Id: "p1", Label: "Beijing #1"},
				DistanceM:   120.4,
				Score:       0.9124,
				Sponsorship: &pb.Sponsorship{CampaignId: "c1", Headline: "Ride for free", CallToAction: "Ride now"},
				Offers: []*pb.Offer{
					{Id: "deposit-waived", Title: "Deposit waived", MinCreditScore: 650},
					{Id: "first-ride-free", Title: "First ride free"},
				},
				Reasons: []string{"place 120 m away", "offer deposit-waived: credit score 700 >= 650"},
			},
			{
				MiniProgram: &pb.MiniProgramCard{Id: "mp-000123", Name: "Golden Dragon Noodles", Category: pb.Category_CATEGORY_FOOD, Rating: 4.2},
				DistanceM:   1234,
				Score:       0.5,
			},
			{
				MiniProgram: &pb.MiniProgramCard{Id: "mp-000999", Name: "The Extraordinarily Long Named Teahouse Of Sanlitun", Category: pb.Category_CATEGORY_LIFESTYLE, Rating: 3},
				DistanceM:   12345,
				Score:       0.25,
				Offers:      []*pb.Offer{{Id: "tea", Title: "Free tea"}},
			},
		},
		NextPageToken: "tok123",
	}
}
