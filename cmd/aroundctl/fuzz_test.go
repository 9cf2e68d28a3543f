package main

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

// fuzzParse runs a parser on data and checks its promises: it never panics;
// every item it returns can be sent (proto.Marshal, as the stream does) and
// written by export and read back unchanged, and either validates or gets a
// validation message (what --dry-run reports); every skipped line, row or
// feature is reported with a location and a message.
func fuzzParse(t *testing.T, format string, data []byte) {
	var items []importItem
	var bad []sourceError
	err := parsers[format](bytes.NewReader(data), parseSink{
		item: func(it importItem) error { items = append(items, it); return nil },
		bad:  func(e sourceError) { bad = append(bad, e) },
		warn: func(string) {},
	})
	if err != nil && err.Error() == "" {
		t.Fatal("fatal error without a message")
	}
	for _, it := range items {
		if it.mp == nil || it.loc == "" {
			t.Fatalf("item without message or location: %+v", it)
		}
		if format != formatJSONL && it.mp.GetId() == "" {
			t.Fatalf("%s: grouped item without an id", it.loc)
		}
		if _, err := proto.Marshal(it.mp); err != nil {
			t.Fatalf("%s: cannot be sent: %v", it.loc, err)
		}
		if verr := checkItem(it.mp); verr != nil && verr.Error() == "" {
			t.Fatalf("%s: invalid without a message", it.loc)
		}
		line, err := marshalLine(it.mp)
		if err != nil {
			t.Fatalf("%s: export cannot write it: %v", it.loc, err)
		}
		if bytes.ContainsAny(line, "\n\r") {
			t.Fatalf("%s: export line has a line break: %q", it.loc, line)
		}
		back := parseString(formatJSONL, string(line))
		if len(back.items) != 1 || !proto.Equal(back.items[0].mp, it.mp) {
			t.Fatalf("%s: export does not re-import: %s -> %v %v", it.loc, line, back.items, back.bad)
		}
	}
	for _, b := range bad {
		if b.loc == "" || b.msg == "" {
			t.Fatalf("error without location or message: %+v", b)
		}
	}
}

func FuzzParseJSONL(f *testing.F) {
	for _, s := range []string{
		`{"id":"a1","name":"A","category":"CATEGORY_FOOD","places":[{"id":"p","location":{"latitude":1,"longitude":2}}]}`,
		"{\"id\":\"a1\"}\n\n{\"iconUrl\":\"x\",\"rating\":\"NaN\"}\r\nnot json\n",
		`{"id":"a1","category":99,"audience":{"genders":[1,7]},"popularity":"12"}`,
		"\ufeff{}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, formatJSONL, data) })
}

func FuzzParseCSV(f *testing.F) {
	for _, s := range []string{
		csvHeader + "a1,Alpha,,food,,4.5,100,false,18,30,female|male,ios|android,p1,39.9,116.4,One\na1,,,,,,,,,,,,p2,39.8,116.3,Two\n",
		"id,lat,lng\na1,1,2\nb2,1,2\na1,3,4\n",
		"id,name,lat,lng\na1,\"x\"y,1,2\na1,,3,4\n,,,\n",
		"lng,lat,id,label\n1e400,NaN,a,\"multi\nline\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, formatCSV, data) })
}

func FuzzParseGeoJSON(f *testing.F) {
	for _, s := range []string{
		geo(point(`"id":"a1","name":"A","category":"food"`, "116.4", "39.9"), point(`"id":"a1","place_id":"y"`, "116.3", "39.8")),
		geo(point(`"id":"a1","genders":["female",1,true,null]`, "1", "2"), `{"type":"Feature"}`),
		`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2,3]},"properties":{"id":"x","rating":1e999}}]}`,
		`{"features":[],"type":"FeatureCollection"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzParse(t, formatGeoJSON, data) })
}

// TestFuzzHelpers keeps the helpers honest on a known-bad item.
func TestFuzzHelpers(t *testing.T) {
	if err := checkItem(&pb.MiniProgram{Id: "BAD"}); err == nil || !strings.Contains(err.Error(), "mini_program.id") {
		t.Fatalf("checkItem: %v", err)
	}
}
