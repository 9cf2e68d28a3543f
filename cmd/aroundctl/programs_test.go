package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"gopkg.in/yaml.v3"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/auth"
	"github.com/aroundme/aroundme/pkg/config"
	"github.com/aroundme/aroundme/pkg/server/servertest"
)

// startServer runs the real aroundme server on loopback ports, with a keys
// file holding the admin key that 'aroundctl keys new' makes, and returns
// its address and that key.
func startServer(t *testing.T) (addr, adminKey string) {
	t.Helper()
	return startServerWith(t, nil)
}

// startServerWith is startServer with a change to the server's config.
func startServerWith(t *testing.T, mutate func(*config.Config)) (addr, adminKey string) {
	t.Helper()
	addr, _, adminKey = startServerMetrics(t, mutate)
	return addr, adminKey
}

// startServerMetrics is startServerWith that also returns the address of
// the server's metrics listener (/metrics, /healthz, /readyz).
func startServerMetrics(t *testing.T, mutate func(*config.Config)) (addr, metricsAddr, adminKey string) {
	t.Helper()
	keysFile := filepath.Join(t.TempDir(), "keys.yaml")
	r := runCtl(t, nil, "keys", "new", "--keys-file", keysFile, "--role", "admin", "--name", "ops")
	if r.code != 0 {
		t.Fatalf("keys new: exit %d: %s", r.code, r.stderr)
	}
	adminKey = strings.TrimSpace(r.stdout)
	// A client key too, to see PERMISSION_DENIED.
	if err := auth.AppendKey(keysFile, auth.KeyEntry{Name: "app", SHA256: auth.HashKey(testKey), Role: auth.RoleClient}); err != nil {
		t.Fatal(err)
	}

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.KeysFile = keysFile
	cfg.Catalog.ImportBatch = 2 // cross batch boundaries
	cfg.GRPC.ShutdownGrace = time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	srv := servertest.Start(t, cfg)
	return srv.GRPCAddr, srv.MetricsAddr, adminKey
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustContain(t *testing.T, what string, r result, code int, wants ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, r.code, code, r.stdout, r.stderr)
	}
	all := r.stdout + r.stderr
	for _, w := range wants {
		if !strings.Contains(all, w) {
			t.Errorf("%s: output lacks %q\nstdout:\n%s\nstderr:\n%s", what, w, r.stdout, r.stderr)
		}
	}
}

const e2eCSV = `id,name,category,rating,place_id,lat,lng,label
sunny-bike,Sunny Bike,transport,4.6,sanlitun,39.9334,116.4540,Sanlitun
sunny-bike,,,,,39.9,116.3,West
noodles,Golden Noodles,CATEGORY_FOOD,4.2,,39.91,116.41,
BAD,Bad Id,food,1,,1,2,
broken,Broken,food,high,,1,2,
`

const e2eGeoJSON = `{"type": "FeatureCollection", "features": [
 {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.4737, 31.2304]},
  "properties": {"id": "metro-card", "name": "Metro Card", "category": "TRANSPORT", "place_id": "peoples-square"}},
 {"type": "Feature", "geometry": {"type": "Point", "coordinates": [114.0579, 22.5431]},
  "properties": {"id": "tea-house", "name": "Tea House", "category": "food", "genders": ["female", "male"]}},
 {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.5, 31.24]},
  "properties": {"id": "metro-card", "place_id": "lujiazui", "label": "Lujiazui"}}
]}`

