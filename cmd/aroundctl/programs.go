package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

// miniProgramCommands are the subcommands of "mini-programs".
var miniProgramCommands = []command{
	{"import", "stream a JSONL, CSV or GeoJSON file into the catalog (upsert; --dry-run checks it)", runImport, nil},
	{"export", "write the catalog as JSON lines that 'import' reads back", runExport, nil},
	{"get", "show one mini-program", runGet, nil},
	{"list", "list the catalog, a page at a time or --all", runList, nil},
	{"delete", "delete a mini-program", runDelete, nil},
	{"hide", "stop serving a mini-program (hidden = true)", runHide, nil},
	{"unhide", "serve a hidden mini-program again (hidden = false)", runUnhide, nil},
}

const miniProgramsUsage = `Usage: aroundctl mini-programs <command> [flags]

Manages the mini-program catalog through CatalogService. Every command needs
an admin key: --key, else AROUNDME_KEY, else AROUNDME_ADMIN_KEY.

Commands:
%s
Run 'aroundctl mini-programs <command> --help' for the flags and an example.

Example:
  aroundctl mini-programs list --category food
`

func runMiniPrograms(ctx context.Context, e *env, args []string) int {
	return runGroup(ctx, e, "mini-programs", miniProgramsUsage, miniProgramCommands, args)
}

// runGroup dispatches "aroundctl <group> [global flags] <command> ...".
func runGroup(ctx context.Context, e *env, group, usage string, subs []command, args []string) int {
	fs := flag.NewFlagSet("aroundctl "+group, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {}
	e.g.register(fs)
	var list strings.Builder
	width := 0
	for _, c := range subs {
		width = max(width, len(c.name))
	}
	for _, c := range subs {
		fmt.Fprintf(&list, "  %-*s  %s\n", width, c.name, c.summary)
	}
	help := func(w io.Writer) {
		fmt.Fprintf(w, usage, list.String())
		fmt.Fprintf(w, "\n%s\n", globalFlagsHeader)
		printFlags(w, fs, isGlobal)
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			help(e.stdout)
			return 0
		}
		fmt.Fprintf(e.stderr, "run 'aroundctl %s --help' for usage\n", group)
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		help(e.stderr)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		if len(rest) == 0 {
			help(e.stdout)
			return 0
		}
		name, rest = rest[0], []string{"--help"}
	}
	for _, c := range subs {
		if c.name == name {
			return c.run(ctx, e, rest)
		}
	}
	fmt.Fprintf(e.stderr, "aroundctl %s: unknown command %q; run 'aroundctl %s --help' for the list\n", group, name, group)
	return exitUsage
}

// catalogClient dials the server with the admin key.
func (e *env) catalogClient() (pb.CatalogServiceClient, func(), error) {
	cc, err := e.g.dial(e.keyFor(envAdminKey))
	if err != nil {
		return nil, nil, err
	}
	return pb.NewCatalogServiceClient(cc), func() { cc.Close() }, nil
}

// catalogErr prints the error of a call about mini-program id and returns 1.
func (e *env) catalogErr(method, id string, err error) int {
	if st, ok := status.FromError(err); ok && id != "" {
		switch st.Code() {
		case codes.NotFound:
			return e.fail(fmt.Sprintf("mini-program %q not found", id))
		case codes.Aborted:
			return e.fail(fmt.Sprintf("the version of mini-program %q moved (ABORTED: %s); re-read it ('aroundctl mini-programs get %s') and retry with its current --expected-version",
				id, st.Message(), id))
		}
	}
	return e.fail(e.g.describeErr(method, err))
}

const getUsage = `Usage: aroundctl mini-programs get ID [flags]

Prints one mini-program (CatalogService/GetMiniProgram): its fields, audience,
offers, version and places. With -o json or -o yaml it prints the message,
with the proto field names.

Example:
  aroundctl mini-programs get sunny-bike -o yaml
`

