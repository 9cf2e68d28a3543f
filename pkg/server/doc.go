// Package server wires the aroundme service together: configuration, store,
// credentials, the interceptor chain, the gRPC services, health, metrics and
// the lifecycle from start to graceful stop.
//
// Lifecycle (Serve): open the store (exclusive lock on the data dir; a
// corrupt file stops the start) → load or create the server secret → load
// keys (or write demo keys) → seed the demo catalog on first start → listen,
// with health NOT_SERVING and every API call refused with UNAVAILABLE → load
// every record and build the indexes → SERVING. On cancellation (SIGTERM):
// NOT_SERVING → GracefulStop for the grace period → Stop → store closed.
package server
