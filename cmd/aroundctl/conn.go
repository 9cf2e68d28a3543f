package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/aroundme/aroundme/pkg/loadgen"
)

// bearer sends an API key as "authorization: Bearer <key>" on every call.
type bearer struct {
	md     map[string]string
	secure bool
}

func newBearer(key string, secure bool) bearer {
	return bearer{md: map[string]string{"authorization": "Bearer " + key}, secure: secure}
}

// GetRequestMetadata implements credentials.PerRPCCredentials. The map is
// shared: gRPC only reads it.
func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return b.md, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: a key
// goes in plaintext only when the user asked for --insecure.
func (b bearer) RequireTransportSecurity() bool { return b.secure }

// useTLS reports whether the connection is TLS: asked for with --tls, any
// --tls-* file, or --insecure=false.
func (g *globals) useTLS() bool {
	return g.tls || g.tlsCA != "" || g.tlsCert != "" || g.tlsKey != "" || g.tlsServer != "" || !g.insecure
}

// transportCredentials is the one place that picks how the connection is
// secured.
func (g *globals) transportCredentials() (credentials.TransportCredentials, error) {
	if !g.useTLS() {
		return insecure.NewCredentials(), nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: g.tlsServer}
	if g.tlsCA != "" {
		pem, err := os.ReadFile(g.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", g.tlsCA)
		}
	}
	if (g.tlsCert == "") != (g.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if g.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(g.tlsCert, g.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return credentials.NewTLS(cfg), nil
}

// dial makes a client connection to --addr that sends key (if not empty)
// with every call. The connection is made lazily, by the first call.
func (g *globals) dial(key string, extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	tc, err := g.transportCredentials()
	if err != nil {
		return nil, err
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(tc)}
	if key != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(newBearer(key, g.useTLS())))
	}
	opts = append(opts, extra...)
	cc, err := grpc.NewClient(g.addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("bad --addr %q: %w", g.addr, err)
	}
	return cc, nil
}

// describeErr turns the error of a call to method ("Nearby") into the
// message the user sees, with a hint where one helps.
func (g *globals) describeErr(method string, err error) string {
	if err == nil {
		return ""
	}
	st, ok := status.FromError(err)
	if !ok {
		if isConnRefused(err, err.Error()) {
			return fmt.Sprintf("cannot reach aroundme at %s: connection refused", g.addr)
		}
		return fmt.Sprintf("%s: %v", method, err)
	}
	msg := st.Message()
	switch st.Code() {
	case codes.Unauthenticated:
		return "the server rejected the API key (UNAUTHENTICATED): pass --key or set " + envKey
	case codes.PermissionDenied:
		return fmt.Sprintf("the API key may not call %s (PERMISSION_DENIED): %s", method, msg)
	case codes.Unavailable:
		if isConnRefused(err, msg) {
			return fmt.Sprintf("cannot reach aroundme at %s: connection refused", g.addr)
		}
		if strings.Contains(msg, "server preface") && !g.useTLS() {
			return fmt.Sprintf("cannot reach aroundme at %s: the server closed a plaintext connection — it probably serves TLS: pass --tls-ca FILE (or --tls)", g.addr)
		}
		if strings.Contains(msg, "authentication handshake failed") {
			return fmt.Sprintf("cannot reach aroundme at %s: TLS handshake failed (%s): check --tls-ca, --tls-server-name, and --tls-cert/--tls-key if the server requires client certificates", g.addr, msg)
		}
		if strings.Contains(msg, "connection error") || strings.Contains(msg, "transport:") {
			return fmt.Sprintf("cannot reach aroundme at %s: %s", g.addr, msg)
		}
		return fmt.Sprintf("aroundme at %s is unavailable (UNAVAILABLE): %s", g.addr, msg)
	case codes.DeadlineExceeded:
		return fmt.Sprintf("no answer from aroundme at %s within --timeout %v (DEADLINE_EXCEEDED)", g.addr, g.timeout)
	case codes.Unimplemented:
		return fmt.Sprintf("the server at %s does not implement %s yet (UNIMPLEMENTED): %s", g.addr, method, msg)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s failed (%s): %s", method, loadgen.CodeName(st.Code()), msg)
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fmt.Fprintf(&b, "\n  %s: %s", v.GetField(), v.GetDescription())
			}
		}
	}
	return b.String()
}

// isConnRefused tells a refused TCP connection, whether err wraps the errno
// or gRPC flattened it into a status message.
func isConnRefused(err error, msg string) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || strings.Contains(msg, "connection refused")
}

// pages calls fetch (with the --timeout deadline) for the page at token,
// then — when all — for each following page, until a page has no next
// token. It returns the last next-page token and fetch's first error.
func (e *env) pages(ctx context.Context, token string, all bool, fetch func(ctx context.Context, token string) (next string, err error)) (string, error) {
	for {
		cctx, cancel := context.WithTimeout(ctx, e.g.timeout)
		next, err := fetch(cctx, token)
		cancel()
		if err != nil || !all || next == "" {
			return next, err
		}
		token = next
	}
}
