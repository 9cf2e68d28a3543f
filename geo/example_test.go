package geo_test

import (
	"fmt"

	"github.com/aroundme/aroundme/geo"
)

func ExamplePoint_DistanceM() {
	tiananmen := geo.PointFromDeg(39.9087, 116.3975)
	sanlitun := geo.PointFromDeg(39.9334, 116.4540)
	fmt.Printf("%.0f m\n", tiananmen.DistanceM(sanlitun))
	// Output: 5546 m
}
