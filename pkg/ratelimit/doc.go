// Package ratelimit keeps one token bucket per principal, so that one
// caller's flood is refused without slowing anyone else: a call takes a
// token from its own principal's bucket or is refused at once with the time
// until the next token, which callers send back as a retry hint.
package ratelimit
