package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix is prepended to a flag's name, upper-cased with dashes turned into
// underscores, to give its environment variable: --grpc-addr is
// AROUNDME_GRPC_ADDR.
const EnvPrefix = "AROUNDME_"

// setting is one configurable value: a flag, an env var and a file key.
type setting struct {
	name  string
	usage string
	value value
}

// value is a typed pointer into Config that parses text.
type value interface {
	set(string) error
	String() string
	isBool() bool
}

type stringValue struct{ p *string }

func (v stringValue) set(s string) error { *v.p = s; return nil }
func (v stringValue) String() string     { return *v.p }
func (v stringValue) isBool() bool       { return false }

type boolValue struct{ p *bool }

func (v boolValue) set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false")
	}
	*v.p = b
	return nil
}
func (v boolValue) String() string { return strconv.FormatBool(*v.p) }
func (v boolValue) isBool() bool   { return true }

type intValue struct{ p *int }

func (v intValue) set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want an integer")
	}
	*v.p = n
	return nil
}
func (v intValue) String() string { return strconv.Itoa(*v.p) }
func (v intValue) isBool() bool   { return false }

type int64Value struct{ p *int64 }

func (v int64Value) set(s string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return fmt.Errorf("want an integer")
	}
	*v.p = n
	return nil
}
func (v int64Value) String() string { return strconv.FormatInt(*v.p, 10) }
func (v int64Value) isBool() bool   { return false }

type float64Value struct{ p *float64 }

func (v float64Value) set(s string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return fmt.Errorf("want a number")
	}
	*v.p = f
	return nil
}
func (v float64Value) String() string { return strconv.FormatFloat(*v.p, 'g', -1, 64) }
func (v float64Value) isBool() bool   { return false }

type intListValue struct{ p *[]int }

func (v intListValue) set(s string) error {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return fmt.Errorf("want comma-separated integers such as 1,4")
		}
		out = append(out, n)
	}
	*v.p = out
	return nil
}
func (v intListValue) String() string {
	s := make([]string, len(*v.p))
	for i, n := range *v.p {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}
func (v intListValue) isBool() bool { return false }

type durationValue struct{ p *time.Duration }

func (v durationValue) set(s string) error {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("want a duration such as 500ms, 10s or 2m")
	}
	*v.p = d
	return nil
}
func (v durationValue) String() string { return v.p.String() }
func (v durationValue) isBool() bool   { return false }