func runGet(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl mini-programs get", flag.ContinueOnError)
	pos, ok, code := parseCommandArgs(e, fs, args, getUsage, argSpec{positional: []string{"ID"}})
	if !ok {
		return code
	}
	client, closeConn, err := e.catalogClient()
	if err != nil {
		return e.fail(err.Error())
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(ctx, e.g.timeout)
	defer cancel()
	resp, err := client.GetMiniProgram(ctx, &pb.GetMiniProgramRequest{Id: pos[0]})
	if err != nil {
		return e.catalogErr("GetMiniProgram", pos[0], err)
	}
	return e.show(resp.GetMiniProgram(), func(w io.Writer) { writeMiniProgram(w, resp.GetMiniProgram()) })
}

// shortEnum is an enum value without its prefix: CATEGORY_FOOD → FOOD.
func shortEnum(s, prefix string) string { return strings.TrimPrefix(s, prefix) }

// writeMiniProgram prints one mini-program for people.
func writeMiniProgram(w io.Writer, mp *pb.MiniProgram) {
	kv := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-12s %s\n", k+":", v)
		}
	}
	kv("id", mp.GetId())
	kv("name", mp.GetName())
	kv("category", shortEnum(mp.GetCategory().String(), "CATEGORY_"))
	kv("description", mp.GetDescription())
	kv("icon_url", mp.GetIconUrl())
	kv("rating", strconv.FormatFloat(mp.GetRating(), 'f', -1, 64))
	kv("popularity", strconv.FormatInt(mp.GetPopularity(), 10))
	kv("hidden", yesNo(mp.GetHidden()))
	kv("audience", audienceText(mp.GetAudience()))
	for i, o := range mp.GetOffers() {
		k := ""
		if i == 0 {
			k = "offers"
		}
		line := fmt.Sprintf("%s %q", o.GetId(), o.GetTitle())
		if s := o.GetMinCreditScore(); s > 0 {
			line += fmt.Sprintf(" (credit score >= %d)", s)
		}
		if k == "" {
			fmt.Fprintf(w, "%-12s %s\n", "", line)
		} else {
			kv(k, line)
		}
	}
	ver := strconv.FormatInt(mp.GetVersion(), 10)
	if t := mp.GetCreateTime(); t != nil {
		ver += fmt.Sprintf(" (created %s", t.AsTime().Format(time.RFC3339))
		if u := mp.GetUpdateTime(); u != nil {
			ver += ", updated " + u.AsTime().Format(time.RFC3339)
		}
		ver += ")"
	}
	kv("version", ver)
	fmt.Fprintf(w, "places (%d):\n", len(mp.GetPlaces()))
	t := table{header: []string{"ID", "LATITUDE", "LONGITUDE", "LABEL"}, right: []bool{false, true, true, false}}
	for _, p := range mp.GetPlaces() {
		t.add([]string{p.GetId(), strconv.FormatFloat(p.GetLocation().GetLatitude(), 'f', -1, 64),
			strconv.FormatFloat(p.GetLocation().GetLongitude(), 'f', -1, 64), p.GetLabel()}, nil)
	}
	var b strings.Builder
	t.write(&b)
	for _, line := range strings.SplitAfter(strings.TrimRight(b.String(), "\n"), "\n") {
		fmt.Fprintf(w, "  %s", line)
	}
	fmt.Fprintln(w)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// audienceText describes an audience rule: "ages 18-30; female; ios|android".
func audienceText(a *pb.Audience) string {
	if a == nil {
		return "everyone"
	}
	var parts []string
	switch lo, hi := a.GetMinAge(), a.GetMaxAge(); {
	case lo > 0 && hi > 0:
		parts = append(parts, fmt.Sprintf("ages %d-%d", lo, hi))
	case lo > 0:
		parts = append(parts, fmt.Sprintf("ages %d+", lo))
	case hi > 0:
		parts = append(parts, fmt.Sprintf("ages up to %d", hi))
	}
	var gs, oss []string
	for _, g := range a.GetGenders() {
		gs = append(gs, strings.ToLower(shortEnum(g.String(), "GENDER_")))
	}
	for _, o := range a.GetOperatingSystems() {
		oss = append(oss, strings.ToLower(shortEnum(o.String(), "OPERATING_SYSTEM_")))
	}
	if len(gs) > 0 {
		parts = append(parts, "genders "+strings.Join(gs, "|"))
	}
	if len(oss) > 0 {
		parts = append(parts, "os "+strings.Join(oss, "|"))
	}
	if len(parts) == 0 {
		return "everyone"
	}
	return strings.Join(parts, "; ")
}

const listUsage = `Usage: aroundctl mini-programs list [flags]

Lists the catalog in id order (CatalogService/ListMiniPrograms), one page of
--page-size at a time, then the token of the next page; --all follows the
tokens to the end (for a large catalog prefer 'export', which streams).
The table has: id, name, category, places, rating, hidden, version. With -o
json or -o yaml it prints the response message (with --all, one message with
every mini-program and no token).

Example:
  aroundctl mini-programs list --category food --page-size 20
`

