package index

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"
)

// An idTable has 1<<(idDirBits+idSubBits) shards (65,536) behind a
// two-level directory: a write copies the top directory (2 KB), the
// sub-directories it touches (6 KB each) and the shards it touches, ~15
// entries each at a million ids. A 10,000-id import batch so copies ~15
// entries per id; with one level of 4,096 shards of ~250 entries it copied
// ~90, the largest single cost of an import's index update.
const (
	idDirBits = 8
	idSubBits = 8
)

// idSeed keys the id hash; tables live in memory only, so a per-process
// seed is enough and keeps the hash unpredictable to clients choosing ids.
var idSeed = maphash.MakeSeed()

func idHash(id string) uint64 { return maphash.String(idSeed, id) }

// idTable is an immutable map from id to value that snapshots can share:
// readers look an id up with no lock and no allocation, and a writer derives
// the next table by copying the directories and only the shards its changes
// touch — a Go map would have to be copied whole per write, or locked. An
// id's shard is the top bits of its hash; a shard holds its entries sorted
// by hash (binary-searched), 32 bytes an entry for pointer values, about
// what a map[string]*T costs.
type idTable[V any] struct {
	dir *idDir[V] // nil when empty; nil sub-directory or shard = empty
	n   int
}

// idDir is the top directory; an idSub holds the shards themselves, each a
// slice of entries sorted by (hash, key) (nil = empty), so that a shard costs
// one allocation.
type (
	idDir[V any] [1 << idDirBits]*idSub[V]
	idSub[V any] [1 << idSubBits][]idSlot[V]
)

// idSlot is one entry of a shard.
type idSlot[V any] struct {
	hash uint64
	key  string
	val  V
}

// dirOf and subOf locate a hash's shard: its top idDirBits bits pick the
// sub-directory, the next idSubBits the shard.
func dirOf(h uint64) int { return int(h >> (64 - idDirBits)) }
func subOf(h uint64) int { return int(h>>(64-idDirBits-idSubBits)) & (1<<idSubBits - 1) }

// shardKey orders shards: entries of one shard share it.
func shardKey(h uint64) uint64 { return h >> (64 - idDirBits - idSubBits) }

// len returns the number of ids.
func (t *idTable[V]) len() int { return t.n }

// get returns the value of id and whether it is present.
func (t *idTable[V]) get(id string) (v V, ok bool) {
	return t.getHashed(idHash(id), id)
}

// getHashed is get for an id whose hash the caller has computed.
func (t *idTable[V]) getHashed(h uint64, id string) (v V, ok bool) {
	if t.dir == nil {
		return v, false
	}
	sub := t.dir[dirOf(h)]
	if sub == nil {
		return v, false
	}
	es := sub[subOf(h)]
	// Binary search for the first entry with the hash (shards are small).
	lo, hi := 0, len(es)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if es[m].hash < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	for ; lo < len(es) && es[lo].hash == h; lo++ {
		if es[lo].key == id {
			return es[lo].val, true
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
// or is removed when del reports true for it; of repeated ids the last
// wins. t is not modified.
func (t *idTable[V]) with(ids []string, val func(i int) (v V, del bool)) idTable[V] {
	if len(ids) == 0 {
		return *t
	}
	ch := make([]idEntry[V], len(ids))
	for i, id := range ids {
		v, del := val(i)
		ch[i] = idEntry[V]{hash: idHash(id), key: id, val: v, del: del}
	}
	return t.withSorted(sortEntries(ch))
}

// sortEntries sorts changes by (hash, key) and keeps the last of each run of
// equal ids, in place.
func sortEntries[V any](ch []idEntry[V]) []idEntry[V] {
	slices.SortStableFunc(ch, compareEntries[V])
	return lastOfRuns(ch)
}

// withSorted is with for changes already through sortEntries.
func (t *idTable[V]) withSorted(ch []idEntry[V]) idTable[V] {
	if len(ch) == 0 {
		return *t
	}
	next := idTable[V]{dir: new(idDir[V]), n: t.n}
	if t.dir != nil {
		*next.dir = *t.dir
	}
	var copied [1 << idDirBits]bool // sub-directories already copied
	for i := 0; i < len(ch); {
		h := ch[i].hash
		j := i + 1
		for j < len(ch) && shardKey(ch[j].hash) == shardKey(h) {
			j++
		}
		d := dirOf(h)
		if !copied[d] {
			sub := new(idSub[V])
			if old := next.dir[d]; old != nil {
				*sub = *old
			}
			next.dir[d], copied[d] = sub, true
		}
		sub := next.dir[d]
		sub[subOf(h)] = mergeShard(sub[subOf(h)], ch[i:j], &next.n)
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
func mergeShard[V any](o []idSlot[V], ch []idEntry[V], n *int) []idSlot[V] {
	es := make([]idSlot[V], 0, len(o)+len(ch))
	i, j := 0, 0
	for i < len(o) || j < len(ch) {
		c := 1
		if j == len(ch) {
			c = -1
		} else if i < len(o) {
			c = compareEntries(idEntry[V]{hash: o[i].hash, key: o[i].key}, ch[j])
		}
		switch {
		case c < 0: // untouched entry
			es = append(es, o[i])
			i++
			continue
		case c == 0: // replaced or removed
			i++
			*n--
		}
		if e := ch[j]; !e.del {
			es = append(es, idSlot[V]{hash: e.hash, key: e.key, val: e.val})
			*n++
		}
		j++
	}
	if len(es) == 0 {
		return nil
	}
	return es
}

// newIDTable builds a table from scratch (Load): a counting sort by shard,
// then a sort within each shard; of repeated ids the last wins.
func newIDTable[V any](ids []string, vals []V) idTable[V] {
	t := idTable[V]{dir: new(idDir[V])}
	if len(ids) == 0 {
		return t
	}
	hs := make([]uint64, len(ids))
	count := make([]int, 1<<(idDirBits+idSubBits)+1)
	for i, id := range ids {
		hs[i] = idHash(id)
		count[shardKey(hs[i])+1]++
	}
	for s := 1; s < len(count); s++ {
		count[s] += count[s-1]
	}
	es := make([]idEntry[V], len(ids))
	at := slices.Clone(count)
	for i, h := range hs {
		sh := shardKey(h)
		es[at[sh]] = idEntry[V]{hash: h, key: ids[i], val: vals[i]}
		at[sh]++
	}
	slots := make([]idSlot[V], 0, len(es)) // one backing array for every shard
	for sh := range 1 << (idDirBits + idSubBits) {
		part := es[count[sh]:count[sh+1]]
		if len(part) == 0 {
			continue
		}
		part = sortEntries(part)
		start := len(slots)
		for _, e := range part {
			slots = append(slots, idSlot[V]{hash: e.hash, key: e.key, val: e.val})
		}
		h := part[0].hash
		sub := t.dir[dirOf(h)]
		if sub == nil {
			sub = new(idSub[V])
			t.dir[dirOf(h)] = sub
		}
		sub[subOf(h)] = slots[start:len(slots):len(slots)]
	}
	t.n = len(slots)
	return t
}

// each calls fn for every entry, in no particular order, until it returns
// false.
func (t *idTable[V]) each(fn func(id string, v V) bool) {
	if t.dir == nil {
		return
	}
	for _, sub := range t.dir {
		if sub == nil {
			continue
		}
		for _, es := range sub {
			for _, e := range es {
				if !fn(e.key, e.val) {
					return
				}
			}
		}
	}
}