// settings is the single table of everything configurable.
func (c *Config) settings() []setting {
	return []setting{
		{"grpc-addr", "gRPC listener, host:port", stringValue{&c.GRPCAddr}},
		{"metrics-addr", "HTTP listener for /metrics, /healthz, /readyz", stringValue{&c.MetricsAddr}},
		{"data-dir", "directory of the buntdb file, its lock and the server secrets", stringValue{&c.DataDir}},
		{"keys-file", "YAML file of SHA-256 hashed API keys (required unless --demo)", stringValue{&c.KeysFile}},
		{"demo", "on first start seed a synthetic city and write demo keys, printing them", boolValue{&c.Demo}},
		{"demo-seed", "seed of the deterministic demo catalog", int64Value{&c.DemoSeed}},
		{"demo-size", "mini-programs in the demo catalog", intValue{&c.DemoSize}},
		{"tls-cert", "PEM certificate chain of the server (with --tls-key); reloaded when the file changes", stringValue{&c.TLS.Cert}},
		{"tls-key", "PEM private key of the server", stringValue{&c.TLS.Key}},
		{"tls-client-ca", "PEM CA bundle: clients must present a certificate chaining to it (mutual TLS)", stringValue{&c.TLS.ClientCA}},
		{"metrics-tls", "serve /metrics, /healthz, /readyz over TLS with the same certificate", boolValue{&c.TLS.MetricsTLS}},
		{"tls-reload-interval", "how often the TLS files are checked for a new certificate", durationValue{&c.TLS.ReloadInterval}},
		{"allow-plaintext", "allow plaintext on non-loopback addresses (behind a TLS-terminating proxy or in a mesh)", boolValue{&c.TLS.AllowPlaintext}},
		{"rate-client", "calls per second per client principal (0 = unlimited)", float64Value{&c.Limits.ClientRate}},
		{"rate-client-burst", "burst of calls a client principal may make at once", float64Value{&c.Limits.ClientBurst}},
		{"rate-advertiser", "calls per second per advertiser principal (0 = unlimited)", float64Value{&c.Limits.AdvertiserRate}},
		{"rate-advertiser-burst", "burst of calls an advertiser principal may make at once", float64Value{&c.Limits.AdvertiserBurst}},
		{"rate-admin", "calls per second per admin principal (0 = unlimited)", float64Value{&c.Limits.AdminRate}},
		{"rate-admin-burst", "burst of calls an admin principal may make at once", float64Value{&c.Limits.AdminBurst}},
		{"max-call-timeout", "server-side cap on a unary call's deadline", durationValue{&c.Limits.MaxCallTimeout}},
		{"max-stream-timeout", "server-side cap on a streaming call's deadline (imports)", durationValue{&c.Limits.MaxStreamTimeout}},
		{"gc-percent", "garbage collector target (GOGC); 0 = the runtime's (100, or the GOGC variable). Higher: less CPU, more memory under load; GOMEMLIMIT bounds it", intValue{&c.GCPercent}},
		{"pprof", "serve /debug/pprof/ on the metrics address (for profiling; keep that address private)", boolValue{&c.Pprof}},
		{"log-level", "debug, info, warn or error", stringValue{&c.Log.Level}},
		{"log-format", "json or text", stringValue{&c.Log.Format}},
		{"max-recv-msg-bytes", "largest inbound gRPC message", intValue{&c.GRPC.MaxRecvMsgBytes}},
		{"max-send-msg-bytes", "largest outbound gRPC message", intValue{&c.GRPC.MaxSendMsgBytes}},
		{"max-concurrent-streams", "concurrent streams per HTTP/2 connection", intValue{&c.GRPC.MaxConcurrentStreams}},
		{"connection-timeout", "deadline of a new connection's handshake", durationValue{&c.GRPC.ConnectionTimeout}},
		{"keepalive-min-time", "shortest client ping interval allowed (faster pingers get GOAWAY)", durationValue{&c.GRPC.KeepaliveMinTime}},
		{"keepalive-time", "server pings a connection silent for this long", durationValue{&c.GRPC.KeepaliveTime}},
		{"keepalive-timeout", "a ping unanswered for this long closes the connection", durationValue{&c.GRPC.KeepaliveTimeout}},
		{"max-connection-idle", "close connections idle for this long", durationValue{&c.GRPC.MaxConnectionIdle}},
		{"shutdown-grace", "time in-flight calls get after SIGTERM before they are cut", durationValue{&c.GRPC.ShutdownGrace}},
		{"import-batch", "imported mini-programs per fsynced commit", intValue{&c.Catalog.ImportBatch}},
		{"import-index-every", "committed imported mini-programs the Nearby index takes at once (always all before the import answers; 0 = every commit)", intValue{&c.Catalog.ImportIndexEvery}},
		{"max-import-items", "most mini-programs one import stream may carry", intValue{&c.Catalog.MaxImportItems}},
		{"max-fence-cells", "most H3 cells one campaign geofence's covering may need", intValue{&c.Campaign.MaxFenceCells}},
		{"reserve-cpm-micros", "auction reserve price: least eCPM (micros per 1000 impressions) a sponsored result must bring", int64Value{&c.Campaign.ReserveCPMMicros}},
		{"sponsored-slots", "1-based positions of a Nearby page that sponsored results take, comma-separated (at most 2; empty = none)", intListValue{&c.Campaign.SponsoredSlots}},
		{"stats-k-anonymity", "campaign stats leave out cells seen by fewer distinct users", intValue{&c.Campaign.StatsKAnonymity}},
		{"counter-flush-interval", "how often event counters are persisted (a crash loses at most this much)", durationValue{&c.Campaign.CounterFlushInterval}},
		{"max-events-per-call", "most events one ReportEvents call may carry", intValue{&c.Campaign.MaxEventsPerCall}},
		{"rank-distance", "score weight of nearness: w·1/(1+(d/half)²)", float64Value{&c.Ranking.Distance}},
		{"rank-distance-half-m", "distance in metres at which the nearness term halves", float64Value{&c.Ranking.DistanceHalfM}},
		{"rank-rating", "score weight of rating/5", float64Value{&c.Ranking.Rating}},
		{"rank-popularity", "score weight of log10(1+popularity)/cap", float64Value{&c.Ranking.Popularity}},
		{"rank-popularity-log10-cap", "log10 of the popularity that scores full marks", float64Value{&c.Ranking.PopularityLog10Cap}},
		{"rank-audience", "score weight of audience fit (bounded audience dimensions / 3)", float64Value{&c.Ranking.Audience}},
		{"event-token-ttl", "how long an event token on a Nearby result stays valid", durationValue{&c.Discovery.EventTokenTTL}},
	}
}

