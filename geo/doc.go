// Package geo is aroundme's pure geometry: positions, great-circle distances
// and the H3 arithmetic the indexes need, with no I/O and nothing from pkg/.
//
// Conventions, after golang/geo's s2: one file per concept, units in the
// names (…M for metres, …Rad for radians, …Deg for degrees) and never mixed
// silently, and each function says where its result is undefined.
//
// Distances are great-circle distances on a sphere of radius EarthRadiusM
// (the mean Earth radius, as H3 uses). Points are kept as unit vectors
// (Point) so that the hot path needs no trigonometry: the chord between two
// unit vectors is a monotone function of their angle, so comparisons against
// a radius are done on chords, and only distances that are reported are
// turned back into metres.
package geo