func TestMiniProgramsEndToEnd(t *testing.T) {
	addr, key := startServer(t)
	env := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_ADMIN_KEY": key, "AROUNDME_CLIENT_KEY": testKey}
	dir := t.TempDir()

	// CSV: a parse error and a server rejection, each at its line.
	r := runCtl(t, env, "mini-programs", "import", writeFile(t, "shops.csv", e2eCSV), "--batch-log", "1")
	mustContain(t, "import csv", r, 1,
		"3 sent, 2 created, 0 updated, 2 failed (1 parse, 1 server)",
		`line 5 ("BAD"): invalid mini_program.id`,
		`line 6 ("broken"): rating "high": not a number`,
		"import: sent 3 items")

	// GeoJSON: [lng, lat], features grouped by id.
	r = runCtl(t, env, "mini-programs", "import", writeFile(t, "places.geojson", e2eGeoJSON))
	mustContain(t, "import geojson", r, 0, "2 sent, 2 created, 0 updated, 0 failed")

	// list: table and YAML.
	r = runCtl(t, env, "mini-programs", "list")
	mustContain(t, "list", r, 0, "ID", "PLACES", "metro-card", "noodles", "sunny-bike", "TRANSPORT")
	if !strings.Contains(r.stdout, "metro-card  Metro Card") {
		t.Errorf("list table:\n%s", r.stdout)
	}
	r = runCtl(t, env, "-o", "yaml", "mini-programs", "list", "--page-size", "2", "--category", "transport")
	mustContain(t, "list yaml", r, 0, "mini_programs:", "- id: metro-card", "    name: Metro Card", `version: "1"`)
	var y map[string]any
	if err := yaml.Unmarshal([]byte(r.stdout), &y); err != nil || len(y["mini_programs"].([]any)) != 2 {
		t.Fatalf("list -o yaml: %v\n%s", err, r.stdout)
	}
	r = runCtl(t, env, "-o", "json", "mini-programs", "list", "--page-size", "1", "--all")
	var all pb.ListMiniProgramsResponse
	if err := protojson.Unmarshal([]byte(r.stdout), &all); err != nil || len(all.MiniPrograms) != 4 || all.NextPageToken != "" {
		t.Fatalf("list --all -o json: %v, %d items\n%s", err, len(all.MiniPrograms), r.stdout)
	}

	// get: the table, and JSON with the flag after the argument.
	r = runCtl(t, env, "mini-programs", "get", "metro-card")
	mustContain(t, "get", r, 0, "name:        Metro Card", "places (2):", "peoples-square", "31.2304", "121.4737", "lujiazui", "version:     1")
	r = runCtl(t, env, "mini-programs", "get", "sunny-bike", "-o", "json")
	var mp pb.MiniProgram
	if err := protojson.Unmarshal([]byte(r.stdout), &mp); err != nil {
		t.Fatalf("get -o json: %v\n%s", err, r.stdout)
	}
	if len(mp.Places) != 2 || mp.Places[1].GetId() != "p2" || mp.Category != pb.Category_CATEGORY_TRANSPORT || mp.Version != 1 {
		t.Fatalf("get: %v", &mp)
	}

	// hide, unhide, and a stale --expected-version.
	mustContain(t, "hide", runCtl(t, env, "mini-programs", "hide", "sunny-bike", "--expected-version", "1"), 0, "mini-program sunny-bike is hidden (version 2)")
	mustContain(t, "stale hide", runCtl(t, env, "mini-programs", "unhide", "sunny-bike", "--expected-version", "1"), 1,
		`the version of mini-program "sunny-bike" moved (ABORTED`, "re-read it ('aroundctl mini-programs get sunny-bike')")
	r = runCtl(t, env, "mini-programs", "list")
	if !strings.Contains(r.stdout, "hidden") {
		t.Errorf("list does not show hidden:\n%s", r.stdout)
	}
	mustContain(t, "unhide", runCtl(t, env, "mini-programs", "unhide", "sunny-bike"), 0, "mini-program sunny-bike is visible (version 3)")

	// export → re-import: every item updated, none failed.
	r = runCtl(t, env, "mini-programs", "export")
	mustContain(t, "export", r, 0, "exported 4 mini-programs")
	if n := strings.Count(r.stdout, "\n"); n != 4 || !strings.Contains(r.stdout, `"icon_url"`) && !strings.Contains(r.stdout, `"create_time"`) {
		t.Fatalf("export: %d lines\n%s", n, r.stdout)
	}
	exported := filepath.Join(dir, "catalog.jsonl")
	if err := os.WriteFile(exported, []byte(r.stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "dry run", runCtl(t, env, "mini-programs", "import", "--dry-run", exported), 0, "nothing sent: 4 valid, 0 failed")
	r = runCtl(t, env, "mini-programs", "import", exported)
	mustContain(t, "re-import", r, 0, "4 sent, 0 created, 4 updated, 0 failed")
	r = runCtl(t, env, "-o", "json", "mini-programs", "export", "--category", "food")
	mustContain(t, "export -o json", r, 2, `want table or jsonl`)
	r = runCtl(t, env, "mini-programs", "export", "--category", "food")
	if strings.Count(r.stdout, "\n") != 2 || !strings.Contains(r.stdout, `"id":"noodles"`) {
		t.Fatalf("export --category food:\n%s", r.stdout)
	}

	// delete, then NOT_FOUND.
	mustContain(t, "delete", runCtl(t, env, "mini-programs", "delete", "noodles"), 0, "deleted mini-program noodles")
	for _, cmd := range []string{"get", "delete", "hide"} {
		mustContain(t, cmd+" missing", runCtl(t, env, "mini-programs", cmd, "noodles"), 1, `aroundctl: mini-program "noodles" not found`)
	}

	// Bad keys.
	bad := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_KEY": "am_wrong"}
	for _, args := range [][]string{{"mini-programs", "list"}, {"mini-programs", "get", "sunny-bike"}, {"mini-programs", "import", exported}} {
		mustContain(t, "bad key "+args[1], runCtl(t, bad, args...), 1, "the server rejected the API key (UNAUTHENTICATED)")
	}
	client := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_KEY": testKey}
	mustContain(t, "client key", runCtl(t, client, "mini-programs", "list"), 1, "the API key may not call ListMiniPrograms (PERMISSION_DENIED)")
}

func TestMiniProgramsUsage(t *testing.T) {
	for name, c := range map[string]struct {
		args []string
		code int
		want string
	}{
		"group help":       {[]string{"mini-programs", "--help"}, 0, "Usage: aroundctl mini-programs <command>"},
		"help sub":         {[]string{"help", "mini-programs", "import"}, 0, "Usage: aroundctl mini-programs import FILE"},
		"group help sub":   {[]string{"mini-programs", "help", "list"}, 0, "Usage: aroundctl mini-programs list"},
		"no sub":           {[]string{"mini-programs"}, 2, "Commands:"},
		"unknown sub":      {[]string{"mini-programs", "frob"}, 2, `unknown command "frob"`},
		"missing id":       {[]string{"mini-programs", "get"}, 2, "missing ID"},
		"extra arg":        {[]string{"mini-programs", "get", "a", "b"}, 2, `unexpected argument "b"`},
		"missing file":     {[]string{"mini-programs", "import"}, 2, "missing FILE"},
		"bad format":       {[]string{"mini-programs", "import", "x.csv", "--format", "xml"}, 2, `--format "xml"`},
		"no such file":     {[]string{"mini-programs", "import", "/nonexistent/x.csv"}, 1, "no such file"},
		"bad page size":    {[]string{"mini-programs", "list", "--page-size", "0"}, 2, "--page-size 0"},
		"bad category":     {[]string{"mini-programs", "list", "--category", "nope"}, 2, `unknown value "nope"`},
		"bad version":      {[]string{"mini-programs", "delete", "a", "--expected-version", "-1"}, 2, "--expected-version"},
		"keys help":        {[]string{"keys", "new", "--help"}, 0, "Example:"},
		"keys no file":     {[]string{"keys", "new", "--role", "admin"}, 2, "--keys-file is required"},
		"keys bad role":    {[]string{"keys", "new", "--keys-file", "k.yaml", "--role", "root"}, 2, "--role"},
		"unknown group op": {[]string{"keys", "old"}, 2, `unknown command "old"`},
	} {
		r := runCtl(t, nil, c.args...)
		if r.code != c.code || !strings.Contains(r.stdout+r.stderr, c.want) {
			t.Errorf("%s: exit %d (want %d), output lacks %q:\n%s%s", name, r.code, c.code, c.want, r.stdout, r.stderr)
		}
	}
	// Every subcommand has a usage with an example.
	for _, group := range commands {
		for _, sc := range group.subs {
			r := runCtl(t, nil, group.name, sc.name, "--help")
			if r.code != 0 || !strings.Contains(r.stdout, "Usage: aroundctl "+group.name+" "+sc.name) ||
				!strings.Contains(r.stdout, "Example") || !strings.Contains(r.stdout, "--addr") {
				t.Errorf("%s %s --help: exit %d\n%s", group.name, sc.name, r.code, r.stdout)
			}
		}
	}
}

func TestMiniProgramsConnectionRefused(t *testing.T) {
	addr := refusedAddr(t)
	want := "aroundctl: cannot reach aroundme at " + addr + ": connection refused\n"
	env := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_ADMIN_KEY": testKey}
	file := writeFile(t, "a.csv", "id,lat,lng\na1,1,2\n")
	for _, args := range [][]string{
		{"mini-programs", "list"}, {"mini-programs", "get", "a1"}, {"mini-programs", "export"}, {"mini-programs", "import", file},
	} {
		r := runCtl(t, env, args...)
		if r.code != 1 || !strings.HasSuffix(r.stderr, want) {
			t.Errorf("%v: exit %d, stderr %q; want 1, %q", args, r.code, r.stderr, want)
		}
	}
}

func TestKeysNew(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys.yaml")
	r := runCtl(t, map[string]string{"AROUNDME_KEYS_FILE": file}, "keys", "new", "--role", "advertiser", "--advertiser", "acme")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	key := strings.TrimSpace(r.stdout)
	if !strings.HasPrefix(key, auth.KeyPrefix) || strings.Count(r.stdout, "\n") != 1 || strings.Contains(r.stderr, key) {
		t.Fatalf("stdout %q, stderr %q: want the key alone on stdout", r.stdout, r.stderr)
	}
	if !strings.Contains(r.stderr, `added key "advertiser-acme" (advertiser) to `+file) {
		t.Fatalf("stderr: %q", r.stderr)
	}
	ks, err := auth.LoadKeysFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := ks.Authenticate(key)
	if !ok || p.Role != auth.RoleAdvertiser || p.AdvertiserID != "acme" {
		t.Fatalf("the key does not authenticate as advertiser acme: %+v %v", p, ok)
	}
	// The same name again is refused by auth.AppendKey, without a key on stdout.
	r = runCtl(t, nil, "keys", "new", "--keys-file", file, "--role", "advertiser", "--advertiser", "acme")
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "already has name") {
		t.Fatalf("duplicate: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	// An advertiser key needs --advertiser.
	if r := runCtl(t, nil, "keys", "new", "--keys-file", file, "--role", "advertiser", "--name", "x"); r.code != 1 || r.stdout != "" {
		t.Fatalf("advertiser without id: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

func TestYAMLOutput(t *testing.T) {
	addr, _ := startFake(t, sampleResponse())
	env := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_CLIENT_KEY": testKey}
	r := runCtl(t, env, "-o", "yaml", "nearby", "--lat", "1", "--lng", "2")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"results:\n  - mini_program:\n      id: sunny-bike\n", "next_page_token: tok123\n", "distance_m: 120.4\n", "category: CATEGORY_TRANSPORT\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("yaml lacks %q:\n%s", want, r.stdout)
		}
	}
	// int64 values, strings in protojson, stay strings; odd strings are quoted.
	b, err := jsonToYAML([]byte(`{"popularity":"123","name":"yes: no","n":1.5,"list":[],"obj":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := yaml.Unmarshal(b, &back); err != nil || back["popularity"] != "123" || back["name"] != "yes: no" || back["n"] != 1.5 {
		t.Fatalf("yaml %q: %v %v", b, back, err)
	}
}
