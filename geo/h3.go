package geo

import h3 "github.com/uber/h3-go/v4"

// PlaceCellRes is the H3 resolution at which places are indexed (~0.1 km²
// cells, ~200 m edges): fine enough that a dense city block holds tens of
// places, coarse enough that a 2 km search touches a few hundred cells.
const PlaceCellRes = 9

// CellOf returns the H3 cell containing a position (degrees) at res. It is
// one cgo call (~1.5 µs): call it per place when writing or loading, never
// per candidate when searching. Defined for valid positions and res 0-15.
func CellOf(latDeg, lngDeg float64, res int) uint64 {
	return uint64(h3.LatLngToCell(h3.LatLng{Lat: latDeg, Lng: lngDeg}, res))
}
