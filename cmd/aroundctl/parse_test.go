package main

import (
	"bufio"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

// parsed is what a parser reported.
type parsed struct {
	items []importItem
	bad   []sourceError
	warn  []string
	fatal error
}

func parseString(format, input string) parsed {
	var p parsed
	p.fatal = parsers[format](strings.NewReader(input), parseSink{
		item: func(it importItem) error { p.items = append(p.items, it); return nil },
		bad:  func(e sourceError) { p.bad = append(p.bad, e) },
		warn: func(s string) { p.warn = append(p.warn, s) },
	})
	// Errors of grouped rows come when the group ends: order them as the
	// import summary does.
	sort.SliceStable(p.bad, func(i, j int) bool { return p.bad[i].pos < p.bad[j].pos })
	return p
}

// summary is "loc id" of each item and "loc: msg" of each error, for tables.
func (p parsed) locs() (items, bad []string) {
	for _, it := range p.items {
		items = append(items, it.loc+" "+it.mp.GetId())
	}
	for _, b := range p.bad {
		bad = append(bad, b.loc+": "+b.msg)
	}
	return items, bad
}

type parseCase struct {
	name  string
	input string
	// items are "loc id" of the mini-programs read, in order.
	items []string
	// bad are substrings of "loc: msg" of each error, in order.
	bad   []string
	fatal string
}

func checkParse(t *testing.T, format string, cases []parseCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := parseString(format, c.input)
			if c.fatal != "" {
				if p.fatal == nil || !strings.Contains(p.fatal.Error(), c.fatal) {
					t.Fatalf("fatal %v, want %q", p.fatal, c.fatal)
				}
				return
			}
			if p.fatal != nil {
				t.Fatalf("fatal: %v", p.fatal)
			}
			items, bad := p.locs()
			if strings.Join(items, "|") != strings.Join(c.items, "|") {
				t.Errorf("items %q, want %q", items, c.items)
			}
			if len(bad) != len(c.bad) {
				t.Fatalf("errors %q, want %q", bad, c.bad)
			}
			for i := range bad {
				if !strings.Contains(bad[i], c.bad[i]) {
					t.Errorf("error %d: %q lacks %q", i, bad[i], c.bad[i])
				}
			}
		})
	}
}

func TestParseJSONL(t *testing.T) {
	checkParse(t, formatJSONL, []parseCase{
		{name: "proto and JSON names, blank lines", input: `{"id":"a1","name":"A","category":"CATEGORY_FOOD","icon_url":"https://x/a.png"}

{"id":"b2","name":"B","iconUrl":"https://x/b.png","places":[{"id":"p","location":{"latitude":1,"longitude":2}}]}
   `, items: []string{"line 1 a1", "line 3 b2"}},
		{name: "bad lines are skipped with their numbers", input: `{"id":"a1"}
{"id":"b2","nme":"typo"}
not json
{"id":"c3","rating":"high"}
{"id":"d4"}`,
			items: []string{"line 1 a1", "line 5 d4"},
			bad:   []string{`line 2: unknown field "nme"`, "line 3: ", "line 4: "}},
		{name: "CRLF and BOM", input: "\ufeff{\"id\":\"a1\"}\r\n{\"id\":\"b2\"}\r\n", items: []string{"line 1 a1", "line 2 b2"}},
		{name: "empty", input: ""},
	})
	// Values come through: enum names, nested messages.
	p := parseString(formatJSONL, `{"id":"a1","category":"CATEGORY_GAMES","audience":{"genders":["GENDER_FEMALE"]},"offers":[{"id":"o","title":"T","min_credit_score":650}]}`)
	want := &pb.MiniProgram{Id: "a1", Category: pb.Category_CATEGORY_GAMES,
		Audience: &pb.Audience{Genders: []pb.Gender{pb.Gender_GENDER_FEMALE}},
		Offers:   []*pb.Offer{{Id: "o", Title: "T", MinCreditScore: 650}}}
	if len(p.items) != 1 || !proto.Equal(p.items[0].mp, want) {
		t.Fatalf("got %v", p.items)
	}
	// The id of a line that does not parse is still named when it can be.
	p = parseString(formatJSONL, `{"id":"x9","bogus":1}`)
	if len(p.bad) != 1 || p.bad[0].id != "x9" || !strings.Contains(p.bad[0].msg, "(column") {
		t.Fatalf("bad: %+v", p.bad)
	}
}

