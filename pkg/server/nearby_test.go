package server

import (
	"fmt"
	"path/filepath"

	"github.com/aroundme/aroundme/pkg/config"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/eventtoken"
	"github.com/aroundme/aroundme/pkg/secret"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// Sanlitun, Beijing, and places at known offsets from it.
var here = &v1.LatLng{Latitude: 39.9334, Longitude: 116.4540}

// at returns a position dm metres north of here.
func at(dm float64) *v1.LatLng {
	return &v1.LatLng{Latitude: here.Latitude + dm/111195.0, Longitude: here.Longitude}
}

func placeAt(id string, dm float64) *v1.Place { return &v1.Place{Id: id, Location: at(dm), Label: id} }

func create(t *testing.T, h *harness, mp *v1.MiniProgram) {
	t.Helper()
	if _, err := h.catalog().CreateMiniProgram(as(adminKey), &v1.CreateMiniProgramRequest{MiniProgram: mp}); err != nil {
		t.Fatalf("create %s: %v", mp.Id, err)
	}
}

func ids(resp *v1.NearbyResponse) []string {
	var out []string
	for _, r := range resp.GetResults() {
		out = append(out, r.GetMiniProgram().GetId())
	}
	return out
}

func TestNearbyEndToEnd(t *testing.T) {
	h := newHarness(t, "")
	bike := sample("sunny-bike")
	bike.Places = []*v1.Place{placeAt("far", 1500), placeAt("near", 120)}
	bike.Audience = nil
	bike.Offers = []*v1.Offer{
		{Id: "deposit-waived", Title: "Deposit waived", MinCreditScore: 650},
		{Id: "first-ride", Title: "First ride free"},
	}
	create(t, h, bike)
	noodles := sample("noodles")
	noodles.Category, noodles.Places, noodles.Audience, noodles.Offers = v1.Category_CATEGORY_FOOD, []*v1.Place{placeAt("p1", 300)}, nil, nil
	create(t, h, noodles)
	bar := sample("night-bar")
	bar.Category, bar.Places, bar.Audience = v1.Category_CATEGORY_LIFESTYLE, []*v1.Place{placeAt("p1", 50)}, &v1.Audience{MinAge: 18}
	create(t, h, bar)
	iosTool := sample("ios-tool")
	iosTool.Category, iosTool.Places = v1.Category_CATEGORY_TOOLS, []*v1.Place{placeAt("p1", 700)}
	iosTool.Audience = &v1.Audience{OperatingSystems: []v1.OperatingSystem{v1.OperatingSystem_OPERATING_SYSTEM_IOS}}
	create(t, h, iosTool)
	hidden := sample("hidden")
	hidden.Places, hidden.Hidden = []*v1.Place{placeAt("p1", 10)}, true
	create(t, h, hidden)
	far := sample("far-away")
	far.Places = []*v1.Place{placeAt("p1", 2500)}
	create(t, h, far)

	disc := v1.NewDiscoveryServiceClient(h.conn)
	adult := &v1.UserContext{UserId: "u1", Age: 30, Os: v1.OperatingSystem_OPERATING_SYSTEM_IOS, CreditScore: 700}
	resp, err := disc.Nearby(as(clientKey), &v1.NearbyRequest{Location: here, User: adult, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*v1.NearbyResult{}
	for _, r := range resp.Results {
		got[r.MiniProgram.Id] = r
	}
	for _, want := range []string{"sunny-bike", "noodles", "night-bar", "ios-tool"} {
		if got[want] == nil {
			t.Fatalf("%s missing from %v", want, ids(resp))
		}
	}
	if len(got) != 4 {
		t.Fatalf("results %v: hidden or out-of-radius items leaked", ids(resp))
	}
	b := got["sunny-bike"]
	if b.Place.Id != "near" || math.Abs(b.DistanceM-120) > 1 {
		t.Fatalf("bike at its nearest place: %v %v", b.Place.Id, b.DistanceM)
	}
	if len(b.Offers) != 2 {
		t.Fatalf("credit 700 qualifies for both offers: %v", b.Offers)
	}
	if b.Sponsorship != nil {
		t.Fatal("organic result marked sponsored")
	}
	if len(b.Reasons) < 3 || !strings.Contains(strings.Join(b.Reasons, "\n"), "Deposit waived") {
		t.Fatalf("explain: %v", b.Reasons)
	}
	// Ranked by score, ties by id.
	for i := 1; i < len(resp.Results); i++ {
		a, c := resp.Results[i-1], resp.Results[i]
		if a.Score < c.Score || (a.Score == c.Score && a.MiniProgram.Id > c.MiniProgram.Id) {
			t.Fatalf("out of order at %d", i)
		}
	}
	// Every result has a token the server signed, for this result.
	key, _ := secret.LoadOrCreate(filepath.Join(h.dir, SecretFileName))
	signer, _ := eventtoken.NewSigner(key)
	for i, r := range resp.Results {
		c, err := signer.Verify(r.EventToken, h.now)
		if err != nil || c.MiniProgramID != r.MiniProgram.Id || c.PlaceID != r.Place.Id || int(c.Index) != i || c.UserHash == 0 || c.Cell == 0 {
			t.Fatalf("token of result %d: %v %+v", i, err, c)
		}
	}

	for _, tc := range []struct {
		name string
		req  *v1.NearbyRequest
		want []string // sorted ids expected
	}{
		{"unknown user: no audience-bound items", &v1.NearbyRequest{Location: here}, []string{"noodles", "sunny-bike"}},
		{"minor sees no targeted items", &v1.NearbyRequest{Location: here, User: &v1.UserContext{Age: 12, Os: v1.OperatingSystem_OPERATING_SYSTEM_IOS}}, []string{"noodles", "sunny-bike"}},
		{"android adult", &v1.NearbyRequest{Location: here, User: &v1.UserContext{Age: 40, Os: v1.OperatingSystem_OPERATING_SYSTEM_ANDROID}}, []string{"night-bar", "noodles", "sunny-bike"}},
		{"category filter", &v1.NearbyRequest{Location: here, User: adult, Categories: []v1.Category{v1.Category_CATEGORY_FOOD, v1.Category_CATEGORY_TOOLS}}, []string{"ios-tool", "noodles"}},
		{"small radius", &v1.NearbyRequest{Location: here, User: adult, RadiusM: 200}, []string{"night-bar", "sunny-bike"}},
		{"large radius", &v1.NearbyRequest{Location: here, User: adult, RadiusM: 3000}, []string{"far-away", "ios-tool", "night-bar", "noodles", "sunny-bike"}},
		{"limit", &v1.NearbyRequest{Location: here, User: adult, Limit: 1}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := disc.Nearby(as(clientKey), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if tc.req.Limit == 1 {
				if len(resp.Results) != 1 || resp.NextPageToken == "" {
					t.Fatalf("limit 1: %v, token %q", ids(resp), resp.NextPageToken)
				}
				return
			}
			gotIDs := ids(resp)
			sortStrings(gotIDs)
			if fmt.Sprint(gotIDs) != fmt.Sprint(tc.want) {
				t.Fatalf("got %v, want %v", gotIDs, tc.want)
			}
			if resp.NextPageToken != "" {
				t.Fatal("a complete answer has a next page token")
			}
		})
	}

	// Offers the user does not qualify for are left out.
	resp, _ = disc.Nearby(as(clientKey), &v1.NearbyRequest{Location: here, User: &v1.UserContext{CreditScore: 600}, Categories: []v1.Category{v1.Category_CATEGORY_TRANSPORT}})
	if len(resp.Results) != 1 || len(resp.Results[0].Offers) != 1 || resp.Results[0].Offers[0].Id != "first-ride" {
		t.Fatalf("credit 600: %v", resp.Results)
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestNearbyValidation(t *testing.T) {
	h := newHarness(t, "")
	disc := v1.NewDiscoveryServiceClient(h.conn)
	for _, tc := range []struct {
		name  string
		req   *v1.NearbyRequest
		field string
	}{
		{"no location", &v1.NearbyRequest{}, "location"},
		{"latitude NaN", &v1.NearbyRequest{Location: &v1.LatLng{Latitude: math.NaN()}}, "location.latitude"},
		{"longitude 200", &v1.NearbyRequest{Location: &v1.LatLng{Longitude: 200}}, "location.longitude"},
		{"negative radius", &v1.NearbyRequest{Location: here, RadiusM: -1}, "radius_m"},
		{"radius too large", &v1.NearbyRequest{Location: here, RadiusM: 50001}, "radius_m"},
		{"radius Inf", &v1.NearbyRequest{Location: here, RadiusM: math.Inf(1)}, "radius_m"},
		{"limit 101", &v1.NearbyRequest{Location: here, Limit: 101}, "limit"},
		{"negative limit", &v1.NearbyRequest{Location: here, Limit: -1}, "limit"},
		{"accuracy NaN", &v1.NearbyRequest{Location: here, AccuracyM: float32(math.NaN())}, "accuracy_m"},
		{"unspecified category", &v1.NearbyRequest{Location: here, Categories: []v1.Category{0}}, "categories[0]"},
		{"unknown category", &v1.NearbyRequest{Location: here, Categories: []v1.Category{3, 99}}, "categories[1]"},
		{"negative age", &v1.NearbyRequest{Location: here, User: &v1.UserContext{Age: -3}}, "user.age"},
		{"unknown gender", &v1.NearbyRequest{Location: here, User: &v1.UserContext{Gender: 9}}, "user.gender"},
		{"credit score 5000", &v1.NearbyRequest{Location: here, User: &v1.UserContext{CreditScore: 5000}}, "user.credit_score"},
		{"user id too long", &v1.NearbyRequest{Location: here, User: &v1.UserContext{UserId: strings.Repeat("u", 129)}}, "user.user_id"},
		{"forged page token", &v1.NearbyRequest{Location: here, PageToken: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "page_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := disc.Nearby(as(clientKey), tc.req)
			wantCode(t, err, codes.InvalidArgument, tc.field)
		})
	}
	// Edge values that are valid.
	for _, req := range []*v1.NearbyRequest{
		{Location: &v1.LatLng{Latitude: 90, Longitude: 180}, RadiusM: 50000, Limit: 100},
		{Location: &v1.LatLng{Latitude: -90, Longitude: -180}, RadiusM: 0.5},
	} {
		if _, err := disc.Nearby(as(clientKey), req); err != nil {
			t.Fatalf("%v: %v", req, err)
		}
	}
}

// TestNearbyPaging walks the pages of a dense area: every eligible
// mini-program exactly once, in ranking order across pages; tampered or
// misapplied tokens are INVALID_ARGUMENT.
func TestNearbyPaging(t *testing.T) {
	h := newHarness(t, "", func(c *config.Config) { c.Catalog.ImportBatch = 500 })
	stream, err := h.catalog().ImportMiniPrograms(as(adminKey))
	if err != nil {
		t.Fatal(err)
	}
	const n = 250
	for i := range n {
		mp := sample(fmt.Sprintf("mp-%03d", i))
		mp.Audience, mp.Offers = nil, nil
		mp.Rating = float64(i%6) * 0.8 // many equal static scores: ties by id
		mp.Places = []*v1.Place{placeAt("p1", float64((i*37)%1900)+1)}
		if i%10 == 0 { // chains: several places, one of them near
			mp.Places = append(mp.Places, placeAt("p2", float64((i*53)%1900)+1), placeAt("p3", 5000))
		}
		stream.Send(&v1.ImportMiniProgramsRequest{MiniProgram: mp})
	}
	if _, err := stream.CloseAndRecv(); err != nil {
		t.Fatal(err)
	}
	disc := v1.NewDiscoveryServiceClient(h.conn)
	base := &v1.NearbyRequest{Location: here, Limit: 7}
	seen := map[string]bool{}
	var prev *v1.NearbyResult
	tok := ""
	var firstTok string
	for pages := 0; ; pages++ {
		req := proto.Clone(base).(*v1.NearbyRequest)
		req.PageToken = tok
		resp, err := disc.Nearby(as(clientKey), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.Results {
			if seen[r.MiniProgram.Id] {
				t.Fatalf("%s on two pages", r.MiniProgram.Id)
			}
			seen[r.MiniProgram.Id] = true
			if prev != nil && (prev.Score < r.Score || (prev.Score == r.Score && prev.MiniProgram.Id > r.MiniProgram.Id)) {
				t.Fatalf("page %d breaks the ranking order", pages)
			}
			prev = r
		}
		if firstTok == "" {
			firstTok = resp.NextPageToken
		}
		if tok = resp.NextPageToken; tok == "" {
			break
		}
		if pages > n {
			t.Fatal("paging does not end")
		}
	}
	if len(seen) != n {
		t.Fatalf("paging returned %d mini-programs, want %d", len(seen), n)
	}
	// The page size may change between pages; other parameters may not.
	req := proto.Clone(base).(*v1.NearbyRequest)
	req.PageToken, req.Limit = firstTok, 20
	if _, err := disc.Nearby(as(clientKey), req); err != nil {
		t.Fatalf("other page size: %v", err)
	}
	for name, mut := range map[string]func(r *v1.NearbyRequest){
		"moved":           func(r *v1.NearbyRequest) { r.Location = at(10) },
		"other radius":    func(r *v1.NearbyRequest) { r.RadiusM = 1000 },
		"other user":      func(r *v1.NearbyRequest) { r.User = &v1.UserContext{Age: 20} },
		"other category":  func(r *v1.NearbyRequest) { r.Categories = []v1.Category{v1.Category_CATEGORY_GAMES} },
		"tampered":        func(r *v1.NearbyRequest) { r.PageToken = flip(r.PageToken) },
		"truncated":       func(r *v1.NearbyRequest) { r.PageToken = r.PageToken[:len(r.PageToken)/2] },
		"list token kind": func(r *v1.NearbyRequest) { r.PageToken = listToken(t, h) },
	} {
		t.Run(name, func(t *testing.T) {
			req := proto.Clone(base).(*v1.NearbyRequest)
			req.PageToken = firstTok
			mut(req)
			_, err := disc.Nearby(as(clientKey), req)
			wantCode(t, err, codes.InvalidArgument, "page_token")
		})
	}
}

func flip(tok string) string {
	b := []byte(tok)
	if b[5] == 'A' {
		b[5] = 'B'
	} else {
		b[5] = 'A'
	}
	return string(b)
}

func listToken(t *testing.T, h *harness) string {
	resp, err := h.catalog().ListMiniPrograms(as(adminKey), &v1.ListMiniProgramsRequest{PageSize: 1})
	if err != nil || resp.NextPageToken == "" {
		t.Fatalf("list token: %v", err)
	}
	return resp.NextPageToken
}

// TestWriteThenRead: under concurrent writers and readers (run with -race),
// every acknowledged write is visible to the very next Nearby: a created
// mini-program is found, a hidden or deleted one is not.
func TestWriteThenRead(t *testing.T) {
	h := newHarness(t, "")
	c := h.catalog()
	disc := v1.NewDiscoveryServiceClient(h.conn)
	var stop atomic.Bool
	var readers sync.WaitGroup
	for range 2 { // background readers keep the snapshot busy
		readers.Add(1)
		go func() {
			defer readers.Done()
			for !stop.Load() {
				disc.Nearby(as(clientKey), &v1.NearbyRequest{Location: here, Limit: 50})
			}
		}()
	}
	find := func(id string, cat v1.Category) bool {
		resp, err := disc.Nearby(as(clientKey), &v1.NearbyRequest{Location: here, Limit: 100, RadiusM: 5000, Categories: []v1.Category{cat}})
		if err != nil {
			t.Error(err)
			return false
		}
		for _, r := range resp.Results {
			if r.MiniProgram.Id == id {
				return true
			}
		}
		return false
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cat := v1.Category(1 + w) // each writer its own category: ≤ 100 results
			for i := range 15 {
				id := fmt.Sprintf("w%d-%02d", w, i)
				mp := sample(id)
				mp.Category, mp.Audience = cat, nil
				mp.Places = []*v1.Place{placeAt("p", float64(100*w+i))}
				if _, err := c.CreateMiniProgram(as(adminKey), &v1.CreateMiniProgramRequest{MiniProgram: mp}); err != nil {
					t.Error(err)
					return
				}
				if !find(id, cat) {
					t.Errorf("%s not visible right after its create", id)
				}
				switch i % 3 {
				case 1:
					_, err := c.UpdateMiniProgram(as(adminKey), &v1.UpdateMiniProgramRequest{
						MiniProgram: &v1.MiniProgram{Id: id, Hidden: true}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"hidden"}}})
					if err != nil || find(id, cat) {
						t.Errorf("%s visible right after hiding it (%v)", id, err)
					}
				case 2:
					_, err := c.DeleteMiniProgram(as(adminKey), &v1.DeleteMiniProgramRequest{Id: id})
					if err != nil || find(id, cat) {
						t.Errorf("%s visible right after deleting it (%v)", id, err)
					}
				}
			}
		}()
	}
	wg.Wait()
	stop.Store(true)
	readers.Wait()
	if got := h.metric("aroundme_index_mini_programs", "value:20"); len(got) != 1 {
		t.Fatalf("index size gauge: %v", h.metric("aroundme_index_mini_programs"))
	}
}
