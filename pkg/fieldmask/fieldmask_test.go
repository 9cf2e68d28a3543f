package fieldmask

import (
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"google.golang.org/protobuf/proto"
)

func TestCheck(t *testing.T) {
	desc := (&v1.MiniProgram{}).ProtoReflect().Descriptor()
	ro := map[string]bool{"version": true, "id": true}
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"name", true},
		{"audience", true},
		{"audience.min_age", true},
		{"places", true},
		{"places.id", false}, // through a repeated field
		{"name.x", false},    // through a scalar
		{"nope", false},
		{"", false},
		{"version", false},
		{"id", false},
	} {
		err := Check(desc, []string{tc.path}, ro)
		if (err == nil) != tc.ok {
			t.Errorf("Check(%q) = %v, want ok=%v", tc.path, err, tc.ok)
		}
	}
}

func TestApply(t *testing.T) {
	dst := &v1.MiniProgram{
		Id: "a", Name: "old", Description: "keep",
		Audience: &v1.Audience{MinAge: 18, MaxAge: 60},
		Places:   []*v1.Place{{Id: "p1"}},
	}
	src := &v1.MiniProgram{
		Name:     "new",
		Audience: &v1.Audience{MinAge: 21},
		Places:   []*v1.Place{{Id: "p2"}, {Id: "p3"}},
	}
	Apply(dst, src, []string{"name", "audience.min_age", "places", "rating", "icon_url"})
	want := &v1.MiniProgram{
		Id: "a", Name: "new", Description: "keep",
		Audience: &v1.Audience{MinAge: 21, MaxAge: 60},
		Places:   []*v1.Place{{Id: "p2"}, {Id: "p3"}},
	}
	if !proto.Equal(dst, want) {
		t.Fatalf("got %v\nwant %v", dst, want)
	}
	// No aliasing: changing src afterwards leaves dst alone.
	src.Places[0].Id = "changed"
	if dst.Places[0].Id != "p2" {
		t.Fatal("dst aliases src")
	}
	// A message path whose source is unset clears the field.
	Apply(dst, &v1.MiniProgram{}, []string{"audience"})
	if dst.Audience != nil {
		t.Fatalf("audience not cleared: %v", dst.Audience)
	}
}
