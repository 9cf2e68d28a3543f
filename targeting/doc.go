// Package targeting holds aroundme's pure decisions: who a mini-program's
// audience admits, which offers a user qualifies for, how organic results
// are scored, and whether a campaign is serving (CampaignStatus). No I/O,
// nothing from pkg/: the server converts API messages to
// these small value types, so the rules can be tested exhaustively and reused
// by every path that must agree (Nearby, its oracle, DiagnoseCampaign).
//
// Unknown user attributes (age 0, gender or OS unspecified, credit score 0)
// fail any bound that needs them: a rule that asks for adults is not met by
// a user whose age we do not know.
package targeting
