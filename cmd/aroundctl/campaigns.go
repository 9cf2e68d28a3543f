package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
	"gopkg.in/yaml.v3"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

// envAdvertiserKey is the demo advertiser key of demo-keys.env.
const envAdvertiserKey = "AROUNDME_ADVERTISER_KEY"

// campaignCommands are the subcommands of "campaigns".
var campaignCommands = []command{
	{"create", "create a campaign from a YAML or JSON file (-f FILE)", runCampaignCreate, nil},
	{"get", "show one campaign", runCampaignGet, nil},
	{"list", "list your campaigns, a page at a time or --all", runCampaignList, nil},
	{"pause", "stop serving a campaign until resumed", runCampaignPause, nil},
	{"resume", "serve a paused campaign again", runCampaignResume, nil},
	{"archive", "end a campaign for good (archived is final)", runCampaignArchive, nil},
	{"stats", "impressions, clicks and spend: totals, per day, per cell", runCampaignStats, nil},
	{"reach", "size a geofence and targeting before making a campaign (-f FILE)", runCampaignReach, nil},
	{"diagnose", "would the campaign show here, to this user, now — and if not, every reason why", runCampaignDiagnose, nil},
}

const campaignsUsage = `Usage: aroundctl campaigns <command> [flags]

Manages your geofenced campaigns through CampaignService. Every command needs
an advertiser key (the advertiser is taken from it): --key, else
AROUNDME_KEY, else AROUNDME_ADVERTISER_KEY. Another advertiser's campaigns
are "not found".

Commands:
%s
Run 'aroundctl campaigns <command> --help' for the flags and an example.

Example:
  aroundctl campaigns create -f sanlitun.yaml
  aroundctl campaigns list
`

func runCampaigns(ctx context.Context, e *env, args []string) int {
	return runGroup(ctx, e, "campaigns", campaignsUsage, campaignCommands, args)
}

// campaignClient dials the server with the advertiser key.
func (e *env) campaignClient() (pb.CampaignServiceClient, func(), error) {
	cc, err := e.g.dial(e.keyFor(envAdvertiserKey))
	if err != nil {
		return nil, nil, err
	}
	return pb.NewCampaignServiceClient(cc), func() { cc.Close() }, nil
}

// callCampaign dials CampaignService and makes one call within the global
// --timeout. On failure it prints the error (as campaignErr, for campaign
// id; "" = none) and ok is false, code the exit status.
func callCampaign[T any](ctx context.Context, e *env, method, id string, call func(context.Context, pb.CampaignServiceClient) (T, error)) (resp T, code int, ok bool) {
	client, closeConn, err := e.campaignClient()
	if err != nil {
		return resp, e.fail(err.Error()), false
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(ctx, e.g.timeout)
	defer cancel()
	if resp, err = call(ctx, client); err != nil {
		return resp, e.campaignErr(method, id, err), false
	}
	return resp, 0, true
}

// campaignErr prints the error of a call about campaign id and returns 1.
func (e *env) campaignErr(method, id string, err error) int {
	if st, ok := status.FromError(err); ok && id != "" && st.Code() == codes.NotFound {
		return e.fail(fmt.Sprintf("campaign %q not found (or not yours)", id))
	}
	return e.fail(e.g.describeErr(method, err))
}

// ---- input files ----

// readInput reads a file, or standard input for "-".
func readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

// isJSONInput tells whether an input is JSON: by the extension (.json is
// JSON, .yaml/.yml is YAML), else (stdin, other names) by a leading '{'.
func isJSONInput(name string, data []byte) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return true
	case ".yaml", ".yml":
		return false
	}
	return bytes.HasPrefix(bytes.TrimLeft(data, " \t\r\n\ufeff"), []byte("{"))
}

var (
	protojsonLineRE      = regexp.MustCompile(`\(line \d+:\d+\): `)
	protojsonUnknownRE   = regexp.MustCompile(`unknown field "([^"]+)"`)
	protojsonErrPrefixRE = regexp.MustCompile(`^proto:[\s\x{00a0}]*`) // protobuf-go uses a no-break space at random, to deter string matching
)

