package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

// startWorkers starts the readers, writers, importers and event reporters.
// Worker numbers (for the Windows and the connections) are readers first,
// then writers, then importers, then reporters.
func (s *soak) startWorkers(ctx context.Context, wg *sync.WaitGroup, start time.Time) {
	o := s.o
	n := uint64(len(s.reqs))
	stride := uint64(max(1, len(s.reqs)/max(1, o.readers)))
	for r := range o.readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.read(ctx, r, func(seq uint64) *pb.NearbyRequest { return s.reqs[(uint64(r)*stride+seq)%n] })
		}()
	}
	var period time.Duration
	if o.writeRate > 0 && o.writers > 0 {
		period = time.Duration(float64(time.Second) * float64(o.writers) / o.writeRate)
	}
	for k := range o.writers {
		w := &soakWriter{
			s: s, k: k, slot: o.readers + k, prefix: fmt.Sprintf("%sw%d-", s.idPrefix(), k),
			d: int64(o.workingSet / 4), rng: rand.New(rand.NewPCG(uint64(o.seed), uint64(k))),
			client: pb.NewCatalogServiceClient(s.conn(o.readers + k)),
			pace:   pacer{period: period, next: start.Add(period * time.Duration(k) / time.Duration(o.writers))},
		}
		w.ring = make([]ringEntry, 4*w.d+1)
		s.writers = append(s.writers, w)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.loop(ctx)
		}()
	}
	for k := range o.importers {
		im := &soakImporter{
			s: s, k: k, slot: o.readers + o.writers + k, prefix: fmt.Sprintf("%si%d-", s.idPrefix(), k),
			rng:    rand.New(rand.NewPCG(uint64(o.seed), uint64(1000+k))),
			client: pb.NewCatalogServiceClient(s.conn(o.readers + o.writers + k)),
			pace:   pacer{period: o.importEvery, next: start.Add(o.importEvery * time.Duration(k) / time.Duration(o.importers))},
		}
		s.importers = append(s.importers, im)
		wg.Add(1)
		go func() {
			defer wg.Done()
			im.loop(ctx)
		}()
	}
	var eventPeriod time.Duration
	if o.eventRate > 0 && o.reporters > 0 {
		eventPeriod = time.Duration(float64(time.Second) * float64(o.reporters) / o.eventRate)
	}
	for k := range o.reporters {
		slot := o.readers + o.writers + o.importers + k
		r := &soakReporter{s: s, k: k, slot: slot, client: pb.NewDiscoveryServiceClient(s.conn(slot)),
			pace: pacer{period: eventPeriod, next: start.Add(eventPeriod * time.Duration(k) / time.Duration(o.reporters))}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.loop(ctx)
		}()
	}
}

// soakReporter reports the events of sponsored results, as the super-app
// does after showing a page.
type soakReporter struct {
	s      *soak
	k      int
	slot   int
	client pb.DiscoveryServiceClient
	pace   pacer
	n      uint64
}

func (r *soakReporter) loop(ctx context.Context) {
	s := r.s
	for r.pace.wait(&s.stopped, s.stopCh) {
		r.n++
		req := proto.Clone(s.reqs[(uint64(r.k)*7919+r.n)%uint64(len(s.reqs))]).(*pb.NearbyRequest)
		if req.User == nil {
			req.User = &pb.UserContext{}
		}
		req.User.UserId = fmt.Sprintf("%su%d", s.idPrefix(), r.n%10000)
		cctx, cancel := context.WithTimeout(s.readCtx, s.e.g.timeout)
		resp, err := r.client.Nearby(cctx, req)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.win.Record(r.slot, seriesRead, 0, err)
			continue
		}
		var evs []*pb.Event
		for i, res := range resp.GetResults() {
			if res.GetSponsorship() == nil {
				continue
			}
			id := fmt.Sprintf("%se%d-%d-%d", s.idPrefix(), r.k, r.n, i)
			evs = append(evs, &pb.Event{EventId: id, EventToken: res.GetEventToken(), Type: pb.EventType_EVENT_TYPE_IMPRESSION})
			if r.n%10 == 0 {
				evs = append(evs, &pb.Event{EventId: id + "c", EventToken: res.GetEventToken(), Type: pb.EventType_EVENT_TYPE_CLICK})
			}
		}
		if len(evs) == 0 {
			continue
		}
		cctx, cancel = context.WithTimeout(s.readCtx, s.e.g.timeout)
		t0 := time.Now()
		out, err := r.client.ReportEvents(cctx, &pb.ReportEventsRequest{Events: evs})
		d := time.Since(t0)
		cancel()
		if err != nil && ctx.Err() != nil {
			return
		}
		if err == nil {
			for _, res := range out.GetResults() {
				if !res.GetAccepted() {
					err = status.Errorf(codes.FailedPrecondition, "event %s rejected: %s", res.GetEventId(), res.GetReason())
					break
				}
			}
		}
		s.win.Record(r.slot, seriesEvent, d, err)
	}
}

