package main

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/validate"
)

// Import file formats.
const (
	formatAuto    = "auto"
	formatJSONL   = "jsonl"
	formatCSV     = "csv"
	formatGeoJSON = "geojson"
)

// importItem is one mini-program read from an import file.
type importItem struct {
	mp *pb.MiniProgram
	// pos is the first line (JSONL, CSV) or feature index (GeoJSON) of the
	// item: errors are sorted by it.
	pos int
	// loc says where the item is: "line 3", "lines 3-5", "features[2,7]".
	loc string
}

// sourceError is a line, row or feature that was not imported.
type sourceError struct {
	pos int
	loc string
	id  string // of the mini-program, when known
	msg string
}

func (s sourceError) String() string {
	if s.id != "" {
		return fmt.Sprintf("%s (%q): %s", s.loc, s.id, s.msg)
	}
	return fmt.Sprintf("%s: %s", s.loc, s.msg)
}

// parseSink receives what a parser reads, in file order (GeoJSON: in the
// order of each id's first feature, once the file has been read).
type parseSink struct {
	// item gets each mini-program; an error stops the parse and is returned.
	item func(importItem) error
	// bad gets each line, row or feature that was skipped.
	bad func(sourceError)
	// warn gets remarks that skip nothing (unknown GeoJSON properties).
	warn func(string)
}

// parser reads one format. Its error is fatal (the file cannot be read or is
// not of the format); bad lines are reported to the sink and skipped.
type parser func(r io.Reader, sink parseSink) error

var parsers = map[string]parser{formatJSONL: parseJSONL, formatCSV: parseCSV, formatGeoJSON: parseGeoJSON}

// sniffSize is how much of a file format detection looks at.
const sniffSize = 64 << 10

// detectFormat picks the format of a file: from --format, else from the
// name's extension (.jsonl/.ndjson, .csv, .geojson), else (.json, stdin,
// other names) from the content: a FeatureCollection is GeoJSON, a JSON
// object on the first line JSON lines.
func detectFormat(name, flagFormat string, br *bufio.Reader) (string, error) {
	switch flagFormat {
	case formatJSONL, formatCSV, formatGeoJSON:
		return flagFormat, nil
	case formatAuto, "":
	default:
		return "", fmt.Errorf("--format %q: want auto, jsonl, csv or geojson", flagFormat)
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jsonl", ".ndjson":
		return formatJSONL, nil
	case ".csv":
		return formatCSV, nil
	case ".geojson":
		return formatGeoJSON, nil
	}
	head, _ := br.Peek(sniffSize)
	head = bytes.TrimPrefix(head, utf8BOM)
	t := bytes.TrimLeft(head, " \t\r\n")
	switch {
	case len(t) > 0 && t[0] == '{' && featureCollection.Match(head):
		return formatGeoJSON, nil
	case len(t) > 0 && t[0] == '{':
		line, _, _ := bytes.Cut(t, []byte("\n"))
		if json.Valid(line) {
			return formatJSONL, nil
		}
	}
	return "", fmt.Errorf("cannot tell the format of %s from its name or its start: pass --format jsonl, csv or geojson", name)
}

var (
	utf8BOM           = []byte("\xef\xbb\xbf")
	featureCollection = regexp.MustCompile(`"type"\s*:\s*"FeatureCollection"`)
)

// checkItem validates a mini-program as the server's import does.
func checkItem(mp *pb.MiniProgram) error {
	var v apierr.Violations
	if !validate.ValidID(mp.GetId()) {
		v.Add("mini_program.id", "%q: want ^[a-z0-9][a-z0-9_.-]{0,63}$", mp.GetId())
	}
	validate.MiniProgram(&v, "mini_program", mp)
	return v.Err()
}

// ---- JSON lines ----

// maxJSONLLine is the longest line parseJSONL reads; a longer one is
// reported and skipped (the server takes messages up to 4 MiB by default).
const maxJSONLLine = 16 << 20

// jsonlOptions accept proto and JSON field names and reject unknown fields.
var jsonlOptions = protojson.UnmarshalOptions{DiscardUnknown: false}

// protoErrLine matches the position protojson gives inside the one line.
var protoErrLine = regexp.MustCompile(`\(line 1:(\d+)\)`)

