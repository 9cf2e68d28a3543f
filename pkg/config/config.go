package config

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/aroundme/aroundme/targeting"
)

// Config is the whole configuration of `aroundme serve`.
type Config struct {
	// GRPCAddr is the gRPC listener (host:port).
	GRPCAddr string
	// MetricsAddr is the HTTP listener for /metrics, /healthz and /readyz.
	MetricsAddr string
	// DataDir holds the buntdb file, its lock and the server's secrets.
	DataDir string
	// KeysFile is the YAML file of hashed API keys. Required unless Demo.
	KeysFile string
	// Demo seeds a synthetic city on first start and writes demo keys.
	Demo bool
	// DemoSeed makes the demo catalog deterministic.
	DemoSeed int64
	// DemoSize is the number of mini-programs the demo seeds.
	DemoSize int

	// Pprof serves /debug/pprof/ on the metrics listener.
	Pprof bool
	// GCPercent is the garbage collector's target (GOGC): 0 = leave the
	// runtime's (100, or the GOGC environment variable). Higher trades
	// memory under load for CPU: the live heap is large (records + index)
	// and every collection marks all of it. The default, 200, halves the
	// collections of 100: on the 1M benchmark the collector's share of the
	// server's CPU under Nearby load went from ~8% to ~4-6% and the RSS
	// under that load from ~1.95 GB to ~2.55 GB, while the RSS after the
	// load stays ~1.06 GB (the load ends with a collection that returns its
	// garbage to the OS). Where memory is bounded, the runtime's soft limit
	// (GOMEMLIMIT, as deploy/kubernetes sets) makes the collector run
	// earlier as the heap nears it, whatever this target says.
	GCPercent int
	// TLS configures transport security.
	TLS TLSConfig
	// Limits caps what callers may ask of the server.
	Limits LimitsConfig

	// Log configures the structured logger.
	Log LogConfig
	// GRPC holds transport limits.
	GRPC GRPCConfig
	// Catalog holds catalog write settings.
	Catalog CatalogConfig
	// Campaign holds campaign write settings.
	Campaign CampaignConfig
	// Ranking holds the organic score's weights.
	Ranking targeting.Weights
	// Discovery holds Nearby settings.
	Discovery DiscoveryConfig
}

// DiscoveryConfig sets how Nearby answers.
type DiscoveryConfig struct {
	// EventTokenTTL is how long a result's event token may be reported.
	EventTokenTTL time.Duration
}

// TLSConfig is transport security. Without a certificate the server speaks
// plaintext, which it allows on loopback addresses only unless the operator
// says AllowPlaintext (e.g. behind a TLS-terminating proxy or in a mesh).
type TLSConfig struct {
	Cert, Key      string        // PEM server certificate chain and key
	ClientCA       string        // PEM CA bundle: clients must present a certificate chaining to it
	MetricsTLS     bool          // serve the metrics listener over TLS too (same certificate)
	ReloadInterval time.Duration // how often the files are checked for a new certificate
	AllowPlaintext bool          // allow plaintext on non-loopback addresses
}

// Enabled reports whether the gRPC listener serves TLS.
func (t TLSConfig) Enabled() bool { return t.Cert != "" }

// LimitsConfig holds per-principal rate limits (token buckets; rate 0 =
// unlimited) and the server-side caps on call deadlines.
type LimitsConfig struct {
	ClientRate, ClientBurst         float64
	AdvertiserRate, AdvertiserBurst float64
	AdminRate, AdminBurst           float64
	MaxCallTimeout                  time.Duration // unary calls
	MaxStreamTimeout                time.Duration // streaming calls (imports)
}

// LogConfig configures log/slog.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string
	// Format is json (for machines) or text (for people).
	Format string
}

