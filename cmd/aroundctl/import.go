package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/loadgen"
)

const importUsage = `Usage: aroundctl mini-programs import FILE [flags]

Streams the mini-programs of FILE to CatalogService/ImportMiniPrograms, one
at a time as they are read (an upsert: existing ids are replaced, with their
version plus one). FILE "-" is standard input. Formats (--format, else from
the extension: .jsonl/.ndjson, .csv, .geojson; .json and others by content):

  jsonl    one MiniProgram per line in protojson; proto names (icon_url) or
           JSON names (iconUrl) both work; unknown fields are errors. This is
           what 'mini-programs export' writes, and the only format with offers.
  csv      a header row naming the columns, in any order (id, lat and lng
           are required):
             id,name,description,category,icon_url,rating,popularity,hidden,
             min_age,max_age,genders,operating_systems,place_id,lat,lng,label
           then one row per place. Consecutive rows with the same id are ONE
           mini-program with several places: the rows of one id must be
           consecutive (a later repeat is an error for that row), its fields
           are taken from its first row (later rows leave them empty or repeat
           them). category is FOOD, food or CATEGORY_FOOD; genders and
           operating_systems are "|"-separated (female|male, ios|android);
           an empty place_id is p1, p2... in row order.
  geojson  a FeatureCollection of Point features; coordinates are
           [longitude, latitude] (RFC 7946); properties hold the CSV columns
           but lat and lng (genders may be a list). Features with the same
           properties.id are one mini-program, wherever they are. The file
           is read one feature at a time, but its mini-programs are held in
           memory until its end (about 1 KB each).

A line, row or feature that does not parse is reported with its line number
(GeoJSON: features[i]) and skipped; the rest is imported. The server's own
rejections are mapped back to the lines they came from. Progress goes to
stderr once a second when stderr is a terminal, and every --batch-log items;
then a summary: sent, created, updated, failed (parse + server) and the first
errors. Exit status 1 if any item failed. --dry-run parses and validates
locally, as the server would, without calling it. The stream has no deadline
(--timeout does not apply); Ctrl-C cancels it.

Examples:
  aroundctl mini-programs import shops.csv
  aroundctl mini-programs import --dry-run stations.geojson
  aroundctl mini-programs export | aroundctl mini-programs import --format jsonl -
`

// maxKeptImportErrors is how many errors the summary keeps (-o json lists
// them all, the table the first maxPrintedImportErrors).
const maxKeptImportErrors = 100

// importSummary is the outcome of an import, as printed by -o json|yaml.
type importSummary struct {
	File         string         `json:"file"`
	Format       string         `json:"format"`
	DryRun       bool           `json:"dry_run,omitempty"`
	Sent         int64          `json:"sent"`
	Created      int64          `json:"created"`
	Updated      int64          `json:"updated"`
	Failed       int64          `json:"failed"`
	ParseFailed  int64          `json:"parse_failed"`
	ServerFailed int64          `json:"server_failed"`
	Invalid      int64          `json:"invalid,omitempty"`
	Seconds      float64        `json:"seconds"`
	Errors       []summaryError `json:"errors,omitempty"`
	errs         []sourceError  // kept, in file order
	fatal        error          // the file stopped being readable
}

type summaryError struct {
	Location string `json:"location"`
	ID       string `json:"id,omitempty"`
	Message  string `json:"message"`
}

func (s *importSummary) addErr(e sourceError) {
	if len(s.errs) < maxKeptImportErrors {
		s.errs = append(s.errs, e)
	}
}

// progress prints "sent N items" lines.
type progress struct {
	w        io.Writer
	verb     string
	every    int
	tty      bool
	start    time.Time
	lastTime time.Time
}

func (p *progress) tick(n int) {
	now := time.Time{}
	switch {
	case p.every > 0 && n%p.every == 0:
	case p.tty:
		now = time.Now()
		if now.Sub(p.lastTime) < time.Second {
			return
		}
	default:
		return
	}
	if now.IsZero() {
		now = time.Now()
	}
	p.lastTime = now
	el := now.Sub(p.start).Seconds()
	fmt.Fprintf(p.w, "import: %s %s items in %.1fs, %s items/s\n", p.verb, loadgen.Thousands(float64(n)), el,
		loadgen.Thousands(float64(n)/max(el, 1e-9)))
}

// isTerminal tells whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// errStreamBroken stops the parse when the server ended the stream.
var errStreamBroken = errors.New("import stream ended by the server")

