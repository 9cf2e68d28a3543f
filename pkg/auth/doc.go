// Package auth implements API-key authentication and role-based
// authorization for the aroundme gRPC service.
//
// Every call carries the metadata header
//
//	authorization: Bearer <key>
//
// and each key maps to a [Principal] with one of three roles: client,
// advertiser (bound to an advertiser id) or admin. A missing or unknown key
// is rejected with codes.Unauthenticated; a known key whose role may not call
// the method is rejected with codes.PermissionDenied. The gRPC health and
// reflection services are open and need no key.
//
// The server never stores keys, only their SHA-256 hashes (see [HashKey]), in
// a YAML keys file parsed strictly by [ParseKeys] / [LoadKeysFile]. Leaking
// the keys file therefore does not leak usable credentials, and operators see
// the entry's free-text name in logs instead of the key. [NewKey] generates a
// key and [AppendKey] adds its hash to the file atomically.
//
// [Authorizer] provides the unary and stream server interceptors. Its policy
// fails closed: a method that is neither open nor listed in the policy is
// denied to everyone, admins included, so adding an RPC without deciding who
// may call it cannot silently expose it.
package auth