// unmarshalFile decodes a YAML or JSON document holding m, with the proto
// field names (the JSON names work too). Unknown fields are errors that
// name the field (and, in YAML, its line). name is only for the messages
// ("-" = standard input).
func unmarshalFile(name string, data []byte, m proto.Message) error {
	what := name
	if name == "-" {
		what = "standard input"
	}
	opts := protojson.UnmarshalOptions{}
	if isJSONInput(name, data) {
		if err := opts.Unmarshal(data, m); err != nil {
			return fmt.Errorf("%s: %s", what, protojsonErrPrefixRE.ReplaceAllString(err.Error(), ""))
		}
		return nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if len(doc.Content) == 0 {
		return fmt.Errorf("%s: empty document", what)
	}
	var v any
	if err := doc.Decode(&v); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	j, err := json.Marshal(jsonable(v))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := opts.Unmarshal(j, m); err != nil {
		// Line numbers of the re-encoded JSON mean nothing to the user:
		// drop them, and point at the YAML line of an unknown field.
		msg := protojsonErrPrefixRE.ReplaceAllString(protojsonLineRE.ReplaceAllString(err.Error(), ""), "")
		if sm := protojsonUnknownRE.FindStringSubmatch(msg); sm != nil {
			if line := yamlKeyLine(&doc, sm[1]); line > 0 {
				return fmt.Errorf("%s: line %d: %s", what, line, msg)
			}
		}
		return fmt.Errorf("%s: %s", what, msg)
	}
	return nil
}

// jsonable turns a decoded YAML value into one encoding/json takes: maps
// with non-string keys get string keys; times (unquoted YAML timestamps)
// become RFC 3339 strings.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = jsonable(e)
		}
		return x
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		for i, e := range x {
			x[i] = jsonable(e)
		}
		return x
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return v
}

// yamlKeyLine is the line of the first mapping key named key, or 0.
func yamlKeyLine(n *yaml.Node, key string) int {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i].Line
			}
		}
	}
	for _, c := range n.Content {
		if l := yamlKeyLine(c, key); l > 0 {
			return l
		}
	}
	return 0
}

// readCampaignFile reads the Campaign of 'campaigns create -f'.
func readCampaignFile(name string) (*pb.Campaign, error) {
	data, err := readInput(name)
	if err != nil {
		return nil, err
	}
	return parseCampaign(name, data)
}

// parseCampaign decodes a Campaign from YAML or JSON.
func parseCampaign(name string, data []byte) (*pb.Campaign, error) {
	c := &pb.Campaign{}
	if err := unmarshalFile(name, data, c); err != nil {
		if strings.Contains(err.Error(), `unknown field "campaign"`) {
			err = fmt.Errorf("%w (the file holds the campaign itself, not {campaign: ...})", err)
		}
		return nil, err
	}
	return c, nil
}

// ---- create ----

const campaignCreateUsage = `Usage: aroundctl campaigns create -f FILE [flags]

Creates a campaign (CampaignService/CreateCampaign) from FILE: YAML (.yaml,
.yml) or JSON (.json) holding one Campaign with the proto field names; "-" is
standard input (JSON if it starts with '{', else YAML). Unknown fields are
errors. Output-only fields (id, advertiser_id, state, coverage, version,
times) are ignored: the server assigns them. Prints the created campaign: its
id, state, serving status and geofence coverage; -o json or -o yaml print
the message.

Example file (sanlitun.yaml):
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

Example:
  aroundctl campaigns create -f sanlitun.yaml
`

