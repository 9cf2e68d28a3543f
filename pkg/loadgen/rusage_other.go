//go:build !unix

package loadgen

import "time"

// ProcessCPU is the CPU time this process has used so far; on this
// platform it cannot tell, so ok is always false.
func ProcessCPU() (cpu time.Duration, ok bool) { return 0, false }
