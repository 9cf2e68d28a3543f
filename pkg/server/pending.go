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

// The serving side of CampaignService lands with the sponsored-slots work;
// its management RPCs are in campaign.go.

func (*campaignService) GetCampaignStats(context.Context, *v1.GetCampaignStatsRequest) (*v1.GetCampaignStatsResponse, error) {
	return nil, pending("GetCampaignStats", "campaigns")
}

func (*campaignService) EstimateReach(context.Context, *v1.EstimateReachRequest) (*v1.EstimateReachResponse, error) {
	return nil, pending("EstimateReach", "campaigns")
}

func (*campaignService) DiagnoseCampaign(context.Context, *v1.DiagnoseCampaignRequest) (*v1.DiagnoseCampaignResponse, error) {
	return nil, pending("DiagnoseCampaign", "campaigns")
}
