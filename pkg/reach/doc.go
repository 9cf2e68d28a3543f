// Package reach keeps the coarse request counters behind EstimateReach's
// recent_requests: how many Nearby requests were seen in each H3 cell of
// resolution Res (7, ~5 km²) on each of the last days, and an estimate of
// how many of them fell inside a geofence.
//
// Privacy. Only the resolution-7 cell of a request and its UTC date are
// counted: no position, user or time of day is kept (DESIGN.md: analytics
// keep cells of resolution 7 or coarser).
//
// Hot path. Observe is called once per Nearby request: one sync.Map lookup
// (no allocation once the cell is known) and one compare-and-swap on the
// cell's slot for the day, in a ring of 8 UTC days, so concurrent requests
// never wait on a lock and contend only when they share a cell.
//
// Persistence. Snapshot lists every non-zero (cell, day) count in the
// 7-day window; Encode and Decode turn such a list into a compact,
// versioned byte string and back, and Restore loads it at start. Dirty tells
// a periodic flusher whether anything was observed since the last Snapshot,
// and Prune drops the cells that have fallen out of the window.
package reach
