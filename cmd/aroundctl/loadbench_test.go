package main

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/dataset"
)

func TestLoadBench(t *testing.T) {
	addr, _, fc := startFakeCatalog(t, sampleResponse())
	maddr := fakeMetrics(t)
	env := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_ADMIN_KEY": testKey, "AROUNDME_CLIENT_KEY": "am_not_this_one"}
	r := runCtl(t, env, "load-bench", "--count", "600", "--batch-log", "200", "--seed", "3", "--metrics-addr", maddr)
	// Three items fail on the fake server, so the exit status is 1.
	if r.code != 1 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stderr, r.stdout)
	}
	t.Logf("\n%s%s", r.stderr, r.stdout)
	for _, want := range []string{
		"imported:   600 sent, 597 created, 0 updated, 3 failed",
		"throughput:", "items/s", "first errors:", `item 7 (`, "mini_program.name: required",
		"client CPU:", "server CPU: 0.50s",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if n := strings.Count(r.stderr, "load-bench: sent"); n != 3 {
		t.Errorf("%d progress lines, want 3 (every 200 of 600)", n)
	}

	// The items are the first 600 of the benchmark catalog, in order.
	spec := dataset.BenchSpec(3)
	spec.MiniPrograms = 600
	var want []string
	dataset.Generate(spec, func(_ int, mp *pb.MiniProgram) error { want = append(want, mp.Id); return nil })
	got := fc.importedIDs()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("imported %d ids, want the %d of the catalog in order", len(got), len(want))
	}

	// -o json prints the server's summary.
	r = runCtl(t, env, "-o", "json", "load-bench", "--count", "5", "--batch-log", "0")
	var resp pb.ImportMiniProgramsResponse
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if err := protojson.Unmarshal([]byte(r.stdout), &resp); err != nil || resp.Created != 5 {
		t.Fatalf("JSON %q: %v, created %d", r.stdout, err, resp.Created)
	}
}

func TestLoadBenchNeedsTheRightKey(t *testing.T) {
	addr, _, _ := startFakeCatalog(t, sampleResponse())
	r := runCtl(t, map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_CLIENT_KEY": testKey}, "load-bench", "--count", "5")
	if r.code != 1 || !strings.Contains(r.stderr, "the server rejected the API key (UNAUTHENTICATED)") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r := runCtl(t, nil, "load-bench", "--count", "0"); r.code != 2 {
		t.Fatalf("--count 0: exit %d", r.code)
	}
}
