package server

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/config"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// sample returns a valid mini-program.
func sample(id string) *v1.MiniProgram {
	return &v1.MiniProgram{
		Id:          id,
		Name:        "Sunny Bike " + id,
		Description: "Bike sharing",
		Category:    v1.Category_CATEGORY_TRANSPORT,
		IconUrl:     "https://cdn.example.com/icons/" + id + ".png",
		Places: []*v1.Place{
			{Id: "p1", Location: &v1.LatLng{Latitude: 39.9042, Longitude: 116.4074}, Label: "Beijing #1"},
			{Id: "p2", Location: &v1.LatLng{Latitude: 31.2304, Longitude: 121.4737}, Label: "Shanghai #1"},
		},
		Audience:   &v1.Audience{MinAge: 16},
		Rating:     4.5,
		Popularity: 1200,
		Offers:     []*v1.Offer{{Id: "deposit-waived", Title: "Deposit waived", MinCreditScore: 650}},
	}
}

// wantCode fails the test unless err has the code; for INVALID_ARGUMENT it
// also checks that a BadRequest field violation names field.
func wantCode(t *testing.T, err error, code codes.Code, field string) {
	t.Helper()
	st := status.Convert(err)
	if st.Code() != code {
		t.Fatalf("code %v (%q), want %v", st.Code(), st.Message(), code)
	}
	if code != codes.InvalidArgument || field == "" {
		return
	}
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				if fv.GetField() == field {
					return
				}
				fields = append(fields, fv.GetField())
			}
		}
	}
	t.Fatalf("no field violation for %q; got %v (%s)", field, fields, st.Message())
}

