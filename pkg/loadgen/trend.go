package loadgen

import "math"

// Slope is the least-squares slope of y over x (dy/dx); ok is false with
// fewer than two points or when every x is the same.
func Slope(x, y []float64) (slope float64, ok bool) {
	n := min(len(x), len(y))
	if n < 2 {
		return 0, false
	}
	var mx, my float64
	for i := range n {
		mx += x[i]
		my += y[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxy, sxx float64
	for i := range n {
		dx := x[i] - mx
		sxy += dx * (y[i] - my)
		sxx += dx * dx
	}
	if sxx == 0 || math.IsNaN(sxx) {
		return 0, false
	}
	return sxy / sxx, true
}
