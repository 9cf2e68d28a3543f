// Package secret keeps the server's signing key in the data dir, so that
// tokens it signs (page tokens, event tokens) stay valid across restarts and
// are never accepted by a server with another data dir.
package secret