func runCampaignCreate(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl campaigns create", flag.ContinueOnError)
	file := fs.String("f", "", "YAML or JSON file with the campaign; - = standard input")
	if ok, code := parseCommand(e, fs, args, campaignCreateUsage); !ok {
		return code
	}
	if *file == "" {
		return e.usageError("campaigns create", "-f FILE is required")
	}
	c, err := readCampaignFile(*file)
	if err != nil {
		return e.fail(err.Error())
	}
	resp, code, ok := callCampaign(ctx, e, "CreateCampaign", "", func(ctx context.Context, cl pb.CampaignServiceClient) (*pb.CreateCampaignResponse, error) {
		return cl.CreateCampaign(ctx, &pb.CreateCampaignRequest{Campaign: c})
	})
	if !ok {
		return code
	}
	return e.printCampaign(resp.GetCampaign())
}

// printCampaign prints a campaign as -o asks; for the table, all of it.
func (e *env) printCampaign(c *pb.Campaign) int {
	return e.show(c, func(w io.Writer) { writeCampaign(w, c) })
}

// micros formats an amount in micros as a decimal: 2500000 → "2.5".
func micros(m int64) string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	s := fmt.Sprintf("%s%d", sign, m/1_000_000)
	if f := m % 1_000_000; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%06d", f), "0")
	}
	return s
}

// coverageText is "323 cells, 7.07 km²".
func coverageText(cv *pb.Coverage) string {
	if cv == nil {
		return ""
	}
	return fmt.Sprintf("%d cells, %s km²", cv.GetCellCount(), strconv.FormatFloat(cv.GetAreaKm2(), 'f', 2, 64))
}

func budgetText(b *pb.Budget) string {
	if b == nil {
		return ""
	}
	s := "total " + micros(b.GetTotalMicros())
	if d := b.GetDailyMicros(); d > 0 {
		s += ", daily " + micros(d)
	}
	if p := b.GetPacing(); p != pb.Pacing_PACING_UNSPECIFIED {
		s += ", pacing " + shortEnum(p.String(), "PACING_")
	}
	return s
}

func bidText(b *pb.Bid) string {
	if b == nil {
		return ""
	}
	return shortEnum(b.GetModel().String(), "PRICING_MODEL_") + " " + micros(b.GetAmountMicros())
}

// geofenceText is "include circle 1500 m at 39.9334,116.454; exclude 2 cells".
func geofenceText(g *pb.Geofence) string {
	if g == nil {
		return ""
	}
	area := func(a *pb.Area) string {
		switch {
		case a.GetCircle() != nil:
			c := a.GetCircle()
			return fmt.Sprintf("circle %s m at %s,%s", strconv.FormatFloat(c.GetRadiusM(), 'f', -1, 64),
				strconv.FormatFloat(c.GetCenter().GetLatitude(), 'f', -1, 64), strconv.FormatFloat(c.GetCenter().GetLongitude(), 'f', -1, 64))
		case a.GetPolygon() != nil:
			p := a.GetPolygon()
			s := fmt.Sprintf("polygon of %d vertices", len(p.GetVertices()))
			if n := len(p.GetHoles()); n > 0 {
				s += fmt.Sprintf(" with %d holes", n)
			}
			return s
		case a.GetCells() != nil:
			return fmt.Sprintf("%d cells", len(a.GetCells().GetH3Cells()))
		}
		return "empty area"
	}
	var parts []string
	for _, a := range g.GetInclude() {
		parts = append(parts, "include "+area(a))
	}
	for _, a := range g.GetExclude() {
		parts = append(parts, "exclude "+area(a))
	}
	return strings.Join(parts, "; ")
}

func targetingText(t *pb.Targeting) string {
	if t == nil {
		return ""
	}
	s := audienceText(&pb.Audience{MinAge: t.GetMinAge(), MaxAge: t.GetMaxAge(), Genders: t.GetGenders(), OperatingSystems: t.GetOperatingSystems()})
	if cs := t.GetMinCreditScore(); cs > 0 {
		if s == "everyone" {
			s = ""
		} else {
			s += "; "
		}
		s += fmt.Sprintf("credit score >= %d", cs)
	}
	return s
}

