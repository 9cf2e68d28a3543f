package index

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"
)

// idShardBits sets the number of shards of an idTable (4096): a write
// copies the shard directory (32 KB) and the shards it touches, ~250
// entries each at a million ids.
const idShardBits = 12

// idSeed keys the id hash; tables live in memory only, so a per-process
// seed is enough and keeps the hash unpredictable to clients choosing ids.
var idSeed = maphash.MakeSeed()

func idHash(id string) uint64 { return maphash.String(idSeed, id) }

// idTable is an immutable map from id to value that snapshots can share:
// readers look an id up with no lock and no allocation, and a writer derives
// the next table by copying the shard directory and only the shards its
// changes touch — a Go map would have to be copied whole per write, or
// locked. An id's shard is the top bits of its hash; a shard holds sorted
// hashes (binary-searched) with the keys and values alongside, 32 bytes an
// entry for pointer values, about what a map[string]*T costs.
type idTable[V any] struct {
	dir *[1 << idShardBits]*idShard[V] // nil when empty; nil shard = empty
	n   int
}

// idShard is one shard, sorted by (hash, key).
type idShard[V any] struct {
	hashes []uint64
	keys   []string
	vals   []V
}

func shardOf(h uint64) int { return int(h >> (64 - idShardBits)) }

// len returns the number of ids.
func (t *idTable[V]) len() int { return t.n }

// get returns the value of id and whether it is present.
func (t *idTable[V]) get(id string) (v V, ok bool) {
	if t.dir == nil {
		return v, false
	}
	h := idHash(id)
	s := t.dir[shardOf(h)]
	if s == nil {
		return v, false
	}
	i, _ := slices.BinarySearch(s.hashes, h)
	for ; i < len(s.hashes) && s.hashes[i] == h; i++ {
		if s.keys[i] == id {
			return s.vals[i], true
		}
	}
	return v, false
}

// idEntry is one id being written.
type idEntry[V any] struct {
	hash uint64
	key  string
	val  V
	del  bool
}

func compareEntries[V any](a, b idEntry[V]) int {
	if c := cmp.Compare(a.hash, b.hash); c != 0 {
		return c
	}
	return strings.Compare(a.key, b.key)
}

// with returns the table with the changes applied: each id gets its value,
// or is removed when del reports true for it. t is not modified.
func (t *idTable[V]) with(ids []string, val func(i int) (v V, del bool)) idTable[V] {
	if len(ids) == 0 {
		return *t
	}
	ch := make([]idEntry[V], len(ids))
	for i, id := range ids {
		v, del := val(i)
		ch[i] = idEntry[V]{hash: idHash(id), key: id, val: v, del: del}
	}
	// Later changes of an id win: sort stably, keep the last of each run.
	slices.SortStableFunc(ch, compareEntries[V])
	ch = lastOfRuns(ch)

	next := idTable[V]{dir: new([1 << idShardBits]*idShard[V]), n: t.n}
	if t.dir != nil {
		*next.dir = *t.dir
	}
	for i := 0; i < len(ch); {
		sh := shardOf(ch[i].hash)
		j := i + 1
		for j < len(ch) && shardOf(ch[j].hash) == sh {
			j++
		}
		next.dir[sh] = mergeShard(next.dir[sh], ch[i:j], &next.n)
		i = j
	}
	return next
}

// lastOfRuns keeps the last entry of each run of equal ids.
func lastOfRuns[V any](es []idEntry[V]) []idEntry[V] {
	out := es[:0]
	for i := range es {
		if i+1 < len(es) && es[i+1].hash == es[i].hash && es[i+1].key == es[i].key {
			continue
		}
		out = append(out, es[i])
	}
	return out
}

// mergeShard merges sorted changes into a shard (nil = empty), adjusting n.
func mergeShard[V any](old *idShard[V], ch []idEntry[V], n *int) *idShard[V] {
	var o idShard[V]
	if old != nil {
		o = *old
	}
	out := &idShard[V]{
		hashes: make([]uint64, 0, len(o.hashes)+len(ch)),
		keys:   make([]string, 0, len(o.hashes)+len(ch)),
		vals:   make([]V, 0, len(o.hashes)+len(ch)),
	}
	i, j := 0, 0
	for i < len(o.hashes) || j < len(ch) {
		c := 1
		if j == len(ch) {
			c = -1
		} else if i < len(o.hashes) {
			c = compareEntries(idEntry[V]{hash: o.hashes[i], key: o.keys[i]}, ch[j])
		}
		switch {
		case c < 0: // untouched entry
			out.add(o.hashes[i], o.keys[i], o.vals[i])
			i++
			continue
		case c == 0: // replaced or removed
			i++
			*n--
		}
		if e := ch[j]; !e.del {
			out.add(e.hash, e.key, e.val)
			*n++
		}
		j++
	}
	if len(out.hashes) == 0 {
		return nil
	}
	return out
}

func (s *idShard[V]) add(h uint64, k string, v V) {
	s.hashes = append(s.hashes, h)
	s.keys = append(s.keys, k)
	s.vals = append(s.vals, v)
}

// newIDTable builds a table from scratch (Load): a counting sort by shard,
// then a sort within each shard; of repeated ids the last wins.
func newIDTable[V any](ids []string, vals []V) idTable[V] {
	t := idTable[V]{dir: new([1 << idShardBits]*idShard[V])}
	if len(ids) == 0 {
		return t
	}
	hs := make([]uint64, len(ids))
	var count [1<<idShardBits + 1]int
	for i, id := range ids {
		hs[i] = idHash(id)
		count[shardOf(hs[i])+1]++
	}
	for s := 1; s < len(count); s++ {
		count[s] += count[s-1]
	}
	es := make([]idEntry[V], len(ids))
	at := count
	for i, h := range hs {
		sh := shardOf(h)
		es[at[sh]] = idEntry[V]{hash: h, key: ids[i], val: vals[i]}
		at[sh]++
	}
	for sh := range 1 << idShardBits {
		part := es[count[sh]:count[sh+1]]
		if len(part) == 0 {
			continue
		}
		slices.SortStableFunc(part, compareEntries[V])
		part = lastOfRuns(part)
		s := &idShard[V]{hashes: make([]uint64, len(part)), keys: make([]string, len(part)), vals: make([]V, len(part))}
		for i, e := range part {
			s.hashes[i], s.keys[i], s.vals[i] = e.hash, e.key, e.val
		}
		t.dir[sh] = s
		t.n += len(part)
	}
	return t
}