// EnvName returns the environment variable of a flag name.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// rawFlag records what was given on the command line, as text, so that flags
// can be applied after the file and the environment (they take precedence)
// and so that a bad value is reported together with every other problem.
type rawFlag struct {
	s   setting
	got map[string]string
}

func (f rawFlag) String() string {
	if f.s.value == nil {
		return ""
	}
	return f.s.value.String()
}
func (f rawFlag) Set(v string) error { f.got[f.s.name] = v; return nil }
func (f rawFlag) IsBoolFlag() bool   { return f.s.value.isBool() }

// Load builds the configuration from defaults, the config file named by
// --config or AROUNDME_CONFIG, the environment and args (without the program
// and subcommand names). It returns every problem found, joined, and
// flag.ErrHelp when help was asked for (usage is then written to out).
func Load(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	cfg := Default()
	var errs []error
	fs := flag.NewFlagSet("aroundme serve", flag.ContinueOnError)
	fs.SetOutput(out)
	configPath := getenv(EnvName("config"))
	fs.StringVar(&configPath, "config", configPath, "optional YAML config file; keys are the flag names (env "+EnvName("config")+")")
	given := map[string]string{}
	defaults := Default()
	for _, s := range defaults.settings() {
		fs.Var(rawFlag{s, given}, s.name, s.usage+" (env "+EnvName(s.name)+")")
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: aroundme serve [flags]\n\nEvery flag can also be set by its environment variable or as a key of the --config file.\nPrecedence: flag > environment > config file > default.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}

	byName := map[string]setting{}
	for _, s := range cfg.settings() {
		byName[s.name] = s
	}
	if configPath != "" {
		errs = append(errs, applyFile(configPath, byName)...)
	}
	for _, s := range cfg.settings() {
		if v, ok := lookupEnv(getenv, EnvName(s.name)); ok {
			if err := s.value.set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %v", EnvName(s.name), v, err))
			}
		}
	}
	for _, name := range sortedKeys(given) {
		if err := byName[name].value.set(given[name]); err != nil {
			errs = append(errs, fmt.Errorf("--%s %q: %v", name, given[name], err))
		}
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	return cfg, errors.Join(errs...)
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// applyFile reads the YAML config file: a flat mapping of flag names to
// scalar values.
func applyFile(path string, byName map[string]setting) []error {
	data, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("config file: %v", err)}
	}
	return applyYAML(path, data, byName)
}

func applyYAML(path string, data []byte, byName map[string]setting) []error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return []error{fmt.Errorf("config file %s: %v", path, err)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // empty file: nothing set
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("config file %s: want a mapping of setting names to values", path)}
	}
	var errs []error
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		s, ok := byName[k.Value]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("config file %s line %d: unknown setting %q", path, k.Line, k.Value))
		case seen[k.Value]:
			errs = append(errs, fmt.Errorf("config file %s line %d: %q set twice", path, k.Line, k.Value))
		case v.Kind != yaml.ScalarNode:
			errs = append(errs, fmt.Errorf("config file %s line %d: %q must be a single value", path, v.Line, k.Value))
		default:
			if err := s.value.set(v.Value); err != nil {
				errs = append(errs, fmt.Errorf("config file %s line %d: %s %q: %v", path, v.Line, k.Value, v.Value, err))
			}
		}
		seen[k.Value] = true
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