// GRPCConfig sets the transport limits that protect the server from slow,
// greedy or misbehaving clients. All are explicit so that none silently
// follows a library default.
type GRPCConfig struct {
	// MaxRecvMsgBytes caps one inbound message.
	MaxRecvMsgBytes int
	// MaxSendMsgBytes caps one outbound message.
	MaxSendMsgBytes int
	// MaxConcurrentStreams caps the streams of one HTTP/2 connection.
	MaxConcurrentStreams int
	// ConnectionTimeout bounds the handshake of a new connection.
	ConnectionTimeout time.Duration
	// KeepaliveMinTime is the shortest ping interval a client may use; a
	// client pinging more often gets GOAWAY.
	KeepaliveMinTime time.Duration
	// KeepaliveTime is how long a connection may be silent before the server
	// pings it.
	KeepaliveTime time.Duration
	// KeepaliveTimeout is how long the server waits for the ping's answer
	// before it closes a half-open connection.
	KeepaliveTimeout time.Duration
	// MaxConnectionIdle closes connections idle for this long.
	MaxConnectionIdle time.Duration
	// ShutdownGrace is how long in-flight calls may run after SIGTERM before
	// they are cut.
	ShutdownGrace time.Duration
}

// CatalogConfig sets how catalog writes are committed.
type CatalogConfig struct {
	// ImportBatch is how many imported items share one fsynced commit.
	ImportBatch int
	// ImportIndexEvery is how many committed items an import may hold back
	// from the Nearby index before handing them over in one update (it
	// always hands everything over before the stream is answered): one
	// index update for many batches rebuilds the nodes they share once.
	// Held items cost memory (~1 KB each); 0 = every batch.
	ImportIndexEvery int
	// MaxImportItems caps one import stream.
	MaxImportItems int
}

// CampaignConfig sets what a campaign may cost the server.
type CampaignConfig struct {
	// MaxFenceCells caps the H3 cells of one geofence's covering: what one
	// campaign costs the covering index. Fences that need more are refused
	// with INVALID_ARGUMENT when they are written.
	MaxFenceCells int
	// ReserveCPMMicros is the auction's reserve price: a campaign whose
	// expected revenue per 1000 impressions (eCPM, micros) is below it does
	// not serve, and a lone winner pays it.
	ReserveCPMMicros int64
	// SponsoredSlots are the 1-based positions of a Nearby page that
	// sponsored results take (at most two; none turns them off).
	SponsoredSlots []int
	// StatsKAnonymity leaves out of GetCampaignStats every cell seen by
	// fewer distinct users.
	StatsKAnonymity int
	// CounterFlushInterval is how often event counters (spend, caps,
	// stats, reach) are persisted: what a crash can lose at most.
	CounterFlushInterval time.Duration
	// MaxEventsPerCall caps the events of one ReportEvents call.
	MaxEventsPerCall int
}

// MaxSponsoredSlots is the most sponsored results one Nearby page carries.
const MaxSponsoredSlots = 2

// Default returns the configuration used when nothing is set.
func Default() Config {
	return Config{
		GRPCAddr:    "127.0.0.1:50051",
		MetricsAddr: "127.0.0.1:9102",
		DataDir:     "./data",
		DemoSeed:    1,
		DemoSize:    50000,
		GCPercent:   200,
		Log:         LogConfig{Level: "info", Format: "json"},
		GRPC: GRPCConfig{
			MaxRecvMsgBytes:      4 << 20,
			MaxSendMsgBytes:      16 << 20,
			MaxConcurrentStreams: 1000,
			ConnectionTimeout:    10 * time.Second,
			KeepaliveMinTime:     10 * time.Second,
			KeepaliveTime:        2 * time.Minute,
			KeepaliveTimeout:     20 * time.Second,
			MaxConnectionIdle:    15 * time.Minute,
			ShutdownGrace:        15 * time.Second,
		},
		Catalog: CatalogConfig{ImportBatch: 10000, ImportIndexEvery: 100_000, MaxImportItems: 5_000_000},
		Campaign: CampaignConfig{
			MaxFenceCells: 20000, ReserveCPMMicros: 100_000, SponsoredSlots: []int{1, 4},
			StatsKAnonymity: 50, CounterFlushInterval: time.Second, MaxEventsPerCall: 1000,
		},
		Ranking:   targeting.DefaultWeights(),
		Discovery: DiscoveryConfig{EventTokenTTL: time.Hour},
		TLS:       TLSConfig{ReloadInterval: 30 * time.Second},
		// The client role is the super-app's backend: one principal that
		// carries every user's Nearby, hence its much larger budget.
		Limits: LimitsConfig{
			ClientRate: 50000, ClientBurst: 100000,
			AdvertiserRate: 50, AdvertiserBurst: 100,
			AdminRate: 500, AdminBurst: 1000,
			MaxCallTimeout: 30 * time.Second, MaxStreamTimeout: 30 * time.Minute,
		},
	}
}