func scheduleText(s *pb.Schedule) string {
	if s == nil {
		return ""
	}
	var parts []string
	if t := s.GetStartTime(); t != nil {
		parts = append(parts, "from "+t.AsTime().Format(time.RFC3339))
	}
	if t := s.GetEndTime(); t != nil {
		parts = append(parts, "until "+t.AsTime().Format(time.RFC3339))
	}
	for _, d := range s.GetDayparts() {
		var days []string
		for _, dw := range d.GetDays() {
			n := shortEnum(dw.String(), "DAY_OF_WEEK_")
			if len(n) > 3 {
				n = n[:1] + strings.ToLower(n[1:3])
			}
			days = append(days, n)
		}
		when := "every day"
		if len(days) > 0 {
			when = strings.Join(days, ",")
		}
		parts = append(parts, fmt.Sprintf("%s %s-%s", when, minuteOfDay(d.GetStartMinute()), minuteOfDay(d.GetEndMinute())))
	}
	if tz := s.GetTimeZone(); tz != "" {
		parts = append(parts, "("+tz+")")
	}
	return strings.Join(parts, " ")
}

func minuteOfDay(m int32) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// writeCampaign prints one campaign for people.
func writeCampaign(w io.Writer, c *pb.Campaign) {
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-15s %s\n", k+":", v)
		}
	}
	kv("id", c.GetId())
	kv("name", c.GetName())
	kv("advertiser", c.GetAdvertiserId())
	kv("mini-program", c.GetMiniProgramId())
	kv("state", shortEnum(c.GetState().String(), "CAMPAIGN_STATE_"))
	kv("serving status", shortEnum(c.GetServingStatus().String(), "SERVING_STATUS_"))
	kv("coverage", coverageText(c.GetCoverage()))
	kv("geofence", geofenceText(c.GetGeofence()))
	kv("targeting", targetingText(c.GetTargeting()))
	kv("schedule", scheduleText(c.GetSchedule()))
	kv("budget", budgetText(c.GetBudget()))
	kv("bid", bidText(c.GetBid()))
	if fc := c.GetFrequencyCap(); fc.GetMaxImpressions() > 0 {
		kv("frequency cap", fmt.Sprintf("%d per %v", fc.GetMaxImpressions(), fc.GetWindow().AsDuration()))
	}
	if cr := c.GetCreative(); cr != nil {
		s := strconv.Quote(cr.GetHeadline())
		if cta := cr.GetCallToAction(); cta != "" {
			s += " [" + cta + "]"
		}
		kv("creative", s)
	}
	ver := strconv.FormatInt(c.GetVersion(), 10)
	if t := c.GetCreateTime(); t != nil {
		ver += fmt.Sprintf(" (created %s", t.AsTime().Format(time.RFC3339))
		if u := c.GetUpdateTime(); u != nil {
			ver += ", updated " + u.AsTime().Format(time.RFC3339)
		}
		ver += ")"
	}
	kv("version", ver)
}

// ---- get, list ----

const campaignGetUsage = `Usage: aroundctl campaigns get ID [flags]

Prints one of your campaigns (CampaignService/GetCampaign): its settings,
state, serving status (computed now), coverage and version. With -o json or
-o yaml it prints the message, with the proto field names.

Example:
  aroundctl campaigns get c-0ad9fc367ecdc406 -o yaml
`

func runCampaignGet(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl campaigns get", flag.ContinueOnError)
	pos, ok, code := parseCommandArgs(e, fs, args, campaignGetUsage, argSpec{positional: []string{"ID"}})
	if !ok {
		return code
	}
	resp, code, ok := callCampaign(ctx, e, "GetCampaign", pos[0], func(ctx context.Context, cl pb.CampaignServiceClient) (*pb.GetCampaignResponse, error) {
		return cl.GetCampaign(ctx, &pb.GetCampaignRequest{Id: pos[0]})
	})
	if !ok {
		return code
	}
	return e.printCampaign(resp.GetCampaign())
}

const campaignListUsage = `Usage: aroundctl campaigns list [flags]

Lists your campaigns (CampaignService/ListCampaigns), one page of
--page-size at a time, then the token of the next page; --all follows the
tokens to the end. The table has: id, name, mini-program, state, serving
status, cells, km², version. With -o json or -o yaml it prints the response
message (with --all, one message with every campaign and no token).

Example:
  aroundctl campaigns list --all
`

