package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aroundme/aroundme/geo"
	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/auth"
	"github.com/aroundme/aroundme/pkg/campaign"
	"github.com/aroundme/aroundme/pkg/catalog"
	"github.com/aroundme/aroundme/pkg/config"
	"github.com/aroundme/aroundme/pkg/index"
	"github.com/aroundme/aroundme/pkg/ledger"
	"github.com/aroundme/aroundme/pkg/pagetoken"
	"github.com/aroundme/aroundme/pkg/reach"
	"github.com/aroundme/aroundme/pkg/secret"
	"github.com/aroundme/aroundme/pkg/store"
	"github.com/aroundme/aroundme/pkg/tlsconf"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"
)

// SecretFileName is the server's signing key inside the data dir.
const SecretFileName = "secret.key"

// Options are the dependencies Serve and New take from their caller instead
// of from globals, so that tests run servers side by side.
type Options struct {
	// Logger receives structured logs; nil = JSON on stderr per cfg.Log.
	Logger *slog.Logger
	// Registry receives every metric and serves /metrics; nil = a fresh one
	// with the Go and process collectors.
	Registry *prometheus.Registry
	// Now is the clock; nil = time.Now.
	Now func() time.Time
	// Out receives what is printed for people (demo keys); nil = stdout.
	Out io.Writer
}

// Server is one aroundme server: store, services and the gRPC server. It is
// built by New and run by Run (or both by Serve).
type Server struct {
	cfg  config.Config
	log  *slog.Logger
	reg  *prometheus.Registry
	now  func() time.Time
	out  io.Writer
	st   *store.DB
	cat  *catalog.Catalog
	camp *campaign.Store
	ix   *index.Index
	sp   *sponsors
	grpc *grpc.Server
	tls  *tlsconf.Reloader // nil = plaintext

	health       *health.Server
	authz        *auth.Authorizer
	grpcMetrics  *grpcprom.ServerMetrics
	chainMetrics *chainMetrics
	indexMetrics *indexMetrics
	limits       *limits
	ready        readiness

	closeOnce      sync.Once
	stopBackground func() // stops the counter persisters (Run starts them); nil before
}

// Serve runs the server described by cfg until ctx is cancelled, then shuts
// it down gracefully. It returns nil after a clean shutdown.
func Serve(ctx context.Context, cfg config.Config, opts Options) error {
	if cfg.GCPercent > 0 {
		debug.SetGCPercent(cfg.GCPercent)
	}
	s, err := New(cfg, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	lis, err := net.Listen("tcp", cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("gRPC listener: %w", err)
	}
	mlis, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		lis.Close()
		return fmt.Errorf("metrics listener: %w", err)
	}
	return s.Run(ctx, lis, mlis)
}

