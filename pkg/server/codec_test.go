package server

import (
	"bytes"
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/catalog"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
)

// TestWireCodec: a pre-encoded Nearby response is sent as its bytes (which
// the message no longer holds afterwards); every other message, including
// Nearby responses built as messages, is marshalled as gRPC's codec does.
func TestWireCodec(t *testing.T) {
	c := newWireCodec()
	if c.Name() != grpcproto.Name {
		t.Fatalf("name %q", c.Name())
	}
	ref := encoding.GetCodecV2(grpcproto.Name)

	want := &v1.NearbyResponse{
		Results:       []*v1.NearbyResult{{MiniProgram: &v1.MiniProgramCard{Id: "a"}, EventToken: "t"}},
		NextPageToken: "next",
	}
	wire, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	bp := respBufs.Get(len(wire))
	copy(*bp, wire)
	resp := &v1.NearbyResponse{}
	resp.ProtoReflect().SetUnknown(*bp)
	data, err := c.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	if got := data.Materialize(); !bytes.Equal(got, wire) {
		t.Fatalf("pre-encoded response sent as %x, want %x", got, wire)
	}
	if len(resp.ProtoReflect().GetUnknown()) != 0 {
		t.Fatal("the message still holds the buffer the transport now owns")
	}
	data.Free()

	// Decoding with the codec gives the response built as messages.
	got := &v1.NearbyResponse{}
	in, _ := ref.Marshal(want)
	if err := c.Unmarshal(in, got); err != nil || !proto.Equal(got, want) {
		t.Fatalf("unmarshal: %v, %v", got, err)
	}

	for name, m := range map[string]proto.Message{
		"nearby as messages":   want,
		"nearby, token only":   &v1.NearbyResponse{NextPageToken: "next"},
		"nearby, empty":        &v1.NearbyResponse{},
		"another message":      &v1.NearbyRequest{Limit: 20, PageToken: "x"},
		"empty":                &emptypb.Empty{},
		"large other response": &v1.ListMiniProgramsResponse{NextPageToken: string(bytes.Repeat([]byte("x"), 5000))},
	} {
		a, err := c.Marshal(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := ref.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Materialize(), b.Materialize()) {
			t.Errorf("%s: codec marshals %x, gRPC's %x", name, a.Materialize(), b.Materialize())
		}
		a.Free()
		b.Free()
	}
}

// TestRespBufs: buffers come back with the asked length, a recycled one only
// when it is large enough, and huge ones are not kept.
func TestRespBufs(t *testing.T) {
	p := &bufPool{}
	b := p.Get(5000)
	if len(*b) != 5000 || cap(*b) < 5000 {
		t.Fatalf("len %d cap %d", len(*b), cap(*b))
	}
	p.Put(b)
	for _, n := range []int{1, 8191, 8192, 100 << 10} {
		if b := p.Get(n); len(*b) != n || cap(*b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(*b), cap(*b))
		} else {
			p.Put(b)
		}
	}
}

// TestImportRequestWire: an import request that is one plain mini_program
// keeps that mini-program's wire bytes (with room for the record's tail);
// one whose bytes cannot be stored as they are (output-only fields, unknown
// fields, extra request fields), or that has no mini-program, keeps none.
// Every one decodes as gRPC's codec decodes it.
func TestImportRequestWire(t *testing.T) {
	c := newWireCodec()
	ref := encoding.GetCodecV2(grpcproto.Name)
	withVersion := sample("v")
	withVersion.Version = 4
	unknown := sample("u")
	unknown.ProtoReflect().SetUnknown([]byte{0xa0, 0x01, 0x01}) // field 20, varint 1
	plain, _ := proto.Marshal(sample("p"))
	twice := append(protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), plain),
		protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), plain)...)
	for _, tc := range []struct {
		name string
		b    []byte
		keep bool
	}{
		{"plain", mustMarshal(t, &v1.ImportMiniProgramsRequest{MiniProgram: sample("p")}), true},
		{"output-only field", mustMarshal(t, &v1.ImportMiniProgramsRequest{MiniProgram: withVersion}), false},
		{"unknown field", mustMarshal(t, &v1.ImportMiniProgramsRequest{MiniProgram: unknown}), false},
		{"mini_program twice (merged)", twice, false},
		{"no mini_program", nil, false},
	} {
		var in importRequest
		if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer(tc.b)}, &in); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want := &v1.ImportMiniProgramsRequest{}
		if err := ref.Unmarshal(mem.BufferSlice{mem.SliceBuffer(tc.b)}, want); err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(in.req, want) {
			t.Fatalf("%s: decoded %v, want %v", tc.name, in.req, want)
		}
		if (in.wire != nil) != tc.keep {
			t.Fatalf("%s: wire kept = %v, want %v", tc.name, in.wire != nil, tc.keep)
		}
		if in.wire == nil {
			continue
		}
		if !bytes.Equal(in.wire, plain) || cap(in.wire)-len(in.wire) < catalog.WireTailSize(len(want.MiniProgram.Places)) {
			t.Fatalf("%s: wire %x (cap %d), want %x", tc.name, in.wire, cap(in.wire), plain)
		}
	}
	var in importRequest
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer([]byte{0x0a, 0x05})}, &in); err == nil {
		t.Fatal("a truncated request decoded")
	}
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
