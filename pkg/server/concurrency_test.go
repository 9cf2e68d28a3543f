package server

import (
	"fmt"
	"sync"
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// TestConcurrentWrites races writers on one record (run with -race): exactly
// one create wins, exactly one update per expected version wins, and the
// final version counts every successful write.
func TestConcurrentWrites(t *testing.T) {
	h := newHarness(t, "")
	c := h.catalog()
	ctx := as(adminKey)
	const n = 16
	codesOf := func(f func(i int) error) map[codes.Code]int {
		var mu sync.Mutex
		got := map[codes.Code]int{}
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code := status.Code(f(i))
				mu.Lock()
				got[code]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		return got
	}
	got := codesOf(func(int) error {
		_, err := c.CreateMiniProgram(ctx, &v1.CreateMiniProgramRequest{MiniProgram: sample("race")})
		return err
	})
	if got[codes.OK] != 1 || got[codes.AlreadyExists] != n-1 {
		t.Fatalf("concurrent creates: %v", got)
	}
	got = codesOf(func(i int) error {
		_, err := c.UpdateMiniProgram(ctx, &v1.UpdateMiniProgramRequest{
			MiniProgram: &v1.MiniProgram{Id: "race", Name: fmt.Sprintf("writer %d", i)},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"name"}}, ExpectedVersion: 1,
		})
		return err
	})
	if got[codes.OK] != 1 || got[codes.Aborted] != n-1 {
		t.Fatalf("concurrent updates at one version: %v", got)
	}
	got = codesOf(func(i int) error {
		_, err := c.UpdateMiniProgram(ctx, &v1.UpdateMiniProgramRequest{
			MiniProgram: &v1.MiniProgram{Id: "race", Popularity: int64(i)},
			UpdateMask:  &fieldmaskpb.FieldMask{Paths: []string{"popularity"}},
		})
		return err
	})
	if got[codes.OK] != n {
		t.Fatalf("unconditional updates: %v", got)
	}
	resp, err := c.GetMiniProgram(ctx, &v1.GetMiniProgramRequest{Id: "race"})
	if err != nil || resp.MiniProgram.Version != 2+n {
		t.Fatalf("final version %d, want %d (%v)", resp.GetMiniProgram().GetVersion(), 2+n, err)
	}
}
