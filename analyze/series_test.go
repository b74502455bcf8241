package analyze_test

import (
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// TestSeries checks the time-sequence picture of the proxy-stall cTCP
// session against the facts the first pass recorded.
func TestSeries(t *testing.T) {
	path := filepath.Join(testcaps.RepoRoot(t), "samples", "ctcp-proxy-stall.pcap")
	c := sample(t, "ctcp-proxy-stall.pcap", analyze.Options{})
	s := sessionOf(t, c, analyze.TransportCTCP)
	ts, err := analyze.Series(path, []analyze.SeriesSpec{{Session: s, Buckets: 50}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 {
		t.Fatalf("got %d series", len(ts))
	}
	g := ts[0]
	if g.Session != s.ID || g.Start != s.FirstTime || g.End != s.LastTime {
		t.Errorf("series bounds %d %d-%d, want %d %d-%d", g.Session, g.Start, g.End, s.ID, s.FirstTime, s.LastTime)
	}
	for d := range 2 {
		if len(g.Data[d]) == 0 || len(g.Data[d]) > 50 {
			t.Fatalf("direction %d: %d buckets, want 1-50", d, len(g.Data[d]))
		}
		var segs uint64
		var hi uint32
		for _, b := range g.Data[d] {
			segs += uint64(b.Segments)
			if b.Lo > b.Hi || b.From > b.To {
				t.Errorf("direction %d: bucket %+v is inverted", d, b)
			}
			hi = max(hi, b.Hi)
		}
		if segs != s.Dirs[d].DataSegments {
			t.Errorf("direction %d: %d segments in buckets, session has %d", d, segs, s.Dirs[d].DataSegments)
		}
		// Relative numbering starts at 1 after the SYN.
		if first := g.Data[d][0].Lo; first != 1 {
			t.Errorf("direction %d: first relative seq %d, want 1", d, first)
		}
		if uint64(hi-1) != s.Dirs[d].Bytes {
			t.Errorf("direction %d: highest seq %d, want 1+%d bytes", d, hi, s.Dirs[d].Bytes)
		}
	}
	// The headend's ACKs stop at the requested byte.
	r := s.Requests[0]
	acks := g.Acks[analyze.HeadendToClient]
	if last := acks[len(acks)-1].Ack; last != r.Ack {
		t.Errorf("headend's last ACK %d, want the requested %d", last, r.Ack)
	}
}
