// Package tlsconf serves TLS from certificate files that can be replaced
// while the server runs: the files are re-read when they change (as
// cert-manager or a Kubernetes Secret update does), a bad new file is logged
// and the last good certificate kept, and every new handshake uses the
// current certificate and client CA pool. No restart, no dropped
// connections.
package tlsconf