// read calls Nearby back to back until the run stops. Responses are framed
// but not parsed, as in bench.
func (s *soak) read(ctx context.Context, w int, req func(uint64) *pb.NearbyRequest) {
	cc := s.conn(w)
	for seq := uint64(0); !s.stopped.Load(); seq++ {
		cctx, cancel := context.WithTimeout(s.readCtx, s.e.g.timeout)
		var resp rawResponse
		t0 := time.Now()
		err := cc.Invoke(cctx, pb.DiscoveryService_Nearby_FullMethodName, req(seq), &resp, grpc.ForceCodecV2(rawCodec{}))
		d := time.Since(t0)
		cancel()
		if err != nil && ctx.Err() != nil {
			return // cancelled by Ctrl-C: not the server's error
		}
		s.win.Record(w, seriesRead, d, err)
	}
}

// pacer spaces a worker's calls period apart (0 = no pacing). After a stall
// it does not burst to catch up by more than a second.
type pacer struct {
	period time.Duration
	next   time.Time
}

// wait sleeps until the next call is due; false when the run stopped.
func (p *pacer) wait(stopped *atomic.Bool, stopCh <-chan struct{}) bool {
	if stopped.Load() {
		return false
	}
	if p.period <= 0 {
		return true
	}
	now := time.Now()
	if p.next.IsZero() || now.Sub(p.next) > time.Second {
		p.next = now
	}
	d := p.next.Sub(now)
	p.next = p.next.Add(p.period)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stopCh:
		return false
	case <-t.C:
		return !stopped.Load()
	}
}

// ringEntry is one id of a writer's working set: its number and the
// version the writer last saw (0 = not created, -1 = unknown: a call on it
// failed, so only a delete of any version is tried).
type ringEntry struct{ j, ver int64 }

// soakWriter cycles ids through create → update → hide → unhide → delete.
// Step s works on id j = s/5 - (s%5)*d with operation s%5: the ids in
// (j-4d, j] are alive, at most 4d = --working-set of them, and the five
// kinds of write are interleaved from the first steps on.
type soakWriter struct {
	s         *soak
	k, slot   int
	prefix    string
	d         int64
	ring      []ringEntry
	rng       *rand.Rand
	client    pb.CatalogServiceClient
	pace      pacer
	leftovers []string
}

func (w *soakWriter) id(j int64) string { return w.prefix + strconv.FormatInt(j, 10) }

func (w *soakWriter) loop(ctx context.Context) {
	s := w.s
	for step := int64(0); ; step++ {
		op := step % 5
		j := step/5 - op*w.d
		if j < 0 {
			continue
		}
		e := &w.ring[j%int64(len(w.ring))]
		switch {
		case op == 0:
			if e.ver != 0 {
				w.leftovers = append(w.leftovers, w.id(e.j))
			}
			*e = ringEntry{j: j}
		case e.j != j || e.ver == 0:
			continue // never created
		case e.ver < 0 && op != 4:
			continue // state unknown: wait for the delete
		}
		if !w.pace.wait(&s.stopped, s.stopCh) {
			return
		}
		cctx, cancel := context.WithTimeout(s.writeCtx, s.e.g.timeout)
		series, ver, err, d := w.do(cctx, op, e)
		cancel()
		if err != nil && ctx.Err() != nil {
			if e.ver != 0 || op == 0 {
				e.ver = -1
			}
			return
		}
		s.win.Record(w.slot, series, d, err)
		switch {
		case op == 4 && err != nil:
			w.leftovers = append(w.leftovers, w.id(j))
			e.ver = 0
		case op == 4:
			e.ver = 0
		case err != nil:
			e.ver = -1
		default:
			e.ver = ver
		}
	}
}

