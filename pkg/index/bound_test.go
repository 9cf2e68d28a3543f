package index

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/aroundme/aroundme/geo"
	"github.com/aroundme/aroundme/targeting"
)

// TestBoundsHold checks every bound of a random index (places at the
// poles, the antimeridian and pentagons among them), a child's and its
// group's, against every place under the child: the angle from the centre
// is within the cap, the static score at most maxStatic, and a leaf's bound
// lists its places.
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
	check := func(b bound, n *node, own bool) {
		under(n, func(p *place) {
			checked++
			if d := geo.ChordToRad(math.Sqrt(b.center.Chord2(p.pt))); d > b.capRad {
				t.Fatalf("node %x: place %s/%d at %.17g rad from the bound's centre, cap %.17g", n.cell, p.item.ID, p.idx, d, b.capRad)
			}
			if p.static > b.maxStatic {
				t.Fatalf("node %x: static %v above the bound's %v", n.cell, p.static, b.maxStatic)
			}
		})
		if ps := b.places; own && len(ps) != len(n.places) || (len(ps) > 0 && &ps[0] != &n.places[0]) {
			t.Fatalf("node %x: the bound lists %d places, the leaf has %d", n.cell, len(ps), len(n.places))
		}
	}
	var walk func(n *node)
	walk = func(n *node) {
		for i, k := range n.children {
			check(n.bounds[i], k, true)
			walk(k)
		}
		// Groups: consecutive runs covering every child once, each child
		// under its group's bound, and with one parent a resolution up.
		next := int32(0)
		for _, g := range n.groups {
			if g.lo != next || g.hi <= g.lo {
				t.Fatalf("node %x: group [%d, %d) after %d", n.cell, g.lo, g.hi, next)
			}
			next = g.hi
			up := geo.CellResolution(n.children[g.lo].cell) - 1
			for _, k := range n.children[g.lo:g.hi] {
				if geo.CellParent(k.cell, up) != geo.CellParent(n.children[g.lo].cell, up) {
					t.Fatalf("node %x: group [%d, %d) mixes parents", n.cell, g.lo, g.hi)
				}
				check(g.bound, k, false)
			}
			if g.lo > 0 && geo.CellParent(n.children[g.lo-1].cell, up) == geo.CellParent(n.children[g.lo].cell, up) {
				t.Fatalf("node %x: a group splits at %d", n.cell, g.lo)
			}
		}
		if int(next) != len(n.children) {
			t.Fatalf("node %x: groups cover %d of %d children", n.cell, next, len(n.children))
		}
	}
	for _, top := range snap.top {
		check(boundOf(top), top, true)
		walk(top)
	}
	if checked < 3*snap.Stats().Places {
		t.Fatalf("checked %d place bounds for %d places: the walk missed levels", checked, snap.Stats().Places)
	}
}