// New opens the store and builds the server, ready to Run. Errors are
// one-line and say what to do (a locked or corrupt data dir, a bad keys
// file).
func New(cfg config.Config, opts Options) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: opts.Logger, reg: opts.Registry, now: opts.Now, out: opts.Out}
	if s.log == nil {
		s.log = NewLogger(cfg.Log, os.Stderr)
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
		s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.out == nil {
		s.out = os.Stdout
	}

	st, err := store.Open(cfg.DataDir, store.Options{Logger: s.log})
	if err != nil {
		return nil, err
	}
	s.st = st
	fail := func(err error) (*Server, error) {
		st.Close()
		return nil, err
	}
	key, err := secret.LoadOrCreate(filepath.Join(cfg.DataDir, SecretFileName))
	if err != nil {
		return fail(err)
	}
	keys, err := s.loadKeys()
	if err != nil {
		return fail(err)
	}
	s.cat = catalog.New(st, s.now)
	s.camp = campaign.New(st, campaign.Options{Now: s.now, MaxFenceCells: cfg.Campaign.MaxFenceCells, Spend: func(id string) int64 {
		total, _ := s.sp.ledger.Spend(id)
		return total
	}})
	if cfg.Demo {
		if err := s.seedDemo(context.Background()); err != nil {
			return fail(fmt.Errorf("demo seed: %w", err))
		}
	}

	s.ix = index.New(cfg.Ranking, s.now)
	policy := geo.CoverPolicy{MaxCells: cfg.Campaign.MaxFenceCells}
	s.sp = &sponsors{
		fences: index.NewFences(policy), items: s.ix, reach: reach.New(s.now), policy: policy,
		reserve: cfg.Campaign.ReserveCPMMicros, now: s.now, log: s.log, metrics: newSponsorMetrics(s.reg),
	}
	for _, p := range cfg.Campaign.SponsoredSlots {
		s.sp.slots = append(s.sp.slots, p-1)
	}
	s.sp.ledger, err = ledger.Open(context.Background(), ledger.Options{
		Store: st, Now: s.now, FlushInterval: cfg.Campaign.CounterFlushInterval, KAnonymity: cfg.Campaign.StatsKAnonymity,
		Terms: s.sp.termsOf, DedupeWindow: cfg.Discovery.EventTokenTTL + 5*time.Minute,
	})
	if err != nil {
		return fail(fmt.Errorf("loading event counters: %w", err))
	}
	registerLedgerMetrics(s.reg, s.sp.ledger)

	s.authz = auth.NewAuthorizer(keys, Policy)
	s.grpcMetrics = newGRPCMetrics(s.reg)
	s.chainMetrics = newChainMetrics(s.reg)
	s.indexMetrics = newIndexMetrics(s.reg, s.ix, s.now)
	s.limits = newLimits(cfg.Limits, nil, s.reg) // real time, not the business clock
	s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "aroundme_store_writable",
		Help: "1 while the store can make writes durable; 0 after a write or fsync failed (full disk, unwritable dir): writes are refused until a restart.",
	}, func() float64 {
		if s.st.Healthy() != nil {
			return 0
		}
		return 1
	}))
	unary, stream := s.chain()
	g := cfg.GRPC
	var creds []grpc.ServerOption
	if cfg.TLS.Enabled() {
		s.tls, err = tlsconf.New(tlsconf.Files{Cert: cfg.TLS.Cert, Key: cfg.TLS.Key, ClientCA: cfg.TLS.ClientCA}, s.log)
		if err != nil {
			return fail(err)
		}
		creds = append(creds, grpc.Creds(credentials.NewTLS(s.tls.ServerConfig(true))))
	}
	s.grpc = grpc.NewServer(append(creds,
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(stream...),
		grpc.ForceServerCodecV2(newWireCodec()), // protobuf, Nearby's pre-encoded responses without a copy
		grpc.MaxRecvMsgSize(g.MaxRecvMsgBytes),
		grpc.MaxSendMsgSize(g.MaxSendMsgBytes),
		grpc.MaxConcurrentStreams(uint32(g.MaxConcurrentStreams)),
		grpc.ConnectionTimeout(g.ConnectionTimeout),
		// A fixed pool of goroutines serves the streams: their stacks stay
		// grown, instead of every call starting a fresh goroutine whose
		// stack is copied as the handler deepens (4% of Nearby's CPU).
		grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0))),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             g.KeepaliveMinTime,
			PermitWithoutStream: true,
		}),
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: g.MaxConnectionIdle,
			Time:              g.KeepaliveTime,
			Timeout:           g.KeepaliveTimeout,
		}),
	)...)
	v1.RegisterCatalogServiceServer(s.grpc, &catalogService{
		log: s.log, cat: s.cat, maxImport: int64(cfg.Catalog.MaxImportItems), tokens: pagetoken.New(key), importBatch: cfg.Catalog.ImportBatch,
		indexEvery: cfg.Catalog.ImportIndexEvery,
	})
	disc, err := newDiscoveryService(s.ix, s.sp, key, cfg.Discovery.EventTokenTTL, s.now, s.reg)
	if err != nil {
		return fail(err)
	}
	disc.maxEvents = cfg.Campaign.MaxEventsPerCall
	v1.RegisterDiscoveryServiceServer(s.grpc, disc)
	v1.RegisterCampaignServiceServer(s.grpc, &campaignService{camps: s.camp, tokens: pagetoken.New(key), sp: s.sp, userHash: disc.userHash})
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	s.grpcMetrics.InitializeMetrics(s.grpc)
	s.setServing(false)
	return s, nil
}