func runCampaignList(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl campaigns list", flag.ContinueOnError)
	pageSize := fs.Int("page-size", 50, "campaigns per page, 1 to 1000")
	pageToken := fs.String("page-token", "", "next_page_token of a previous page")
	all := fs.Bool("all", false, "follow the page tokens to the end")
	if ok, code := parseCommand(e, fs, args, campaignListUsage); !ok {
		return code
	}
	if *pageSize < 1 || *pageSize > 1000 {
		return e.usageError("campaigns list", "--page-size %d: must be in [1, 1000]", *pageSize)
	}
	client, closeConn, err := e.campaignClient()
	if err != nil {
		return e.fail(err.Error())
	}
	defer closeConn()
	out := &pb.ListCampaignsResponse{}
	req := &pb.ListCampaignsRequest{PageSize: int32(*pageSize)}
	next, err := e.pages(ctx, *pageToken, *all, func(ctx context.Context, token string) (string, error) {
		req.PageToken = token
		resp, err := client.ListCampaigns(ctx, req)
		out.Campaigns = append(out.Campaigns, resp.GetCampaigns()...)
		return resp.GetNextPageToken(), err
	})
	if err != nil {
		return e.campaignErr("ListCampaigns", "", err)
	}
	out.NextPageToken = next
	return e.show(out, func(w io.Writer) { writeCampaignList(w, out) })
}

func writeCampaignList(w io.Writer, resp *pb.ListCampaignsResponse) {
	if len(resp.GetCampaigns()) == 0 {
		fmt.Fprintln(w, "no campaigns")
	} else {
		t := table{
			header: []string{"ID", "NAME", "MINI-PROGRAM", "STATE", "SERVING", "CELLS", "KM²", "VERSION"},
			right:  []bool{false, false, false, false, false, true, true, true},
		}
		for _, c := range resp.GetCampaigns() {
			t.add([]string{
				c.GetId(), truncate(c.GetName(), maxNameWidth), c.GetMiniProgramId(),
				shortEnum(c.GetState().String(), "CAMPAIGN_STATE_"),
				shortEnum(c.GetServingStatus().String(), "SERVING_STATUS_"),
				strconv.FormatInt(c.GetCoverage().GetCellCount(), 10),
				strconv.FormatFloat(c.GetCoverage().GetAreaKm2(), 'f', 2, 64),
				strconv.FormatInt(c.GetVersion(), 10),
			}, nil)
		}
		t.write(w)
	}
	if tok := resp.GetNextPageToken(); tok != "" {
		fmt.Fprintf(w, "\nnext page: --page-token %s\n", tok)
	}
}

// ---- pause, resume, archive ----

const campaignStateUsage = `Usage: aroundctl campaigns %[1]s ID [flags]

%[2]s (CampaignService/%[3]s). Archived is final: an archived campaign
cannot be paused or resumed (FAILED_PRECONDITION). Doing it twice is not an
error. Prints the new state and version; -o json or -o yaml print the
campaign.

Example:
  aroundctl campaigns %[1]s c-0ad9fc367ecdc406
`

func runCampaignPause(ctx context.Context, e *env, args []string) int {
	return setCampaignState(ctx, e, args, "pause", "PauseCampaign", "Stops serving a campaign until it is resumed",
		func(ctx context.Context, c pb.CampaignServiceClient, id string) (*pb.Campaign, error) {
			r, err := c.PauseCampaign(ctx, &pb.PauseCampaignRequest{Id: id})
			return r.GetCampaign(), err
		})
}

func runCampaignResume(ctx context.Context, e *env, args []string) int {
	return setCampaignState(ctx, e, args, "resume", "ResumeCampaign", "Serves a paused campaign again",
		func(ctx context.Context, c pb.CampaignServiceClient, id string) (*pb.Campaign, error) {
			r, err := c.ResumeCampaign(ctx, &pb.ResumeCampaignRequest{Id: id})
			return r.GetCampaign(), err
		})
}

