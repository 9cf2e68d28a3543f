// Package apierr is the service's one vocabulary of errors and the one place
// where they become gRPC statuses.
//
// Handlers and domain code return *Error values (or store errors, or plain
// errors for bugs); the error-mapping interceptor turns them into statuses with
// ToStatus. Keeping the mapping in one place means a NOT_FOUND is spelled the
// same way everywhere, INVALID_ARGUMENT always carries google.rpc.BadRequest
// field violations, and internal details are logged but never returned to a
// caller.
package apierr