// parseJSONL reads one protojson MiniProgram per line. Blank lines are
// skipped; a line that does not parse is reported with its number.
func parseJSONL(r io.Reader, sink parseSink) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for line := 1; ; line++ {
		buf = buf[:0]
		tooLong := false
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			if len(buf)+len(chunk) <= maxJSONLLine {
				buf = append(buf, chunk...)
			} else {
				tooLong = true
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if line == 1 {
			buf = bytes.TrimPrefix(buf, utf8BOM)
		}
		t := bytes.TrimSpace(buf)
		loc := fmt.Sprintf("line %d", line)
		switch {
		case tooLong:
			sink.bad(sourceError{pos: line, loc: loc, msg: fmt.Sprintf("longer than %d MiB", maxJSONLLine>>20)})
		case len(t) == 0:
		default:
			mp := &pb.MiniProgram{}
			if uerr := jsonlOptions.Unmarshal(t, mp); uerr != nil {
				sink.bad(sourceError{pos: line, loc: loc, id: peekID(t), msg: cleanProtoErr(uerr)})
			} else if serr := sink.item(importItem{mp: mp, pos: line, loc: loc}); serr != nil {
				return serr
			}
		}
		if err != nil { // io.EOF
			return nil
		}
	}
}

// cleanProtoErr shortens protojson's message: no "proto:" prefix, and the
// position within the line as a column.
func cleanProtoErr(err error) string {
	s := strings.TrimSpace(strings.TrimPrefix(err.Error(), "proto:"))
	if m := protoErrLine.FindStringSubmatchIndex(s); m != nil && m[0] == 0 {
		rest := strings.TrimSpace(strings.TrimPrefix(s[m[1]:], ":"))
		return rest + " (column " + s[m[2]:m[3]] + ")"
	}
	return s
}

// peekID returns the "id" of a JSON object, if it has a string one.
func peekID(b []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(b, &v) != nil {
		return ""
	}
	return v.ID
}

// ---- CSV and GeoJSON: flat fields, grouped by id ----

// Columns of the CSV format (and properties of the GeoJSON one). The first
// numMPColumns are the mini-program's, the rest the place's.
var csvColumns = []string{
	"id", "name", "description", "category", "icon_url", "rating", "popularity", "hidden",
	"min_age", "max_age", "genders", "operating_systems",
	"place_id", "lat", "lng", "label",
}

const (
	colID = iota
	colName
	colDescription
	colCategory
	colIconURL
	colRating
	colPopularity
	colHidden
	colMinAge
	colMaxAge
	colGenders
	colOS
	colPlaceID
	colLat
	colLng
	colLabel
	numColumns
	numMPColumns = colPlaceID
)

// fields are one row's values by column; "" = empty or absent.
type fields [numColumns]string

// buildMiniProgram makes the mini-program of a row, without places.
func buildMiniProgram(f *fields) (*pb.MiniProgram, error) {
	mp := &pb.MiniProgram{Id: f[colID], Name: f[colName], Description: f[colDescription], IconUrl: f[colIconURL]}
	var err error
	if s := f[colCategory]; s != "" {
		v, perr := parseEnum(s, "CATEGORY_", pb.Category_value)
		if perr != nil {
			return nil, fmt.Errorf("category: %v", perr)
		}
		mp.Category = pb.Category(v)
	}
	if s := f[colRating]; s != "" {
		if mp.Rating, err = strconv.ParseFloat(s, 64); err != nil {
			return nil, fmt.Errorf("rating %q: not a number", s)
		}
	}
	if s := f[colPopularity]; s != "" {
		if mp.Popularity, err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("popularity %q: not an integer", s)
		}
	}
	if s := f[colHidden]; s != "" {
		if mp.Hidden, err = strconv.ParseBool(s); err != nil {
			return nil, fmt.Errorf("hidden %q: want true or false", s)
		}
	}
	a := &pb.Audience{}
	for _, c := range []struct {
		col int
		dst *int32
	}{{colMinAge, &a.MinAge}, {colMaxAge, &a.MaxAge}} {
		if s := f[c.col]; s != "" {
			n, perr := strconv.ParseInt(s, 10, 32)
			if perr != nil {
				return nil, fmt.Errorf("%s %q: not an integer", csvColumns[c.col], s)
			}
			*c.dst = int32(n)
		}
	}
	for _, s := range splitList(f[colGenders]) {
		v, perr := parseEnum(s, "GENDER_", pb.Gender_value)
		if perr != nil {
			return nil, fmt.Errorf("genders: %v", perr)
		}
		a.Genders = append(a.Genders, pb.Gender(v))
	}
	for _, s := range splitList(f[colOS]) {
		v, perr := parseEnum(s, "OPERATING_SYSTEM_", pb.OperatingSystem_value)
		if perr != nil {
			return nil, fmt.Errorf("operating_systems: %v", perr)
		}
		a.OperatingSystems = append(a.OperatingSystems, pb.OperatingSystem(v))
	}
	if a.MinAge != 0 || a.MaxAge != 0 || len(a.Genders) > 0 || len(a.OperatingSystems) > 0 {
		mp.Audience = a
	}
	return mp, nil
}