func runCampaignArchive(ctx context.Context, e *env, args []string) int {
	return setCampaignState(ctx, e, args, "archive", "ArchiveCampaign", "Ends a campaign for good",
		func(ctx context.Context, c pb.CampaignServiceClient, id string) (*pb.Campaign, error) {
			r, err := c.ArchiveCampaign(ctx, &pb.ArchiveCampaignRequest{Id: id})
			return r.GetCampaign(), err
		})
}

func setCampaignState(ctx context.Context, e *env, args []string, cmd, method, what string,
	call func(context.Context, pb.CampaignServiceClient, string) (*pb.Campaign, error)) int {
	fs := flag.NewFlagSet("aroundctl campaigns "+cmd, flag.ContinueOnError)
	pos, ok, code := parseCommandArgs(e, fs, args, fmt.Sprintf(campaignStateUsage, cmd, what, method), argSpec{positional: []string{"ID"}})
	if !ok {
		return code
	}
	c, code, ok := callCampaign(ctx, e, method, pos[0], func(ctx context.Context, cl pb.CampaignServiceClient) (*pb.Campaign, error) {
		return call(ctx, cl, pos[0])
	})
	if !ok {
		return code
	}
	if e.g.output != outputTable {
		return e.printCampaign(c)
	}
	fmt.Fprintf(e.stdout, "campaign %s is %s (serving status %s, version %d)\n", c.GetId(),
		strings.ToLower(shortEnum(c.GetState().String(), "CAMPAIGN_STATE_")),
		shortEnum(c.GetServingStatus().String(), "SERVING_STATUS_"), c.GetVersion())
	return 0
}

// ---- stats ----

const campaignStatsUsage = `Usage: aroundctl campaigns stats ID [--from TIME] [--to TIME] [flags]

Prints a campaign's accepted impressions, clicks and spend
(CampaignService/GetCampaignStats): the totals over the range, one row per
day (in the campaign's time zone) and one row per coarse H3 cell (cells seen
by too few users are left out). TIME is RFC 3339 (2025-06-01T00:00:00+08:00);
--from defaults to the campaign's creation, --to to now. -o json or -o yaml
print the response message.

Example:
  aroundctl campaigns stats c-0ad9fc367ecdc406 --from 2025-06-01T00:00:00Z
`

func runCampaignStats(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl campaigns stats", flag.ContinueOnError)
	from := fs.String("from", "", "start of the range, inclusive (RFC 3339)")
	to := fs.String("to", "", "end of the range, exclusive (RFC 3339)")
	pos, ok, code := parseCommandArgs(e, fs, args, campaignStatsUsage, argSpec{positional: []string{"ID"}})
	if !ok {
		return code
	}
	req := &pb.GetCampaignStatsRequest{Id: pos[0]}
	var start, end time.Time
	for _, f := range []struct {
		name, v string
		t       *time.Time
		ts      **timestamppb.Timestamp
	}{{"from", *from, &start, &req.StartTime}, {"to", *to, &end, &req.EndTime}} {
		if f.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, f.v)
		if err != nil {
			return e.usageError("campaigns stats", "--%s %q: want an RFC 3339 time such as 2025-06-01T00:00:00Z", f.name, f.v)
		}
		*f.t, *f.ts = t, timestamppb.New(t)
	}
	if !start.IsZero() && !end.IsZero() && !end.After(start) {
		return e.usageError("campaigns stats", "--to %s is not after --from %s", *to, *from)
	}
	resp, code, ok := callCampaign(ctx, e, "GetCampaignStats", pos[0], func(ctx context.Context, cl pb.CampaignServiceClient) (*pb.GetCampaignStatsResponse, error) {
		return cl.GetCampaignStats(ctx, req)
	})
	if !ok {
		return code
	}
	return e.show(resp, func(w io.Writer) { writeCampaignStats(w, resp) })
}

