package wirefmt

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// SizeString is the size of a string field (0 when it is empty).
func SizeString(num protowire.Number, s string) int {
	if s == "" {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeBytes(len(s))
}

// SizeDouble is the size of a double field (0 for +0.0).
func SizeDouble(num protowire.Number, v float64) int {
	if v == 0 && !math.Signbit(v) {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeFixed64()
}

// SizeVarint is the size of a varint field (0 for 0).
func SizeVarint(num protowire.Number, v uint64) int {
	if v == 0 {
		return 0
	}
	return protowire.SizeTag(num) + protowire.SizeVarint(v)
}

// SizeMessage is the size of a message field whose body is n bytes; a set
// message is written even when empty.
func SizeMessage(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

// AppendString appends a string field unless it is empty.
func AppendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// AppendDouble appends a double field unless it is +0.0.
func AppendDouble(b []byte, num protowire.Number, v float64) []byte {
	if v == 0 && !math.Signbit(v) {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

// AppendVarint appends a varint field unless it is 0.
func AppendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// AppendMessageHeader appends the tag and length of a message field whose
// body of n bytes the caller appends next.
func AppendMessageHeader(b []byte, num protowire.Number, n int) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(n))
}
