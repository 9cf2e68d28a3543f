package ledger

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/aroundme/aroundme/pkg/eventtoken"
)

// dkey identifies one remembered thing in 64 bits: an event id (top bit 0,
// then 63 bits of the SHA-256 of the id) or one use of a token for one
// event type (top bit 1, then 63 bits of a bijective mix of the token's
// random nonce with its index, the event type and IssuedAt). A uint64 key
// keeps the sets compact and their lookups on the fast path of Go maps,
// whatever the length of the caller's ids. Two different things share a key
// with probability 2^-63 per pair (a few in a million over a window of ten
// million events), and a shared key can only reject an event, never charge
// one twice.
type dkey uint64

const tokenBit = 1 << 63

func eventIDKey(id string) dkey {
	sum := sha256.Sum256([]byte(id))
	return dkey(binary.BigEndian.Uint64(sum[:8]) &^ tokenBit)
}

// tokenKey keys a token use on Nonce+Index+Type, as replay detection must;
// IssuedAt is mixed in because it is free (a replay carries the same signed
// value) and makes two responses whose random nonces collide distinct
// unless they were also issued in the same second.
func tokenKey(c *eventtoken.Claims, t EventType) dkey {
	x := uint64(c.IssuedAt.Unix())<<16 | uint64(c.Index)<<8 | uint64(t)
	return dkey(mix64(binary.BigEndian.Uint64(c.Nonce[:])^mix64(x)) | tokenBit)
}

// mix64 is the splitmix64 finaliser, a bijection of uint64.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// dentry is one remembered key and when it may be forgotten (Unix ns).
type dentry struct {
	k   dkey
	exp int64
}

const dedupeShards = 64

// dedupeSet remembers event ids and token uses until they expire. It is
// sharded so that concurrent Record calls rarely wait on each other.
type dedupeSet struct {
	shards [dedupeShards]dshard
	size   atomic.Int64
}

type dshard struct {
	mu sync.Mutex
	m  map[dkey]int64 // key → expiry; an entry past its expiry counts as absent
	// fifo holds the entries in insertion order (about expiry order) from
	// head on, so that pruning pops expired ones from the front instead of
	// scanning the map. Its last unflushed entries are those no flush has
	// taken yet.
	fifo      []dentry
	head      int
	unflushed int
	_         [64]byte // keeps neighbouring shards' locks off one cache line
}

func shardOf(k dkey) int { return int(uint64(k) % dedupeShards) }

// claim remembers id and tok unless one of them is remembered already, in
// which case it remembers nothing and returns why the event is rejected.
// Both checks and both inserts happen under the locks of both shards, so two
// concurrent events with the same id or token cannot both pass.
func (s *dedupeSet) claim(id, tok dkey, now, idExp, tokExp int64) string {
	a, b := shardOf(id), shardOf(tok)
	if a > b {
		a, b = b, a
	}
	sa, sb := &s.shards[a], &s.shards[b]
	sa.mu.Lock()
	if b != a {
		sb.mu.Lock()
	}
	di, dt := &s.shards[shardOf(id)], &s.shards[shardOf(tok)]
	reason := ""
	idOld, idHad := di.m[id]
	tokOld, tokHad := dt.m[tok]
	switch {
	case idHad && idOld > now:
		reason = ReasonDuplicateEventID
	case tokHad && tokOld > now:
		reason = ReasonTokenReused
	default:
		di.add(dentry{id, idExp}, true)
		dt.add(dentry{tok, tokExp}, true)
		s.size.Add(fresh(idHad) + fresh(tokHad))
	}
	if b != a {
		sb.mu.Unlock()
	}
	sa.mu.Unlock()
	return reason
}

// add inserts e (replacing an expired entry of the same key); fresh entries
// are for the next flush to persist, loaded ones are not.
func (d *dshard) add(e dentry, fresh bool) {
	if d.m == nil {
		d.m = make(map[dkey]int64)
	}
	d.m[e.k] = e.exp
	d.fifo = append(d.fifo, e)
	if fresh {
		d.unflushed++
	}
}

// fresh is 1 for a key that was not in its map (the size grows), else 0.
func fresh(had bool) int64 {
	if had {
		return 0
	}
	return 1
}

// load inserts persisted entries (which must not be expired). Each shard's
// entries are sorted by expiry so that pruning can pop them in order.
func (s *dedupeSet) load(es []dentry) {
	slices.SortFunc(es, func(a, b dentry) int { return cmp.Compare(a.exp, b.exp) })
	for _, e := range es {
		d := &s.shards[shardOf(e.k)]
		_, had := d.m[e.k]
		d.add(e, false)
		s.size.Add(fresh(had))
	}
}

// take returns the entries added since the last take, for a flush.
func (s *dedupeSet) take() []dentry {
	var out []dentry
	for i := range s.shards {
		d := &s.shards[i]
		d.mu.Lock()
		out = append(out, d.fifo[len(d.fifo)-d.unflushed:]...)
		d.unflushed = 0
		d.mu.Unlock()
	}
	return out
}

// prune forgets the entries that expired at or before now.
func (s *dedupeSet) prune(now int64) {
	for i := range s.shards {
		d := &s.shards[i]
		d.mu.Lock()
		n := 0
		for d.head < len(d.fifo) && d.fifo[d.head].exp <= now {
			e := d.fifo[d.head]
			if exp, ok := d.m[e.k]; ok && exp == e.exp {
				delete(d.m, e.k)
				n++
			}
			d.head++
		}
		d.unflushed = min(d.unflushed, len(d.fifo)-d.head)
		if d.head > len(d.fifo)/2 { // compact, so the slice does not grow forever
			d.fifo = append(d.fifo[:0], d.fifo[d.head:]...)
			d.head = 0
		}
		d.mu.Unlock()
		s.size.Add(-int64(n))
	}
}
