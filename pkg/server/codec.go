package server

import (
	"sync"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
)

// wireCodec is gRPC's protobuf codec with one shortcut: a Nearby response
// whose whole content is its pre-encoded wire bytes (nearbywire.go) is sent
// as those bytes, and the buffer goes back to respBufs once the transport
// has written it.
//
// Why: the response buffer was the largest allocation of the server, about
// a third of the bytes allocated per Nearby call with the transport's own
// allocations counted (5.3 KB of ~15 KB for 20 results), and the collector's
// cost is driven by bytes allocated (each cycle marks the ~1 GB live heap of
// records and index). The default codec would also copy the bytes once more
// into a buffer of its own.
//
// Ownership: the unknown fields of a NearbyResponse are set by Nearby alone,
// always to a buffer from respBufs, and the response is dropped once sent.
// Marshal takes the buffer over and clears the message's unknown fields, so
// nothing that still holds the message (a trace of it) can read the buffer
// after it has been reused. A buffer that never reaches the codec (in-process
// callers of Nearby) is simply collected.
type wireCodec struct{ proto encoding.CodecV2 }

func newWireCodec() *wireCodec {
	return &wireCodec{proto: encoding.GetCodecV2(proto.Name)}
}

func (c *wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	if r, ok := v.(*v1.NearbyResponse); ok && len(r.Results) == 0 && r.NextPageToken == "" {
		m := r.ProtoReflect()
		if b := []byte(m.GetUnknown()); len(b) > 0 {
			m.SetUnknown(nil)
			return mem.BufferSlice{mem.NewBuffer(&b, respBufs)}, nil
		}
	}
	return c.proto.Marshal(v)
}

func (c *wireCodec) Unmarshal(data mem.BufferSlice, v any) error { return c.proto.Unmarshal(data, v) }

// Name is the protobuf codec's: on the wire nothing changes.
func (c *wireCodec) Name() string { return proto.Name }

// respBufs recycles Nearby's response buffers. It does not zero them (every
// byte handed out is written before it is read) and keeps none over
// maxPooledResp, so that one huge explained page does not stay in memory.
var respBufs = &bufPool{}

const maxPooledResp = 64 << 10

type bufPool struct{ pool sync.Pool }

// Get returns a buffer of length n; its contents are garbage.
func (p *bufPool) Get(n int) *[]byte {
	if bp, ok := p.pool.Get().(*[]byte); ok && cap(*bp) >= n {
		*bp = (*bp)[:n]
		return bp
	}
	// Rounded up to 4 KB, so that a recycled buffer fits most later
	// responses.
	b := make([]byte, n, (n+4095)&^4095)
	return &b
}

func (p *bufPool) Put(bp *[]byte) {
	if cap(*bp) > maxPooledResp {
		return
	}
	p.pool.Put(bp)
}
