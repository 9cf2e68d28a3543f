package main

import (
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/auth"
	"github.com/aroundme/aroundme/pkg/config"
)

// testAdvertiserKey is the advertiser key of startServerAdvertiser.
const testAdvertiserKey = "am_test_advertiser_key"

// campaignYAML is the README's campaign.
const campaignYAML = `# The README's campaign.
name: Sanlitun bikes
mini_program_id: mp-0000001
geofence:
  include:
    - circle: {center: {latitude: 39.9334, longitude: 116.4540}, radius_m: 1500}
targeting: {min_age: 18, min_credit_score: 650}
schedule:
  time_zone: Asia/Shanghai
  dayparts:
    - days: [DAY_OF_WEEK_SATURDAY, DAY_OF_WEEK_SUNDAY]
      start_minute: 480
      end_minute: 1320
budget: {total_micros: 100000000, daily_micros: 5000000}
bid: {model: PRICING_MODEL_CPM, amount_micros: 2000000}
frequency_cap: {max_impressions: 3, window: 86400s}
creative: {headline: Ride free this weekend, call_to_action: Ride now}
`

const campaignJSON = `{
  "name": "Sanlitun bikes", "mini_program_id": "mp-0000001",
  "geofence": {"include": [{"circle": {"center": {"latitude": 39.9334, "longitude": 116.4540}, "radius_m": 1500}}]},
  "targeting": {"min_age": 18, "min_credit_score": 650},
  "schedule": {"time_zone": "Asia/Shanghai", "dayparts": [{"days": ["DAY_OF_WEEK_SATURDAY", "DAY_OF_WEEK_SUNDAY"], "start_minute": 480, "end_minute": 1320}]},
  "budget": {"total_micros": 100000000, "daily_micros": 5000000},
  "bid": {"model": "PRICING_MODEL_CPM", "amount_micros": 2000000},
  "frequency_cap": {"max_impressions": 3, "window": "86400s"},
  "creative": {"headline": "Ride free this weekend", "call_to_action": "Ride now"}
}`

func TestParseCampaignFile(t *testing.T) {
	fromYAML, err := parseCampaign("c.yaml", []byte(campaignYAML))
	if err != nil {
		t.Fatal(err)
	}
	if fromYAML.GetName() != "Sanlitun bikes" || fromYAML.GetGeofence().GetInclude()[0].GetCircle().GetRadiusM() != 1500 ||
		fromYAML.GetSchedule().GetDayparts()[0].GetDays()[1] != pb.DayOfWeek_DAY_OF_WEEK_SUNDAY ||
		fromYAML.GetFrequencyCap().GetWindow().AsDuration().Hours() != 24 || fromYAML.GetBudget().GetTotalMicros() != 100000000 {
		t.Fatalf("yaml: %v", fromYAML)
	}
	for _, name := range []string{"c.json", "-"} {
		fromJSON, err := parseCampaign(name, []byte(campaignJSON))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !protoEqual(fromJSON, fromYAML) {
			t.Errorf("%s: JSON and YAML differ:\n%v\n%v", name, fromJSON, fromYAML)
		}
	}
	// stdin YAML (no leading '{'), and an unquoted YAML timestamp.
	c, err := parseCampaign("-", []byte("name: x\nschedule: {start_time: 2025-06-01T00:00:00Z}\n"))
	if err != nil || c.GetSchedule().GetStartTime().AsTime().Year() != 2025 {
		t.Fatalf("stdin yaml: %v, %v", c, err)
	}

	for _, tc := range []struct {
		name, file, data string
		want             []string
	}{
		{"unknown yaml field", "c.yaml", "name: x\nbudget:\n  total_micros: 1\n  dialy_micros: 2\n",
			[]string{"c.yaml: line 4: ", `unknown field "dialy_micros"`}},
		{"unknown json field", "c.json", `{"name": "x", "nmae": "y"}`, []string{"c.json: ", `unknown field "nmae"`}},
		{"request wrapper", "c.json", `{"campaign": {"name": "x"}}`, []string{`unknown field "campaign"`, "not {campaign: ...}"}},
		{"bad yaml", "c.yml", "name: x\ngeofence:\n  include: [\n bid: 1\n", []string{"c.yml: yaml: line"}},
		{"bad yaml indent", "c.yaml", "name: x\n  budget: 1\n", []string{"c.yaml: yaml: line 2:"}},
		{"bad enum", "c.yaml", "bid: {model: CPX}\n", []string{"c.yaml: ", "CPX"}},
		{"empty", "c.yaml", "", []string{"c.yaml: empty document"}},
		{"stdin", "-", "name: [", []string{"standard input: yaml: line 1"}},
	} {
		_, err := parseCampaign(tc.file, []byte(tc.data))
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
		if strings.HasSuffix(tc.file, "yaml") && regexp.MustCompile(`\(line \d+:\d+\)`).MatchString(err.Error()) {
			t.Errorf("%s: error %q has a JSON position", tc.name, err)
		}
	}

	r, err := parseReachRequest("f.yaml", []byte("geofence:\n  include:\n    - cells: {h3_cells: [8831aa5025fffff]}\ntargeting: {min_age: 21}\n"))
	if err != nil || r.GetGeofence().GetInclude()[0].GetCells().GetH3Cells()[0] != "8831aa5025fffff" || r.GetTargeting().GetMinAge() != 21 {
		t.Fatalf("reach file: %v, %v", r, err)
	}
	if _, err := parseReachRequest("f.yaml", []byte("targeting: {min_age: 21}\n")); err == nil || !strings.Contains(err.Error(), "geofence is required") {
		t.Fatalf("reach without geofence: %v", err)
	}
}

