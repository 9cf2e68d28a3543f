package server

import (
	"bytes"
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
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
