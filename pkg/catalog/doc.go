// Package catalog is the durable mini-program catalog: records in the store
// under one key each ("mp/<id>", the proto encoding of the MiniProgram with
// its version and times), written in store transactions so that the version
// check and the write are atomic, and every committed change handed to the
// listeners (the Nearby index) after it is durable.
//
// The catalog enforces the write rules of the contract (ALREADY_EXISTS,
// NOT_FOUND, ABORTED on a version mismatch, versions starting at 1 and
// growing by one per write) and validates what it stores; transport concerns
// (page tokens, streams) belong to the service.
package catalog