func TestCreateValidation(t *testing.T) {
	h := newHarness(t, "")
	c := h.catalog()
	long := strings.Repeat("x", 81)
	tests := []struct {
		name   string
		mutate func(*v1.MiniProgram)
		code   codes.Code
		field  string
	}{
		{"valid", func(*v1.MiniProgram) {}, codes.OK, ""},
		{"valid minimal", func(m *v1.MiniProgram) {
			m.Description, m.IconUrl, m.Audience, m.Offers, m.Rating, m.Popularity = "", "", nil, nil, 0, 0
		}, codes.OK, ""},
		{"output-only fields ignored", func(m *v1.MiniProgram) { m.Version = 99 }, codes.OK, ""},
		{"empty id", func(m *v1.MiniProgram) { m.Id = "" }, codes.InvalidArgument, "mini_program.id"},
		{"upper-case id", func(m *v1.MiniProgram) { m.Id = "Bad" }, codes.InvalidArgument, "mini_program.id"},
		{"id too long", func(m *v1.MiniProgram) { m.Id = strings.Repeat("a", 65) }, codes.InvalidArgument, "mini_program.id"},
		{"id starts with dash", func(m *v1.MiniProgram) { m.Id = "-a" }, codes.InvalidArgument, "mini_program.id"},
		{"empty name", func(m *v1.MiniProgram) { m.Name = "" }, codes.InvalidArgument, "mini_program.name"},
		{"name 81 chars", func(m *v1.MiniProgram) { m.Name = long }, codes.InvalidArgument, "mini_program.name"},
		{"name 80 multibyte chars", func(m *v1.MiniProgram) { m.Name = strings.Repeat("单", 80) }, codes.OK, ""},
		{"description 501", func(m *v1.MiniProgram) { m.Description = strings.Repeat("d", 501) }, codes.InvalidArgument, "mini_program.description"},
		{"no category", func(m *v1.MiniProgram) { m.Category = 0 }, codes.InvalidArgument, "mini_program.category"},
		{"unknown category", func(m *v1.MiniProgram) { m.Category = 99 }, codes.InvalidArgument, "mini_program.category"},
		{"icon not a url", func(m *v1.MiniProgram) { m.IconUrl = "icon.png" }, codes.InvalidArgument, "mini_program.icon_url"},
		{"no places", func(m *v1.MiniProgram) { m.Places = nil }, codes.InvalidArgument, "mini_program.places"},
		{"1001 places", func(m *v1.MiniProgram) {
			m.Places = nil
			for i := range 1001 {
				m.Places = append(m.Places, &v1.Place{Id: fmt.Sprintf("p%d", i), Location: &v1.LatLng{}})
			}
		}, codes.InvalidArgument, "mini_program.places"},
		{"1000 places", func(m *v1.MiniProgram) {
			m.Places = nil
			for i := range 1000 {
				m.Places = append(m.Places, &v1.Place{Id: fmt.Sprintf("p%d", i), Location: &v1.LatLng{Latitude: float64(i % 90)}})
			}
		}, codes.OK, ""},
		{"place without location", func(m *v1.MiniProgram) { m.Places[1].Location = nil }, codes.InvalidArgument, "mini_program.places[1].location"},
		{"latitude NaN", func(m *v1.MiniProgram) { m.Places[0].Location.Latitude = math.NaN() }, codes.InvalidArgument, "mini_program.places[0].location.latitude"},
		{"latitude 90.0001", func(m *v1.MiniProgram) { m.Places[0].Location.Latitude = 90.0001 }, codes.InvalidArgument, "mini_program.places[0].location.latitude"},
		{"latitude -90 ok", func(m *v1.MiniProgram) { m.Places[0].Location.Latitude = -90 }, codes.OK, ""},
		{"longitude +Inf", func(m *v1.MiniProgram) { m.Places[0].Location.Longitude = math.Inf(1) }, codes.InvalidArgument, "mini_program.places[0].location.longitude"},
		{"longitude -Inf", func(m *v1.MiniProgram) { m.Places[0].Location.Longitude = math.Inf(-1) }, codes.InvalidArgument, "mini_program.places[0].location.longitude"},
		{"longitude -180.5", func(m *v1.MiniProgram) { m.Places[0].Location.Longitude = -180.5 }, codes.InvalidArgument, "mini_program.places[0].location.longitude"},
		{"longitude 180 ok", func(m *v1.MiniProgram) { m.Places[0].Location.Longitude = 180 }, codes.OK, ""},
		{"duplicate place id", func(m *v1.MiniProgram) { m.Places[1].Id = "p1" }, codes.InvalidArgument, "mini_program.places[1].id"},
		{"empty place id", func(m *v1.MiniProgram) { m.Places[1].Id = "" }, codes.InvalidArgument, "mini_program.places[1].id"},
		{"rating 5.1", func(m *v1.MiniProgram) { m.Rating = 5.1 }, codes.InvalidArgument, "mini_program.rating"},
		{"rating NaN", func(m *v1.MiniProgram) { m.Rating = math.NaN() }, codes.InvalidArgument, "mini_program.rating"},
		{"rating -1", func(m *v1.MiniProgram) { m.Rating = -1 }, codes.InvalidArgument, "mini_program.rating"},
		{"negative popularity", func(m *v1.MiniProgram) { m.Popularity = -1 }, codes.InvalidArgument, "mini_program.popularity"},
		{"min age above max", func(m *v1.MiniProgram) { m.Audience = &v1.Audience{MinAge: 30, MaxAge: 20} }, codes.InvalidArgument, "mini_program.audience.max_age"},
		{"negative age", func(m *v1.MiniProgram) { m.Audience = &v1.Audience{MinAge: -1} }, codes.InvalidArgument, "mini_program.audience.min_age"},
		{"unspecified gender", func(m *v1.MiniProgram) { m.Audience = &v1.Audience{Genders: []v1.Gender{0}} }, codes.InvalidArgument, "mini_program.audience.genders[0]"},
		{"unknown os", func(m *v1.MiniProgram) { m.Audience = &v1.Audience{OperatingSystems: []v1.OperatingSystem{42}} }, codes.InvalidArgument, "mini_program.audience.operating_systems[0]"},
		{"duplicate offer id", func(m *v1.MiniProgram) { m.Offers = append(m.Offers, m.Offers[0]) }, codes.InvalidArgument, "mini_program.offers[1].id"},
		{"offer without title", func(m *v1.MiniProgram) { m.Offers[0].Title = "" }, codes.InvalidArgument, "mini_program.offers[0].title"},
		{"offer score 2000", func(m *v1.MiniProgram) { m.Offers[0].MinCreditScore = 2000 }, codes.InvalidArgument, "mini_program.offers[0].min_credit_score"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mp := sample(fmt.Sprintf("mp-%d", i))
			tc.mutate(mp)
			resp, err := c.CreateMiniProgram(as(adminKey), &v1.CreateMiniProgramRequest{MiniProgram: mp})
			wantCode(t, err, tc.code, tc.field)
			if tc.code == codes.OK {
				got := resp.GetMiniProgram()
				if got.GetVersion() != 1 || got.GetCreateTime() == nil || !got.GetCreateTime().AsTime().Equal(h.now) || !proto.Equal(got.GetCreateTime(), got.GetUpdateTime()) {
					t.Fatalf("version/times not set: %v %v %v", got.GetVersion(), got.GetCreateTime(), got.GetUpdateTime())
				}
			}
		})
	}
	t.Run("nil mini_program", func(t *testing.T) {
		_, err := c.CreateMiniProgram(as(adminKey), &v1.CreateMiniProgramRequest{})
		wantCode(t, err, codes.InvalidArgument, "mini_program")
	})
	t.Run("already exists", func(t *testing.T) {
		_, err := c.CreateMiniProgram(as(adminKey), &v1.CreateMiniProgramRequest{MiniProgram: sample("mp-0")})
		wantCode(t, err, codes.AlreadyExists, "")
	})
	t.Run("every violation at once", func(t *testing.T) {
		mp := sample("multi")
		mp.Name, mp.Rating, mp.Places[0].Location.Latitude = "", 9, math.NaN()
		_, err := c.CreateMiniProgram(as(adminKey), &v1.CreateMiniProgramRequest{MiniProgram: mp})
		for _, f := range []string{"mini_program.name", "mini_program.rating", "mini_program.places[0].location.latitude"} {
			wantCode(t, err, codes.InvalidArgument, f)
		}
	})
}

