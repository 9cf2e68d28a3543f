// Package targeting holds aroundme's pure decisions: who a mini-program's
// audience admits, which offers a user qualifies for, how organic results
// are scored, whether a campaign is serving (CampaignStatus), and for
// sponsored slots: why a campaign may not be shown (Eligibility, every
// reason at once), when its schedule and dayparts admit it (Schedule, in
// the campaign's zone, DST-correct), what its local day is (DayBounds,
// DayNumber), whether EVEN pacing lets it bid (PaceEven), and who wins the
// slots at what price (Auction, a generalized second-price auction on eCPM
// with a smoothed CTR for CPC bids). No I/O, nothing from pkg/: the server
// converts API messages and counters to these small value types, so the
// rules can be tested exhaustively and reused by every path that must agree
// (Nearby, its oracle, DiagnoseCampaign).
//
// Unknown user attributes (age 0, gender or OS unspecified, credit score 0)
// fail any bound that needs them: a rule that asks for adults is not met by
// a user whose age we do not know.
package targeting
