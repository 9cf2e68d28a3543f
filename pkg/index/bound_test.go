package index

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aroundme/aroundme/geo"
	"github.com/aroundme/aroundme/targeting"
)

// TestBoundsHold checks every bound of a random index (places at the
// poles, the antimeridian and pentagons among them) against every place
// under its node: the angle from the centre is within the cap, the static
// score at most maxStatic, and a leaf's bound lists its places.
func TestBoundsHold(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	snap := buildIndex(randomCatalog(rng, 6000), targeting.DefaultWeights()).Snapshot()
	var under func(n *node, f func(p *place))
	under = func(n *node, f func(p *place)) {
		for i := range n.places {
			f(&n.places[i])
		}
		for _, k := range n.children {
			under(k, f)
		}
	}
	checked := 0
	check := func(b bound, n *node) {
		under(n, func(p *place) {
			checked++
			if d := geo.ChordToRad(math.Sqrt(b.center.Chord2(p.pt))); d > b.capRad {
				t.Fatalf("node %x: place %s/%d at %.17g rad from the bound's centre, cap %.17g", n.cell, p.item.ID, p.idx, d, b.capRad)
			}
			if p.static > b.maxStatic {
				t.Fatalf("node %x: static %v above the bound's %v", n.cell, p.static, b.maxStatic)
			}
		})
		if ps := b.places; len(ps) != len(n.places) || (len(ps) > 0 && &ps[0] != &n.places[0]) {
			t.Fatalf("node %x: the bound lists %d places, the leaf has %d", n.cell, len(ps), len(n.places))
		}
	}
	var walk func(n *node)
	walk = func(n *node) {
		for i, k := range n.children {
			check(n.bounds[i], k)
			walk(k)
		}
	}
	for _, top := range snap.top {
		check(boundOf(top), top)
		walk(top)
	}
	if checked < 3*snap.Stats().Places {
		t.Fatalf("checked %d place bounds for %d places: the walk missed levels", checked, snap.Stats().Places)
	}
}