const csvHeader = "id,name,description,category,icon_url,rating,popularity,hidden,min_age,max_age,genders,operating_systems,place_id,lat,lng,label\n"

func TestParseCSV(t *testing.T) {
	checkParse(t, formatCSV, []parseCase{
		{name: "multi-place grouping", input: csvHeader +
			"a1,Alpha,,food,,4.5,100,false,18,30,female|male,ios|android,p1,39.9,116.4,One\n" +
			"a1,,,,,,,,,,,,p2,39.8,116.3,Two\n" +
			"a1,Alpha,,food,,4.5,,,,,,,p3,39.7,116.2,Three\n" +
			"b2,Beta,,GAMES,,,,,,,,,,1,2,\n",
			items: []string{"lines 2-4 a1", "line 5 b2"}},
		{name: "columns in any order, only the required ones", input: "lng,lat,id\n2,1,a1\n4,3,a1\n",
			items: []string{"lines 2-3 a1"}},
		{name: "a bad row fails its whole mini-program", input: csvHeader +
			"a1,Alpha,,food,,4.5,,,,,,,p1,39.9,116.4,\n" +
			"a1,,,,,,,,,,,,p2,north,116.3,\n" +
			"b2,Beta,,food,,,,,,,,,,1,2,\n",
			items: []string{"line 4 b2"},
			bad:   []string{`line 3: lat "north": not a number (the whole mini-program, lines 2-3, was skipped)`}},
		{name: "non-consecutive repeat", input: "id,lat,lng\na1,1,2\nb2,1,2\na1,3,4\nc3,1,2\n",
			items: []string{"line 2 a1", "line 3 b2", "line 5 c3"},
			bad:   []string{`line 4: id "a1" already appeared on line 2: the rows of one mini-program must be consecutive`}},
		{name: "row errors", input: "id,name,category,rating,lat,lng\n" +
			"a1,A,nope,,1,2\n" +
			"b2,B,food,,1\n" +
			",C,food,,1,2\n" +
			"d4,D,food,high,1,2\n" +
			"e5,E,food,,1,\n" +
			"f6,F,food,,1,2\n",
			items: []string{"line 7 f6"},
			bad: []string{`line 2: category: unknown value "nope"`, "line 3: 5 fields; the header has 6",
				"line 4: id: required", `line 5: rating "high": not a number`, "line 6: lng: required"}},
		{name: "differing mini-program field", input: "id,name,lat,lng\na1,A,1,2\na1,B,3,4\n",
			bad: []string{`line 3: name "B" differs from "A" on line 2`}},
		{name: "quoted fields over lines, CRLF", input: "id,name,label,lat,lng\r\na1,\"Al, pha\",\"two\nlines\",1,2\r\nb2,B,,3,4\r\n",
			items: []string{"line 2 a1", "line 4 b2"}},
		{name: "unreadable row inside a group", input: "id,name,lat,lng\na1,A,1,2\na1,\"x\"y,1,2\na1,,3,4\nb2,B,1,2\n",
			items: []string{"line 5 b2"},
			bad:   []string{"line 3: ", "line 4: line 3, among the rows of this mini-program, could not be read"}},
		{name: "unknown column", input: "id,lat,lng,ratng\n", fatal: `unknown column "ratng"`},
		{name: "missing column", input: "id,name,lat\n", fatal: `lacks the "lng" column`},
		{name: "duplicate column", input: "id,lat,lng,lat\n", fatal: `column "lat" appears twice`},
		{name: "empty file", input: "", fatal: "empty file"},
		{name: "header only", input: csvHeader},
	})
}

