package fieldmask

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Check returns an error naming the first path that does not name a field of
// desc (paths go through singular message fields with dots, e.g.
// "audience.min_age"), or that names a field in readOnly or below one.
func Check(desc protoreflect.MessageDescriptor, paths []string, readOnly map[string]bool) error {
	for _, p := range paths {
		if err := checkPath(desc, p, readOnly); err != nil {
			return err
		}
	}
	return nil
}

func checkPath(desc protoreflect.MessageDescriptor, path string, readOnly map[string]bool) error {
	if path == "" {
		return fmt.Errorf("empty path")
	}
	parts := strings.Split(path, ".")
	d := desc
	for i, name := range parts {
		if readOnly[strings.Join(parts[:i+1], ".")] {
			return fmt.Errorf("%q is output only", path)
		}
		fd := d.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return fmt.Errorf("%q: %s has no field %q", path, d.Name(), name)
		}
		if i < len(parts)-1 {
			if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() {
				return fmt.Errorf("%q: %q is not a message field that paths can go through", path, name)
			}
			d = fd.Message()
		}
	}
	return nil
}

// Apply copies the fields named by paths from src into dst: a field set in
// src replaces dst's, a field unset in src clears dst's. Paths must have
// passed Check for dst's type. Repeated fields are replaced as a whole. dst
// shares no memory with src afterwards.
func Apply(dst, src proto.Message, paths []string) {
	// Values are taken from a private deep copy, so nothing in dst aliases src.
	own := proto.Clone(src).ProtoReflect()
	for _, p := range paths {
		apply(dst.ProtoReflect(), own, strings.Split(p, "."))
	}
}

func apply(dst, src protoreflect.Message, parts []string) {
	fd := dst.Descriptor().Fields().ByName(protoreflect.Name(parts[0]))
	if fd == nil {
		return
	}
	if len(parts) == 1 {
		if src.Has(fd) {
			dst.Set(fd, src.Get(fd))
		} else {
			dst.Clear(fd)
		}
		return
	}
	if !src.Has(fd) && !dst.Has(fd) {
		return
	}
	apply(dst.Mutable(fd).Message(), src.Mutable(fd).Message(), parts[1:])
}