func runList(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl mini-programs list", flag.ContinueOnError)
	cat := fs.String("category", "", "only this category, e.g. FOOD (any case; CATEGORY_FOOD works too)")
	pageSize := fs.Int("page-size", 50, "mini-programs per page, 1 to 1000")
	pageToken := fs.String("page-token", "", "next_page_token of a previous page")
	all := fs.Bool("all", false, "follow the page tokens to the end of the catalog")
	if ok, code := parseCommand(e, fs, args, listUsage); !ok {
		return code
	}
	if *pageSize < 1 || *pageSize > 1000 {
		return e.usageError("mini-programs list", "--page-size %d: must be in [1, 1000]", *pageSize)
	}
	category, err := parseCategory(*cat)
	if err != nil {
		return e.usageError("mini-programs list", "--category: %v", err)
	}
	client, closeConn, err := e.catalogClient()
	if err != nil {
		return e.fail(err.Error())
	}
	defer closeConn()
	out := &pb.ListMiniProgramsResponse{}
	req := &pb.ListMiniProgramsRequest{PageSize: int32(*pageSize), Category: category}
	next, err := e.pages(ctx, *pageToken, *all, func(ctx context.Context, token string) (string, error) {
		req.PageToken = token
		resp, err := client.ListMiniPrograms(ctx, req)
		out.MiniPrograms = append(out.MiniPrograms, resp.GetMiniPrograms()...)
		return resp.GetNextPageToken(), err
	})
	if err != nil {
		return e.catalogErr("ListMiniPrograms", "", err)
	}
	out.NextPageToken = next
	return e.show(out, func(w io.Writer) { writeListTable(w, out) })
}

// parseCategory reads an optional category: "" = unspecified.
func parseCategory(s string) (pb.Category, error) {
	if strings.TrimSpace(s) == "" {
		return pb.Category_CATEGORY_UNSPECIFIED, nil
	}
	v, err := parseEnum(s, "CATEGORY_", pb.Category_value)
	return pb.Category(v), err
}

func writeListTable(w io.Writer, resp *pb.ListMiniProgramsResponse) {
	if len(resp.GetMiniPrograms()) == 0 {
		fmt.Fprintln(w, "no mini-programs")
	} else {
		t := table{
			header: []string{"ID", "NAME", "CATEGORY", "PLACES", "RATING", "HIDDEN", "VERSION"},
			right:  []bool{false, false, false, true, true, false, true},
		}
		for _, mp := range resp.GetMiniPrograms() {
			hidden := ""
			if mp.GetHidden() {
				hidden = "hidden"
			}
			t.add([]string{
				mp.GetId(), truncate(mp.GetName(), maxNameWidth), shortEnum(mp.GetCategory().String(), "CATEGORY_"),
				strconv.Itoa(len(mp.GetPlaces())), strconv.FormatFloat(mp.GetRating(), 'f', 1, 64),
				hidden, strconv.FormatInt(mp.GetVersion(), 10),
			}, nil)
		}
		t.write(w)
	}
	if tok := resp.GetNextPageToken(); tok != "" {
		fmt.Fprintf(w, "\nnext page: --page-token %s\n", tok)
	}
}

const deleteUsage = `Usage: aroundctl mini-programs delete ID [flags]

Deletes a mini-program (CatalogService/DeleteMiniProgram). With
--expected-version the delete happens only if the mini-program is still at
that version (as 'get' showed it); else it fails with ABORTED.

Example:
  aroundctl mini-programs delete sunny-bike --expected-version 3
`