// loopback reports whether addr's host is a loopback address (127.0.0.0/8,
// ::1, localhost). An empty host means every interface: not loopback.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Validate reports every problem of c at once, joined, one line each.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	checkAddr := func(flag, addr string) {
		if _, port, err := net.SplitHostPort(addr); err != nil {
			add("--%s %q: want host:port: %v", flag, addr, err)
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			add("--%s %q: port must be a number 0-65535", flag, addr)
		}
	}
	checkAddr("grpc-addr", c.GRPCAddr)
	checkAddr("metrics-addr", c.MetricsAddr)
	if c.GRPCAddr == c.MetricsAddr && !strings.HasSuffix(c.GRPCAddr, ":0") {
		add("--grpc-addr and --metrics-addr are both %q: they need separate ports", c.GRPCAddr)
	}
	if c.DataDir == "" {
		add("--data-dir: must not be empty")
	}
	if c.KeysFile == "" && !c.Demo {
		add("--keys-file: required (or run with --demo to generate demo keys)")
	}
	if c.GCPercent < 0 || c.GCPercent > 10000 {
		add("--gc-percent %d: must be in [0, 10000] (0 = the runtime's default)", c.GCPercent)
	}
	if c.DemoSize < 1 || c.DemoSize > 5_000_000 {
		add("--demo-size %d: must be 1-5000000", c.DemoSize)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		add("--log-level %q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		add("--log-format %q: want json or text", c.Log.Format)
	}
	g := c.GRPC
	if g.MaxRecvMsgBytes < 1024 || g.MaxRecvMsgBytes > 1<<30 {
		add("--max-recv-msg-bytes %d: must be 1024-1073741824", g.MaxRecvMsgBytes)
	}
	if g.MaxSendMsgBytes < 1024 || g.MaxSendMsgBytes > 1<<30 {
		add("--max-send-msg-bytes %d: must be 1024-1073741824", g.MaxSendMsgBytes)
	}
	if g.MaxConcurrentStreams < 1 || g.MaxConcurrentStreams > 1<<20 {
		add("--max-concurrent-streams %d: must be 1-1048576", g.MaxConcurrentStreams)
	}
	positive := map[string]time.Duration{
		"connection-timeout":  g.ConnectionTimeout,
		"keepalive-min-time":  g.KeepaliveMinTime,
		"keepalive-time":      g.KeepaliveTime,
		"keepalive-timeout":   g.KeepaliveTimeout,
		"max-connection-idle": g.MaxConnectionIdle,
	}
	for _, name := range sortedKeys(positive) {
		if positive[name] <= 0 {
			add("--%s %s: must be positive", name, positive[name])
		}
	}
	if g.ShutdownGrace < 0 {
		add("--shutdown-grace %s: must not be negative", g.ShutdownGrace)
	}
	if c.Catalog.MaxImportItems < 1 {
		add("--max-import-items %d: must be positive", c.Catalog.MaxImportItems)
	}
	if c.Catalog.ImportBatch < 1 || c.Catalog.ImportBatch > 100000 {
		add("--import-batch %d: must be 1-100000", c.Catalog.ImportBatch)
	}
	if c.Catalog.ImportIndexEvery < 0 || c.Catalog.ImportIndexEvery > 1_000_000 {
		add("--import-index-every %d: must be 0-1000000", c.Catalog.ImportIndexEvery)
	}
	if c.Campaign.MaxFenceCells < 1 || c.Campaign.MaxFenceCells > 1_000_000 {
		add("--max-fence-cells %d: must be 1-1000000", c.Campaign.MaxFenceCells)
	}
	cp := c.Campaign
	if cp.ReserveCPMMicros < 0 || cp.ReserveCPMMicros > 1e12 {
		add("--reserve-cpm-micros %d: must be 0-1000000000000", cp.ReserveCPMMicros)
	}
	if len(cp.SponsoredSlots) > MaxSponsoredSlots {
		add("--sponsored-slots %v: at most %d positions", cp.SponsoredSlots, MaxSponsoredSlots)
	}
	for i, p := range cp.SponsoredSlots {
		if p < 1 || p > 100 {
			add("--sponsored-slots %v: positions are 1-100", cp.SponsoredSlots)
			break
		}
		if i > 0 && p <= cp.SponsoredSlots[i-1] {
			add("--sponsored-slots %v: positions must be distinct and ascending", cp.SponsoredSlots)
			break
		}
	}
	if cp.StatsKAnonymity < 1 || cp.StatsKAnonymity > 100000 {
		add("--stats-k-anonymity %d: must be 1-100000", cp.StatsKAnonymity)
	}
	if cp.CounterFlushInterval < 10*time.Millisecond || cp.CounterFlushInterval > time.Minute {
		add("--counter-flush-interval %s: must be between 10ms and 1m", cp.CounterFlushInterval)
	}
	if cp.MaxEventsPerCall < 1 || cp.MaxEventsPerCall > 100000 {
		add("--max-events-per-call %d: must be 1-100000", cp.MaxEventsPerCall)
	}
	t := c.TLS
	if (t.Cert == "") != (t.Key == "") {
		add("--tls-cert and --tls-key: give both or neither")
	}
	if !t.Enabled() && t.ClientCA != "" {
		add("--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS)")
	}
	if !t.Enabled() && t.MetricsTLS {
		add("--metrics-tls needs --tls-cert and --tls-key")
	}
	if t.ReloadInterval < time.Second {
		add("--tls-reload-interval %s: must be at least 1s", t.ReloadInterval)
	}
	if !t.AllowPlaintext {
		if !t.Enabled() && !loopback(c.GRPCAddr) {
			add("--grpc-addr %s is not a loopback address and no --tls-cert is set: serve TLS, or say --allow-plaintext (behind a TLS proxy or in a mesh)", c.GRPCAddr)
		}
		if !t.MetricsTLS && !loopback(c.MetricsAddr) {
			add("--metrics-addr %s is not a loopback address and --metrics-tls is off: serve it over TLS, or say --allow-plaintext", c.MetricsAddr)
		}
	}
	lim := c.Limits
	for _, r := range []struct {
		name        string
		rate, burst float64
	}{{"client", lim.ClientRate, lim.ClientBurst}, {"advertiser", lim.AdvertiserRate, lim.AdvertiserBurst}, {"admin", lim.AdminRate, lim.AdminBurst}} {
		if !(r.rate >= 0 && r.rate <= 1e9) {
			add("--rate-%s %v: must be in [0, 1e9] (0 = unlimited)", r.name, r.rate)
		}
		if r.rate > 0 && !(r.burst >= 1 && r.burst <= 1e9) {
			add("--rate-%s-burst %v: must be in [1, 1e9]", r.name, r.burst)
		}
	}
	if lim.MaxCallTimeout < 10*time.Millisecond || lim.MaxStreamTimeout < 10*time.Millisecond {
		add("--max-call-timeout %s / --max-stream-timeout %s: must be at least 10ms", lim.MaxCallTimeout, lim.MaxStreamTimeout)
	}
	if err := c.Ranking.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Discovery.EventTokenTTL < time.Second || c.Discovery.EventTokenTTL > 30*24*time.Hour {
		add("--event-token-ttl %s: must be between 1s and 720h", c.Discovery.EventTokenTTL)
	}
	return errors.Join(errs...)
}
