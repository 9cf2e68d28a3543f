package server

import (
	"context"
	"encoding/json"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
	"github.com/aroundme/aroundme/pkg/auth"
	"github.com/aroundme/aroundme/pkg/campaign"
	"github.com/aroundme/aroundme/pkg/pagetoken"
	"google.golang.org/grpc/codes"
)

const campaignTokenPurpose = "ListCampaigns"

// campaignService implements CampaignService: the management RPCs over the
// campaign store here, stats, reach and diagnosis in serving.go.
type campaignService struct {
	v1.UnimplementedCampaignServiceServer
	camps    *campaign.Store
	tokens   *pagetoken.Codec
	sp       *sponsors
	userHash func(userID string) uint64 // the discovery service's, so a diagnosis sees the user's frequency counts
}

// tenant is whose campaigns the caller may see, from its credentials: the
// auth interceptor has already let only advertisers and admins through.
func tenant(ctx context.Context) (campaign.Tenant, error) {
	p, ok := auth.PrincipalFrom(ctx)
	switch {
	case ok && p.Role == auth.RoleAdmin:
		return campaign.Tenant{All: true}, nil
	case ok && p.Role == auth.RoleAdvertiser && p.AdvertiserID != "":
		return campaign.Tenant{AdvertiserID: p.AdvertiserID}, nil
	}
	return campaign.Tenant{}, apierr.New(codes.PermissionDenied, "campaigns are for advertiser and admin credentials")
}

func (s *campaignService) CreateCampaign(ctx context.Context, req *v1.CreateCampaignRequest) (*v1.CreateCampaignResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.camps.Create(ctx, t, req.GetCampaign())
	if err != nil {
		return nil, err
	}
	return &v1.CreateCampaignResponse{Campaign: c}, nil
}

func (s *campaignService) GetCampaign(ctx context.Context, req *v1.GetCampaignRequest) (*v1.GetCampaignResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.camps.Get(ctx, t, req.GetId())
	if err != nil {
		return nil, err
	}
	return &v1.GetCampaignResponse{Campaign: c}, nil
}

func (s *campaignService) UpdateCampaign(ctx context.Context, req *v1.UpdateCampaignRequest) (*v1.UpdateCampaignResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.camps.Update(ctx, t, req.GetCampaign(), req.GetUpdateMask().GetPaths(), req.GetExpectedVersion())
	if err != nil {
		return nil, err
	}
	return &v1.UpdateCampaignResponse{Campaign: c}, nil
}

func (s *campaignService) setState(ctx context.Context, id string, a campaign.Action) (*v1.Campaign, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	return s.camps.SetState(ctx, t, id, a)
}

func (s *campaignService) PauseCampaign(ctx context.Context, req *v1.PauseCampaignRequest) (*v1.PauseCampaignResponse, error) {
	c, err := s.setState(ctx, req.GetId(), campaign.Pause)
	if err != nil {
		return nil, err
	}
	return &v1.PauseCampaignResponse{Campaign: c}, nil
}

func (s *campaignService) ResumeCampaign(ctx context.Context, req *v1.ResumeCampaignRequest) (*v1.ResumeCampaignResponse, error) {
	c, err := s.setState(ctx, req.GetId(), campaign.Resume)
	if err != nil {
		return nil, err
	}
	return &v1.ResumeCampaignResponse{Campaign: c}, nil
}

func (s *campaignService) ArchiveCampaign(ctx context.Context, req *v1.ArchiveCampaignRequest) (*v1.ArchiveCampaignResponse, error) {
	c, err := s.setState(ctx, req.GetId(), campaign.Archive)
	if err != nil {
		return nil, err
	}
	return &v1.ArchiveCampaignResponse{Campaign: c}, nil
}

// campaignCursor is the signed content of a ListCampaigns page token. It
// carries the tenant it was issued to, so that a token cannot be replayed
// by another advertiser (it would reveal nothing, but a token is the
// issuer's answer to one caller's question).
type campaignCursor struct {
	After  string `json:"a"`
	Tenant string `json:"t"`
}

func tenantKey(t campaign.Tenant) string {
	if t.All {
		return "*"
	}
	return "adv:" + t.AdvertiserID
}

func (s *campaignService) ListCampaigns(ctx context.Context, req *v1.ListCampaignsRequest) (*v1.ListCampaignsResponse, error) {
	t, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	n := int(req.GetPageSize())
	if n == 0 {
		n = defaultPageSize
	}
	var cur campaignCursor
	if tok := req.GetPageToken(); tok != "" {
		raw, err := s.tokens.Decode(campaignTokenPurpose, tok)
		if err == nil {
			err = json.Unmarshal(raw, &cur)
		}
		if err != nil {
			return nil, badToken()
		}
		if cur.Tenant != tenantKey(t) {
			return nil, &apierr.Error{Code: codes.InvalidArgument, Message: "invalid page_token",
				Violations: []apierr.FieldViolation{{Field: "page_token", Description: "the token was issued to other credentials"}}}
		}
	}
	page, more, err := s.camps.List(ctx, t, cur.After, n)
	if err != nil {
		return nil, err
	}
	resp := &v1.ListCampaignsResponse{Campaigns: page}
	if more {
		raw, _ := json.Marshal(campaignCursor{After: page[len(page)-1].GetId(), Tenant: tenantKey(t)})
		resp.NextPageToken = s.tokens.Encode(campaignTokenPurpose, raw)
	}
	return resp, nil
}
