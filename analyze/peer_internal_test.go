package analyze

import (
	"net/netip"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

func TestIPIDContinues(t *testing.T) {
	for _, tt := range []struct {
		id, last uint16
		want     bool
	}{
		{0x1001, 0x1000, true},
		{0x1000 + IPIDWindow, 0x1000, true},
		{0x1000 + IPIDWindow + 1, 0x1000, false},
		{0x1000, 0x1000, false}, // the same ID again: another packet, not the next
		{0x0fff, 0x1000, false}, // below the series
		{0x0000, 0xffff, true},  // wraps
		{IPIDWindow - 2, 0xfffe, true},
		{IPIDWindow - 1, 0xfffe, false},
	} {
		if got := ipidContinues(tt.id, tt.last); got != tt.want {
			t.Errorf("ipidContinues(%#04x, %#04x) = %v, want %v", tt.id, tt.last, got, tt.want)
		}
	}
}

// TestRingsInFlightOnly checks that a flow holds its rings only while it
// has bytes in flight: the other side's ACK of everything sent empties a
// direction's ring, both empty give the pair back, the next data segment
// takes it again, and retiring the flow gives it back for good.
func TestRingsInFlightOnly(t *testing.T) {
	tr := newTracker(Options{})
	client := netip.MustParseAddrPort("198.51.100.7:50000")
	headend := netip.MustParseAddrPort("203.0.113.10:10000")
	frame := uint64(0)
	var f *flow
	send := func(from, to netip.AddrPort, seq, ack uint32, flags uint16, n int) {
		frame++
		p := decode.Packet{
			Frame: frame, Time: int64(frame) * 1e6, IPVersion: 4, TTL: 64,
			Src: from.Addr(), Dst: to.Addr(), Proto: decode.ProtoTCP, HasTransport: true,
			SrcPort: from.Port(), DstPort: to.Port(), Seq: seq, Ack: ack, Flags: flags,
			Window: 1000, WScale: -1, PayloadLen: n,
		}
		tr.add(&p)
		f = tr.tcp[keyFor(&p)]
	}
	store := &tr.spare.rings
	held := func(want bool, n0, n1 uint64) {
		t.Helper()
		r := f.tcp.peer.rings
		if (r != nil) != want || r != nil && (r[0].n != n0 || r[1].n != n1) {
			t.Fatalf("frame %d: rings %v (want held %v with %d and %d segments)", frame, r != nil, want, n0, n1)
		}
	}
	send(client, headend, 100, 0, decode.FlagSYN, 0)
	send(headend, client, 500, 101, decode.FlagSYN|decode.FlagACK, 0)
	send(client, headend, 101, 501, decode.FlagACK, 0)
	held(false, 0, 0)
	send(client, headend, 101, 501, decode.FlagACK|decode.FlagPSH, 50)
	send(client, headend, 151, 501, decode.FlagACK|decode.FlagPSH, 50)
	held(true, 2, 0)
	pair := f.tcp.peer.rings
	// The tracker's spare may come from an earlier analysis with rings
	// of its own in the store: count from what is there now.
	free0 := len(store.free)
	send(headend, client, 501, 151, decode.FlagACK, 0) // half of it
	held(true, 2, 0)
	send(headend, client, 501, 201, decode.FlagACK|decode.FlagPSH, 10) // all of it, and data
	held(true, 0, 1)
	send(client, headend, 201, 511, decode.FlagACK, 0)
	held(false, 0, 0)
	if n := len(store.free); n != free0+1 || store.free[n-1] != pair {
		t.Fatalf("the pair is not back in the store: %d free, %d before", n, free0)
	}
	send(client, headend, 201, 511, decode.FlagACK|decode.FlagPSH, 50)
	held(true, 1, 0)
	if f.tcp.peer.rings != pair || len(store.free) != free0 {
		t.Fatalf("the next data segment did not take the pair back")
	}
	var c Capture
	tr.finish(&c)
	if sp := tr.spare; sp != nil {
		t.Fatalf("the tracker still holds its spare")
	}
	if f.tcp.peer.rings != nil {
		t.Fatalf("the retired flow still holds its rings")
	}
}
