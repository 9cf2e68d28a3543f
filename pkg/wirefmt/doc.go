// Package wirefmt writes protobuf wire format by hand for the hot paths that
// skip proto.Marshal: Nearby's responses (pkg/server) and the pre-encoded
// cards and places the index keeps for them (pkg/index). Its helpers follow
// proto3's implicit presence as proto.Marshal does — an empty string, a
// zero number or a +0.0 double is left out, a -0.0 is written — so that
// bytes written with them equal proto.Marshal's (the callers' tests compare
// them byte for byte).
package wirefmt