// Policy is the role each service requires (admins may call everything).
var Policy = map[string]auth.Role{
	"/aroundme.v1.CatalogService/":   auth.RoleAdmin,
	"/aroundme.v1.DiscoveryService/": auth.RoleClient,
	"/aroundme.v1.CampaignService/":  auth.RoleAdvertiser,
}

// services are the names health reports on, besides the overall "".
var services = []string{"", catalogServiceName, "aroundme.v1.DiscoveryService", "aroundme.v1.CampaignService"}

func (s *Server) setServing(on bool) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if on {
		st = healthpb.HealthCheckResponse_SERVING
	}
	for _, name := range services {
		s.health.SetServingStatus(name, st)
	}
	s.ready.v.Store(on)
}

// catalogService is the health name of the service that writes.
const catalogServiceName = "aroundme.v1.CatalogService"

// watchStore follows the store's ability to write: when it fails (a full
// disk, an unwritable dir, a failed fsync) the catalog's health turns
// NOT_SERVING while reads go on and the overall health stays SERVING, so a
// load balancer keeps sending Nearby traffic; /readyz and
// aroundme_store_writable say why. Writes stay refused until a restart
// (after the operator has freed the disk).
func (s *Server) watchStore(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	failed := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.st.Healthy()
		if (err != nil) == failed || !s.ready.v.Load() {
			continue
		}
		failed = err != nil
		if failed {
			s.log.Error("store cannot write: catalog writes are refused with UNAVAILABLE, reads go on", "error", err.Error())
			s.health.SetServingStatus(catalogServiceName, healthpb.HealthCheckResponse_NOT_SERVING)
		} else {
			s.health.SetServingStatus(catalogServiceName, healthpb.HealthCheckResponse_SERVING)
		}
	}
}

// Ready reports whether the data is loaded and the server takes API calls
// (what /readyz says, less the store's health).
func (s *Server) Ready() bool { return s.ready.v.Load() }

// GRPCServer is the gRPC server, for tests that serve it on their own
// listener (bufconn).
func (s *Server) GRPCServer() *grpc.Server { return s.grpc }

// Load reads every record and builds the indexes, then subscribes them to
// catalog changes and turns health to SERVING. Run calls it; tests that serve
// GRPCServer themselves call it. API calls are refused until it is done, so
// no write can slip between the load and the subscription.
//
// The Nearby index is built while the campaigns load: the two are
// independent, and each has long single-threaded stretches (sorting the
// places, reading the campaign records) that would otherwise leave a core
// idle. The load's garbage (every record decoded once) is given back to the
// OS after health turns SERVING: that full collection marks the whole live
// heap (~0.7 s for 1M items, ~2 s with 100k campaigns) and serving does not
// need to wait for it.
func (s *Server) Load(ctx context.Context) error {
	start := time.Now()
	changes, err := s.loadItems(ctx)
	if err != nil {
		return fmt.Errorf("loading the catalog: %w", err)
	}
	decoded := time.Since(start)
	records := len(changes)
	indexed := make(chan time.Duration, 1)
	go func(changes []index.Change) {
		t := time.Now()
		s.ix.Load(changes)
		indexed <- time.Since(t)
	}(changes)
	changes = nil
	t := time.Now()
	campErr := s.sp.load(ctx, s.camp)
	campTook := time.Since(t)
	indexTook := <-indexed
	if campErr != nil {
		return fmt.Errorf("loading campaigns: %w", campErr)
	}
	s.cat.Listen(s.applyToIndex)
	s.camp.Listen(s.sp.apply)
	if err := s.sp.loadReach(ctx, s.st); err != nil {
		return fmt.Errorf("loading request counters: %w", err)
	}
	took := time.Since(start)
	s.indexMetrics.buildSeconds.Set(took.Seconds())
	st := s.ix.Snapshot().Stats()
	fst := s.sp.fences.Snapshot().Stats()
	s.log.Info("data loaded, index built", "mini_programs", records, "visible", st.MiniPrograms,
		"places", st.Places, "cells", st.Leaves, "campaigns", fst.Fences, "fence_cells", fst.Cells, "duration", took.String(),
		"catalog_decode", decoded.String(), "index_build", indexTook.String(), "campaigns_load", campTook.String())
	s.setServing(true)
	t = time.Now()
	debug.FreeOSMemory()
	s.log.Info("load garbage released", "duration", time.Since(t).String())
	return nil
}

