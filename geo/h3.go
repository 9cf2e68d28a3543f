package geo

// PlaceCellRes is the H3 resolution at which places are indexed (~0.1 km²
// cells, ~200 m edges): fine enough that a dense city block holds tens of
// places, coarse enough that a 2 km search touches a few hundred cells.
const PlaceCellRes = 9

// CellOf returns the H3 cell containing a position (degrees) at res, the
// same index as H3's latLngToCell. It is H3's algorithm in Go (h3port.go,
// ~0.45 µs against ~1.8 µs for the cgo call it replaced, which the
// Nearby path paid once per covering resolution); a point within rounding
// distance of a cell edge still asks the C library, so that the answer is
// H3's bit for bit. Defined for valid positions and res 0-15; it returns 0
// for NaN or infinite coordinates and res outside 0-15.
func CellOf(latDeg, lngDeg float64, res int) uint64 {
	return latLngToCellGo(latDeg, lngDeg, res)
}

// CellsOf appends CellOf(latDeg, lngDeg, r) for each r of res: the same
// cells, but the resolution-independent part of the computation (the
// face, the projection, most of the trigonometry) is done once, which
// roughly halves the cost of looking one position up at several
// resolutions (the covering index probes every resolution in use).
func CellsOf(latDeg, lngDeg float64, res []int, dst []uint64) []uint64 {
	return cellsOfGo(latDeg, lngDeg, res, dst)
}