func runDelete(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl mini-programs delete", flag.ContinueOnError)
	ver := fs.Int64("expected-version", 0, "delete only at this version; 0 = any")
	pos, ok, code := parseCommandArgs(e, fs, args, deleteUsage, argSpec{positional: []string{"ID"}})
	if !ok {
		return code
	}
	if *ver < 0 {
		return e.usageError("mini-programs delete", "--expected-version must be >= 0")
	}
	client, closeConn, err := e.catalogClient()
	if err != nil {
		return e.fail(err.Error())
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(ctx, e.g.timeout)
	defer cancel()
	resp, err := client.DeleteMiniProgram(ctx, &pb.DeleteMiniProgramRequest{Id: pos[0], ExpectedVersion: *ver})
	if err != nil {
		return e.catalogErr("DeleteMiniProgram", pos[0], err)
	}
	if e.g.output != outputTable {
		if err := e.printMessage(resp); err != nil {
			return e.fail(err.Error())
		}
		return 0
	}
	fmt.Fprintf(e.stdout, "deleted mini-program %s\n", pos[0])
	return 0
}

const hideUsage = `Usage: aroundctl mini-programs %[1]s ID [flags]

Sets hidden = %[2]t on a mini-program (CatalogService/UpdateMiniProgram with
update_mask "hidden"; nothing else changes). %[3]s
With --expected-version the update happens only if the mini-program is still
at that version; else it fails with ABORTED. Prints the new version; -o json
or -o yaml print the updated mini-program.

Example:
  aroundctl mini-programs %[1]s sunny-bike
`

func runHide(ctx context.Context, e *env, args []string) int {
	return setHidden(ctx, e, args, "hide", true)
}

func runUnhide(ctx context.Context, e *env, args []string) int {
	return setHidden(ctx, e, args, "unhide", false)
}

func setHidden(ctx context.Context, e *env, args []string, cmd string, hidden bool) int {
	fs := flag.NewFlagSet("aroundctl mini-programs "+cmd, flag.ContinueOnError)
	ver := fs.Int64("expected-version", 0, "update only at this version; 0 = any")
	what := "A hidden mini-program stays in the catalog but Nearby never returns it."
	if !hidden {
		what = "Nearby returns it again."
	}
	pos, ok, code := parseCommandArgs(e, fs, args, fmt.Sprintf(hideUsage, cmd, hidden, what), argSpec{positional: []string{"ID"}})
	if !ok {
		return code
	}
	if *ver < 0 {
		return e.usageError("mini-programs "+cmd, "--expected-version must be >= 0")
	}
	client, closeConn, err := e.catalogClient()
	if err != nil {
		return e.fail(err.Error())
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(ctx, e.g.timeout)
	defer cancel()
	resp, err := client.UpdateMiniProgram(ctx, &pb.UpdateMiniProgramRequest{
		MiniProgram:     &pb.MiniProgram{Id: pos[0], Hidden: hidden},
		UpdateMask:      &fieldmaskpb.FieldMask{Paths: []string{"hidden"}},
		ExpectedVersion: *ver,
	})
	if err != nil {
		return e.catalogErr("UpdateMiniProgram", pos[0], err)
	}
	if e.g.output != outputTable {
		if err := e.printMessage(resp.GetMiniProgram()); err != nil {
			return e.fail(err.Error())
		}
		return 0
	}
	state := "hidden"
	if !hidden {
		state = "visible"
	}
	fmt.Fprintf(e.stdout, "mini-program %s is %s (version %d)\n", pos[0], state, resp.GetMiniProgram().GetVersion())
	return 0
}

const exportUsage = `Usage: aroundctl mini-programs export [flags] > catalog.jsonl

Writes the catalog to stdout as JSON lines: one mini-program per line, in
protojson with the proto field names, in id order, paging through
CatalogService/ListMiniPrograms 1000 at a time (the catalog is never held in
memory). The output is what 'mini-programs import' reads back (version and
times are output-only: import ignores them). -o jsonl is the only format
(and the default). Prints the count on stderr.

Example:
  aroundctl mini-programs export --category food > food.jsonl
`

// exportPageSize is the page size of export: the largest the server allows.
const exportPageSize = 1000

func runExport(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl mini-programs export", flag.ContinueOnError)
	cat := fs.String("category", "", "only this category, e.g. FOOD")
	if _, ok, code := parseCommandArgs(e, fs, args, exportUsage, argSpec{outputs: []string{outputTable, "jsonl"}}); !ok {
		return code
	}
	category, err := parseCategory(*cat)
	if err != nil {
		return e.usageError("mini-programs export", "--category: %v", err)
	}
	client, closeConn, err := e.catalogClient()
	if err != nil {
		return e.fail(err.Error())
	}
	defer closeConn()
	w := bufio.NewWriterSize(e.stdout, 256<<10)
	n := 0
	req := &pb.ListMiniProgramsRequest{PageSize: exportPageSize, Category: category}
	var encodeErr error
	_, err = e.pages(ctx, "", true, func(ctx context.Context, token string) (string, error) {
		req.PageToken = token
		resp, err := client.ListMiniPrograms(ctx, req)
		if err != nil {
			return "", err
		}
		for _, mp := range resp.GetMiniPrograms() {
			b, err := marshalLine(mp)
			if err != nil {
				encodeErr = err
				return "", err
			}
			w.Write(b)
			w.WriteByte('\n')
			n++
		}
		return resp.GetNextPageToken(), nil
	})
	if encodeErr != nil {
		return e.fail(encodeErr.Error())
	}
	if err != nil {
		w.Flush()
		if n > 0 {
			fmt.Fprintf(e.stderr, "aroundctl mini-programs export: stopped after %d mini-programs\n", n)
		}
		return e.catalogErr("ListMiniPrograms", "", err)
	}
	if err := w.Flush(); err != nil {
		return e.fail(fmt.Sprintf("writing the export: %v", err))
	}
	fmt.Fprintf(e.stderr, "exported %d mini-programs\n", n)
	return 0
}
