package server

import (
	"testing"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/index"
	"github.com/aroundme/aroundme/pkg/pagetoken"
)

// FuzzNearbyPageToken: any string as a Nearby page token is either rejected
// with INVALID_ARGUMENT or is a token this server issued for this very
// request — never a panic, never a cursor from elsewhere.
func FuzzNearbyPageToken(f *testing.F) {
	s := &discoveryService{pages: pagetoken.New([]byte("0123456789abcdef0123456789abcdef"))}
	req := &v1.NearbyRequest{Location: &v1.LatLng{Latitude: 39.9, Longitude: 116.4}}
	fp := fingerprint(req, 2000)
	f.Add(s.encodeCursor(fp, cursor{Cursor: index.Cursor{Score: 0.75, ID: "mp-0001"}}))
	f.Add(s.encodeCursor(fp, cursor{Cursor: index.Cursor{Score: 0.75, ID: "mp-0001"}, Excluded: []string{"a", "bb"}}))
	f.Add(s.encodeCursor(fp+1, cursor{Cursor: index.Cursor{Score: 0.5}}))
	f.Add("")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.decodeCursor(tok, fp)
		if err != nil {
			return
		}
		if s.encodeCursor(fp, c) != tok {
			t.Fatalf("accepted %q, which this server did not issue", tok)
		}
	})
}
