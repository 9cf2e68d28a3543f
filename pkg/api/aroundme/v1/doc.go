// Package aroundmev1 is the generated Go code of the aroundme v1 API
// (proto/aroundme/v1). Do not edit the *.pb.go files: change the protos and
// run scripts/gen.sh; CI fails when the committed code drifts from them.
package aroundmev1
