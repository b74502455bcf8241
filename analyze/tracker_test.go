package analyze_test

import (
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

func sample(t *testing.T, name string, opts analyze.Options) *analyze.Capture {
	t.Helper()
	c, err := analyze.File(filepath.Join(testcaps.RepoRoot(t), "samples", name), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sessionOf(t *testing.T, c *analyze.Capture, tr analyze.Transport) *analyze.Session {
	t.Helper()
	for _, s := range c.Sessions {
		if s.Transport == tr {
			return s
		}
	}
	t.Fatalf("no %s session among %d", tr, len(c.Sessions))
	return nil
}

// TestProxyStallRun checks the facts recorded for the duplicate-ACK run in
// the proxy-stall sample. The frame numbers are tshark's (Dup ACK #1-#3 of
// frame 114 at frames 132-134, ack 6024 relative; the segment at 6024 is
// frame 116).
func TestProxyStallRun(t *testing.T) {
	c := sample(t, "ctcp-proxy-stall.pcap", analyze.Options{})
	s := sessionOf(t, c, analyze.TransportCTCP)
	if got := s.Client.String(); got != "192.168.1.23:52739" || s.ClientBy != "syn" {
		t.Errorf("client = %s (by %s), want 192.168.1.23:52739 by syn", got, s.ClientBy)
	}
	if got := s.Headend.String(); got != "203.0.113.10:10000" {
		t.Errorf("headend = %s", got)
	}
	if !s.TransportSure {
		t.Errorf("cTCP with full trailers should be sure: %s", s.TransportWhy)
	}
	if len(s.Requests) != 1 {
		t.Fatalf("got %d dup-ACK runs, want 1: %+v", len(s.Requests), s.Requests)
	}
	r := s.Requests[0]
	if r.By != analyze.HeadendToClient || r.Ack != 6024 || r.OrigFrame != 114 || r.Count != 3 {
		t.Errorf("run = by %v ack %d orig %d count %d; want headend, 6024, 114, 3", r.By, r.Ack, r.OrigFrame, r.Count)
	}
	if want := []uint64{132, 133, 134}; len(r.Frames) != 3 || r.Frames[0] != want[0] || r.Frames[2] != want[2] {
		t.Errorf("frames = %v, want %v", r.Frames, want)
	}
	if r.CoverFrame != 0 || r.AdvanceFrame != 0 {
		t.Errorf("the run was never answered, but cover=%d advance=%d", r.CoverFrame, r.AdvanceFrame)
	}
	if !r.SeenBefore || r.DataAbove == 0 {
		t.Errorf("seenBefore=%v dataAbove=%d; the lost segment crossed the capture point and the client kept sending", r.SeenBefore, r.DataAbove)
	}
}

// TestAnsweredRun checks that a real TCP stack's fast retransmission
// answers the duplicate ACKs (tcp-dupack-answered: frame 98 is tshark's fast
// retransmission).
func TestAnsweredRun(t *testing.T) {
	c := sample(t, "tcp-dupack-answered.pcap", analyze.Options{})
	found := false
	for _, s := range c.Sessions {
		for _, r := range s.Requests {
			if r.Count >= 3 {
				found = true
				if r.CoverFrame != 98 {
					t.Errorf("session %d run at ack %d: cover frame %d, want 98 (the fast retransmission)", s.ID, r.Ack, r.CoverFrame)
				}
			}
		}
		if s.Transport == analyze.TransportCTCP {
			t.Errorf("session %d classified as cTCP: %s", s.ID, s.TransportWhy)
		}
	}
	if !found {
		t.Fatal("no run of 3 duplicate ACKs found")
	}
}

// TestFlowBound checks that a tiny flow-table bound evicts conversations,
// says so, and still reads every packet.
func TestFlowBound(t *testing.T) {
	full := sample(t, "ctcp-proxy-reset.pcap", analyze.Options{})
	c := sample(t, "ctcp-proxy-reset.pcap", analyze.Options{MaxFlows: 1})
	if c.Packets != full.Packets {
		t.Errorf("packets %d with a bound, %d without", c.Packets, full.Packets)
	}
	if c.Stats.EvictedFlows == 0 || len(c.Warnings) == 0 {
		t.Errorf("evicted %d, warnings %q: want evictions reported", c.Stats.EvictedFlows, c.Warnings)
	}
	if full.Stats.EvictedFlows != 0 {
		t.Errorf("default bound evicted %d flows from a small capture", full.Stats.EvictedFlows)
	}
}

// TestSnaplenGuess checks that cTCP whose trailer the snaplen cut is still
// recognised, from the ESP header pattern, and marked as not sure.
func TestSnaplenGuess(t *testing.T) {
	c := sample(t, "ctcp-two-interfaces-snap96.pcapng", analyze.Options{})
	n := 0
	for _, s := range c.Sessions {
		if s.Transport == analyze.TransportCTCP {
			n++
			if s.TransportSure {
				t.Errorf("session %d: trailer cut off but transport marked sure: %s", s.ID, s.TransportWhy)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d cTCP sessions, want 2 (inside and outside legs)", n)
	}
	if len(c.LinkTypes) != 2 {
		t.Errorf("link types %v, want two", c.LinkTypes)
	}
}
