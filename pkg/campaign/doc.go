// Package campaign is the durable store of geofenced campaigns: records in
// the store under one key each ("cmp/<id>", the proto encoding of the
// Campaign with its version, times, state and coverage), written in store
// transactions so that the version check, the check that the promoted
// mini-program exists and the write are atomic, and every committed change
// handed to the listeners (the future covering index) after it is durable
// and before it is acknowledged.
//
// It enforces the campaign rules of the contract and the ones this service
// chose where the contract is silent:
//
//   - Tenancy: every call is made for a Tenant. An advertiser sees and
//     changes only its own campaigns; another advertiser's campaign is
//     NOT_FOUND, exactly as if it did not exist, so ids cannot be probed.
//     An admin (Tenant.All) sees and changes every campaign.
//   - Only advertisers create campaigns (a campaign belongs to the
//     advertiser of the credentials that made it); an admin's create is
//     PERMISSION_DENIED. Ids are assigned here: "c-" and 16 random hex
//     digits.
//   - State: ACTIVE on create; Pause, Resume and Archive move it. Archived
//     is final: Pause, Resume and Update of an archived campaign are
//     FAILED_PRECONDITION. A transition to the state a campaign is already
//     in succeeds without a write (a retried call is harmless).
//   - Versions start at 1 and grow by one per write, state changes included.
//   - Coverage (cells and km²) is computed with geo when the geofence is
//     written and stored; the serving status is computed on every read
//     (targeting.CampaignStatus), never stored, since it changes with the
//     clock and with spend.
//
// Transport concerns (credentials, page tokens) belong to the service.
package campaign