// loadItems decodes every stored mini-program and converts it for the index
// on every core (decoding, and the H3 call per place of a record without
// its cells, are the bulk of the start-up). A corrupt record stops the
// start.
//
// The scan hands the records over in batches of batchSize, their bytes
// copied into one buffer per batch (a record's bytes are only valid during
// the scan's call; one allocation per batch instead of one per record).
func (s *Server) loadItems(ctx context.Context) ([]index.Change, error) {
	type rec struct {
		id       string // the store key's tail: a string, valid after the call
		from, to int    // the record's bytes in the batch's buffer
	}
	type batch struct {
		seq  int
		recs []rec
		buf  []byte
	}
	const batchSize = 1024
	workers := runtime.GOMAXPROCS(0)
	in := make(chan batch, workers*2)
	var (
		mu      sync.Mutex
		parts   [][]index.Change // by batch sequence number
		firstEr error
		wg      sync.WaitGroup
	)
	w := s.ix.Weights()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range in {
				chs := make([]index.Change, len(b.recs))
				var berr error
				for i, r := range b.recs {
					id, it, err := index.DecodeItem(b.buf[r.from:r.to], w, catalog.CellsField)
					if err == nil && id != r.id {
						err = fmt.Errorf("holds id %q", id)
					}
					if err != nil {
						berr = fmt.Errorf("catalog: record %q is corrupt: %w", r.id, err)
						break
					}
					chs[i] = index.Change{ID: id, Item: it}
					if it != nil && !it.HasCells() {
						chs[i].Leaves = it.Leaves() // an older record: H3 here, on every core
					}
				}
				mu.Lock()
				if berr != nil && firstEr == nil {
					firstEr = berr
				}
				if b.seq >= len(parts) {
					parts = append(parts, make([][]index.Change, b.seq+1-len(parts))...)
				}
				parts[b.seq] = chs
				mu.Unlock()
			}
		}()
	}
	cur := batch{recs: make([]rec, 0, batchSize)}
	n := 0
	err := s.cat.LoadRaw(ctx, func(id string, raw []byte) error {
		from := len(cur.buf)
		cur.buf = append(cur.buf, raw...)
		cur.recs = append(cur.recs, rec{id, from, len(cur.buf)})
		n++
		if len(cur.recs) == batchSize {
			in <- cur
			// The next buffer is sized like the last one: records are
			// alike, so it rarely grows.
			cur = batch{seq: cur.seq + 1, recs: make([]rec, 0, batchSize), buf: make([]byte, 0, cap(cur.buf))}
		}
		return nil
	})
	in <- cur
	close(in)
	wg.Wait()
	if err == nil {
		err = firstEr
	}
	if err != nil {
		return nil, err
	}
	out := make([]index.Change, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out, nil
}

// applyToIndex is the catalog listener: each committed batch of changes
// becomes one new index snapshot before the write is acknowledged.
func (s *Server) applyToIndex(changes []catalog.Change) {
	start := time.Now()
	w := s.ix.Weights()
	out := make([]index.Change, len(changes))
	for i, c := range changes {
		out[i] = index.Change{ID: c.ID}
		if c.New != nil {
			// The item keeps the cells the catalog stored with it.
			out[i].Item = index.NewItemWithCells(c.New, w, c.Cells)
		}
	}
	s.ix.Apply(out)
	s.indexMetrics.applySeconds.Observe(time.Since(start).Seconds())
}

