package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	apiv1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/config"
	"github.com/aroundme/aroundme/pkg/server"
	"github.com/aroundme/aroundme/pkg/server/servertest"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"gopkg.in/yaml.v3"
)

// TestQueriedMetricsExist starts a real server (demo catalog, in-process, on
// 127.0.0.1:0), makes a Nearby and a catalog call, scrapes /metrics and
// checks that every metric named in the rules and in the dashboard is there:
// a renamed metric must not silently turn an alert or a panel into "no data".
func TestQueriedMetricsExist(t *testing.T) {
	families := scrapeDemoServer(t)

	rules := ruleFile(t)
	recorded := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	check := func(where, expr string) {
		t.Helper()
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: found no metric in %q", where, expr)
		}
		for _, n := range names {
			switch {
			case strings.Contains(n, ":"):
				if !recorded[n] {
					t.Errorf("%s: %s is not a recording rule of rules.yaml", where, n)
				}
			case n == "up": // made by Prometheus, not by the server
			case !exists(families, n):
				t.Errorf("%s: metric %s is not exported by the server (query %q)", where, n, expr)
			}
		}
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			check("rules.yaml "+r.Record+r.Alert, r.Expr)
		}
	}
	exprs, vars := dashboardQueries(t)
	if len(exprs) < 30 {
		t.Fatalf("only %d dashboard queries found", len(exprs))
	}
	for _, e := range exprs {
		check("dashboard "+e.panel, e.expr)
	}
	for _, q := range vars {
		check("dashboard variable", q)
	}
}

func exists(families map[string]*dto.MetricFamily, name string) bool {
	if families[name] != nil {
		return true
	}
	for suffix, types := range map[string][]dto.MetricType{
		"_bucket": {dto.MetricType_HISTOGRAM},
		"_sum":    {dto.MetricType_HISTOGRAM, dto.MetricType_SUMMARY},
		"_count":  {dto.MetricType_HISTOGRAM, dto.MetricType_SUMMARY},
	} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f := families[base]; f != nil && slices.Contains(types, f.GetType()) {
				return true
			}
		}
	}
	return false
}

type rulesFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record      string            `yaml:"record"`
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func ruleFile(t *testing.T) rulesFile {
	t.Helper()
	var f rulesFile
	if err := yaml.Unmarshal([]byte(readFile(t, "prometheus/rules.yaml")), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Groups) == 0 {
		t.Fatal("rules.yaml has no groups")
	}
	return f
}

// TestAlertsAreDocumented: every alert has a severity, a summary, a
// description and a one-line runbook, and README.md lists it.
func TestAlertsAreDocumented(t *testing.T) {
	readme := readFile(t, "README.md")
	n := 0
	for _, g := range ruleFile(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q, want critical or warning", r.Alert, s)
			}
			for _, a := range []string{"summary", "description", "runbook"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			if strings.Contains(r.Annotations["runbook"], "\n") {
				t.Errorf("%s: the runbook should be one line", r.Alert)
			}
			if !strings.Contains(readme, r.Alert) {
				t.Errorf("%s is not in deploy/README.md", r.Alert)
			}
		}
	}
	if n < 8 {
		t.Errorf("only %d alerts", n)
	}
}

type dashQuery struct{ panel, expr string }

