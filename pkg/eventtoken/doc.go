// Package eventtoken signs and verifies the tokens that Nearby puts on every
// result, organic and sponsored, and that clients send back with each
// impression and click (ReportEvents).
//
// Events are billed: a sponsored click moves an advertiser's money and every
// event feeds the per-campaign caps and the per-cell statistics. So an event
// is only believed when it carries a token that proves this server showed
// this result (mini-program, place, campaign, position in the response) to
// this (hashed) user at this price under this pricing model, and that the
// proof is recent: tokens expire. The token is what the event is billed
// from — ReportEvents never takes a price, a campaign or a user from the
// client. The nonce of the response and the index of the result make every
// token unique, which is what replay detection keys on.
//
// A token is base64url (no padding) of a small binary record followed by an
// HMAC-SHA256 tag truncated to 128 bits; the layout is documented in
// eventtoken.go. Truncation halves the tag, about 2 KB less in a 100-result
// response, and 128 bits are still far beyond reach: HMAC has no shortcut, so
// a forger must guess a tag outright, each guess costs an online request, and
// 2^128 guesses are not going to happen. The MAC key is derived from the
// server secret with a label of its own, so the same secret can sign page
// tokens and anything else without one kind of token ever passing for
// another.
//
// Tokens are signed, not encrypted: whoever holds one can read its fields.
// That is why it deliberately holds no raw user id (only a salted hash) and no
// coordinates (only the H3 cell of resolution 7, about 5 km², enough for
// per-cell statistics and too coarse to place a user at an address).
//
// Signing is on Nearby's hot path, one token per result and up to 100 per
// response: it reuses pooled HMAC states whose keyed pads are hashed once, and
// appends into the caller's buffer without allocating.
package eventtoken
