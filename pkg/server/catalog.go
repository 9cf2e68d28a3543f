package server

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"

	"context"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/catalog"
	"github.com/aroundme/aroundme/pkg/pagetoken"
	"github.com/aroundme/aroundme/pkg/store"
	"github.com/aroundme/aroundme/pkg/validate"
	"google.golang.org/grpc/codes"
)

const (
	defaultPageSize  = 50
	maxImportErrors  = 100
	listTokenPurpose = "ListMiniPrograms"
)

// catalogService implements CatalogService over the catalog.
type catalogService struct {
	v1.UnimplementedCatalogServiceServer
	log         *slog.Logger
	cat         *catalog.Catalog
	tokens      *pagetoken.Codec
	importBatch int
	// indexEvery is how many committed import items the Nearby index may
	// lag behind the store (--import-index-every, catalog.UpsertHeld): an
	// import answers once, at its end, so its batches need not be
	// searchable as soon as each is durable, only before the answer.
	// Handing ten default batches over at once rebuilds the index nodes
	// they share once instead of ten times.
	indexEvery int
	maxImport  int64 // items one import stream may carry
}

func (s *catalogService) CreateMiniProgram(ctx context.Context, req *v1.CreateMiniProgramRequest) (*v1.CreateMiniProgramResponse, error) {
	mp, err := s.cat.Create(ctx, req.GetMiniProgram())
	if err != nil {
		return nil, err
	}
	return &v1.CreateMiniProgramResponse{MiniProgram: mp}, nil
}

func (s *catalogService) GetMiniProgram(ctx context.Context, req *v1.GetMiniProgramRequest) (*v1.GetMiniProgramResponse, error) {
	mp, err := s.cat.Get(ctx, req.GetId())
	if err != nil {
		return nil, err
	}
	return &v1.GetMiniProgramResponse{MiniProgram: mp}, nil
}

func (s *catalogService) UpdateMiniProgram(ctx context.Context, req *v1.UpdateMiniProgramRequest) (*v1.UpdateMiniProgramResponse, error) {
	mp, err := s.cat.Update(ctx, req.GetMiniProgram(), req.GetUpdateMask().GetPaths(), req.GetExpectedVersion())
	if err != nil {
		return nil, err
	}
	return &v1.UpdateMiniProgramResponse{MiniProgram: mp}, nil
}

func (s *catalogService) DeleteMiniProgram(ctx context.Context, req *v1.DeleteMiniProgramRequest) (*v1.DeleteMiniProgramResponse, error) {
	if err := s.cat.Delete(ctx, req.GetId(), req.GetExpectedVersion()); err != nil {
		return nil, err
	}
	return &v1.DeleteMiniProgramResponse{}, nil
}

// listCursor is the signed content of a ListMiniPrograms page token. It
// carries the filter so that a token cannot be replayed with another one.
type listCursor struct {
	After    string `json:"a"`
	Category int32  `json:"c"`
}

func (s *catalogService) ListMiniPrograms(ctx context.Context, req *v1.ListMiniProgramsRequest) (*v1.ListMiniProgramsResponse, error) {
	n := int(req.GetPageSize())
	if n == 0 {
		n = defaultPageSize
	}
	var cur listCursor
	if tok := req.GetPageToken(); tok != "" {
		raw, err := s.tokens.Decode(listTokenPurpose, tok)
		if err == nil {
			err = json.Unmarshal(raw, &cur)
		}
		if err != nil {
			return nil, badToken()
		}
		if cur.Category != int32(req.GetCategory()) {
			return nil, &apierr.Error{Code: codes.InvalidArgument, Message: "invalid page_token",
				Violations: []apierr.FieldViolation{{Field: "page_token", Description: "the token was issued for another category filter"}}}
		}
	}
	page, more, err := s.cat.List(ctx, cur.After, req.GetCategory(), n)
	if err != nil {
		return nil, err
	}
	resp := &v1.ListMiniProgramsResponse{MiniPrograms: page}
	if more {
		raw, _ := json.Marshal(listCursor{After: page[len(page)-1].GetId(), Category: int32(req.GetCategory())})
		resp.NextPageToken = s.tokens.Encode(listTokenPurpose, raw)
	}
	return resp, nil
}

