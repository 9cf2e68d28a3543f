package server

import (
	"fmt"
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// listAll pages through the whole catalog.
func listAll(t *testing.T, c v1.CatalogServiceClient) []*v1.MiniProgram {
	t.Helper()
	var all []*v1.MiniProgram
	tok := ""
	for {
		resp, err := c.ListMiniPrograms(as(adminKey), &v1.ListMiniProgramsRequest{PageSize: 100, PageToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, resp.MiniPrograms...)
		if tok = resp.NextPageToken; tok == "" {
			return all
		}
	}
}

// TestRestart writes, stops, starts again on the same data dir and finds
// everything as it was, including a page token issued before the restart.
func TestRestart(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, dir)
	c := h.catalog()
	ctx := as(adminKey)
	for i := range 40 {
		if _, err := c.CreateMiniProgram(ctx, &v1.CreateMiniProgramRequest{MiniProgram: sample(fmt.Sprintf("r-%02d", i))}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 40; i += 3 {
		if _, err := c.UpdateMiniProgram(ctx, &v1.UpdateMiniProgramRequest{
			MiniProgram: &v1.MiniProgram{Id: fmt.Sprintf("r-%02d", i), Hidden: true},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"hidden"}},
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < 40; i += 5 {
		if _, err := c.DeleteMiniProgram(ctx, &v1.DeleteMiniProgramRequest{Id: fmt.Sprintf("r-%02d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	before := listAll(t, c)
	page, err := c.ListMiniPrograms(ctx, &v1.ListMiniProgramsRequest{PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	h.stop()

	h2 := newHarness(t, dir)
	after := listAll(t, h2.catalog())
	if len(after) != len(before) || len(after) != 32 {
		t.Fatalf("after restart %d records, before %d (want 32)", len(after), len(before))
	}
	for i := range before {
		if len(after[i].ProtoReflect().GetUnknown()) != 0 {
			t.Fatalf("record %s carries internal fields out of the API", after[i].Id)
		}
		if !proto.Equal(before[i], after[i]) {
			t.Fatalf("record %d differs after restart:\n%v\n%v", i, before[i], after[i])
		}
	}
	// The signing secret lives in the data dir: old page tokens still work.
	next, err := h2.catalog().ListMiniPrograms(ctx, &v1.ListMiniProgramsRequest{PageSize: 10, PageToken: page.NextPageToken})
	if err != nil || len(next.MiniPrograms) != 10 || next.MiniPrograms[0].Id <= page.MiniPrograms[9].Id {
		t.Fatalf("page token across restart: %v", err)
	}
}
