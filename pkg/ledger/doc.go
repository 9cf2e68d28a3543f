// Package ledger is the money and the counters of sponsored results.
// ReportEvents hands it events whose tokens it has verified; the ledger
// de-duplicates them, charges them to their campaigns within the budgets,
// counts them per local day and per coarse cell, keeps the impression times
// that frequency caps need, persists all that in batches, and answers the
// serving side (Spend, Impressions, Clicks) and GetCampaignStats (Stats).
//
// # Events
//
// Record checks each event in order: a known event type; for a sponsored
// token, a known campaign (Options.Terms); then, atomically, that neither
// its event_id nor its token use (Nonce+Index+event type, see tokenKey) is
// remembered — and remembers both. An impression and a click on the same
// token are one use each. Event ids are remembered for DedupeWindow after
// acceptance, token uses for as long or until the token expires, whichever
// is later, so a replay is caught however the window is configured. Only
// accepted events are remembered. Organic tokens (no campaign) are
// de-duplicated the same way and otherwise only accepted. A rejected event
// gets a short, stable Reason; the call as a whole never fails. Events are
// counted at the ledger's clock (Options.Now), not at the time the client
// reports, which is not signed.
//
// # Charging and rounding
//
// An impression on a CPM token costs PriceMicros/1000; a click on a CPC
// token costs PriceMicros; other combinations (a click on a CPM token, an
// impression on a CPC one) are counted and cost nothing. Spend is kept in
// whole micros with exact integer arithmetic: each campaign carries the
// thousandths of a micro that CPM impressions leave over (0..999) to its
// next CPM impression, so the k-th one charges floor(S_k/1000) −
// floor(S_(k−1)/1000), where S_k is the running sum of the CPM prices, and N
// impressions at a price p charge floor(N·p/1000) in total, however they
// are spread over calls and days. Nothing else is ever rounded: the sum of
// the ChargedMicros of accepted events is exactly the spend in Spend, in
// every day of Stats and in its Totals.
//
// The charge is then capped at what is left of the total budget and of the
// daily budget (the campaign's local day at the ledger's clock); once
// nothing is left it is 0, and the event is still accepted and counted (it
// happened). A budget lowered below what was spent leaves nothing. The
// carried thousandths are not refunded when a charge is capped. Charging
// happens under a per-campaign mutex, so billed spend never exceeds either
// budget however many goroutines record at once; events of different
// campaigns do not wait on each other. The de-duplication sets are sharded
// (64 shards) for the same reason.
//
// # Days
//
// A campaign's days are the local days of Terms.Loc (UTC if nil), 23 or 25
// hours long across a DST change. The daily budget resets at local
// midnight. Days never go backwards for a campaign: if the clock steps back,
// or the zone changes to one where the date is earlier, events keep being
// counted in the latest day until its end. A zone change moves the end of
// the current day to the same date's midnight in the new zone. Spend learns
// of a zone change at the campaign's next event. (If the clock steps back
// by more than a day after an idle campaign's last day left memory, events
// are counted in the day after it.)
//
// # Frequency
//
// For each (campaign, user hash ≠ 0) the ledger keeps the times of accepted
// impressions within Terms.FreqWindow (none when it is 0), at most
// MaxFrequencyTimes of them (the newest), pruned on every new impression and
// by a sweep of one sixteenth of the users at every flush.
//
// # Statistics and k-anonymity
//
// Per campaign and local day the ledger counts impressions, clicks and spend,
// and the same per (day, H3 resolution-7 cell) with the distinct user hashes
// seen in it, kept only until there are KAnonymity of them: a set that
// reached k is "enough", and the union of sets below k is exact, so a range
// of days reaches k exactly when its union does. Anonymous users (hash 0)
// count in the figures but not as distinct users; events without a cell
// count in the days but in no cell. Stats reports the days whose local date
// overlaps [from, to), Totals as their exact sum, and the cells that reach
// k over them. If KAnonymity grows between runs, sets saved at the old k
// are read as they are: cells are then left out rather than shown too
// early.
//
// # Persistence
//
// Everything lives under "ldg/" in the store (the format is documented in
// codec.go: versioned, varint-compact, every record with exactly one
// encoding, validated on decoding and reported as ErrCorrupt, never a
// panic):
//
//	ldg/c/<campaign>                      the CPM remainder
//	ldg/s/<campaign>/<YYYY-MM-DD>         a day's impressions, clicks, spend
//	ldg/x/<campaign>/<YYYY-MM-DD>/<cell>  the same in one cell, and its users (< k or k)
//	ldg/d/<expiry>/<flush>                the event ids and token uses one flush added
//	ldg/f/<expiry>/<flush>                the impression times one flush added
//	ldg/m                                 the commit marker of the last flush
//
// A flush (Run calls Flush every FlushInterval) writes, in ONE store.Update,
// only what changed since the last successful one: the changed counter
// records, one batch of the new dedupe entries, one batch of the new
// impression times, the deletion of every batch whose entries have all
// expired, and the commit marker. Counter records are per day and per (day,
// cell), so a flush rewrites only the days and cells that had events. Total
// spend and totals per campaign are the sum of its day records, rebuilt by
// Open. Days before the current one are dropped from memory once their last
// change is durable, and so is the current one 27 hours after its end (no
// zone change can bring it back); Stats reads them from the store.
//
// If a flush fails (the store is unavailable), everything it meant to write
// stays in memory and is written by the next flush with the changes since:
// nothing is lost while the process lives. Metrics.PendingEvents counts
// what a crash would lose at that moment.
//
// # What a crash loses
//
// Exactly the events counted after the last successful flush took its
// snapshot (normally those of the last FlushInterval; more while the store
// fails, as failed flushes keep theirs for the next), and nothing else. Their counters AND their dedupe entries are lost together:
// a flush takes the counters first and the dedupe entries second, and an
// event claims its dedupe entries before it is counted, so every counted
// event of a flush has its entries in the same flush. A replay of a lost
// event after the restart can therefore at most charge again what was lost;
// an event accepted just as a flush ran may have its dedupe entries
// persisted and its counters not, and is then lost without being
// replayable (under-billing, never double billing). Frequency times of
// lost impressions are lost with them.
//
// # Torn flushes
//
// The store guarantees an acknowledged Update whole, but an Update cut by a
// crash may leave any subset of its writes (buntdb writes the commands of a
// transaction in no particular order, without a frame). So every record
// carries the generation of the flush that wrote it and the body the key
// held before (its prev), and the marker ldg/m names the generation and
// what it wrote (how many counter records, which batches). Open compares:
// records of a generation newer than the marker, or a marker whose records
// are not all there (a batch that is gone because it expired counts as
// there), mean the last flush was torn; Open then puts every record of that
// generation back to its prev (deleting those it created), in the store
// too, before it loads. So a torn flush is lost whole, like one that never
// ran, and the statement above holds. A crash during that repair is
// repaired the same way at the next Open.
//
// # Memory
//
// Per campaign: its totals, its current day with its cells (user sets at
// most k each), older days until flushed, and the frequency times. Dedupe
// entries: two per accepted event for DedupeWindow (a 64-bit key and an
// expiry each, in a map and an expiry queue: about 40 bytes), pruned at
// every flush. The store holds the same dedupe
// entries in one batch per flush, deleted once expired.
//
// # Lifecycle
//
// Open loads the state (repairing a torn flush first). The caller runs Run
// in a goroutine; at shutdown it cancels Run's context after the gRPC
// server has drained (Run flushes a last time), then calls Close (which
// flushes again, normally nothing, and makes Record reject with
// ReasonClosed), then closes the store.
package ledger