// splitList splits a "|"-separated list, ignoring empty parts.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, "|") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// buildPlace makes the place of a row; n is its 1-based position in its
// mini-program, which names it "p<n>" when place_id is empty.
func buildPlace(f *fields, n int) (*pb.Place, error) {
	pl := &pb.Place{Id: f[colPlaceID], Label: f[colLabel], Location: &pb.LatLng{}}
	if pl.Id == "" {
		pl.Id = "p" + strconv.Itoa(n)
	}
	for _, c := range []struct {
		col int
		dst *float64
	}{{colLat, &pl.Location.Latitude}, {colLng, &pl.Location.Longitude}} {
		s := f[c.col]
		if s == "" {
			return nil, fmt.Errorf("%s: required", csvColumns[c.col])
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%s %q: not a number", csvColumns[c.col], s)
		}
		*c.dst = v
	}
	return pl, nil
}

// group gathers the rows (or features) of one mini-program.
type group struct {
	id  string
	mp  *pb.MiniProgram
	raw [numMPColumns]string // the first row's mini-program fields
	// rawLine says where raw came from, for messages.
	rawLoc string
	// CSV: first and last line; GeoJSON: the feature indices.
	first, last int
	features    []int
	// err is the first failure; the whole mini-program is then skipped.
	err *sourceError
}

// add adds one row to the group: the first defines the mini-program, each
// adds a place. A later row may leave mini-program fields empty or repeat
// them; a different value is an error.
func (g *group) add(f *fields, pos int, loc string) {
	if g.err != nil {
		return
	}
	if g.mp == nil {
		mp, err := buildMiniProgram(f)
		if err != nil {
			g.fail(pos, loc, err.Error())
			return
		}
		g.mp, g.rawLoc = mp, loc
		copy(g.raw[:], f[:numMPColumns])
	} else {
		for i := colName; i < numMPColumns; i++ {
			if f[i] != "" && f[i] != g.raw[i] {
				g.fail(pos, loc, fmt.Sprintf("%s %q differs from %q on %s: the fields of one mini-program are given once (or repeated unchanged)",
					csvColumns[i], clipValue(f[i]), clipValue(g.raw[i]), g.rawLoc))
				return
			}
		}
	}
	pl, err := buildPlace(f, len(g.mp.Places)+1)
	if err != nil {
		g.fail(pos, loc, err.Error())
		return
	}
	g.mp.Places = append(g.mp.Places, pl)
}

func (g *group) fail(pos int, loc, msg string) {
	if g.err == nil {
		g.err = &sourceError{pos: pos, loc: loc, id: g.id, msg: msg}
	}
}

// loc says where the group is in the file.
func (g *group) loc() string {
	if g.features != nil {
		if len(g.features) == 1 {
			return fmt.Sprintf("features[%d]", g.features[0])
		}
		parts := make([]string, 0, 6)
		for i, n := range g.features {
			if i == 5 {
				parts = append(parts, fmt.Sprintf("... %d in all", len(g.features)))
				break
			}
			parts = append(parts, strconv.Itoa(n))
		}
		return "features[" + strings.Join(parts, ",") + "]"
	}
	if g.first == g.last {
		return fmt.Sprintf("line %d", g.first)
	}
	return fmt.Sprintf("lines %d-%d", g.first, g.last)
}

// emit sends the group's mini-program, or its failure.
func (g *group) emit(sink parseSink) error {
	if g.err != nil {
		e := *g.err
		if where := g.loc(); where != e.loc {
			e.msg += fmt.Sprintf(" (the whole mini-program, %s, was skipped)", where)
		}
		sink.bad(e)
		return nil
	}
	g.mp.Id = g.id
	pos := g.first
	if g.features != nil {
		pos = g.features[0]
	}
	return sink.item(importItem{mp: g.mp, pos: pos, loc: g.loc()})
}

