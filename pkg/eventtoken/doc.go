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
// AES-CMAC tag (128 bits); the layout is documented in eventtoken.go. The
// MAC is a PRF like HMAC-SHA256, which version 1 used, but about twice as
// cheap per token here (AES instructions, one block per 16 bytes, against
// three SHA-256 blocks and HMAC's state copies; see cmac.go), and the record
// is shorter (varint times and price): 20 tokens per response were ~9% of
// the server's CPU. 128 bits are far beyond reach: a forger must guess a tag
// outright, each guess costs an online request, and 2^128 guesses are not
// going to happen. The MAC key is derived from the server secret with a label
// of its own, so the same secret can sign page tokens and anything else
// without one kind of token ever passing for another.
//
// Version 1 tokens (issued by servers before version 2) are refused as
// malformed: after an upgrade, events carrying tokens of responses served
// before it (at most --event-token-ttl old) are rejected with that reason.
//
// Tokens are signed, not encrypted: whoever holds one can read its fields.
// That is why it deliberately holds no raw user id (only a salted hash) and no
// coordinates (only the H3 cell of resolution 7, about 5 km², enough for
// per-cell statistics and too coarse to place a user at an address).
//
// Signing is on Nearby's hot path, one token per result and up to 100 per
// response: the AES key schedule and CMAC subkeys are computed once, scratch
// is pooled, and tokens are appended into the caller's buffer without
// allocating.
package eventtoken
