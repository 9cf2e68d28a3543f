package main

import (
	"net"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestWrongKeyMessage(t *testing.T) {
	addr, _ := startFake(t, sampleResponse())
	const want = "aroundctl: the server rejected the API key (UNAUTHENTICATED): pass --key or set AROUNDME_KEY\n"
	for name, env := range map[string]map[string]string{
		"wrong key": {"AROUNDME_KEY": "am_wrong"},
		"no key":    {},
	} {
		r := runCtl(t, env, "--addr", addr, "nearby", "--lat", "1", "--lng", "2")
		if r.code != 1 || r.stderr != want {
			t.Errorf("%s: exit %d, stderr %q; want 1, %q", name, r.code, r.stderr, want)
		}
		r = runCtl(t, env, "--addr", addr, "bench", "--duration", "100ms", "--baseline-duration", "100ms", "--queries", "10")
		if r.code != 1 || !strings.HasSuffix(r.stderr, want) {
			t.Errorf("%s: bench: exit %d, stderr %q", name, r.code, r.stderr)
		}
	}
}

// refusedAddr is a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func TestConnectionRefusedMessage(t *testing.T) {
	addr := refusedAddr(t)
	want := "aroundctl: cannot reach aroundme at " + addr + ": connection refused\n"
	env := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_KEY": testKey}
	for _, args := range [][]string{
		{"nearby", "--lat", "1", "--lng", "2"},
		{"bench", "--duration", "100ms", "--baseline-duration", "100ms", "--queries", "10"},
		{"load-bench", "--count", "10"},
	} {
		r := runCtl(t, env, args...)
		if r.code != 1 || !strings.HasSuffix(r.stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want 1, %q", args[0], r.code, r.stderr, want)
		}
	}
}

func TestDescribeErr(t *testing.T) {
	g := &globals{addr: "h:1", timeout: 3e9}
	for _, c := range []struct {
		err  error
		want string
	}{
		{status.Error(codes.Unavailable, `connection error: desc = "transport: Error while dialing: dial tcp h:1: connect: connection refused"`),
			"cannot reach aroundme at h:1: connection refused"},
		{status.Error(codes.Unavailable, "server is loading"), "aroundme at h:1 is unavailable (UNAVAILABLE): server is loading"},
		{status.Error(codes.DeadlineExceeded, "context deadline exceeded"), "no answer from aroundme at h:1 within --timeout 3s (DEADLINE_EXCEEDED)"},
		{status.Error(codes.PermissionDenied, "role advertiser"), "the API key may not call Nearby (PERMISSION_DENIED): role advertiser"},
		{status.Error(codes.InvalidArgument, "bad radius"), "Nearby failed (INVALID_ARGUMENT): bad radius"},
	} {
		if got := g.describeErr("Nearby", c.err); got != c.want {
			t.Errorf("describeErr(%v) = %q, want %q", c.err, got, c.want)
		}
	}

	// Field violations of INVALID_ARGUMENT are listed one per line.
	st, err := status.New(codes.InvalidArgument, "invalid request").WithDetails(&errdetails.BadRequest{
		FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: "radius_m", Description: "60000: must be at most 50000"},
			{Field: "limit", Description: "500: must be at most 100"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "Nearby failed (INVALID_ARGUMENT): invalid request\n  radius_m: 60000: must be at most 50000\n  limit: 500: must be at most 100"
	if got := g.describeErr("Nearby", st.Err()); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
