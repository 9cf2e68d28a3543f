package main

import (
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

// importCodec is gRPC's protobuf codec for an import stream, with a
// lighter Marshal: gRPC's sizes a small message, then proto.Marshal sizes
// it again and allocates its bytes, for each of a million items. Here the
// message is sized once and encoded into a buffer from gRPC's pool, which
// the transport returns once it has written it. The client shares the
// machine with the server in load-bench, so its CPU per item counts.
type importCodec struct{}

func (importCodec) Marshal(v any) (mem.BufferSlice, error) {
	m := v.(proto.Message)
	pool := mem.DefaultBufferPool()
	buf := pool.Get(proto.Size(m))
	// The size just computed is cached in m, which nothing changes now.
	b, err := proto.MarshalOptions{UseCachedSize: true}.MarshalAppend((*buf)[:0], m)
	if err != nil {
		pool.Put(buf)
		return nil, err
	}
	*buf = b
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

func (importCodec) Unmarshal(data mem.BufferSlice, v any) error {
	return encoding.GetCodecV2(grpcproto.Name).Unmarshal(data, v)
}

func (importCodec) Name() string { return grpcproto.Name }
