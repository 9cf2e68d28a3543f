//go:build unix

package loadgen

import (
	"syscall"
	"time"
)

// ProcessCPU is the user + system CPU time this process has used so far
// (getrusage); ok is false where the platform cannot tell.
func ProcessCPU() (cpu time.Duration, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
