package analyze_test

import (
	"bytes"
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
		var hi int64
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
	if last := acks[len(acks)-1].Ack; last != int64(r.Ack) {
		t.Errorf("headend's last ACK %d, want the requested %d", last, r.Ack)
	}
}

// TestSeriesWrap checks that the series unwraps relative sequence and ack
// numbers segment by segment: the server's data runs past 2^32 in steps
// under 2^31 (the capture missed what lies between), and one bucket holds
// it all, as a bucket of a long fast session can.
func TestSeriesWrap(t *testing.T) {
	const step = 1_500_000_000
	d := func(i uint32) uint32 { return srvISN + 1 + i*step } // wraps
	segs := []seg{
		{false, cliISN, 0, fl4S, 0},
		{true, srvISN, cliISN + 1, fl4S | fl4A, 0},
		{false, cliISN + 1, srvISN + 1, fl4A, 0},
	}
	for i := range uint32(4) {
		segs = append(segs,
			seg{true, d(i), cliISN + 1, fl4PA, 100},
			seg{false, cliISN + 1, d(i) + 100, fl4A, 0})
	}
	b := pcapBytes(101, 65535, rawRecords(segs, plain4))
	c, err := analyze.Reader(bytes.NewReader(b), "wrap.pcap", analyze.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Sessions) != 1 {
		t.Fatalf("%d sessions, want 1", len(c.Sessions))
	}
	ts, err := analyze.SeriesReader(bytes.NewReader(b), "wrap.pcap", []analyze.SeriesSpec{{Session: c.Sessions[0], Buckets: 1}})
	if err != nil {
		t.Fatal(err)
	}
	const want = 1 + 3*step + 100 // past 2^32
	data := ts[0].Data[analyze.HeadendToClient]
	if len(data) != 1 || data[0].Lo != 1 || data[0].Hi != want || data[0].Segments != 4 || data[0].Resent != 0 {
		t.Errorf("server data %+v, want one bucket 1..%d of 4 segments, none resent", data, int64(want))
	}
	acks := ts[0].Acks[analyze.ClientToHeadend]
	if len(acks) != 1 || acks[0].Ack != want {
		t.Errorf("client ACKs %+v, want the highest at %d", acks, int64(want))
	}
}