func TestGetUpdateDelete(t *testing.T) {
	h := newHarness(t, "")
	c := h.catalog()
	ctx := as(adminKey)
	created, err := c.CreateMiniProgram(ctx, &v1.CreateMiniProgramRequest{MiniProgram: sample("bike")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetMiniProgram(ctx, &v1.GetMiniProgramRequest{Id: "bike"})
	if err != nil || !proto.Equal(got.GetMiniProgram(), created.GetMiniProgram()) {
		t.Fatalf("get: %v, %v", err, got)
	}
	h.now = h.now.Add(60e9)

	mask := func(p ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: p} }
	tests := []struct {
		name  string
		req   *v1.UpdateMiniProgramRequest
		code  codes.Code
		field string
		check func(*v1.MiniProgram)
	}{
		{"rename with mask", &v1.UpdateMiniProgramRequest{MiniProgram: &v1.MiniProgram{Id: "bike", Name: "Renamed"}, UpdateMask: mask("name")}, codes.OK, "",
			func(m *v1.MiniProgram) {
				if m.Name != "Renamed" || m.Version != 2 || len(m.Places) != 2 || m.Rating != 4.5 {
					t.Fatalf("masked update changed too much or too little: %v", m)
				}
			}},
		{"nested mask", &v1.UpdateMiniProgramRequest{MiniProgram: &v1.MiniProgram{Id: "bike", Audience: &v1.Audience{MaxAge: 70}}, UpdateMask: mask("audience.max_age"), ExpectedVersion: 2}, codes.OK, "",
			func(m *v1.MiniProgram) {
				if m.Audience.GetMinAge() != 16 || m.Audience.GetMaxAge() != 70 || m.Version != 3 {
					t.Fatalf("nested mask: %v", m.Audience)
				}
			}},
		{"hide", &v1.UpdateMiniProgramRequest{MiniProgram: &v1.MiniProgram{Id: "bike", Hidden: true}, UpdateMask: mask("hidden")}, codes.OK, "",
			func(m *v1.MiniProgram) {
				if !m.Hidden || m.Version != 4 || !m.UpdateTime.AsTime().Equal(h.now) || m.CreateTime.AsTime().Equal(h.now) {
					t.Fatalf("hide: %v", m)
				}
			}},
		{"stale version", &v1.UpdateMiniProgramRequest{MiniProgram: &v1.MiniProgram{Id: "bike", Name: "X"}, UpdateMask: mask("name"), ExpectedVersion: 1}, codes.Aborted, "", nil},
		{"missing", &v1.UpdateMiniProgramRequest{MiniProgram: &v1.MiniProgram{Id: "nope", Name: "X"}, UpdateMask: mask("name")}, codes.NotFound, "", nil},
		{"unknown path", &v1.UpdateMiniProgramRequest{MiniProgram: &v1.MiniProgram{Id: "bike"}, UpdateMask: mask("colour")}, codes.InvalidArgument, "update_mask", nil},
		{"output-only path", &v1.UpdateMiniProgramRequest{MiniProgram: &v1.MiniProgram{Id: "bike"}, UpdateMask: mask("version")}, codes.InvalidArgument, "update_mask", nil},
		{"id path", &v1.UpdateMiniProgramRequest{MiniProgram: &v1.MiniProgram{Id: "bike"}, UpdateMask: mask("id")}, codes.InvalidArgument, "update_mask", nil},
		{"merge makes it invalid", &v1.UpdateMiniProgramRequest{MiniProgram: &v1.MiniProgram{Id: "bike"}, UpdateMask: mask("places")}, codes.InvalidArgument, "mini_program.places", nil},
		{"full replace must be valid", &v1.UpdateMiniProgramRequest{MiniProgram: &v1.MiniProgram{Id: "bike", Name: "only a name"}}, codes.InvalidArgument, "mini_program.places", nil},
		{"negative expected_version", &v1.UpdateMiniProgramRequest{MiniProgram: sample("bike"), ExpectedVersion: -1}, codes.InvalidArgument, "expected_version", nil},
		{"no mini_program", &v1.UpdateMiniProgramRequest{}, codes.InvalidArgument, "mini_program", nil},
		{"full replace", &v1.UpdateMiniProgramRequest{MiniProgram: sample("bike"), ExpectedVersion: 4}, codes.OK, "",
			func(m *v1.MiniProgram) {
				want := sample("bike")
				want.Version, want.CreateTime, want.UpdateTime = 5, created.GetMiniProgram().GetCreateTime(), m.UpdateTime
				if !proto.Equal(m, want) {
					t.Fatalf("full replace:\n got %v\nwant %v", m, want)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := c.UpdateMiniProgram(ctx, tc.req)
			wantCode(t, err, tc.code, tc.field)
			if tc.check != nil {
				tc.check(resp.GetMiniProgram())
				// What Update answered is what is stored.
				got, err := c.GetMiniProgram(ctx, &v1.GetMiniProgramRequest{Id: "bike"})
				if err != nil || !proto.Equal(got.GetMiniProgram(), resp.GetMiniProgram()) {
					t.Fatalf("stored differs from answered: %v", err)
				}
			}
		})
	}

	for _, tc := range []struct {
		name string
		req  *v1.DeleteMiniProgramRequest
		code codes.Code
	}{
		{"stale version", &v1.DeleteMiniProgramRequest{Id: "bike", ExpectedVersion: 3}, codes.Aborted},
		{"bad id", &v1.DeleteMiniProgramRequest{Id: "B!"}, codes.InvalidArgument},
		{"delete", &v1.DeleteMiniProgramRequest{Id: "bike", ExpectedVersion: 5}, codes.OK},
		{"again", &v1.DeleteMiniProgramRequest{Id: "bike"}, codes.NotFound},
	} {
		t.Run("delete "+tc.name, func(t *testing.T) {
			_, err := c.DeleteMiniProgram(ctx, tc.req)
			wantCode(t, err, tc.code, "")
		})
	}
	for _, tc := range []struct {
		id   string
		code codes.Code
	}{{"bike", codes.NotFound}, {"", codes.InvalidArgument}, {"UPPER", codes.InvalidArgument}} {
		_, err := c.GetMiniProgram(ctx, &v1.GetMiniProgramRequest{Id: tc.id})
		wantCode(t, err, tc.code, "")
	}
}

func TestListPaging(t *testing.T) {
	h := newHarness(t, "")
	c := h.catalog()
	ctx := as(adminKey)
	var ids, food []string
	for i := range 23 {
		mp := sample(fmt.Sprintf("mp-%02d", (i*7)%23)) // created out of order
		if i%3 == 0 {
			mp.Category = v1.Category_CATEGORY_FOOD
			food = append(food, mp.Id)
		}
		ids = append(ids, mp.Id)
		if _, err := c.CreateMiniProgram(ctx, &v1.CreateMiniProgramRequest{MiniProgram: mp}); err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(ids)
	sort.Strings(food)
	list := func(size int32, cat v1.Category) []string {
		var got []string
		tok := ""
		for pages := 0; ; pages++ {
			resp, err := c.ListMiniPrograms(ctx, &v1.ListMiniProgramsRequest{PageSize: size, PageToken: tok, Category: cat})
			if err != nil {
				t.Fatal(err)
			}
			if int32(len(resp.MiniPrograms)) > size {
				t.Fatalf("page of %d > %d", len(resp.MiniPrograms), size)
			}
			for _, m := range resp.MiniPrograms {
				got = append(got, m.Id)
			}
			tok = resp.NextPageToken
			if tok == "" {
				return got
			}
			if pages > 100 {
				t.Fatal("paging does not end")
			}
		}
	}
	for _, size := range []int32{1, 5, 22, 23, 24, 1000} {
		if got := list(size, 0); fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Fatalf("page size %d: got %v, want %v", size, got, ids)
		}
		if got := list(size, v1.Category_CATEGORY_FOOD); fmt.Sprint(got) != fmt.Sprint(food) {
			t.Fatalf("food, page size %d: got %v, want %v", size, got, food)
		}
	}
	// Default page size is 50: one page holds all 23.
	resp, err := c.ListMiniPrograms(ctx, &v1.ListMiniProgramsRequest{})
	if err != nil || len(resp.MiniPrograms) != 23 || resp.NextPageToken != "" {
		t.Fatalf("default page: %v, %d, %q", err, len(resp.GetMiniPrograms()), resp.GetNextPageToken())
	}
	first, _ := c.ListMiniPrograms(ctx, &v1.ListMiniProgramsRequest{PageSize: 5})
	tok := first.NextPageToken
	for _, tc := range []struct {
		name string
		req  *v1.ListMiniProgramsRequest
		code codes.Code
	}{
		{"valid token", &v1.ListMiniProgramsRequest{PageSize: 5, PageToken: tok}, codes.OK},
		{"tampered token", &v1.ListMiniProgramsRequest{PageSize: 5, PageToken: tok[:len(tok)-2] + "AA"}, codes.InvalidArgument},
		{"garbage token", &v1.ListMiniProgramsRequest{PageToken: "not-a-token!"}, codes.InvalidArgument},
		{"token of another filter", &v1.ListMiniProgramsRequest{PageToken: tok, Category: v1.Category_CATEGORY_FOOD}, codes.InvalidArgument},
		{"page_size 1001", &v1.ListMiniProgramsRequest{PageSize: 1001}, codes.InvalidArgument},
		{"page_size -1", &v1.ListMiniProgramsRequest{PageSize: -1}, codes.InvalidArgument},
		{"unknown category", &v1.ListMiniProgramsRequest{Category: 77}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.ListMiniPrograms(ctx, tc.req)
			wantCode(t, err, tc.code, "")
		})
	}
}

func TestImport(t *testing.T) {
	h := newHarness(t, "")
	c := h.catalog()
	ctx := as(adminKey)
	if _, err := c.CreateMiniProgram(ctx, &v1.CreateMiniProgramRequest{MiniProgram: sample("imp-003")}); err != nil {
		t.Fatal(err)
	}
	stream, err := c.ImportMiniPrograms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[int]string{4: "mini_program.name", 9: "mini_program.places[0].location.latitude", 15: "mini_program.id"}
	for i := range 30 {
		mp := sample(fmt.Sprintf("imp-%03d", i))
		switch i {
		case 4:
			mp.Name = ""
		case 9:
			mp.Places[0].Location.Latitude = math.NaN()
		case 15:
			mp.Id = "BAD ID"
		case 20:
			// Output-only fields a client sent are ignored (this item's
			// bytes are encoded again; the others are stored as sent).
			mp.Version, mp.CreateTime = 99, timestamppb.New(time.Unix(5, 0))
		}
		if err := stream.Send(&v1.ImportMiniProgramsRequest{MiniProgram: mp}); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		t.Fatal(err)
	}
	if resp.Created != 26 || resp.Updated != 1 || resp.Failed != 3 || len(resp.Errors) != 3 {
		t.Fatalf("import summary: %v", resp)
	}
	for _, e := range resp.Errors {
		if f, ok := bad[int(e.Index)]; !ok || !strings.Contains(e.Message, f) {
			t.Fatalf("error %v: want index in %v naming its field", e, bad)
		}
	}
	got, err := c.GetMiniProgram(ctx, &v1.GetMiniProgramRequest{Id: "imp-003"})
	if err != nil || got.MiniProgram.Version != 2 {
		t.Fatalf("upserted item: %v %v", err, got)
	}
	if _, err := c.GetMiniProgram(ctx, &v1.GetMiniProgramRequest{Id: "imp-004"}); status.Code(err) != codes.NotFound {
		t.Fatalf("bad item stored: %v", err)
	}
	for _, id := range []string{"imp-005", "imp-020"} {
		got, err := c.GetMiniProgram(ctx, &v1.GetMiniProgramRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		mp := got.MiniProgram
		if mp.Version != 1 || mp.CreateTime == nil || !mp.CreateTime.AsTime().Equal(mp.UpdateTime.AsTime()) || mp.CreateTime.AsTime().Before(time.Unix(1e9, 0)) {
			t.Fatalf("%s: version %d, times %v %v", id, mp.Version, mp.CreateTime, mp.UpdateTime)
		}
		mp.Version, mp.CreateTime, mp.UpdateTime = 0, nil, nil
		if want := sample(id); !proto.Equal(mp, want) {
			t.Fatalf("%s stored as\n%v\nsent\n%v", id, mp, want)
		}
	}

	// Only the first 100 errors are listed; all are counted.
	stream, _ = c.ImportMiniPrograms(ctx)
	for i := range 150 {
		mp := sample(fmt.Sprintf("bad-%03d", i))
		mp.Rating = 7
		if err := stream.Send(&v1.ImportMiniProgramsRequest{MiniProgram: mp}); err != nil {
			t.Fatal(err)
		}
	}
	stream.Send(&v1.ImportMiniProgramsRequest{}) // no mini_program at all
	resp, err = stream.CloseAndRecv()
	if err != nil || resp.Failed != 151 || len(resp.Errors) != 100 || resp.Created != 0 {
		t.Fatalf("capped errors: %v, failed=%d errors=%d", err, resp.GetFailed(), len(resp.GetErrors()))
	}

	// An import needs the admin role like every catalog call.
	stream, err = c.ImportMiniPrograms(as(clientKey))
	if err == nil {
		_, err = stream.CloseAndRecv()
	}
	wantCode(t, err, codes.PermissionDenied, "")
	_ = io.EOF
}

// TestImportStoreFailure: when the store stops taking writes mid-import, the
// call fails with UNAVAILABLE saying how many items were committed, and
// those items are the ones stored.
func TestImportStoreFailure(t *testing.T) {
	h := newHarness(t, "")
	c := h.catalog()
	stream, err := c.ImportMiniPrograms(as(adminKey))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 7 { // one full batch (the harness commits every 7)
		stream.Send(&v1.ImportMiniProgramsRequest{MiniProgram: sample(fmt.Sprintf("ok-%d", i))})
	}
	// Wait until that batch is visible, then take the store away.
	for {
		if _, err := c.GetMiniProgram(as(adminKey), &v1.GetMiniProgramRequest{Id: "ok-6"}); err == nil {
			break
		}
	}
	h.srv.st.Close()
	for i := range 7 {
		stream.Send(&v1.ImportMiniProgramsRequest{MiniProgram: sample(fmt.Sprintf("lost-%d", i))})
	}
	_, err = stream.CloseAndRecv()
	wantCode(t, err, codes.Unavailable, "")
	if !strings.Contains(status.Convert(err).Message(), "the first 7 items were committed") {
		t.Fatalf("message: %v", err)
	}
	// What the error says was committed is searchable, though the import
	// held it back from the index (--import-index-every).
	if h.srv.ix.Item("ok-6") == nil || h.srv.ix.Item("lost-0") != nil {
		t.Fatal("the index does not hold exactly the committed items")
	}
}

// TestImportReachesIndex: however often an import hands its committed
// batches to the index (--import-index-every), every item it acknowledges
// is in the next Nearby, and with a small setting the index takes them
// while the stream is still open.
func TestImportReachesIndex(t *testing.T) {
	for _, every := range []int{0, 10, 100_000} {
		t.Run(fmt.Sprint("every=", every), func(t *testing.T) {
			h := newHarness(t, "", func(c *config.Config) { c.Catalog.ImportIndexEvery = every })
			stream, err := h.catalog().ImportMiniPrograms(as(adminKey))
			if err != nil {
				t.Fatal(err)
			}
			const n = 40 // several batches of the harness's 7
			for i := range n {
				if err := stream.Send(&v1.ImportMiniProgramsRequest{MiniProgram: sample(fmt.Sprintf("idx-%02d", i))}); err != nil {
					t.Fatal(err)
				}
			}
			if every < n-7 {
				// Wait for the index to take some items with the stream
				// open: past every held items, the committer hands them on.
				for h.srv.ix.Item("idx-00") == nil {
					runtime.Gosched()
				}
			}
			resp, err := stream.CloseAndRecv()
			if err != nil || resp.Created != n {
				t.Fatalf("import: %v %v", resp, err)
			}
			disc := v1.NewDiscoveryServiceClient(h.conn)
			got, err := disc.Nearby(as(clientKey), &v1.NearbyRequest{
				Location: &v1.LatLng{Latitude: 39.9042, Longitude: 116.4074}, Limit: 100, User: &v1.UserContext{Age: 30},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Results) != n {
				t.Fatalf("Nearby after the import answered: %d results, want %d", len(got.Results), n)
			}
		})
	}
}

// TestImportCap: a stream over --max-import-items is cut with
// RESOURCE_EXHAUSTED that says where; what came before is committed.
func TestImportCap(t *testing.T) {
	h := newHarness(t, "", func(c *config.Config) { c.Catalog.MaxImportItems = 10 })
	stream, err := h.catalog().ImportMiniPrograms(as(adminKey))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 15 {
		if err := stream.Send(&v1.ImportMiniProgramsRequest{MiniProgram: sample(fmt.Sprintf("cap-%02d", i))}); err != nil {
			break
		}
	}
	_, err = stream.CloseAndRecv()
	wantCode(t, err, codes.ResourceExhausted, "")
	if !strings.Contains(status.Convert(err).Message(), "cut at item 10") {
		t.Fatalf("message: %v", err)
	}
	if _, err := h.catalog().GetMiniProgram(as(adminKey), &v1.GetMiniProgramRequest{Id: "cap-09"}); err != nil {
		t.Fatalf("item before the cut not committed: %v", err)
	}
	if _, err := h.catalog().GetMiniProgram(as(adminKey), &v1.GetMiniProgramRequest{Id: "cap-10"}); status.Code(err) != codes.NotFound {
		t.Fatalf("item after the cut: %v", err)
	}
	if h.srv.ix.Item("cap-09") == nil {
		t.Fatal("item before the cut is not in the index")
	}
}