// ctr is clicks per impression as a percentage, "-" without impressions.
func ctr(s *pb.Stats) string {
	if s.GetImpressions() == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(s.GetClicks())/float64(s.GetImpressions()), 'f', 2, 64) + "%"
}

// statsRow is the figures of a Stats as table cells.
func statsRow(first string, s *pb.Stats) []string {
	return []string{first, strconv.FormatInt(s.GetImpressions(), 10), strconv.FormatInt(s.GetClicks(), 10), ctr(s), micros(s.GetSpendMicros())}
}

func writeCampaignStats(w io.Writer, resp *pb.GetCampaignStatsResponse) {
	right := []bool{false, true, true, true, true}
	tot := table{header: []string{"", "IMPRESSIONS", "CLICKS", "CTR", "SPEND"}, right: right}
	tot.add(statsRow("total", resp.GetTotals()), nil)
	tot.write(w)

	fmt.Fprintf(w, "\nper day (%d):\n", len(resp.GetDays()))
	if len(resp.GetDays()) > 0 {
		t := table{header: []string{"DATE", "IMPRESSIONS", "CLICKS", "CTR", "SPEND"}, right: right}
		for _, d := range resp.GetDays() {
			t.add(statsRow(d.GetDate(), d.GetStats()), nil)
		}
		writeIndented(w, &t)
	}
	fmt.Fprintf(w, "\nper cell (%d):\n", len(resp.GetCells()))
	if len(resp.GetCells()) > 0 {
		t := table{header: []string{"H3 CELL", "IMPRESSIONS", "CLICKS", "CTR", "SPEND"}, right: right}
		for _, c := range resp.GetCells() {
			t.add(statsRow(c.GetH3Cell(), c.GetStats()), nil)
		}
		writeIndented(w, &t)
	}
}

// writeIndented writes a table indented by two spaces.
func writeIndented(w io.Writer, t *table) {
	var b strings.Builder
	t.write(&b)
	for _, line := range strings.SplitAfter(strings.TrimRight(b.String(), "\n"), "\n") {
		fmt.Fprintf(w, "  %s", line)
	}
	fmt.Fprintln(w)
}

// ---- reach ----

const campaignReachUsage = `Usage: aroundctl campaigns reach -f FILE [flags]

Sizes a geofence and targeting before a campaign is made
(CampaignService/EstimateReach): the area, its H3 cells, the visible
mini-programs with a place inside, and the Nearby requests seen inside in
the last 7 days. FILE is YAML or JSON (by the extension; "-" = standard
input) with a geofence and an optional targeting, with the fields of a
Campaign. -o json or -o yaml print the response message.

Example file (fence.yaml):
  geofence:
    include:
      - circle: {center: {latitude: 39.9334, longitude: 116.4540}, radius_m: 1500}
    exclude:
      - circle: {center: {latitude: 39.9361, longitude: 116.4477}, radius_m: 200}
  targeting: {min_age: 18}

Example:
  aroundctl campaigns reach -f fence.yaml
`

// parseReachRequest decodes the {geofence, targeting} file of 'reach'.
func parseReachRequest(name string, data []byte) (*pb.EstimateReachRequest, error) {
	req := &pb.EstimateReachRequest{}
	if err := unmarshalFile(name, data, req); err != nil {
		return nil, err
	}
	if req.GetGeofence() == nil {
		what := name
		if name == "-" {
			what = "standard input"
		}
		return nil, errors.New(what + ": geofence is required")
	}
	return req, nil
}

func runCampaignReach(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl campaigns reach", flag.ContinueOnError)
	file := fs.String("f", "", "YAML or JSON file with {geofence, targeting}; - = standard input")
	if ok, code := parseCommand(e, fs, args, campaignReachUsage); !ok {
		return code
	}
	if *file == "" {
		return e.usageError("campaigns reach", "-f FILE is required")
	}
	data, err := readInput(*file)
	if err != nil {
		return e.fail(err.Error())
	}
	req, err := parseReachRequest(*file, data)
	if err != nil {
		return e.fail(err.Error())
	}
	resp, code, ok := callCampaign(ctx, e, "EstimateReach", "", func(ctx context.Context, cl pb.CampaignServiceClient) (*pb.EstimateReachResponse, error) {
		return cl.EstimateReach(ctx, req)
	})
	if !ok {
		return code
	}
	return e.show(resp, func(w io.Writer) { writeReach(w, resp) })
}

