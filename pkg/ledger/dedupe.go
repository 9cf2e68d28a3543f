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

// dkey identifies one remembered thing: an event id (keyEventID, then the
// first 19 bytes of the SHA-256 of the id) or one use of a token for one
// event type (keyToken, then the nonce, index, event type and IssuedAt of
// the token). Fixed-size keys keep the sets compact whatever the length of
// the caller's ids, and a hash collision could only reject an event, never
// charge one twice.
type dkey [20]byte

const (
	keyEventID byte = 'e'
	keyToken   byte = 't'
)

func eventIDKey(id string) dkey {
	sum := sha256.Sum256([]byte(id))
	var k dkey
	k[0] = keyEventID
	copy(k[1:], sum[:])
	return k
}

// tokenKey keys a token use on Nonce+Index+Type, as replay detection must;
// IssuedAt is added because it is free (a replay carries the same signed
// value) and makes two responses whose random nonces collide distinct
// unless they were also issued in the same second.
func tokenKey(c *eventtoken.Claims, t EventType) dkey {
	var k dkey
	k[0] = keyToken
	copy(k[1:9], c.Nonce[:])
	k[9] = c.Index
	k[10] = byte(t)
	binary.BigEndian.PutUint64(k[11:19], uint64(c.IssuedAt.Unix()))
	return k
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

func shardOf(k *dkey) int {
	return int(binary.LittleEndian.Uint64(k[1:9]) % dedupeShards)
}

// claim remembers id and tok unless one of them is remembered already, in
// which case it remembers nothing and returns why the event is rejected.
// Both checks and both inserts happen under the locks of both shards, so two
// concurrent events with the same id or token cannot both pass.
func (s *dedupeSet) claim(id, tok dkey, now, idExp, tokExp int64) string {
	a, b := shardOf(&id), shardOf(&tok)
	if a > b {
		a, b = b, a
	}
	sa, sb := &s.shards[a], &s.shards[b]
	sa.mu.Lock()
	if b != a {
		sb.mu.Lock()
	}
	reason := ""
	switch {
	case s.shards[shardOf(&id)].has(id, now):
		reason = ReasonDuplicateEventID
	case s.shards[shardOf(&tok)].has(tok, now):
		reason = ReasonTokenReused
	default:
		n := s.shards[shardOf(&id)].add(dentry{id, idExp}, true)
		n += s.shards[shardOf(&tok)].add(dentry{tok, tokExp}, true)
		s.size.Add(n)
	}
	if b != a {
		sb.mu.Unlock()
	}
	sa.mu.Unlock()
	return reason
}

func (d *dshard) has(k dkey, now int64) bool {
	exp, ok := d.m[k]
	return ok && exp > now
}

// add inserts e (replacing an expired entry of the same key) and returns 1
// if the key is new to the map; fresh entries are for the next flush to
// persist, loaded ones are not.
func (d *dshard) add(e dentry, fresh bool) int64 {
	if d.m == nil {
		d.m = make(map[dkey]int64)
	}
	_, had := d.m[e.k]
	d.m[e.k] = e.exp
	d.fifo = append(d.fifo, e)
	if fresh {
		d.unflushed++
	}
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
		s.size.Add(s.shards[shardOf(&e.k)].add(e, false))
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
