package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

const nearbyUsage = `Usage: aroundctl nearby --lat LAT --lng LNG [flags]

Asks DiscoveryService/Nearby for the mini-programs around a position, for a
user described by --age, --gender, --os, --credit and --user, and prints them
ranked: rank, an AD marker on sponsored slots, id, name, category, distance,
score, rating and the offers the user qualifies for; with --explain the
server's reasons under each row; then the token of the next page, if any.
With -o json it prints the response as protojson, with -o yaml as YAML.

Example:
  aroundctl nearby --lat 39.93 --lng 116.45 --category FOOD,GAMES --age 30 --credit 700 --explain
`

// protoJSON is how responses are printed with -o json (and, re-encoded,
// with -o yaml).
var protoJSON = protojson.MarshalOptions{Multiline: true, Indent: "  ", UseProtoNames: true}

func runNearby(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl nearby", flag.ContinueOnError)
	lat := fs.Float64("lat", 0, "latitude of the user, degrees (required)")
	lng := fs.Float64("lng", 0, "longitude of the user, degrees (required)")
	radius := fs.Float64("radius", 2000, "search radius, metres (at most 50000)")
	limit := fs.Int("limit", 20, "results per page (at most 100)")
	cats := fs.String("category", "", "only these categories, comma-separated, e.g. FOOD,GAMES (see Categories above)")
	user := addUserFlags(fs)
	accuracy := fs.Float64("accuracy", 0, "accuracy of the position, metres")
	explain := fs.Bool("explain", false, "print the server's reasons for each result")
	pageToken := fs.String("page-token", "", "next_page_token of a previous answer")
	noAds := fs.Bool("exclude-sponsored", false, "no sponsored results")
	if ok, code := parseCommand(e, fs, args, nearbyUsage+"\nCategories: "+strings.Join(categoryNames(), ", ")+"\n"); !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["lat"] || !set["lng"] {
		return e.usageError("nearby", "--lat and --lng are required")
	}

	req := &pb.NearbyRequest{
		Location:         &pb.LatLng{Latitude: *lat, Longitude: *lng},
		AccuracyM:        float32(*accuracy),
		RadiusM:          *radius,
		Limit:            int32(*limit),
		PageToken:        *pageToken,
		ExcludeSponsored: *noAds,
		Explain:          *explain,
	}
	var err error
	if req.Categories, err = parseCategories(*cats); err != nil {
		return e.usageError("nearby", "--category: %v", err)
	}
	if req.User, err = user(); err != nil {
		return e.usageError("nearby", "%v", err)
	}

	cc, err := e.g.dial(e.keyFor(envClientKey))
	if err != nil {
		return e.fail(err.Error())
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(ctx, e.g.timeout)
	defer cancel()
	resp, err := pb.NewDiscoveryServiceClient(cc).Nearby(ctx, req)
	if err != nil {
		return e.fail(e.g.describeErr("Nearby", err))
	}
	return e.show(resp, func(w io.Writer) { writeNearbyTable(w, resp, *explain) })
}

// categoryNames lists the short category names --category accepts.
// addUserFlags defines the flags that describe a user (nearby, campaigns
// diagnose) and returns what builds the UserContext from them: nil when
// none was given (an anonymous user).
func addUserFlags(fs *flag.FlagSet) func() (*pb.UserContext, error) {
	age := fs.Int("age", 0, "user's age in years; 0 = unknown")
	gender := fs.String("gender", "", "user's gender: female, male or other")
	osName := fs.String("os", "", "user's phone OS: ios, android, harmonyos or other")
	osVersion := fs.String("os-version", "", "user's OS version, free text")
	credit := fs.Int("credit", 0, "user's credit score; 0 = unknown")
	user := fs.String("user", "", "pseudonymous user id (for frequency caps)")
	return func() (*pb.UserContext, error) {
		u := &pb.UserContext{UserId: *user, Age: int32(*age), OsVersion: *osVersion, CreditScore: int32(*credit)}
		var err error
		if u.Gender, err = parseGender(*gender); err != nil {
			return nil, fmt.Errorf("--gender: %v", err)
		}
		if u.Os, err = parseOS(*osName); err != nil {
			return nil, fmt.Errorf("--os: %v", err)
		}
		if proto.Equal(u, &pb.UserContext{}) {
			return nil, nil
		}
		return u, nil
	}
}

func categoryNames() []string {
	var out []string
	for i := 1; i < len(pb.Category_name); i++ {
		out = append(out, strings.TrimPrefix(pb.Category(i).String(), "CATEGORY_"))
	}
	return out
}

// parseEnum reads one enum value by its short name, case-insensitively:
// "food", "FOOD" and "CATEGORY_FOOD" are the same.
func parseEnum(s, prefix string, values map[string]int32) (int32, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, prefix) {
		name = prefix + name
	}
	v, ok := values[name]
	if !ok || v == 0 {
		var names []string
		for n, v := range values {
			if v != 0 {
				names = append(names, strings.ToLower(strings.TrimPrefix(n, prefix)))
			}
		}
		slices.Sort(names)
		return 0, fmt.Errorf("unknown value %q; want one of %s", s, strings.Join(names, ", "))
	}
	return v, nil
}

func parseCategories(s string) ([]pb.Category, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []pb.Category
	for _, part := range strings.Split(s, ",") {
		v, err := parseEnum(part, "CATEGORY_", pb.Category_value)
		if err != nil {
			return nil, err
		}
		out = append(out, pb.Category(v))
	}
	return out, nil
}

