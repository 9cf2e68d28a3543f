package apierr

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aroundme/aroundme/pkg/store"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestToStatus(t *testing.T) {
	var v Violations
	v.Add("a.b", "bad %d", 1)
	v.Add("c", "worse")
	tests := []struct {
		name      string
		err       error
		code      codes.Code
		forCaller bool
		msg       string
	}{
		{"not found", NotFound("x %q", "y"), codes.NotFound, true, `x "y"`},
		{"wrapped", fmt.Errorf("ctx: %w", Aborted("stale")), codes.Aborted, true, "stale"},
		{"violations", v.Err(), codes.InvalidArgument, true, "invalid request: a.b: bad 1; c: worse"},
		{"status passes", status.Error(codes.PermissionDenied, "no"), codes.PermissionDenied, true, "no"},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), codes.Canceled, true, "call canceled"},
		{"deadline", context.DeadlineExceeded, codes.DeadlineExceeded, true, "deadline exceeded"},
		{"store unavailable", fmt.Errorf("write: %w", store.ErrUnavailable), codes.Unavailable, false, "storage is unavailable: the write was not made; retry later"},
		{"bug", errors.New("nil map at /src/x.go:12"), codes.Internal, false, "internal error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, forCaller := ToStatus(tc.err)
			if st.Code() != tc.code || forCaller != tc.forCaller || st.Message() != tc.msg {
				t.Fatalf("got %v %v %q, want %v %v %q", st.Code(), forCaller, st.Message(), tc.code, tc.forCaller, tc.msg)
			}
		})
	}
	st, _ := ToStatus(v.Err())
	if len(st.Details()) != 1 || len(st.Details()[0].(*errdetails.BadRequest).FieldViolations) != 2 {
		t.Fatalf("details: %v", st.Details())
	}
	if v := (Violations{}); v.Err() != nil {
		t.Fatal("empty violations are an error")
	}
}