func TestParseCSVValues(t *testing.T) {
	for _, spelling := range []string{"FOOD", "food", "CATEGORY_FOOD", " Food "} {
		p := parseString(formatCSV, "id,category,lat,lng\na1,"+spelling+",1,2\n")
		if len(p.items) != 1 || p.items[0].mp.GetCategory() != pb.Category_CATEGORY_FOOD {
			t.Errorf("category %q: %+v %v", spelling, p.items, p.bad)
		}
	}
	p := parseString(formatCSV, csvHeader+
		"a1,Alpha,Desc,food,https://x/a.png,4.5,100,true,18,30,female|male,ios|HARMONYOS,,39.9,116.4,One\n"+
		"a1,,,,,,,,,,,,,39.8,116.3,Two\n")
	want := &pb.MiniProgram{
		Id: "a1", Name: "Alpha", Description: "Desc", Category: pb.Category_CATEGORY_FOOD, IconUrl: "https://x/a.png",
		Rating: 4.5, Popularity: 100, Hidden: true,
		Audience: &pb.Audience{MinAge: 18, MaxAge: 30,
			Genders:          []pb.Gender{pb.Gender_GENDER_FEMALE, pb.Gender_GENDER_MALE},
			OperatingSystems: []pb.OperatingSystem{pb.OperatingSystem_OPERATING_SYSTEM_IOS, pb.OperatingSystem_OPERATING_SYSTEM_HARMONYOS}},
		Places: []*pb.Place{
			{Id: "p1", Location: &pb.LatLng{Latitude: 39.9, Longitude: 116.4}, Label: "One"},
			{Id: "p2", Location: &pb.LatLng{Latitude: 39.8, Longitude: 116.3}, Label: "Two"},
		},
	}
	if len(p.items) != 1 || !proto.Equal(p.items[0].mp, want) {
		t.Fatalf("got %v (errors %v)\nwant %v", p.items, p.bad, want)
	}
	if err := checkItem(p.items[0].mp); err != nil {
		t.Fatalf("does not validate: %v", err)
	}
}

func geo(features ...string) string {
	return `{"type":"FeatureCollection","features":[` + strings.Join(features, ",\n") + `]}`
}

func point(props string, lng, lat string) string {
	return `{"type":"Feature","geometry":{"type":"Point","coordinates":[` + lng + `,` + lat + `]},"properties":{` + props + `}}`
}

func TestParseGeoJSON(t *testing.T) {
	checkParse(t, formatGeoJSON, []parseCase{
		{name: "grouping by id, anywhere in the file", input: geo(
			point(`"id":"a1","name":"A","category":"food","place_id":"x"`, "116.4", "39.9"),
			point(`"id":"b2","name":"B","category":"games"`, "2", "1"),
			point(`"id":"a1","place_id":"y"`, "116.3", "39.8"),
		), items: []string{"features[0,2] a1", "features[1] b2"}},
		{name: "bad features are skipped", input: geo(
			point(`"name":"no id"`, "1", "2"),
			`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2],[3,4]]},"properties":{"id":"l1"}}`,
			`{"type":"Feature","geometry":{"type":"Point","coordinates":[1]},"properties":{"id":"s1"}}`,
			`{"type":"Feature","properties":{"id":"n1"}}`,
			`{"type":"Nope"}`,
			`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"id":"o1","name":{"x":1}}}`,
			point(`"id":"ok","rating":"x"`, "1", "2"),
			point(`"id":"good"`, "1", "2"),
		), items: []string{"features[7] good"},
			bad: []string{"features[0]: properties.id: required",
				`features[1]: geometry.type "LineString": only Point is supported`,
				"features[2]: geometry.coordinates: want [longitude, latitude]",
				"features[3]: geometry: required",
				`features[4]: type "Nope": want Feature`,
				"features[5]: properties.name: want a string",
				`features[6]: rating "x": not a number`}},
		{name: "extra members and foreign members", input: `{"features":[` + point(`"id":"a1","marker-color":"#f00"`, "1", "2") + `],"bbox":[0,0,1,1],"type":"FeatureCollection"}`,
			items: []string{"features[0] a1"}},
		{name: "not a FeatureCollection", input: `{"type":"Feature"}`, fatal: "want a GeoJSON FeatureCollection"},
		{name: "not an object", input: `[1,2]`, fatal: "not a GeoJSON FeatureCollection"},
		{name: "syntax error", input: `{"type":"FeatureCollection","features":[{"type":"Feature",]}`, fatal: "features[0]"},
		{name: "trailing data", input: geo() + `{}`, fatal: "data after"},
		{name: "no features", input: `{"type":"FeatureCollection"}`, fatal: "no features"},
	})
}

