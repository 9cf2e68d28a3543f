package server

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/auth"
	"github.com/aroundme/aroundme/pkg/config"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"
)

// TestRateLimit: a principal over its budget gets RESOURCE_EXHAUSTED with a
// QuotaFailure and a retry hint; other principals are not slowed.
func TestRateLimit(t *testing.T) {
	h := newHarness(t, "", func(c *config.Config) {
		c.Limits.AdvertiserRate, c.Limits.AdvertiserBurst = 0.01, 2
	})
	camp := v1.NewCampaignServiceClient(h.conn)
	call := func(key string) error {
		_, err := camp.ListCampaigns(as(key), &v1.ListCampaignsRequest{})
		return err
	}
	for i := range 2 {
		wantCode(t, call(acmeKey), codes.OK, "") // within the burst: reaches the service
		_ = i
	}
	err := call(acmeKey)
	wantCode(t, err, codes.ResourceExhausted, "")
	var quota, retry bool
	for _, d := range status.Convert(err).Details() {
		switch d := d.(type) {
		case *errdetails.QuotaFailure:
			quota = len(d.Violations) == 1 && d.Violations[0].Subject == "principal:acme-ads"
		case *errdetails.RetryInfo:
			retry = d.RetryDelay.AsDuration() > 0
		}
	}
	if !quota || !retry {
		t.Fatalf("details: quota %v retry %v (%v)", quota, retry, status.Convert(err).Details())
	}
	// Another advertiser, and other roles, are unaffected.
	wantCode(t, call(otherKey), codes.OK, "")
	if _, err := h.catalog().ListMiniPrograms(as(adminKey), &v1.ListMiniProgramsRequest{}); err != nil {
		t.Fatal(err)
	}
	if len(h.metric("aroundme_ratelimit_rejected_total", "advertiser", "value:1")) != 1 {
		t.Fatalf("rejection not counted: %v", h.metric("aroundme_ratelimit_rejected_total"))
	}
}

// TestDeadlineCap: a call without a deadline runs under --max-call-timeout.
func TestDeadlineCap(t *testing.T) {
	Policy["/test.Deadline/"] = auth.RoleClient
	defer delete(Policy, "/test.Deadline/")
	h := newHarnessWith(t, "", func(s *grpc.Server) {
		s.RegisterService(&grpc.ServiceDesc{
			ServiceName: "test.Deadline",
			HandlerType: (*any)(nil),
			Methods: []grpc.MethodDesc{{MethodName: "Left", Handler: func(_ any, ctx context.Context, dec func(any) error, ic grpc.UnaryServerInterceptor) (any, error) {
				in := new(emptypb.Empty)
				if err := dec(in); err != nil {
					return nil, err
				}
				return ic(ctx, in, &grpc.UnaryServerInfo{FullMethod: "/test.Deadline/Left"}, func(ctx context.Context, _ any) (any, error) {
					d, ok := ctx.Deadline()
					if !ok {
						return durationpb.New(-1), nil
					}
					return durationpb.New(time.Until(d)), nil
				})
			}}},
		}, struct{}{})
	}, func(c *config.Config) { c.Limits.MaxCallTimeout = 2 * time.Second })
	left := &durationpb.Duration{}
	if err := h.conn.Invoke(as(clientKey), "/test.Deadline/Left", &emptypb.Empty{}, left); err != nil {
		t.Fatal(err)
	}
	if d := left.AsDuration(); d <= 0 || d > 2*time.Second {
		t.Fatalf("deadline left %v, want within the 2s cap", d)
	}
	// A client's shorter deadline is kept.
	ctx, cancel := context.WithTimeout(as(clientKey), 500*time.Millisecond)
	defer cancel()
	if err := h.conn.Invoke(ctx, "/test.Deadline/Left", &emptypb.Empty{}, left); err != nil || left.AsDuration() > 500*time.Millisecond {
		t.Fatalf("client deadline: %v %v", left.AsDuration(), err)
	}
}

// TestMaxMessageSize: a request of exactly --max-recv-msg-bytes reaches the
// service; one byte more is RESOURCE_EXHAUSTED.
func TestMaxMessageSize(t *testing.T) {
	const max = 4096
	h := newHarness(t, "", func(c *config.Config) { c.GRPC.MaxRecvMsgBytes = max })
	req := func(size int) *v1.CreateMiniProgramRequest {
		r := &v1.CreateMiniProgramRequest{MiniProgram: sample("big")}
		for n := 0; n < 2*size; n++ {
			r.MiniProgram.Description = strings.Repeat("d", n)
			if proto.Size(r) == size {
				return r
			}
		}
		t.Fatalf("cannot build a request of %d bytes", size)
		return nil
	}
	_, err := h.catalog().CreateMiniProgram(as(adminKey), req(max))
	if status.Code(err) == codes.ResourceExhausted {
		t.Fatalf("a request of exactly the limit was refused: %v", err)
	}
	_, err = h.catalog().CreateMiniProgram(as(adminKey), req(max+1))
	wantCode(t, err, codes.ResourceExhausted, "")
}