// do makes the call of operation op on e and returns its series, the new
// version, the error and the latency.
func (w *soakWriter) do(ctx context.Context, op int64, e *ringEntry) (series int, ver int64, err error, d time.Duration) {
	id := w.id(e.j)
	var mp *pb.MiniProgram
	var req *pb.UpdateMiniProgramRequest
	switch op {
	case 0:
		mp = soakMiniProgram(w.rng, w.s.reqs, id, "Soak "+strconv.FormatInt(e.j, 10))
	case 1:
		mp = soakMiniProgram(w.rng, w.s.reqs, id, fmt.Sprintf("Soak %d v%d", e.j, e.ver+1))
		req = &pb.UpdateMiniProgramRequest{MiniProgram: mp, ExpectedVersion: e.ver,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name", "rating", "places"}}}
	case 2, 3:
		req = &pb.UpdateMiniProgramRequest{MiniProgram: &pb.MiniProgram{Id: id, Hidden: op == 2}, ExpectedVersion: e.ver,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"hidden"}}}
	}
	t0 := time.Now()
	switch op {
	case 0:
		var resp *pb.CreateMiniProgramResponse
		resp, err = w.client.CreateMiniProgram(ctx, &pb.CreateMiniProgramRequest{MiniProgram: mp})
		return seriesCreate, resp.GetMiniProgram().GetVersion(), err, time.Since(t0)
	case 1, 2, 3:
		var resp *pb.UpdateMiniProgramResponse
		resp, err = w.client.UpdateMiniProgram(ctx, req)
		return [...]int{1: seriesUpdate, 2: seriesHide, 3: seriesUnhide}[op], resp.GetMiniProgram().GetVersion(), err, time.Since(t0)
	default:
		ver := max(e.ver, 0) // unknown state: any version
		_, err = w.client.DeleteMiniProgram(ctx, &pb.DeleteMiniProgramRequest{Id: id, ExpectedVersion: ver})
		d = time.Since(t0)
		if e.ver < 0 && status.Code(err) == codes.NotFound {
			err = nil // the failed call never created it
		}
		return seriesDelete, 0, err, d
	}
}

// alive lists the ids the writer may have left in the catalog.
func (w *soakWriter) alive() []string {
	out := append([]string(nil), w.leftovers...)
	for _, e := range w.ring {
		if e.ver != 0 {
			out = append(out, w.id(e.j))
		}
	}
	return out
}

// soakImporter streams --import-size items every --import-every, cycling
// through a fixed set of ids (upserts: created the first time, then
// updated).
type soakImporter struct {
	s       *soak
	k, slot int
	prefix  string
	rng     *rand.Rand
	client  pb.CatalogServiceClient
	pace    pacer
	sent    int // ids 0 to sent-1 may exist
	warned  bool
}

func (im *soakImporter) loop(ctx context.Context) {
	s, o := im.s, im.s.o
	batches := max(1, o.workingSet/o.importSize)
	for b := 0; ; b++ {
		if !im.pace.wait(&s.stopped, s.stopCh) {
			return
		}
		base := (b % batches) * o.importSize
		cctx, cancel := context.WithTimeout(s.writeCtx, s.e.g.timeout)
		t0 := time.Now()
		err := im.stream(cctx, base, o.importSize)
		d := time.Since(t0)
		cancel()
		im.sent = max(im.sent, base+o.importSize)
		if err != nil && ctx.Err() != nil {
			return
		}
		s.win.Record(im.slot, seriesImport, d, err)
	}
}

