package index

// keyTable maps fence keys to a snapshot's records. It is an array by key,
// cut in chunks that snapshots share: a write copies the chunk directory
// (8 bytes per 1,024 keys) and the chunks it touches (8 KB each), not a
// whole array — or a map — of 100,000 entries. Readers index it with no
// lock and no hashing: a lookup's few chosen candidates are resolved here
// (FenceOf, Confirm) by two dependent loads.
type keyTable struct {
	chunks []*keyChunk // nil chunk: no fence with those keys
}

const keyChunkBits = 10

type keyChunk [1 << keyChunkBits]*fenceRec

// get returns the record of key, nil if the snapshot has none.
func (t keyTable) get(key uint32) *fenceRec {
	c := int(key >> keyChunkBits)
	if c >= len(t.chunks) || t.chunks[c] == nil {
		return nil
	}
	return t.chunks[c][key&(1<<keyChunkBits-1)]
}

// with returns the table with the gone records' keys cleared, then the
// recs' keys set to them (a record replacing a gone one has its key). t is
// not modified.
func (t keyTable) with(recs, gone []*fenceRec) keyTable {
	n := len(t.chunks)
	for _, r := range recs {
		n = max(n, int(r.Key>>keyChunkBits)+1)
	}
	out := keyTable{chunks: make([]*keyChunk, n)}
	copy(out.chunks, t.chunks)
	copied := make([]bool, n)
	set := func(key uint32, r *fenceRec) {
		c := int(key >> keyChunkBits)
		if !copied[c] {
			ch := new(keyChunk)
			if out.chunks[c] != nil {
				*ch = *out.chunks[c]
			}
			out.chunks[c], copied[c] = ch, true
		}
		out.chunks[c][key&(1<<keyChunkBits-1)] = r
	}
	for _, r := range gone {
		if out.get(r.Key) == r {
			set(r.Key, nil)
		}
	}
	for _, r := range recs {
		set(r.Key, r)
	}
	return out
}

// bytes is the memory the table holds (chunks shared with other snapshots
// included).
func (t keyTable) bytes() int64 {
	b := 8 * int64(cap(t.chunks))
	for _, c := range t.chunks {
		if c != nil {
			b += int64(len(c)) * 8
		}
	}
	return b
}
