package server

import (
	"context"
	"fmt"
	"time"

	"github.com/aroundme/aroundme/pkg/auth"
	"github.com/aroundme/aroundme/pkg/config"
	"github.com/aroundme/aroundme/pkg/ratelimit"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// limits enforces the per-principal rate limits and the deadline caps.
type limits struct {
	cfg      config.LimitsConfig
	buckets  *ratelimit.Limiter
	rejected *prometheus.CounterVec
}

func newLimits(cfg config.LimitsConfig, now func() time.Time, reg prometheus.Registerer) *limits {
	l := &limits{cfg: cfg, buckets: ratelimit.New(now),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "aroundme_ratelimit_rejected_total",
			Help: "Calls refused with RESOURCE_EXHAUSTED by the per-principal rate limit, by the caller's role.",
		}, []string{"role"})}
	for _, r := range []string{"client", "advertiser", "admin"} {
		l.rejected.WithLabelValues(r)
	}
	reg.MustRegister(l.rejected)
	return l
}

func (l *limits) limitOf(r auth.Role) ratelimit.Limit {
	switch r {
	case auth.RoleClient:
		return ratelimit.Limit{Rate: l.cfg.ClientRate, Burst: l.cfg.ClientBurst}
	case auth.RoleAdvertiser:
		return ratelimit.Limit{Rate: l.cfg.AdvertiserRate, Burst: l.cfg.AdvertiserBurst}
	case auth.RoleAdmin:
		return ratelimit.Limit{Rate: l.cfg.AdminRate, Burst: l.cfg.AdminBurst}
	}
	return ratelimit.Limit{}
}

// allow takes a token for the call's principal (calls without one — health,
// reflection — are not limited). A refusal is RESOURCE_EXHAUSTED with a
// QuotaFailure naming the principal and a RetryInfo saying when to retry.
func (l *limits) allow(ctx context.Context) error {
	p, ok := auth.PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	lim := l.limitOf(p.Role)
	ok, wait := l.buckets.Allow(p.Name, lim)
	if ok {
		return nil
	}
	l.rejected.WithLabelValues(p.Role.String()).Inc()
	st := status.New(codes.ResourceExhausted, fmt.Sprintf("rate limit of %g calls/s (burst %g) for %q exceeded: retry in %v", lim.Rate, lim.Burst, p.Name, wait.Round(time.Millisecond)))
	if d, err := st.WithDetails(
		&errdetails.QuotaFailure{Violations: []*errdetails.QuotaFailure_Violation{{
			Subject:     "principal:" + p.Name,
			Description: fmt.Sprintf("%g calls per second, burst %g, for the %s role", lim.Rate, lim.Burst, p.Role),
		}}},
		&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)},
	); err == nil {
		st = d
	}
	return st.Err()
}

func (s *Server) limitUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.limits.allow(ctx); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) limitStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.limits.allow(ss.Context()); err != nil {
		return err
	}
	return h(srv, ss)
}

// capUnary bounds every unary call's deadline by --max-call-timeout, so
// that no client, by sending no deadline, holds server resources forever.
func (s *Server) capUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, cancel := capDeadline(ctx, s.limits.cfg.MaxCallTimeout)
	defer cancel()
	return h(ctx, req)
}

func (s *Server) capStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, cancel := capDeadline(ss.Context(), s.limits.cfg.MaxStreamTimeout)
	defer cancel()
	return h(srv, &ctxStream{ServerStream: ss, ctx: ctx})
}

func capDeadline(ctx context.Context, limit time.Duration) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); ok && time.Until(d) <= limit {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, limit)
}
