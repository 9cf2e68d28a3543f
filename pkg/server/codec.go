package server

import (
	"sync"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/catalog"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	protov2 "google.golang.org/protobuf/proto"
)

// wireCodec is gRPC's protobuf codec with two shortcuts. First, a Nearby response
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
//
// Second, an import's items are received into importRequest, which keeps
// the wire bytes of each mini-program (see there).
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

func (c *wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if r, ok := v.(*importRequest); ok {
		return r.unmarshal(data)
	}
	return c.proto.Unmarshal(data, v)
}

// importRequest is what ImportMiniPrograms receives into instead of a bare
// ImportMiniProgramsRequest: the decoded request and, when they can be
// stored as they are (catalog.StorableWire), a copy of the mini-program's
// wire bytes with room for the record's tail — so that the catalog writes
// them instead of encoding the message again (that encoding was ~10% of
// the server's CPU in an import).
type importRequest struct {
	req  *v1.ImportMiniProgramsRequest
	wire []byte
}

// unmarshal decodes the request as gRPC's codec does, and keeps the wire of
// a request that is exactly one mini_program field.
func (r *importRequest) unmarshal(data mem.BufferSlice) error {
	buf := data.MaterializeToBuffer(mem.DefaultBufferPool())
	defer buf.Free()
	b := buf.ReadOnlyData()
	r.req, r.wire = &v1.ImportMiniProgramsRequest{}, nil
	if err := protov2.Unmarshal(b, r.req); err != nil {
		return err
	}
	num, typ, n := protowire.ConsumeTag(b)
	if num != importMiniProgramField || typ != protowire.BytesType || n < 0 {
		return nil
	}
	payload, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) || !catalog.StorableWire(payload) {
		return nil
	}
	r.wire = make([]byte, len(payload), len(payload)+catalog.WireTailSize(len(r.req.GetMiniProgram().GetPlaces())))
	copy(r.wire, payload)
	return nil
}

// importMiniProgramField is ImportMiniProgramsRequest.mini_program.
const importMiniProgramField = 1

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