// derive returns a key for one purpose from the server secret, so that one
// secret serves several uses without any two sharing a key.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Run serves gRPC on lis and HTTP (metrics, health) on mlis until ctx is
// cancelled, then stops gracefully: health NOT_SERVING, GracefulStop for the
// grace period, Stop, store closed.
func (s *Server) Run(ctx context.Context, lis, mlis net.Listener) error {
	httpSrv := &http.Server{Handler: s.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
	if s.tls != nil {
		wctx, stop := context.WithCancel(ctx)
		defer stop()
		go s.tls.Watch(wctx, s.cfg.TLS.ReloadInterval)
		if s.cfg.TLS.MetricsTLS {
			mlis = tls.NewListener(mlis, s.tls.ServerConfig(false))
		}
	}
	errc := make(chan error, 2)
	go func() {
		if err := httpSrv.Serve(mlis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("metrics server: %w", err)
		}
	}()
	go func() {
		if err := s.grpc.Serve(lis); err != nil {
			errc <- fmt.Errorf("gRPC server: %w", err)
		}
	}()
	s.log.Info("listening", "grpc", lis.Addr().String(), "metrics", mlis.Addr().String(),
		"tls", s.tls != nil, "mtls", s.tls != nil && s.cfg.TLS.ClientCA != "", "metrics_tls", s.cfg.TLS.MetricsTLS)

	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go s.watchStore(wctx, time.Second)
	bctx, stopBackground := context.WithCancel(context.Background())
	var background sync.WaitGroup
	background.Add(3)
	go func() { defer background.Done(); s.sp.ledger.Run(bctx) }()
	go func() { defer background.Done(); s.sp.persistReach(bctx, s.st, reachFlushInterval) }()
	go func() { defer background.Done(); s.sp.refreshCTRs(bctx, ctrRefreshInterval) }()
	s.stopBackground = func() { stopBackground(); background.Wait() }
	loaded := make(chan error, 1)
	go func() { loaded <- s.Load(ctx) }()

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-loaded:
		if err != nil {
			runErr = err
			break
		}
		select {
		case <-ctx.Done():
		case runErr = <-errc:
		}
	case runErr = <-errc:
	}
	s.shutdown(httpSrv)
	return runErr
}

func (s *Server) shutdown(httpSrv *http.Server) {
	s.log.Info("shutting down", "grace", s.cfg.GRPC.ShutdownGrace.String())
	s.health.Shutdown() // every service NOT_SERVING, and stays so
	s.ready.v.Store(false)
	done := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.cfg.GRPC.ShutdownGrace):
		s.log.Warn("grace period over: cutting the calls still running")
		s.grpc.Stop()
		<-done
	}
	hctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = httpSrv.Shutdown(hctx)
	s.Close()
	s.log.Info("stopped")
}

// Close persists the event and request counters, then closes the store;
// it is idempotent.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		if s.stopBackground != nil {
			s.stopBackground() // their last flushes happen here, before the store closes
		}
		if lerr := s.sp.ledger.Close(); lerr != nil {
			s.log.Error("event counters not persisted at shutdown", "error", lerr.Error())
		}
		if rerr := s.sp.saveReach(context.Background(), s.st); rerr != nil {
			s.log.Error("request counters not persisted at shutdown", "error", rerr.Error())
		}
		err = s.st.Close()
	})
	return err
}

func (s *Server) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg}))
	if s.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		// Liveness: the process answers. A broken store is readiness' concern.
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.v.Load() {
			http.Error(w, "not ready: loading or shutting down", http.StatusServiceUnavailable)
			return
		}
		if err := s.st.Healthy(); err != nil {
			http.Error(w, "not ready: store cannot write: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok\n"))
	})
	return mux
}

// NewLogger returns the slog logger described by c, writing to w.
func NewLogger(c config.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	o := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, o))
	}
	return slog.New(slog.NewJSONHandler(w, o))
}
