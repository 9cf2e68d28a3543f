package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// The test binary doubles as the aroundme binary: with AROUNDME_TEST_MAIN
// set it runs main's run() with the arguments after "--". This tests the real
// process (signals, exit codes, SIGKILL) without a separate build step.
func TestMain(m *testing.M) {
	if os.Getenv("AROUNDME_TEST_MAIN") == "1" {
		args := os.Args
		for i, a := range args {
			if a == "--" {
				args = args[i+1:]
				break
			}
		}
		os.Exit(run(args, os.Getenv, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// proc is a child aroundme process.
type proc struct {
	cmd    *exec.Cmd
	stdout *bytes.Buffer
	stderr *syncBuffer
	addr   string
	done   chan struct{}
	exit   int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs `aroundme args...` as a child process.
func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startEnv(t, nil, args...)
}

// startEnv is start with extra environment variables.
func startEnv(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^$", "--"}, args...)...)
	cmd.Env = append(append(os.Environ(), "AROUNDME_TEST_MAIN=1"), env...)
	p := &proc{cmd: cmd, stdout: &bytes.Buffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		p.exit = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait returns the exit code, failing the test after a minute.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.exit
	case <-time.After(time.Minute):
		t.Fatalf("process did not exit; stderr:\n%s", p.stderr.String())
		return -1
	}
}

// serving waits until the child logs its listener and reports SERVING.
func (p *proc) serving(t *testing.T) *grpc.ClientConn {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for p.addr == "" {
		sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
		for sc.Scan() {
			var line struct {
				Msg  string `json:"msg"`
				GRPC string `json:"grpc"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				p.addr = line.GRPC
			}
		}
		select {
		case <-p.done:
			t.Fatalf("server exited with %d:\n%s", p.exit, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not listen:\n%s", p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	conn, err := grpc.NewClient(p.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	hc := healthpb.NewHealthClient(conn)
	for {
		resp, err := hc.Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.Status == healthpb.HealthCheckResponse_SERVING {
			return conn
		}
		if time.Now().After(deadline) {
			t.Fatalf("not SERVING: %v %v\n%s", err, resp, p.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const (
	testAdminKey      = "e2e-admin-key"
	testAdvertiserKey = "e2e-advertiser-key"
)

func keysFile(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.yaml")
	for _, e := range []auth.KeyEntry{
		{Name: "ops", SHA256: auth.HashKey(testAdminKey), Role: auth.RoleAdmin},
		{Name: "acme", SHA256: auth.HashKey(testAdvertiserKey), Role: auth.RoleAdvertiser, AdvertiserID: "acme"},
	} {
		if err := auth.AppendKey(path, e); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func serveArgs(dataDir, keys string) []string {
	// The tests drive the server with one admin key as fast as they can:
	// the per-principal rate limit is not what they are about.
	return []string{"serve", "--grpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--data-dir", dataDir, "--keys-file", keys, "--shutdown-grace", "5s", "--rate-admin", "0", "--rate-advertiser", "0"}
}

func admin() context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+testAdminKey)
}

func advertiser() context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+testAdvertiserKey)
}

func item(id string, n int) *v1.MiniProgram {
	return &v1.MiniProgram{
		Id: id, Name: fmt.Sprintf("Item %s v%d", id, n), Category: v1.Category_CATEGORY_FOOD,
		Places:     []*v1.Place{{Id: "p1", Location: &v1.LatLng{Latitude: 31.2 + float64(n%100)/1000, Longitude: 121.4}}},
		Popularity: int64(n),
	}
}