func badToken() error {
	return &apierr.Error{Code: codes.InvalidArgument, Message: "invalid page_token",
		Violations: []apierr.FieldViolation{{Field: "page_token", Description: pagetoken.ErrInvalid.Error()}}}
}

// ImportMiniPrograms upserts a stream of mini-programs, committing them in
// batches of importBatch items, each batch one durable transaction. An item
// that fails validation is reported and skipped; the rest are kept. Receiving
// and validating the next batch overlaps with committing the previous one.
// The Nearby index takes the committed batches every indexEvery items and
// at the end, before the answer. If a commit fails, the call fails with UNAVAILABLE and says how many items
// were committed before.
func (s *catalogService) ImportMiniPrograms(stream v1.CatalogService_ImportMiniProgramsServer) error {
	ctx, cancel := context.WithCancel(stream.Context())
	defer cancel()
	resp := &v1.ImportMiniProgramsResponse{}
	fail := func(index int64, id, msg string) {
		resp.Failed++
		if len(resp.Errors) < maxImportErrors {
			resp.Errors = append(resp.Errors, &v1.ImportError{Index: index, Id: id, Message: msg})
		}
	}

	// The committer owns created/updated; the receiver owns failed/errors.
	batches := make(chan []catalog.UpsertItem, 1)
	var created, updated int64
	commitErr := make(chan error, 1)
	go func() {
		var err error
		for batch := range batches {
			if err != nil {
				continue // drain after a failure
			}
			res, uerr := s.cat.UpsertHeld(ctx, batch, s.indexEvery)
			if uerr != nil {
				err = uerr
				if errors.Is(uerr, store.ErrUnavailable) {
					// Tell the caller where to resume; the cause is logged.
					s.log.Error("import stopped", "committed", created+updated, "error", uerr.Error())
					err = apierr.Unavailable("import stopped: the first %d items were committed, the rest were not (storage is unavailable); retry them later", created+updated)
				}
				cancel()
				continue
			}
			for _, r := range res {
				if r == catalog.Created {
					created++
				} else {
					updated++
				}
			}
		}
		// Everything committed reaches the index before the stream is
		// answered, whatever the answer (see indexEvery).
		s.cat.Flush()
		commitErr <- err
	}()
	finish := func(recvErr error) error {
		close(batches)
		if err := <-commitErr; err != nil {
			return err
		}
		return recvErr
	}

	batch := make([]catalog.UpsertItem, 0, s.importBatch)
	for index := int64(0); ; index++ {
		var in importRequest // the request and its mini-program's wire bytes (codec.go)
		err := stream.RecvMsg(&in)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return finish(err)
		}
		if index >= s.maxImport {
			// Commit what came before, then say where the stream was cut.
			if len(batch) > 0 {
				batches <- batch
				batch = nil
			}
			if err := finish(nil); err != nil {
				return err
			}
			return apierr.New(codes.ResourceExhausted, "import stream cut at item %d: one stream carries at most %d items (--max-import-items); the %d valid items before it were committed (created %d, updated %d, failed %d): send the rest in another stream",
				index, s.maxImport, created+updated, created, updated, resp.Failed)
		}
		mp := in.req.GetMiniProgram()
		var v apierr.Violations
		if mp == nil {
			v.Add("mini_program", "required")
		} else {
			if !validate.ValidID(mp.GetId()) {
				v.Add("mini_program.id", "%q: want ^[a-z0-9][a-z0-9_.-]{0,63}$", mp.GetId())
			}
			validate.MiniProgram(&v, "mini_program", mp)
		}
		if err := v.Err(); err != nil {
			fail(index, mp.GetId(), err.Error())
			continue
		}
		batch = append(batch, catalog.UpsertItem{MiniProgram: mp, Wire: in.wire})
		if len(batch) == s.importBatch {
			select {
			case batches <- batch:
			case <-ctx.Done():
				return finish(ctx.Err())
			}
			batch = make([]catalog.UpsertItem, 0, s.importBatch)
		}
	}
	if len(batch) > 0 {
		batches <- batch
	}
	if err := finish(nil); err != nil {
		return err
	}
	resp.Created, resp.Updated = created, updated
	return stream.SendAndClose(resp)
}