func parseGender(s string) (pb.Gender, error) {
	if s == "" {
		return pb.Gender_GENDER_UNSPECIFIED, nil
	}
	v, err := parseEnum(s, "GENDER_", pb.Gender_value)
	return pb.Gender(v), err
}

func parseOS(s string) (pb.OperatingSystem, error) {
	if s == "" {
		return pb.OperatingSystem_OPERATING_SYSTEM_UNSPECIFIED, nil
	}
	v, err := parseEnum(s, "OPERATING_SYSTEM_", pb.OperatingSystem_value)
	return pb.OperatingSystem(v), err
}

// maxNameWidth truncates long names in the table.
const maxNameWidth = 32

// writeNearbyTable prints a Nearby answer for people.
func writeNearbyTable(w io.Writer, resp *pb.NearbyResponse, explain bool) {
	if len(resp.GetResults()) == 0 {
		fmt.Fprintln(w, "no mini-programs around here")
	} else {
		t := table{
			header: []string{"#", "AD", "ID", "NAME", "CATEGORY", "DISTANCE", "SCORE", "RATING", "OFFERS"},
			right:  []bool{true, false, false, false, false, true, true, true, false},
		}
		for i, r := range resp.GetResults() {
			mp := r.GetMiniProgram()
			ad := ""
			if r.GetSponsorship() != nil {
				ad = "AD"
			}
			var offers []string
			for _, o := range r.GetOffers() {
				offers = append(offers, o.GetTitle())
			}
			offer := strings.Join(offers, "; ")
			if offer == "" {
				offer = "-"
			}
			row := []string{
				strconv.Itoa(i + 1), ad, mp.GetId(), truncate(mp.GetName(), maxNameWidth),
				strings.TrimPrefix(mp.GetCategory().String(), "CATEGORY_"),
				formatDistance(r.GetDistanceM()),
				strconv.FormatFloat(r.GetScore(), 'f', 3, 64),
				strconv.FormatFloat(mp.GetRating(), 'f', 1, 64),
				offer,
			}
			var notes []string
			if s := r.GetSponsorship(); s != nil {
				notes = append(notes, sponsorLine(s))
			}
			if explain {
				for _, reason := range r.GetReasons() {
					notes = append(notes, "- "+reason)
				}
			}
			t.add(row, notes)
		}
		t.write(w)
	}
	if tok := resp.GetNextPageToken(); tok != "" {
		fmt.Fprintf(w, "\nnext page: --page-token %s\n", tok)
	}
}

func sponsorLine(s *pb.Sponsorship) string {
	var parts []string
	if h := s.GetHeadline(); h != "" {
		parts = append(parts, strconv.Quote(h))
	}
	if c := s.GetCallToAction(); c != "" {
		parts = append(parts, "["+c+"]")
	}
	line := "sponsored"
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, " ")
	}
	if id := s.GetCampaignId(); id != "" {
		line += " (campaign " + id + ")"
	}
	return line
}

// formatDistance prints metres below 1 km and km above: "850 m", "1.2 km",
// "12 km".
func formatDistance(m float64) string {
	switch {
	case math.IsNaN(m) || m < 0:
		return "?"
	case m < 999.5:
		return fmt.Sprintf("%.0f m", m)
	case m < 9950:
		return fmt.Sprintf("%.1f km", m/1000)
	default:
		return fmt.Sprintf("%.0f km", m/1000)
	}
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// table aligns columns of cells; each row may carry note lines printed
// under it, indented to the third column, which do not disturb alignment.
type table struct {
	header []string
	right  []bool
	rows   [][]string
	notes  [][]string
}

func (t *table) add(row, notes []string) {
	t.rows = append(t.rows, row)
	t.notes = append(t.notes, notes)
}

func (t *table) widths() []int {
	widths := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	return widths
}

// cell pads c to width, on the left for right-aligned columns.
func (t *table) cell(c string, i, width int) string {
	pad := strings.Repeat(" ", width-utf8.RuneCountInString(c))
	if t.right[i] {
		return pad + c
	}
	return c + pad
}

// write prints the table with aligned columns and the notes under rows.
func (t *table) write(w io.Writer) {
	widths := t.widths()
	line := func(row []string) {
		var b strings.Builder
		for i, c := range row {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(t.cell(c, i, widths[i]))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	indent := strings.Repeat(" ", widths[0]+2+widths[1]+2)
	line(t.header)
	for i, row := range t.rows {
		line(row)
		for _, n := range t.notes[i] {
			fmt.Fprintf(w, "%s%s\n", indent, n)
		}
	}
}

// writeMarkdown prints the table as an aligned Markdown table (notes are
// left out): readable in a terminal, rendered in a README.
func (t *table) writeMarkdown(w io.Writer) {
	widths := t.widths()
	for i := range widths {
		widths[i] = max(widths[i], 3)
	}
	line := func(row []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range row {
			b.WriteString(" " + t.cell(c, i, widths[i]) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	line(t.header)
	sep := make([]string, len(widths))
	for i, n := range widths {
		if t.right[i] {
			sep[i] = strings.Repeat("-", n-1) + ":"
		} else {
			sep[i] = strings.Repeat("-", n)
		}
	}
	var b strings.Builder
	b.WriteString("|")
	for i, c := range sep {
		b.WriteString(" " + t.cell(c, i, widths[i]) + " |")
	}
	fmt.Fprintln(w, b.String())
	for _, row := range t.rows {
		line(row)
	}
}