func clipValue(s string) string {
	if len(s) <= 40 {
		return s
	}
	return s[:37] + "..."
}

// parseCSV reads a header row and one row per place; consecutive rows with
// the same id are one mini-program. A non-consecutive repeat of an id is an
// error for that row (the ids seen are remembered: a few dozen bytes each).
func parseCSV(r io.Reader, sink parseSink) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return errors.New("empty file: want a header row naming the columns (" + strings.Join(csvColumns, ",") + ")")
	}
	if err != nil {
		return fmt.Errorf("header: %w", err)
	}
	nfields := len(header)
	cols := make([]int, nfields) // record index → column
	have := map[int]bool{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		c := slices.Index(csvColumns, name)
		switch {
		case c < 0:
			return fmt.Errorf("line 1: unknown column %q; the columns are %s", h, strings.Join(csvColumns, ","))
		case have[c]:
			return fmt.Errorf("line 1: column %q appears twice", name)
		}
		cols[i], have[c] = c, true
	}
	for _, c := range []int{colID, colLat, colLng} {
		if !have[c] {
			return fmt.Errorf("line 1: the header lacks the %q column (needed: id, lat, lng)", csvColumns[c])
		}
	}
	idIndex := slices.Index(cols, colID)

	seen := map[string]int{} // id → its first line
	var cur *group
	flush := func() error {
		if cur == nil {
			return nil
		}
		g := cur
		cur = nil
		return g.emit(sink)
	}
	unreadable := 0 // line of a row that could not be read, just before this one
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			sink.bad(sourceError{pos: pe.StartLine, loc: fmt.Sprintf("line %d", pe.StartLine), msg: pe.Err.Error()})
			unreadable = pe.StartLine
			continue
		}
		if err != nil {
			return err
		}
		line, _ := cr.FieldPos(0)
		loc := fmt.Sprintf("line %d", line)
		id := ""
		if idIndex < len(rec) {
			id = strings.TrimSpace(rec[idIndex])
		}
		if id == "" {
			sink.bad(sourceError{pos: line, loc: loc, msg: "id: required"})
			unreadable = line
			continue
		}
		if cur == nil || id != cur.id {
			if err := flush(); err != nil {
				return err
			}
			if first, dup := seen[id]; dup {
				sink.bad(sourceError{pos: line, loc: loc, id: id,
					msg: fmt.Sprintf("id %q already appeared on line %d: the rows of one mini-program must be consecutive", id, first)})
				unreadable = 0
				continue
			}
			seen[id] = line
			cur = &group{id: id, first: line}
		} else if unreadable != 0 {
			cur.fail(line, loc, fmt.Sprintf("line %d, among the rows of this mini-program, could not be read", unreadable))
		}
		unreadable = 0
		cur.last = line
		if len(rec) != nfields {
			cur.fail(line, loc, fmt.Sprintf("%d fields; the header has %d", len(rec), nfields))
			continue
		}
		var f fields
		for i, v := range rec {
			if !utf8.ValidString(v) {
				cur.fail(line, loc, fmt.Sprintf("%s: not valid UTF-8", csvColumns[cols[i]]))
				break
			}
			f[cols[i]] = strings.TrimSpace(v)
		}
		cur.add(&f, line, loc)
	}
	return flush()
}

// ---- GeoJSON ----

