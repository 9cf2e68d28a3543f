package server

import (
	"context"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/auth"
	"github.com/aroundme/aroundme/pkg/validate"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// chain is the one place that spells out the interceptor chain. Order, from
// the outside in:
//
//  1. recovery: a panic anywhere below becomes a plain INTERNAL (never a
//     stack trace to the caller), is logged with its stack and counted.
//  2. logging: one structured line per call (method, code, duration,
//     principal name) — never the request, which may hold positions.
//  3. metrics: go-grpc-middleware's Prometheus server metrics.
//  4. readiness: API calls get UNAVAILABLE until the data is loaded and the
//     indexes are built (health and reflection pass).
//  5. deadline cap: no call runs longer than --max-call-timeout
//     (--max-stream-timeout for streams), whatever the client asked.
//  6. error mapping: typed errors become statuses (apierr.ToStatus);
//     internal details are logged here and not returned.
//  7. authentication and authorization (auth.Authorizer).
//  8. rate limit: a token from the principal's own bucket, or
//     RESOURCE_EXHAUSTED with QuotaFailure and RetryInfo.
//  9. validation of unary requests (validate.Request).
func (s *Server) chain() ([]grpc.UnaryServerInterceptor, []grpc.StreamServerInterceptor) {
	rec := recovery.WithRecoveryHandlerContext(s.recovered)
	unary := []grpc.UnaryServerInterceptor{
		recovery.UnaryServerInterceptor(rec),
		s.logUnary,
		s.grpcMetrics.UnaryServerInterceptor(),
		s.readyUnary,
		s.capUnary,
		s.mapErrorsUnary,
		s.authz.UnaryServerInterceptor(),
		s.noteUnary,
		s.limitUnary,
		validateUnary,
	}
	stream := []grpc.StreamServerInterceptor{
		recovery.StreamServerInterceptor(rec),
		s.logStream,
		s.grpcMetrics.StreamServerInterceptor(),
		s.readyStream,
		s.capStream,
		s.mapErrorsStream,
		s.authz.StreamServerInterceptor(),
		s.noteStream,
		s.limitStream,
		// Streams validate each message in their handler: one bad item of
		// an import must not abort the stream.
	}
	return unary, stream
}

// chainMetrics are the metrics of the chain itself.
type chainMetrics struct {
	panics prometheus.Counter
}

func newChainMetrics(reg prometheus.Registerer) *chainMetrics {
	m := &chainMetrics{
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "aroundme_server_panics_total",
			Help: "Panics recovered in RPC handlers; each was answered with INTERNAL.",
		}),
	}
	reg.MustRegister(m.panics)
	return m
}

func newGRPCMetrics(reg prometheus.Registerer) *grpcprom.ServerMetrics {
	m := grpcprom.NewServerMetrics(grpcprom.WithServerHandlingTimeHistogram(
		grpcprom.WithHistogramBuckets([]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}),
	))
	reg.MustRegister(m)
	return m
}

func (s *Server) recovered(ctx context.Context, p any) error {
	s.chainMetrics.panics.Inc()
	s.log.ErrorContext(ctx, "panic in handler", "panic", p, "stack", string(debug.Stack()))
	return status.Error(codes.Internal, "internal error")
}

// callInfo is filled in by the inner interceptors for the logging one.
type callInfo struct {
	principal string
}

type callInfoKey struct{}

func withCallInfo(ctx context.Context) (context.Context, *callInfo) {
	ci := &callInfo{}
	return context.WithValue(ctx, callInfoKey{}, ci), ci
}

func (s *Server) logUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, ci := withCallInfo(ctx)
	start := time.Now()
	resp, err := h(ctx, req)
	s.logCall(ctx, info.FullMethod, ci, start, err)
	return resp, err
}

func (s *Server) logStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, ci := withCallInfo(ss.Context())
	start := time.Now()
	err := h(srv, &ctxStream{ServerStream: ss, ctx: ctx})
	s.logCall(ctx, info.FullMethod, ci, start, err)
	return err
}

// logCall logs a finished call: successes at debug (the hot path must not
// pay for a log line per call), caller mistakes at info, server faults at
// error.
func (s *Server) logCall(ctx context.Context, method string, ci *callInfo, start time.Time, err error) {
	code := status.Code(err)
	level := slog.LevelDebug
	switch code {
	case codes.OK:
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable, codes.Unimplemented:
		level = slog.LevelError
	default:
		level = slog.LevelInfo
	}
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Duration("duration", time.Since(start)),
	}
	if ci.principal != "" {
		attrs = append(attrs, slog.String("principal", ci.principal))
	}
	if err != nil {
		st := status.Convert(err)
		if code == codes.InvalidArgument {
			// The message echoes the caller's values (which may be a
			// position or a user id): log only which fields were bad.
			var fields []string
			for _, d := range st.Details() {
				if br, ok := d.(*errdetails.BadRequest); ok {
					for _, fv := range br.GetFieldViolations() {
						fields = append(fields, fv.GetField())
					}
				}
			}
			attrs = append(attrs, slog.Any("bad_fields", fields))
		} else {
			attrs = append(attrs, slog.String("error", st.Message()))
		}
	}
	s.log.LogAttrs(ctx, level, "rpc", attrs...)
}

func isOpenMethod(method string) bool {
	for _, p := range []string{"/grpc.health.v1.Health/", "/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/"} {
		if len(method) >= len(p) && method[:len(p)] == p {
			return true
		}
	}
	return false
}

// ready is set once the data is loaded and the indexes are built.
type readiness struct{ v atomic.Bool }

func (s *Server) notReady(method string) error {
	if s.ready.v.Load() || isOpenMethod(method) {
		return nil
	}
	return status.Error(codes.Unavailable, "server is starting or stopping: data not loaded; retry shortly")
}

func (s *Server) readyUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := s.notReady(info.FullMethod); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (s *Server) readyStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if err := s.notReady(info.FullMethod); err != nil {
		return err
	}
	return h(srv, ss)
}

func (s *Server) mapError(ctx context.Context, method string, err error) error {
	if err == nil {
		return nil
	}
	st, forCaller := apierr.ToStatus(err)
	if !forCaller {
		s.log.ErrorContext(ctx, "internal error", "method", method, "error", err.Error())
	}
	return st.Err()
}

func (s *Server) mapErrorsUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	resp, err := h(ctx, req)
	if err != nil {
		return nil, s.mapError(ctx, info.FullMethod, err)
	}
	return resp, nil
}

func (s *Server) mapErrorsStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return s.mapError(ss.Context(), info.FullMethod, h(srv, ss))
}

// note records the authenticated principal's name for the log line.
func note(ctx context.Context) {
	if ci, ok := ctx.Value(callInfoKey{}).(*callInfo); ok {
		if p, ok := auth.PrincipalFrom(ctx); ok {
			ci.principal = p.Name
		}
	}
}

func (s *Server) noteUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	note(ctx)
	return h(ctx, req)
}

func (s *Server) noteStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	note(ss.Context())
	return h(srv, ss)
}

func validateUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if err := validate.Request(req); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

// ctxStream replaces a stream's context.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
