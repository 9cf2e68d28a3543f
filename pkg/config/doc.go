// Package config holds the server's settings: their defaults, where they come
// from and how they are checked.
//
// Every setting is declared once, in settings(), and from that one table it is
// at the same time a command-line flag (--grpc-addr), an environment variable
// (AROUNDME_GRPC_ADDR) and a key of the optional YAML config file
// (grpc-addr: ...). Precedence, lowest first: default, config file,
// environment, flag. Parsing never stops at the first bad value: every
// problem is collected and reported at once, one line each, so an operator
// fixes a broken deployment in one round instead of one per error.
package config
