package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/auth"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// TestStartErrors: every bad start is a non-zero exit with one clear line per
// problem on stderr.
func TestStartErrors(t *testing.T) {
	keys := keysFile(t)
	badKeys := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(badKeys, []byte("keys:\n  - name: x\n    sha256: nothex\n    role: root\n"), 0o600)
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"every bad flag at once", []string{"serve", "--keys-file", keys, "--max-concurrent-streams", "lots", "--log-level", "loud", "--connection-timeout", "-1s"},
			2, []string{"--max-concurrent-streams \"lots\": want an integer", "--log-level \"loud\"", "--connection-timeout -1s: must be positive"}},
		{"no keys file", []string{"serve", "--data-dir", t.TempDir()}, 2, []string{"--keys-file: required"}},
		{"bad address", []string{"serve", "--keys-file", keys, "--grpc-addr", "nowhere"}, 2, []string{"--grpc-addr \"nowhere\""}},
		{"unknown flag", []string{"serve", "--nope"}, 2, []string{"flag provided but not defined: -nope"}},
		{"keys file missing", []string{"serve", "--keys-file", "/nonexistent/keys.yaml", "--data-dir", t.TempDir()}, 1, []string{"/nonexistent/keys.yaml"}},
		{"bad keys file", []string{"serve", "--keys-file", badKeys, "--data-dir", t.TempDir()}, 1, []string{"sha256", "role"}},
		{"unknown command", []string{"frobnicate"}, 2, []string{"unknown command"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := start(t, tc.args...)
			if code := p.wait(t); code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, p.stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(p.stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, p.stderr.String())
				}
			}
		})
	}
}

// TestConfigFileErrors: a config file's problems are reported with their
// lines, together with the environment's.
func TestConfigFileErrors(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "aroundme.yaml")
	os.WriteFile(cfgFile, []byte("log-level: warn\nmax-concurrent-streams: lots\ncolour: blue\n"), 0o600)
	p := startEnv(t, []string{"AROUNDME_SHUTDOWN_GRACE=forever"}, "serve", "--config", cfgFile, "--keys-file", keysFile(t))
	code := p.wait(t)
	for _, want := range []string{"line 2", "line 3: unknown setting \"colour\"", "AROUNDME_SHUTDOWN_GRACE=\"forever\""} {
		if code != 2 || !strings.Contains(p.stderr.String(), want) {
			t.Errorf("exit %d, stderr lacks %q:\n%s", code, want, p.stderr.String())
		}
	}
}

// TestLockedAndCorrupt: a second server on the same data dir and a corrupt
// data file both stop the start with a clear message; the corrupt file is
// left as it was.
func TestLockedAndCorrupt(t *testing.T) {
	dir, keys := t.TempDir(), keysFile(t)
	first := start(t, serveArgs(dir, keys)...)
	conn := first.serving(t)
	if _, err := v1.NewCatalogServiceClient(conn).CreateMiniProgram(admin(), &v1.CreateMiniProgramRequest{MiniProgram: item("a", 1)}); err != nil {
		t.Fatal(err)
	}
	second := start(t, serveArgs(dir, keys)...)
	if code := second.wait(t); code == 0 || !strings.Contains(second.stderr.String(), "in use by another aroundme process") {
		t.Fatalf("second server on a locked dir: exit %d\n%s", code, second.stderr.String())
	}
	first.cmd.Process.Signal(syscall.SIGTERM)
	if code := first.wait(t); code != 0 {
		t.Fatalf("SIGTERM exit %d\n%s", code, first.stderr.String())
	}

	db := filepath.Join(dir, "aroundme.db")
	data, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte("*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\ngarbage here\r\n"), data...)
	os.WriteFile(db, corrupt, 0o600)
	third := start(t, serveArgs(dir, keys)...)
	if code := third.wait(t); code == 0 || !strings.Contains(third.stderr.String(), "corrupt") {
		t.Fatalf("corrupt data file: exit %d\n%s", code, third.stderr.String())
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(after, corrupt) {
		t.Fatal("the corrupt data file was modified")
	}
	if lines := strings.Count(strings.TrimSpace(third.stderr.String()), "\n") + 1; lines > 3 {
		t.Logf("stderr has %d lines:\n%s", lines, third.stderr.String())
	}
}