func runImport(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl mini-programs import", flag.ContinueOnError)
	format := fs.String("format", formatAuto, "file format: auto, jsonl, csv or geojson")
	batchLog := fs.Int("batch-log", 0, "also print progress every this many items; 0 = only once a second on a terminal")
	dryRun := fs.Bool("dry-run", false, "parse and validate locally only; call no server")
	pos, ok, code := parseCommandArgs(e, fs, args, importUsage, argSpec{positional: []string{"FILE"}})
	if !ok {
		return code
	}
	if *batchLog < 0 {
		return e.usageError("mini-programs import", "--batch-log must be >= 0")
	}
	switch *format {
	case formatAuto, formatJSONL, formatCSV, formatGeoJSON:
	default:
		return e.usageError("mini-programs import", "--format %q: want auto, jsonl, csv or geojson", *format)
	}
	name := pos[0]
	var in io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return e.fail(err.Error())
		}
		defer f.Close()
		in = f
	} else {
		name = "standard input"
	}
	br := bufio.NewReaderSize(in, sniffSize)
	fmtName, err := detectFormat(pos[0], *format, br)
	if err != nil {
		return e.fail(err.Error())
	}
	parse := parsers[fmtName]

	sum := &importSummary{File: name, Format: fmtName, DryRun: *dryRun}
	prog := &progress{w: e.stderr, verb: "sent", every: *batchLog, tty: isTerminal(e.stderr), start: time.Now()}
	prog.lastTime = prog.start
	sink := parseSink{
		bad: func(se sourceError) {
			sum.ParseFailed++
			sum.addErr(se)
		},
		warn: func(msg string) { fmt.Fprintf(e.stderr, "aroundctl mini-programs import: warning: %s\n", msg) },
	}

	if *dryRun {
		prog.verb = "checked"
		n := 0
		sink.item = func(it importItem) error {
			n++
			if err := checkItem(it.mp); err != nil {
				sum.Invalid++
				sum.addErr(sourceError{pos: it.pos, loc: it.loc, id: it.mp.GetId(), msg: err.Error()})
			} else {
				sum.Sent++
			}
			prog.tick(n)
			return nil
		}
		sum.fatal = parse(br, sink)
		return e.finishImport(sum, prog.start)
	}

	cc, err := e.g.dial(e.keyFor(envAdminKey))
	if err != nil {
		return e.fail(err.Error())
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pb.NewCatalogServiceClient(cc).ImportMiniPrograms(ctx)
	if err != nil {
		return e.fail(e.g.describeErr("ImportMiniPrograms", err))
	}
	// Where each sent item came from, to map the server's errors back.
	var locs []sourceError
	req := &pb.ImportMiniProgramsRequest{}
	sink.item = func(it importItem) error {
		req.MiniProgram = it.mp
		if err := stream.Send(req); err != nil {
			// On a failed stream Send returns io.EOF; the real status
			// comes from CloseAndRecv.
			if errors.Is(err, io.EOF) {
				return errStreamBroken
			}
			return err
		}
		locs = append(locs, sourceError{pos: it.pos, loc: it.loc})
		sum.Sent++
		prog.tick(int(sum.Sent))
		return nil
	}
	perr := parse(br, sink)
	if perr != nil && !errors.Is(perr, errStreamBroken) {
		sum.fatal = perr
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		if ctx.Err() != nil {
			return e.fail(fmt.Sprintf("import interrupted after %s items were sent; the batches the server had committed stay (import is an upsert: running it again is safe)",
				loadgen.Thousands(float64(sum.Sent))))
		}
		if sum.Sent > 0 {
			fmt.Fprintf(e.stderr, "aroundctl mini-programs import: the stream failed after %s items were sent\n", loadgen.Thousands(float64(sum.Sent)))
		}
		return e.fail(e.g.describeErr("ImportMiniPrograms", err))
	}
	sum.Created, sum.Updated, sum.ServerFailed = resp.GetCreated(), resp.GetUpdated(), resp.GetFailed()
	for _, ie := range resp.GetErrors() {
		se := sourceError{pos: -1, loc: fmt.Sprintf("item %d", ie.GetIndex()), id: ie.GetId(), msg: ie.GetMessage()}
		if i := ie.GetIndex(); i >= 0 && i < int64(len(locs)) {
			se.pos, se.loc = locs[i].pos, locs[i].loc
		}
		sum.errs = append(sum.errs, se)
	}
	return e.finishImport(sum, prog.start)
}

// finishImport prints the summary and returns the exit status.
func (e *env) finishImport(sum *importSummary, start time.Time) int {
	sum.Seconds = time.Since(start).Seconds()
	sum.Failed = sum.ParseFailed + sum.ServerFailed + sum.Invalid
	sort.SliceStable(sum.errs, func(i, j int) bool { return sum.errs[i].pos < sum.errs[j].pos })
	if len(sum.errs) > maxKeptImportErrors {
		sum.errs = sum.errs[:maxKeptImportErrors]
	}
	for _, se := range sum.errs {
		sum.Errors = append(sum.Errors, summaryError{Location: se.loc, ID: se.id, Message: se.msg})
	}
	if sum.fatal != nil {
		fmt.Fprintf(e.stderr, "aroundctl: %s: %v (the items before were processed)\n", sum.File, sum.fatal)
	}
	if e.g.output != outputTable {
		b, err := json.MarshalIndent(sum, "", "  ")
		if err != nil {
			return e.fail(err.Error())
		}
		if err := e.printJSON(b); err != nil {
			return e.fail(err.Error())
		}
	} else {
		writeImportFileSummary(e.stdout, sum)
	}
	if sum.Failed > 0 || sum.fatal != nil {
		return exitFailure
	}
	return 0
}

func writeImportFileSummary(w io.Writer, s *importSummary) {
	th := func(n int64) string { return loadgen.Thousands(float64(n)) }
	if s.DryRun {
		fmt.Fprintf(w, "dry run of %s (%s), nothing sent: %s valid, %s failed (%s parse, %s invalid)\n",
			s.File, s.Format, th(s.Sent), th(s.Failed), th(s.ParseFailed), th(s.Invalid))
	} else {
		fmt.Fprintf(w, "imported %s (%s): %s sent, %s created, %s updated, %s failed (%s parse, %s server) in %.2fs (%s items/s)\n",
			s.File, s.Format, th(s.Sent), th(s.Created), th(s.Updated), th(s.Failed), th(s.ParseFailed), th(s.ServerFailed),
			s.Seconds, loadgen.Thousands(float64(s.Sent)/max(s.Seconds, 1e-9)))
	}
	if len(s.errs) == 0 {
		return
	}
	fmt.Fprintln(w, "first errors:")
	for i, se := range s.errs {
		if i == maxPrintedImportErrors {
			fmt.Fprintf(w, "  ... and %d more (-o json lists the first %d)\n", s.Failed-int64(i), len(s.errs))
			break
		}
		fmt.Fprintf(w, "  %s\n", se)
	}
}