// parseGeoJSON reads a FeatureCollection of Point features, decoding one
// feature at a time. Features with the same properties.id are one
// mini-program, wherever they are in the file, so the mini-programs are held
// in memory until the end of the file (about 1 KB each; use JSON lines or CSV
// for catalogs of millions). A feature that is not valid JSON stops the
// parse (the decoder cannot resynchronise); other bad features are skipped.
func parseGeoJSON(r io.Reader, sink parseSink) error {
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return fmt.Errorf("not a GeoJSON FeatureCollection: %w", err)
	}
	var typ string
	var order []*group
	groups := map[string]*group{}
	unknown := map[string]bool{}
	sawFeatures := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("not a GeoJSON FeatureCollection: %w", err)
		}
		key, _ := tok.(string)
		switch key {
		case "type":
			if err := dec.Decode(&typ); err != nil {
				return fmt.Errorf("type: %w", err)
			}
		case "features":
			sawFeatures = true
			if err := expectDelim(dec, '['); err != nil {
				return fmt.Errorf("features: %w", err)
			}
			for i := 0; dec.More(); i++ {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return fmt.Errorf("features[%d]: %w", i, err)
				}
				geoFeature(i, raw, sink, groups, &order, unknown)
			}
			if err := expectDelim(dec, ']'); err != nil {
				return fmt.Errorf("features: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return fmt.Errorf("not a GeoJSON FeatureCollection: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the FeatureCollection")
	}
	if typ != "FeatureCollection" {
		return fmt.Errorf("type %q: want a GeoJSON FeatureCollection", typ)
	}
	if !sawFeatures {
		return errors.New("the FeatureCollection has no features array")
	}
	if len(unknown) > 0 && sink.warn != nil {
		names := make([]string, 0, len(unknown))
		for n := range unknown {
			names = append(names, n)
		}
		slices.Sort(names)
		sink.warn(fmt.Sprintf("properties ignored (not mini-program or place fields): %s", strings.Join(names, ", ")))
	}
	for _, g := range order {
		if err := g.emit(sink); err != nil {
			return err
		}
	}
	return nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("want %q, got %v", want, tok)
	}
	return nil
}

// geoFeature reads features[i] into its group.
func geoFeature(i int, raw json.RawMessage, sink parseSink, groups map[string]*group, order *[]*group, unknown map[string]bool) {
	loc := fmt.Sprintf("features[%d]", i)
	bad := func(id, format string, a ...any) {
		sink.bad(sourceError{pos: i, loc: loc, id: id, msg: fmt.Sprintf(format, a...)})
	}
	var ft struct {
		Type     string `json:"type"`
		Geometry *struct {
			Type        string          `json:"type"`
			Coordinates json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &ft); err != nil {
		bad("", "not a GeoJSON Feature: %v", err)
		return
	}
	if ft.Type != "Feature" {
		bad("", "type %q: want Feature", ft.Type)
		return
	}
	var f fields
	var propErr error
	for name, v := range ft.Properties {
		c := slices.Index(csvColumns, name)
		if c < 0 || c == colLat || c == colLng {
			unknown[name] = true
			continue
		}
		s, err := propString(v)
		if err != nil && propErr == nil {
			propErr = fmt.Errorf("properties.%s: %v", name, err)
		}
		f[c] = strings.TrimSpace(s)
	}
	id := f[colID]
	if id == "" {
		bad("", "properties.id: required")
		return
	}
	g := groups[id]
	if g == nil {
		g = &group{id: id}
		groups[id] = g
		*order = append(*order, g)
	}
	g.features = append(g.features, i)
	if propErr != nil {
		g.fail(i, loc, propErr.Error())
		return
	}
	switch {
	case ft.Geometry == nil:
		g.fail(i, loc, "geometry: required (a Point)")
		return
	case ft.Geometry.Type != "Point":
		g.fail(i, loc, fmt.Sprintf("geometry.type %q: only Point is supported", ft.Geometry.Type))
		return
	}
	var coords []float64
	if err := json.Unmarshal(ft.Geometry.Coordinates, &coords); err != nil || len(coords) < 2 || len(coords) > 3 {
		g.fail(i, loc, "geometry.coordinates: want [longitude, latitude] (RFC 7946)")
		return
	}
	f[colLng] = strconv.FormatFloat(coords[0], 'g', -1, 64)
	f[colLat] = strconv.FormatFloat(coords[1], 'g', -1, 64)
	g.add(&f, i, loc)
}

// propString turns a property value into the text a CSV cell would hold:
// strings as they are, numbers and booleans as written, null as empty,
// arrays of those joined with "|".
func propString(v json.RawMessage) (string, error) {
	t := bytes.TrimSpace(v)
	if len(t) == 0 {
		return "", nil
	}
	switch t[0] {
	case '"':
		var s string
		err := json.Unmarshal(t, &s)
		return s, err
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return "", err
		}
		parts := make([]string, 0, len(items))
		for _, it := range items {
			if b := bytes.TrimSpace(it); len(b) > 0 && (b[0] == '[' || b[0] == '{') {
				return "", errors.New("want a list of strings")
			}
			s, err := propString(it)
			if err != nil {
				return "", err
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, "|"), nil
	case '{':
		return "", errors.New("want a string, number, boolean or list")
	case 'n':
		return "", nil
	}
	return string(t), nil
}
