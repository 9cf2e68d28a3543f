package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
)

func TestNearbyTable(t *testing.T) {
	const want = `#  AD  ID          NAME                              CATEGORY   DISTANCE  SCORE  RATING  OFFERS
1  AD  sunny-bike  Sunny Bike                        TRANSPORT     120 m  0.912     4.6  Deposit waived; First ride free
       sponsored: "Ride for free" [Ride now] (campaign c1)
       - place 120 m away
       - offer deposit-waived: credit score 700 >= 650
2      mp-000123   Golden Dragon Noodles             FOOD         1.2 km  0.500     4.2  -
3      mp-000999   The Extraordinarily Long Named …  LIFESTYLE     12 km  0.250     3.0  Free tea

next page: --page-token tok123
`
	var b bytes.Buffer
	writeNearbyTable(&b, sampleResponse(), true)
	if b.String() != want {
		t.Fatalf("table with --explain:\n%s\nwant:\n%s", b.String(), want)
	}

	// Without --explain the reasons are left out; the sponsor line stays.
	b.Reset()
	writeNearbyTable(&b, sampleResponse(), false)
	if strings.Contains(b.String(), "place 120 m away") || !strings.Contains(b.String(), "sponsored:") {
		t.Fatalf("table without --explain:\n%s", b.String())
	}

	b.Reset()
	writeNearbyTable(&b, &pb.NearbyResponse{}, false)
	if b.String() != "no mini-programs around here\n" {
		t.Fatalf("empty answer: %q", b.String())
	}
}

func TestFormatDistance(t *testing.T) {
	for m, want := range map[float64]string{0: "0 m", 999.4: "999 m", 999.6: "1.0 km", 1234: "1.2 km", 9949: "9.9 km", 12345: "12 km", -1: "?"} {
		if got := formatDistance(m); got != want {
			t.Errorf("formatDistance(%v) = %q, want %q", m, got, want)
		}
	}
}

func TestNearbyCommand(t *testing.T) {
	addr, fd := startFake(t, sampleResponse())
	env := map[string]string{"AROUNDME_ADDR": addr, "AROUNDME_CLIENT_KEY": testKey}

	// Global flags after the command, every request flag mapped.
	r := runCtl(t, env, "nearby", "--lat", "39.93", "--lng", "116.45", "--radius", "1500", "--limit", "5",
		"--category", "food,GAMES,category_travel", "--age", "30", "--gender", "female", "--os", "ios",
		"--credit", "700", "--user", "u123", "--explain", "--page-token", "abc", "--exclude-sponsored", "--timeout", "5s")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "sunny-bike") || !strings.Contains(r.stdout, "- place 120 m away") {
		t.Fatalf("output:\n%s", r.stdout)
	}
	got, _ := fd.lastRequest()
	want := &pb.NearbyRequest{
		Location:   &pb.LatLng{Latitude: 39.93, Longitude: 116.45},
		RadiusM:    1500,
		Limit:      5,
		Categories: []pb.Category{pb.Category_CATEGORY_FOOD, pb.Category_CATEGORY_GAMES, pb.Category_CATEGORY_TRAVEL},
		User: &pb.UserContext{UserId: "u123", Age: 30, Gender: pb.Gender_GENDER_FEMALE,
			Os: pb.OperatingSystem_OPERATING_SYSTEM_IOS, CreditScore: 700},
		PageToken: "abc", ExcludeSponsored: true, Explain: true,
	}
	if !proto.Equal(got, want) {
		t.Fatalf("request\n%v\nwant\n%v", got, want)
	}

	// Global flags before the command; no user flags → no UserContext.
	r = runCtl(t, env, "-o", "json", "--addr", addr, "nearby", "--lat", "0", "--lng", "0")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if got, _ := fd.lastRequest(); got.User != nil || got.RadiusM != 2000 || got.Limit != 20 {
		t.Fatalf("defaults: %v", got)
	}
	var asMap map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &asMap); err != nil {
		t.Fatalf("-o json is not JSON: %v\n%s", err, r.stdout)
	}
	if _, ok := asMap["next_page_token"]; !ok || strings.Count(r.stdout, "\n") < 10 {
		t.Fatalf("want proto field names, multiline:\n%s", r.stdout)
	}
	var back pb.NearbyResponse
	if err := protojson.Unmarshal([]byte(r.stdout), &back); err != nil || !proto.Equal(&back, sampleResponse()) {
		t.Fatalf("JSON does not round-trip: %v", err)
	}
}

func TestNearbyUsageErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no position":  {"nearby", "--lat", "1"},
		"bad category": {"nearby", "--lat", "1", "--lng", "2", "--category", "FOOD,NOPE"},
		"bad gender":   {"nearby", "--lat", "1", "--lng", "2", "--gender", "x"},
		"bad os":       {"nearby", "--lat", "1", "--lng", "2", "--os", "windows"},
		"bad output":   {"-o", "xml", "nearby", "--lat", "1", "--lng", "2"},
		"stray arg":    {"nearby", "--lat", "1", "--lng", "2", "extra"},
		"bad flag":     {"nearby", "--nope"},
	} {
		r := runCtl(t, nil, args...)
		if r.code != 2 || r.stderr == "" {
			t.Errorf("%s: exit %d, stderr %q; want 2 and a message", name, r.code, r.stderr)
		}
	}
}
