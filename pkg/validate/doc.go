// Package validate checks every request of the v1 API against the rules of
// the contract (shared/API.md) before it reaches a service, and returns all
// problems at once as INVALID_ARGUMENT with google.rpc.BadRequest field
// violations. The validation interceptor calls Request; services call the
// message-level checks (MiniProgram, ...) for data that arrives by other
// routes, such as items of an import stream or the result of a field-mask
// merge.
//
// Field paths follow the proto field names, with [i] for list elements:
// "mini_program.places[3].location.latitude".
package validate