// TestCrashKill: a real server under concurrent catalog and campaign writes,
// Nearby reads and reported events is SIGKILLed at a random moment, twenty
// times; after each restart on the same dir every acknowledged write is
// there, every write that was in flight is either wholly there or absent,
// the index answers what the store holds, and the event counters lost at
// most the last flush interval (crash_campaigns_test.go).
func TestCrashKill(t *testing.T) {
	dir, keys := t.TempDir(), keysFile(t)
	args := append(serveArgs(dir, keys), "--counter-flush-interval", crashFlushInterval)
	rng := rand.New(rand.NewPCG(1, 2))
	acked := map[string]*v1.MiniProgram{} // id -> last acknowledged content
	inflight := map[string][]*v1.MiniProgram{}
	camps := newCampaignCrashState()
	var killed time.Time
	rounds := 20
	if testing.Short() {
		rounds = 2
	}
	for round := range rounds {
		p := start(t, args...)
		conn := p.serving(t)
		// inflight is not reset between rounds: a write that was committed
		// but not acknowledged before an earlier kill stays a valid stored
		// state until a later write of the same id is acknowledged.
		checkAcked(t, v1.NewCatalogServiceClient(conn), acked, inflight)
		if round == 0 {
			camps.setup(t, conn)
		}
		camps.check(t, conn, killed)
		c := v1.NewCatalogServiceClient(conn)
		var mu sync.Mutex
		var wg sync.WaitGroup
		ctx, cancel := context.WithCancel(context.Background())
		wg.Add(2)
		go func() { defer wg.Done(); camps.writer(ctx, conn) }()
		go func() { defer wg.Done(); camps.events(ctx, conn) }()
		wg.Add(1)
		go func() { // Nearby traffic at the same time
			defer wg.Done()
			d := v1.NewDiscoveryServiceClient(conn)
			for ctx.Err() == nil {
				_, err := d.Nearby(admin(), &v1.NearbyRequest{Location: &v1.LatLng{Latitude: 31.25, Longitude: 121.4}, RadiusM: 10000, Limit: 100})
				if c := status.Code(err); c == codes.Internal || c == codes.Unknown && ctx.Err() == nil && !strings.Contains(err.Error(), "EOF") {
					t.Errorf("Nearby during writes: %v", err)
				}
			}
		}()
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; ctx.Err() == nil; n++ {
					id := fmt.Sprintf("w%d-%04d", w, n%50) // creates, then updates of the same ids
					mp := item(id, round*100000+n)
					mu.Lock()
					inflight[id] = append(inflight[id], mp)
					mu.Unlock()
					_, err := c.UpdateMiniProgram(admin(), &v1.UpdateMiniProgramRequest{MiniProgram: mp})
					if status.Code(err) == codes.NotFound {
						_, err = c.CreateMiniProgram(admin(), &v1.CreateMiniProgramRequest{MiniProgram: mp})
					}
					if err == nil {
						mu.Lock()
						acked[id] = mp
						inflight[id] = nil
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(300+rng.IntN(2200)) * time.Millisecond)
		killed = time.Now()
		p.cmd.Process.Kill()
		p.wait(t)
		cancel()
		wg.Wait()
	}
	p := start(t, args...)
	conn := p.serving(t)
	checkAcked(t, v1.NewCatalogServiceClient(conn), acked, inflight)
	checkIndexMatchesStore(t, conn)
	camps.check(t, conn, killed)
	if len(acked) == 0 || len(camps.acked) == 0 || camps.stored == 0 {
		t.Fatalf("%d records, %d campaigns, %d impressions acknowledged: the test proved too little", len(acked), len(camps.acked), camps.stored)
	}
	t.Logf("%d records, %d campaigns and %d impressions acknowledged over %d kills", len(acked), len(camps.acked), camps.stored, rounds)
}

// checkIndexMatchesStore: every stored mini-program is found by Nearby at
// its place, and Nearby finds nothing the store does not hold.
func checkIndexMatchesStore(t *testing.T, conn *grpc.ClientConn) {
	t.Helper()
	stored := map[string]*v1.MiniProgram{}
	tok := ""
	for {
		resp, err := v1.NewCatalogServiceClient(conn).ListMiniPrograms(admin(), &v1.ListMiniProgramsRequest{PageSize: 1000, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, mp := range resp.MiniPrograms {
			stored[mp.Id] = mp
		}
		if tok = resp.NextPageToken; tok == "" {
			break
		}
	}
	d := v1.NewDiscoveryServiceClient(conn)
	found := map[string]bool{}
	for _, mp := range stored {
		loc := mp.Places[0].Location
		resp, err := d.Nearby(admin(), &v1.NearbyRequest{Location: loc, RadiusM: 1, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		hit := false
		for _, r := range resp.Results {
			found[r.MiniProgram.Id] = true
			if stored[r.MiniProgram.Id] == nil {
				t.Fatalf("Nearby returns %s, which the store does not hold", r.MiniProgram.Id)
			}
			hit = hit || r.MiniProgram.Id == mp.Id
		}
		if !hit {
			t.Fatalf("%s is stored but Nearby at its place does not find it", mp.Id)
		}
	}
}

// checkAcked: each acknowledged record is stored with the content of its last
// acknowledged write or of a later write that was in flight at the kill.
func checkAcked(t *testing.T, c v1.CatalogServiceClient, acked map[string]*v1.MiniProgram, inflight map[string][]*v1.MiniProgram) {
	t.Helper()
	for id, want := range acked {
		resp, err := c.GetMiniProgram(admin(), &v1.GetMiniProgramRequest{Id: id})
		if err != nil {
			t.Fatalf("acknowledged %s lost: %v", id, err)
		}
		if !sameContent(resp.MiniProgram, want) && !anySame(resp.MiniProgram, inflight[id]) {
			t.Fatalf("%s: stored %v, acknowledged %v", id, resp.MiniProgram, want)
		}
	}
	for id, cands := range inflight {
		if _, ok := acked[id]; ok || len(cands) == 0 {
			continue
		}
		resp, err := c.GetMiniProgram(admin(), &v1.GetMiniProgramRequest{Id: id})
		if status.Code(err) == codes.NotFound {
			continue
		}
		if err != nil || !anySame(resp.MiniProgram, cands) {
			t.Fatalf("unacknowledged %s is neither absent nor whole: %v %v", id, err, resp)
		}
	}
}

func sameContent(got, want *v1.MiniProgram) bool {
	g := proto.Clone(got).(*v1.MiniProgram)
	g.Version, g.CreateTime, g.UpdateTime = 0, nil, nil
	return proto.Equal(g, want)
}

func anySame(got *v1.MiniProgram, cands []*v1.MiniProgram) bool {
	for _, c := range cands {
		if sameContent(got, c) {
			return true
		}
	}
	return false
}

// TestKeysNew: `aroundme keys new` prints a key once, stores only its hash,
// and refuses bad roles.
func TestKeysNew(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.yaml")
	p := start(t, "keys", "new", "--keys-file", file, "--role", "advertiser", "--advertiser", "acme")
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr.String())
	}
	key := strings.TrimSpace(p.stdout.String())
	data, _ := os.ReadFile(file)
	if key == "" || strings.Contains(string(data), key) {
		t.Fatalf("key %q printed? file stores it in clear? %s", key, data)
	}
	ks, err := auth.LoadKeysFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if pr, ok := ks.Authenticate(key); !ok || pr.Role != auth.RoleAdvertiser || pr.AdvertiserID != "acme" {
		t.Fatalf("the printed key does not authenticate as acme: %+v %v", pr, ok)
	}
	bad := start(t, "keys", "new", "--keys-file", file, "--role", "root")
	if code := bad.wait(t); code != 2 || !strings.Contains(bad.stderr.String(), "--role") {
		t.Fatalf("bad role: exit %d %s", code, bad.stderr.String())
	}
}

// TestGracefulShutdownUnderLoad: SIGTERM while clients write and read: the
// calls in flight finish, later ones are refused with UNAVAILABLE (never an
// internal error), the process exits 0, and every acknowledged write is
// there after a restart.
func TestGracefulShutdownUnderLoad(t *testing.T) {
	dir, keys := t.TempDir(), keysFile(t)
	p := start(t, serveArgs(dir, keys)...)
	conn := p.serving(t)
	c := v1.NewCatalogServiceClient(conn)
	d := v1.NewDiscoveryServiceClient(conn)
	var mu sync.Mutex
	acked := map[string]*v1.MiniProgram{}
	codesSeen := map[codes.Code]int{}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				mp := item(fmt.Sprintf("g%d-%05d", w, n), n)
				var err error
				if w%2 == 0 {
					_, err = c.CreateMiniProgram(admin(), &v1.CreateMiniProgramRequest{MiniProgram: mp})
				} else {
					_, err = d.Nearby(admin(), &v1.NearbyRequest{Location: &v1.LatLng{Latitude: 31.25, Longitude: 121.4}, RadiusM: 5000})
				}
				mu.Lock()
				codesSeen[status.Code(err)]++
				if err == nil && w%2 == 0 {
					acked[mp.Id] = mp
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	code := p.wait(t)
	time.Sleep(100 * time.Millisecond) // calls after the exit
	cancel()
	wg.Wait()
	if code != 0 {
		t.Fatalf("exit %d after SIGTERM:\n%s", code, p.stderr.String())
	}
	for c, n := range codesSeen {
		if c != codes.OK && c != codes.Unavailable {
			t.Fatalf("%d calls ended %v during the shutdown (want only OK or UNAVAILABLE): %v", n, c, codesSeen)
		}
	}
	if codesSeen[codes.OK] == 0 || codesSeen[codes.Unavailable] == 0 {
		t.Fatalf("the test did not straddle the shutdown: %v", codesSeen)
	}
	p2 := start(t, serveArgs(dir, keys)...)
	checkAcked(t, v1.NewCatalogServiceClient(p2.serving(t)), acked, nil)
	t.Logf("%d writes acknowledged; outcomes %v", len(acked), codesSeen)
}