func protoEqual(a, b *pb.Campaign) bool {
	ja, _ := marshalLine(a)
	jb, _ := marshalLine(b)
	return string(ja) == string(jb)
}

func TestCampaignTables(t *testing.T) {
	var b strings.Builder
	writeCampaignStats(&b, &pb.GetCampaignStatsResponse{
		Totals: &pb.Stats{Impressions: 12000, Clicks: 300, SpendMicros: 24_500_000},
		Days: []*pb.DailyStats{
			{Date: "2025-06-07", Stats: &pb.Stats{Impressions: 10000, Clicks: 250, SpendMicros: 20_000_000}},
			{Date: "2025-06-08", Stats: &pb.Stats{Impressions: 2000, Clicks: 50, SpendMicros: 4_500_000}},
		},
		Cells: []*pb.CellStats{{H3Cell: "8731aa502ffffff", Stats: &pb.Stats{Impressions: 12000, Clicks: 300, SpendMicros: 24_500_000}}},
	})
	want := `       IMPRESSIONS  CLICKS    CTR  SPEND
total        12000     300  2.50%   24.5

per day (2):
  DATE        IMPRESSIONS  CLICKS    CTR  SPEND
  2025-06-07        10000     250  2.50%     20
  2025-06-08         2000      50  2.50%    4.5

per cell (1):
  H3 CELL          IMPRESSIONS  CLICKS    CTR  SPEND
  8731aa502ffffff        12000     300  2.50%   24.5
`
	if b.String() != want {
		t.Errorf("stats table:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	writeCampaignStats(&b, &pb.GetCampaignStatsResponse{})
	if got := b.String(); !strings.Contains(got, "total            0       0    -      0") || !strings.Contains(got, "per day (0):") {
		t.Errorf("empty stats:\n%s", got)
	}

	b.Reset()
	writeReach(&b, &pb.EstimateReachResponse{AreaKm2: 7.0686, CellCount: 323, MiniProgramsInside: 41, RecentRequests: 18250})
	want = `area:                  7.07 km²
H3 cells:              323
mini-programs inside:  41
recent requests:       18250 (Nearby, last 7 days)
`
	if b.String() != want {
		t.Errorf("reach:\n%s\nwant:\n%s", b.String(), want)
	}

	for m, want := range map[int64]string{0: "0", 2_000_000: "2", 2_500_000: "2.5", 1: "0.000001", -1_250_000: "-1.25"} {
		if got := micros(m); got != want {
			t.Errorf("micros(%d) = %q, want %q", m, got, want)
		}
	}
}

func TestCampaignUnimplementedMessage(t *testing.T) {
	g := &globals{addr: "h:1"}
	got := g.describeErr("GetCampaignStats", status.Error(codes.Unimplemented, "GetCampaignStats is not implemented yet"))
	if !strings.Contains(got, "does not implement GetCampaignStats yet (UNIMPLEMENTED)") {
		t.Errorf("got %q", got)
	}
}

// startServerAdvertiser is startServer with an advertiser key of
// advertiser "acme" (testAdvertiserKey) in the keys file too.
func startServerAdvertiser(t *testing.T) (addr, adminKey string) {
	t.Helper()
	return startServerWith(t, func(cfg *config.Config) {
		if err := auth.AppendKey(cfg.KeysFile, auth.KeyEntry{Name: "acme-ads", SHA256: auth.HashKey(testAdvertiserKey), Role: auth.RoleAdvertiser, AdvertiserID: "acme"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestCampaignsEndToEnd(t *testing.T) {
	addr, adminKey := startServerAdvertiser(t)
	admin := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_ADMIN_KEY": adminKey}
	env := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_ADVERTISER_KEY": testAdvertiserKey}

	// The promoted mini-program must exist.
	mp := `{"id": "mp-0000001", "name": "Sunny Bike", "category": "CATEGORY_TRANSPORT", "places": [{"id": "p1", "location": {"latitude": 39.9334, "longitude": 116.454}}]}` + "\n"
	mustContain(t, "import", runCtl(t, admin, "mini-programs", "import", writeFile(t, "mp.jsonl", mp)), 0, "1 created")

	// create from YAML: the table.
	r := runCtl(t, env, "campaigns", "create", "-f", writeFile(t, "sanlitun.yaml", campaignYAML))
	mustContain(t, "create", r, 0, "name:           Sanlitun bikes", "advertiser:     acme", "mini-program:   mp-0000001",
		"state:          ACTIVE", "coverage:       ", " cells, 7.07 km²", "budget:         total 100, daily 5",
		"bid:            CPM 2", "frequency cap:  3 per 24h0m0s", "Sat,Sun 08:00-22:00 (Asia/Shanghai)", "version:        1")
	m := regexp.MustCompile(`(?m)^id:\s+(\S+)$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("create: no id:\n%s", r.stdout)
	}
	id := m[1]

	// create from JSON on -o json; and a rejected one.
	r = runCtl(t, env, "-o", "json", "campaigns", "create", "-f", writeFile(t, "c.json", campaignJSON))
	var c2 pb.Campaign
	if err := protojson.Unmarshal([]byte(r.stdout), &c2); err != nil || c2.GetId() == "" || c2.GetId() == id || c2.GetVersion() != 1 {
		t.Fatalf("create -o json: %v\n%s%s", err, r.stdout, r.stderr)
	}
	bad := strings.Replace(campaignYAML, "mini_program_id: mp-0000001", "mini_program_id: no-such-app", 1)
	mustContain(t, "create missing mp", runCtl(t, env, "campaigns", "create", "-f", writeFile(t, "bad.yaml", bad)), 1,
		"CreateCampaign failed (FAILED_PRECONDITION)", `mini-program "no-such-app" does not exist`)
	bad = strings.Replace(campaignYAML, "radius_m: 1500", "radius_m: 5", 1)
	r = runCtl(t, env, "campaigns", "create", "-f", writeFile(t, "bad.yaml", bad))
	mustContain(t, "create bad radius", r, 1, "CreateCampaign failed (INVALID_ARGUMENT)", "\naroundctl:   campaign.geofence.include[0].circle.radius_m: ")
	bad = strings.Replace(campaignYAML, "name:", "nmae:", 1)
	mustContain(t, "create unknown field", runCtl(t, env, "campaigns", "create", "-f", writeFile(t, "bad.yaml", bad)), 1,
		`bad.yaml: line 2: unknown field "nmae"`)
	mustContain(t, "create without -f", runCtl(t, env, "campaigns", "create"), 2, "-f FILE is required")

	// get, list.
	mustContain(t, "get", runCtl(t, env, "campaigns", "get", id), 0, "id:             "+id, "serving status: ")
	r = runCtl(t, env, "campaigns", "list")
	mustContain(t, "list", r, 0, "ID", "MINI-PROGRAM", "KM²", id, c2.GetId(), "Sanlitun bikes  mp-0000001    ACTIVE  ", "7.07")
	r = runCtl(t, env, "-o", "yaml", "campaigns", "list", "--page-size", "1", "--all")
	mustContain(t, "list --all yaml", r, 0, "campaigns:", "- id: "+id, "- id: "+c2.GetId())

	// pause → resume → archive → resume fails.
	mustContain(t, "pause", runCtl(t, env, "campaigns", "pause", id), 0, "campaign "+id+" is paused (serving status PAUSED, version 2)")
	mustContain(t, "resume", runCtl(t, env, "campaigns", "resume", id), 0, "campaign "+id+" is active (", "version 3)")
	mustContain(t, "archive", runCtl(t, env, "campaigns", "archive", id), 0, "campaign "+id+" is archived (serving status ARCHIVED, version 4)")
	mustContain(t, "resume archived", runCtl(t, env, "campaigns", "resume", id), 1,
		"ResumeCampaign failed (FAILED_PRECONDITION)", "archived is final")
	r = runCtl(t, env, "campaigns", "get", id, "-o", "json")
	var got pb.Campaign
	if err := protojson.Unmarshal([]byte(r.stdout), &got); err != nil || got.GetState() != pb.CampaignState_CAMPAIGN_STATE_ARCHIVED {
		t.Fatalf("get -o json: %v\n%s", err, r.stdout)
	}

	// Unknown ids, and another advertiser's view.
	for _, cmd := range []string{"get", "pause", "resume", "archive"} {
		mustContain(t, cmd+" missing", runCtl(t, env, "campaigns", cmd, "c-0000000000000000"), 1,
			`aroundctl: campaign "c-0000000000000000" not found (or not yours)`)
	}
	mustContain(t, "admin key", runCtl(t, map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_KEY": testKey}, "campaigns", "list"), 1,
		"the API key may not call ListCampaigns (PERMISSION_DENIED)")

	// stats, reach, diagnose.
	mustContain(t, "stats", runCtl(t, env, "campaigns", "stats", c2.GetId(), "--from", "2025-06-01T00:00:00Z"), 0,
		"IMPRESSIONS", "total", "per day (0)", "per cell (0)")
	mustContain(t, "stats bad time", runCtl(t, env, "campaigns", "stats", id, "--from", "yesterday"), 2, `--from "yesterday": want an RFC 3339 time`)
	fence := writeFile(t, "fence.yaml", "geofence:\n  include:\n    - circle: {center: {latitude: 39.9, longitude: 116.4}, radius_m: 500}\n")
	mustContain(t, "reach", runCtl(t, env, "campaigns", "reach", "-f", fence), 0, "area:                  0.79 km²", "H3 cells:", "recent requests:")
	mustContain(t, "diagnose archived", runCtl(t, env, "campaigns", "diagnose", id, "--lat", "39.9", "--lng", "116.4", "--age", "12"), 0,
		"would not show here", "- MINOR", "- ARCHIVED")
	mustContain(t, "diagnose no position", runCtl(t, env, "campaigns", "diagnose", id), 2, "--lat and --lng are required")

	// Help.
	mustContain(t, "help create", runCtl(t, nil, "campaigns", "create", "--help"), 0, "Example file (sanlitun.yaml):", "mini_program_id: mp-0000001")
	mustContain(t, "top help", runCtl(t, nil, "--help"), 0, "campaigns", "AROUNDME_ADVERTISER_KEY")
}
