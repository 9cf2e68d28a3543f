// Package index holds the in-memory H3 indexes: the index of places that
// answers Nearby (Index, Snapshot), and the covering index of campaign
// geofences that finds the campaigns whose fence contains a user (Fences,
// FenceSnapshot; see Fences for its layout).
//
// Structure. Every place of every visible mini-program sits in the leaf of
// its H3 cell at resolution LeafRes (9, ~0.1 km²); leaves hang under their
// resolution-MidRes (7, ~5 km²) parent, which hang under their
// resolution-TopRes (5, ~250 km²) parent, which are found by cell id. Each
// node carries a bounding cap computed from the places under it (centre and
// angular radius — exact for the data, whatever H3's cell geometry does at
// pentagons or face edges) and the best static score under it.
//
// An inner node also bounds its children in groups: the runs of up to 7
// that share a parent one resolution up (6 or 8).
//
// Query. geo.CellOf (H3 in Go) finds the user's top cell and a memoised
// H3 grid disk the top cells around it, with enough rings to cover the
// radius; from there the search is pure Go, best-first over the hierarchy:
// a node's upper bound is the distance term at the nearest point its cap
// allows plus its best static score. Expanding a node queues its groups,
// expanding a group its children, so that of a dense node's 49 children only
// those in groups that can still matter are bounded. Nodes beyond the
// radius are cut, and the search stops as soon as no remaining node can beat
// the k-th best result — so a dense city centre is answered from the few
// cells nearest the user instead of every place within the radius.
//
// Concurrency. Readers load the current *Snapshot with one atomic read and
// never block; a Snapshot and everything it points to are immutable. Writers
// (serialised by the Index) build the next snapshot by copying only the
// nodes on the paths to changed leaves and publish it atomically, so a batch
// of changes costs in proportion to the batch, not to the index.
package index
