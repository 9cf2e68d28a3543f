// Package pagetoken makes page tokens opaque and tamper-evident: the payload
// is signed with HMAC-SHA256 under the server's secret and bound to a purpose,
// so a client can neither forge a position nor replay a token of one listing
// against another. Tokens are base64url without padding.
package pagetoken