// dashboardQueries returns every target expression of the dashboard and the
// metric selectors of its query variables.
func dashboardQueries(t *testing.T) (exprs []dashQuery, vars []string) {
	t.Helper()
	var d struct {
		SchemaVersion int               `json:"schemaVersion"`
		Panels        []json.RawMessage `json:"panels"`
		Templating    struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal([]byte(readFile(t, "grafana/dashboards/aroundme.json")), &d); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, v := range d.Templating.List {
		names = append(names, v.Name)
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(map[string]any)
		s, _ := q["query"].(string)
		// label_values(<selector>, <label>): the selector names a metric.
		if m := regexp.MustCompile(`^label_values\((.*),\s*\w+\)$`).FindStringSubmatch(s); m != nil {
			vars = append(vars, m[1])
		} else {
			t.Errorf("variable %s: unexpected query %q", v.Name, s)
		}
	}
	for _, want := range []string{"datasource", "instance"} {
		if !slices.Contains(names, want) {
			t.Errorf("dashboard has no %s variable", want)
		}
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d: too old", d.SchemaVersion)
	}
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		var p struct {
			Title      string            `json:"title"`
			Type       string            `json:"type"`
			Datasource map[string]any    `json:"datasource"`
			Panels     []json.RawMessage `json:"panels"`
			Targets    []struct {
				Expr       string         `json:"expr"`
				Datasource map[string]any `json:"datasource"`
			} `json:"targets"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		if p.Type != "row" && p.Datasource["uid"] != "${datasource}" {
			t.Errorf("panel %q: datasource %v, want the ${datasource} variable", p.Title, p.Datasource)
		}
		for _, tg := range p.Targets {
			exprs = append(exprs, dashQuery{p.Title, tg.Expr})
			if !strings.Contains(tg.Expr, `instance=~"$instance"`) {
				t.Errorf("panel %q: query %q ignores the instance variable", p.Title, tg.Expr)
			}
		}
		for _, c := range p.Panels {
			walk(c)
		}
	}
	for _, p := range d.Panels {
		walk(p)
	}
	return exprs, vars
}

var (
	promStrings   = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	grafanaVars   = regexp.MustCompile(`\$\{?\w+\}?`)
	promIdent     = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promOperators = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true,
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
		"inf": true, "nan": true, "Inf": true, "NaN": true}
)

// metricNames extracts the metric names of a PromQL expression, loosely: it
// drops strings, label matchers, ranges and grouping clauses, then keeps the
// identifiers that are not function or aggregation calls, operators or parts
// of numbers. Good enough for the queries written here, not a parser.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, `""`)
	s = grafanaVars.ReplaceAllString(s, " ")
	s = promMatchers.ReplaceAllString(s, "{}")
	s = promRanges.ReplaceAllString(s, "[]")
	s = promGrouping.ReplaceAllString(s, " ")
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if loc[0] > 0 {
			if prev := s[loc[0]-1]; prev == '.' || prev >= '0' && prev <= '9' {
				continue // the exponent of a number: 1e18
			}
		}
		rest := strings.TrimLeft(s[loc[1]:], " \t\n")
		if strings.HasPrefix(rest, "(") || promOperators[name] {
			continue
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`histogram_quantile(0.99, sum by (job, le) (rate(grpc_server_handling_seconds_bucket{job="a", x=~"b{c}"}[5m])))`: {"grpc_server_handling_seconds_bucket"},
		`a_total{x="y"} / on (job) group_left (instance) b > 1e18 and c offset 5m`:                                       {"a_total", "b", "c"},
		`sum(rate(x_sum{instance=~"$instance"}[$__rate_interval])) / sum without (le) (rate(x_count[5m]))`:               {"x_sum", "x_count"},
		`job_grpc_method:grpc_server_errors:rate5m / up`:                                                                 {"job_grpc_method:grpc_server_errors:rate5m", "up"},
		`absent(up{job="aroundme"})`:                {"up"},
		`time() - process_start_time_seconds > 300`: {"process_start_time_seconds"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %v, want %v", expr, got, want)
		}
	}
}

// scrapeDemoServer runs a demo server, calls it, and returns its /metrics.
func scrapeDemoServer(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Demo = true
	cfg.DemoSize = 2000
	srv := servertest.Start(t, cfg)
	base := "http://" + srv.MetricsAddr

	keys := demoKeys(t, filepath.Join(dir, server.DemoKeysEnvFile))
	conn, err := grpc.NewClient(srv.GRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	callCtx, callCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer callCancel()
	cctx := metadata.AppendToOutgoingContext(callCtx, "authorization", "Bearer "+keys["AROUNDME_CLIENT_KEY"])
	if _, err := apiv1.NewDiscoveryServiceClient(conn).Nearby(cctx, &apiv1.NearbyRequest{
		Location: &apiv1.LatLng{Latitude: 39.9334, Longitude: 116.4540}, Limit: 5,
	}); err != nil {
		t.Fatalf("Nearby: %v", err)
	}
	actx := metadata.AppendToOutgoingContext(callCtx, "authorization", "Bearer "+keys["AROUNDME_ADMIN_KEY"])
	if _, err := apiv1.NewCatalogServiceClient(conn).ListMiniPrograms(actx, &apiv1.ListMiniProgramsRequest{PageSize: 3}); err != nil {
		t.Fatalf("ListMiniPrograms: %v", err)
	}

	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	for _, must := range []string{"grpc_server_handled_total", "aroundme_nearby_results", "go_goroutines", "process_resident_memory_bytes"} {
		if families[must] == nil {
			t.Fatalf("/metrics has no %s: the scrape looks wrong", must)
		}
	}
	return families
}

// demoKeys reads the `export NAME=value` lines of the demo env file.
func demoKeys(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if name, value, ok := strings.Cut(strings.TrimPrefix(sc.Text(), "export "), "="); ok && !strings.HasPrefix(name, "#") {
			keys[name] = value
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if keys["AROUNDME_CLIENT_KEY"] == "" || keys["AROUNDME_ADMIN_KEY"] == "" {
		t.Fatal(errors.New("demo keys file without client and admin keys"))
	}
	return keys
}
