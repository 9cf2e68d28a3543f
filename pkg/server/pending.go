package server

import (
	"context"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/apierr"
)

// The RPCs below are part of the v1 contract but their issues have not landed
// yet. They answer UNIMPLEMENTED with a message that says so, rather than
// grpc-go's generic "method not implemented".

func pending(method, issue string) error {
	return apierr.Unimplemented("%s is not implemented yet: it lands with the %s work", method, issue)
}

// campaignService is CampaignService before the campaigns issue.
type campaignService struct {
	v1.UnimplementedCampaignServiceServer
}

func (campaignService) CreateCampaign(context.Context, *v1.CreateCampaignRequest) (*v1.CreateCampaignResponse, error) {
	return nil, pending("CreateCampaign", "campaigns")
}

func (campaignService) GetCampaign(context.Context, *v1.GetCampaignRequest) (*v1.GetCampaignResponse, error) {
	return nil, pending("GetCampaign", "campaigns")
}

func (campaignService) UpdateCampaign(context.Context, *v1.UpdateCampaignRequest) (*v1.UpdateCampaignResponse, error) {
	return nil, pending("UpdateCampaign", "campaigns")
}

func (campaignService) ListCampaigns(context.Context, *v1.ListCampaignsRequest) (*v1.ListCampaignsResponse, error) {
	return nil, pending("ListCampaigns", "campaigns")
}

func (campaignService) PauseCampaign(context.Context, *v1.PauseCampaignRequest) (*v1.PauseCampaignResponse, error) {
	return nil, pending("PauseCampaign", "campaigns")
}

func (campaignService) ResumeCampaign(context.Context, *v1.ResumeCampaignRequest) (*v1.ResumeCampaignResponse, error) {
	return nil, pending("ResumeCampaign", "campaigns")
}

func (campaignService) ArchiveCampaign(context.Context, *v1.ArchiveCampaignRequest) (*v1.ArchiveCampaignResponse, error) {
	return nil, pending("ArchiveCampaign", "campaigns")
}

func (campaignService) GetCampaignStats(context.Context, *v1.GetCampaignStatsRequest) (*v1.GetCampaignStatsResponse, error) {
	return nil, pending("GetCampaignStats", "campaigns")
}

func (campaignService) EstimateReach(context.Context, *v1.EstimateReachRequest) (*v1.EstimateReachResponse, error) {
	return nil, pending("EstimateReach", "campaigns")
}

func (campaignService) DiagnoseCampaign(context.Context, *v1.DiagnoseCampaignRequest) (*v1.DiagnoseCampaignResponse, error) {
	return nil, pending("DiagnoseCampaign", "campaigns")
}
