package apierr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aroundme/aroundme/pkg/store"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FieldViolation names one bad field of a request by its path
// (e.g. "mini_program.places[3].location.latitude") and says what is wrong.
type FieldViolation struct {
	Field       string
	Description string
}

// Error is an error meant for the caller: its code and message are returned
// as they are.
type Error struct {
	Code       codes.Code
	Message    string
	Violations []FieldViolation
}

func (e *Error) Error() string {
	if len(e.Violations) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Field + ": " + v.Description
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// New returns an *Error with the given code and formatted message.
func New(code codes.Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound says the named resource does not exist (or is not the caller's).
func NotFound(format string, args ...any) *Error { return New(codes.NotFound, format, args...) }

// AlreadyExists says a create collided with an existing resource.
func AlreadyExists(format string, args ...any) *Error {
	return New(codes.AlreadyExists, format, args...)
}

// Aborted says an optimistic-concurrency check failed; the caller re-reads
// and retries.
func Aborted(format string, args ...any) *Error { return New(codes.Aborted, format, args...) }

// FailedPrecondition says the system is not in a state the call needs.
func FailedPrecondition(format string, args ...any) *Error {
	return New(codes.FailedPrecondition, format, args...)
}

// Unavailable says the call may succeed if retried later.
func Unavailable(format string, args ...any) *Error {
	return New(codes.Unavailable, format, args...)
}

// Unimplemented says the RPC exists in the contract but is not built yet.
func Unimplemented(format string, args ...any) *Error {
	return New(codes.Unimplemented, format, args...)
}

// Violations collects field violations while a request is checked.
type Violations []FieldViolation

// Add records that field is bad.
func (v *Violations) Add(field, format string, args ...any) {
	*v = append(*v, FieldViolation{Field: field, Description: fmt.Sprintf(format, args...)})
}

// Err returns nil when nothing was recorded, else an INVALID_ARGUMENT *Error
// carrying every violation.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	msg := "invalid request"
	if len(v) == 1 {
		msg = "invalid " + v[0].Field
	}
	return &Error{Code: codes.InvalidArgument, Message: msg, Violations: v}
}

// ToStatus converts any error to the status returned to the caller. The bool
// is false when err is not meant for callers (a bug or an unexpected
// failure): the status is then a bare INTERNAL and the caller of ToStatus
// should log err.
func ToStatus(err error) (*status.Status, bool) {
	if err == nil {
		return status.New(codes.OK, ""), true
	}
	var e *Error
	if errors.As(err, &e) {
		st := status.New(e.Code, e.Error())
		if len(e.Violations) > 0 {
			br := &errdetails.BadRequest{}
			for _, v := range e.Violations {
				br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{
					Field: v.Field, Description: v.Description,
				})
			}
			if withDetails, derr := st.WithDetails(br); derr == nil {
				st = withDetails
			}
		}
		return st, true
	}
	if st, ok := status.FromError(err); ok {
		return st, true
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.New(codes.Canceled, "call canceled"), true
	case errors.Is(err, context.DeadlineExceeded):
		return status.New(codes.DeadlineExceeded, "deadline exceeded"), true
	case errors.Is(err, store.ErrUnavailable):
		return status.New(codes.Unavailable, "storage is unavailable: the write was not made; retry later"), false
	}
	return status.New(codes.Internal, "internal error"), false
}