func (im *soakImporter) stream(ctx context.Context, base, n int) error {
	stream, err := im.client.ImportMiniPrograms(ctx)
	if err != nil {
		return err
	}
	for i := range n {
		id := im.prefix + strconv.Itoa(base+i)
		mp := soakMiniProgram(im.rng, im.s.reqs, id, "Soak import "+strconv.Itoa(base+i))
		if err := stream.Send(&pb.ImportMiniProgramsRequest{MiniProgram: mp}); err != nil {
			if errors.Is(err, io.EOF) {
				break // the status comes from CloseAndRecv
			}
			return err
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return err
	}
	if resp.GetFailed() > 0 {
		if !im.warned {
			im.warned = true
			first := ""
			if errs := resp.GetErrors(); len(errs) > 0 {
				first = ": first: " + errs[0].GetMessage()
			}
			fmt.Fprintf(im.s.e.stderr, "aroundctl soak: warning: an import stream had %d failed items%s\n", resp.GetFailed(), first)
		}
		return status.Errorf(codes.InvalidArgument, "%d of %d imported items failed", resp.GetFailed(), n)
	}
	return nil
}

func (im *soakImporter) alive() []string {
	out := make([]string, im.sent)
	for i := range out {
		out[i] = im.prefix + strconv.Itoa(i)
	}
	return out
}

// soakCategories are the categories written mini-programs draw from.
var soakCategories = func() []pb.Category {
	var out []pb.Category
	for v := range pb.Category_name {
		if v != 0 {
			out = append(out, pb.Category(v))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}()

// soakMiniProgram is a valid mini-program (see pkg/validate): a category,
// a name, a rating and 1-3 places within about a kilometre of a query
// position, so that readers find it.
func soakMiniProgram(rng *rand.Rand, reqs []*pb.NearbyRequest, id, name string) *pb.MiniProgram {
	at := reqs[rng.IntN(len(reqs))].GetLocation()
	mp := &pb.MiniProgram{
		Id: id, Name: name, Category: soakCategories[rng.IntN(len(soakCategories))],
		Description: "written by aroundctl soak",
		Rating:      math.Round(rng.Float64()*50) / 10, Popularity: rng.Int64N(100000),
	}
	for i := range 1 + rng.IntN(3) {
		const m = 1.0 / 111_320 // degrees of latitude per metre
		lat := at.GetLatitude() + (rng.Float64()*2-1)*1000*m
		lng := at.GetLongitude() + (rng.Float64()*2-1)*1000*m/max(0.01, math.Cos(lat*math.Pi/180))
		lat = math.Max(-90, math.Min(90, lat))
		lng = math.Max(-180, math.Min(180, lng))
		mp.Places = append(mp.Places, &pb.Place{
			Id: "p" + strconv.Itoa(i+1), Location: &pb.LatLng{Latitude: lat, Longitude: lng}, Label: "soak",
		})
	}
	return mp
}

// cleanupIDs deletes what the run left in the catalog (any version; NOT_FOUND
// is fine), retrying calls refused by the rate limit, within a minute.
func (s *soak) cleanupIDs() *soakCleanup {
	var ids []string
	for _, w := range s.writers {
		ids = append(ids, w.alive()...)
	}
	for _, im := range s.importers {
		ids = append(ids, im.alive()...)
	}
	res := &soakCleanup{Tried: len(ids)}
	if len(ids) == 0 {
		return res
	}
	// The run's context may be cancelled (Ctrl-C): cleanup still runs,
	// bounded.
	base := context.WithoutCancel(s.writeCtx)
	cctx, cancel := context.WithTimeout(base, time.Minute)
	defer cancel()
	client := pb.NewCatalogServiceClient(s.conns[0])
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(4, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ids) || cctx.Err() != nil {
					return
				}
				var err error
				for attempt := 0; attempt < 20; attempt++ {
					callCtx, cancel := context.WithTimeout(cctx, s.e.g.timeout)
					_, err = client.DeleteMiniProgram(callCtx, &pb.DeleteMiniProgramRequest{Id: ids[i]})
					cancel()
					if status.Code(err) != codes.ResourceExhausted {
						break
					}
					time.Sleep(250 * time.Millisecond)
				}
				mu.Lock()
				switch status.Code(err) {
				case codes.OK:
					res.Deleted++
				case codes.NotFound:
				default:
					res.Failed++
					if res.FirstError == "" {
						res.FirstError = s.e.g.describeErr("DeleteMiniProgram", err)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return res
}