func writeReach(w io.Writer, r *pb.EstimateReachResponse) {
	fmt.Fprintf(w, "%-22s %s km²\n", "area:", strconv.FormatFloat(r.GetAreaKm2(), 'f', 2, 64))
	fmt.Fprintf(w, "%-22s %d\n", "H3 cells:", r.GetCellCount())
	fmt.Fprintf(w, "%-22s %d\n", "mini-programs inside:", r.GetMiniProgramsInside())
	fmt.Fprintf(w, "%-22s %d (Nearby, last 7 days)\n", "recent requests:", r.GetRecentRequests())
}

// ---- diagnose ----

const campaignDiagnoseUsage = `Usage: aroundctl campaigns diagnose ID --lat LAT --lng LNG [user flags] [--time TIME] [flags]

Asks the server whether campaign ID would show in a sponsored slot to a user
standing at LAT, LNG now (or at --time), and if not, every reason why
(CampaignService/DiagnoseCampaign). The server decides exactly as it does
for Nearby, and records and charges nothing. Describe the user with the same
flags as 'aroundctl nearby'. -o json or -o yaml print the response message.

Example:
  aroundctl campaigns diagnose c-0ad9fc367ecdc406 --lat 39.9334 --lng 116.4540 --age 30 --credit 700
`

func runCampaignDiagnose(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl campaigns diagnose", flag.ContinueOnError)
	lat := fs.Float64("lat", 0, "latitude of the user, degrees (required)")
	lng := fs.Float64("lng", 0, "longitude of the user, degrees (required)")
	at := fs.String("time", "", "when (RFC 3339); empty = now")
	user := addUserFlags(fs)
	pos, ok, code := parseCommandArgs(e, fs, args, campaignDiagnoseUsage, argSpec{positional: []string{"ID"}})
	if !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["lat"] || !set["lng"] {
		return e.usageError("campaigns diagnose", "--lat and --lng are required")
	}
	req := &pb.DiagnoseCampaignRequest{Id: pos[0], Location: &pb.LatLng{Latitude: *lat, Longitude: *lng}}
	var err error
	if req.User, err = user(); err != nil {
		return e.usageError("campaigns diagnose", "%v", err)
	}
	if *at != "" {
		t, err := time.Parse(time.RFC3339, *at)
		if err != nil {
			return e.usageError("campaigns diagnose", "--time %q: want an RFC 3339 time such as 2025-06-01T08:00:00+08:00", *at)
		}
		req.Time = timestamppb.New(t)
	}
	resp, code, ok := callCampaign(ctx, e, "DiagnoseCampaign", pos[0], func(ctx context.Context, cl pb.CampaignServiceClient) (*pb.DiagnoseCampaignResponse, error) {
		return cl.DiagnoseCampaign(ctx, req)
	})
	if !ok {
		return code
	}
	return e.show(resp, func(w io.Writer) { writeDiagnosis(w, pos[0], resp) })
}

func writeDiagnosis(w io.Writer, id string, r *pb.DiagnoseCampaignResponse) {
	inside := "outside"
	if r.GetInsideGeofence() {
		inside = "inside"
	}
	if r.GetEligible() {
		fmt.Fprintf(w, "campaign %s is eligible here (%s its geofence): it enters the auction for a sponsored slot\n", id, inside)
		return
	}
	fmt.Fprintf(w, "campaign %s would not show here (%s its geofence), because:\n", id, inside)
	for _, reason := range r.GetReasons() {
		fmt.Fprintf(w, "  - %s\n", strings.TrimPrefix(reason.String(), "INELIGIBILITY_REASON_"))
	}
}
