// Package fieldmask applies google.protobuf.FieldMask updates (AIP-134) to any
// message by reflection, so that every Update RPC shares one implementation of
// "replace exactly these fields".
package fieldmask