func TestParseGeoJSONValues(t *testing.T) {
	// [lng, lat] order; genders as a list; numbers and booleans as JSON.
	p := parseString(formatGeoJSON, geo(
		point(`"id":"a1","name":"A","category":"CATEGORY_TRAVEL","rating":4.5,"popularity":7,"hidden":true,"genders":["female","other"],"operating_systems":"ios|android","min_age":18,"label":"Gate","marker-color":"#f00"`, "116.4", "39.9"),
		point(`"id":"a1","name":"A","place_id":"west"`, "-73.98", "40.75"),
	))
	want := &pb.MiniProgram{
		Id: "a1", Name: "A", Category: pb.Category_CATEGORY_TRAVEL, Rating: 4.5, Popularity: 7, Hidden: true,
		Audience: &pb.Audience{MinAge: 18, Genders: []pb.Gender{pb.Gender_GENDER_FEMALE, pb.Gender_GENDER_OTHER},
			OperatingSystems: []pb.OperatingSystem{pb.OperatingSystem_OPERATING_SYSTEM_IOS, pb.OperatingSystem_OPERATING_SYSTEM_ANDROID}},
		Places: []*pb.Place{
			{Id: "p1", Location: &pb.LatLng{Latitude: 39.9, Longitude: 116.4}, Label: "Gate"},
			{Id: "west", Location: &pb.LatLng{Latitude: 40.75, Longitude: -73.98}},
		},
	}
	if len(p.items) != 1 || !proto.Equal(p.items[0].mp, want) {
		t.Fatalf("got %v (errors %v)\nwant %v", p.items, p.bad, want)
	}
	if len(p.warn) != 1 || !strings.Contains(p.warn[0], "marker-color") {
		t.Fatalf("warnings %q", p.warn)
	}
}

func TestDetectFormat(t *testing.T) {
	for _, c := range []struct{ name, flag, content, want string }{
		{"x.jsonl", "auto", "", formatJSONL},
		{"x.NDJSON", "auto", "", formatJSONL},
		{"x.csv", "auto", "", formatCSV},
		{"x.geojson", "auto", "", formatGeoJSON},
		{"x.json", "auto", "{\n \"type\": \"FeatureCollection\",\n \"features\": []}", formatGeoJSON},
		{"x.json", "auto", `{"id":"a1"}` + "\n", formatJSONL},
		{"-", "auto", `{"id":"a1"}`, formatJSONL},
		{"x.csv", "geojson", "", formatGeoJSON},
		{"x.json", "auto", "[]", ""},
		{"x.txt", "auto", "id,lat,lng\n", ""},
		{"x.csv", "xml", "", ""},
	} {
		got, err := detectFormat(c.name, c.flag, bufio.NewReader(strings.NewReader(c.content)))
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("detectFormat(%q, %q, %q) = %q, %v; want %q", c.name, c.flag, c.content, got, err, c.want)
		}
	}
}
