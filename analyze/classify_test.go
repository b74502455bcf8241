package analyze

import (
	"net/netip"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
)

// espSegments feeds a handshake and n data segments, each one ESP header
// (constant SPI, sequence rising by one) with optional Cisco trailer, from
// the client to port 10000, and returns the classified session.
func espSegments(t *testing.T, n int, trailer bool, port uint16) *Session {
	t.Helper()
	tr := newTracker(Options{})
	client := netip.MustParseAddrPort("198.51.100.7:50000")
	headend := netip.AddrPortFrom(netip.MustParseAddr("203.0.113.10"), port)
	frame := uint64(0)
	send := func(from, to netip.AddrPort, seq, ack uint32, flags uint16, payload []byte) {
		frame++
		p := decode.Packet{
			Frame: frame, Time: int64(frame) * 1e6, IPVersion: 4,
			Src: from.Addr(), Dst: to.Addr(), Proto: decode.ProtoTCP, HasTransport: true,
			SrcPort: from.Port(), DstPort: to.Port(), Seq: seq, Ack: ack, Flags: flags,
			Window: 1000, WScale: -1, PayloadLen: len(payload), Payload: payload,
		}
		tr.add(&p)
	}
	send(client, headend, 100, 0, decode.FlagSYN, nil)
	send(headend, client, 500, 101, decode.FlagSYN|decode.FlagACK, nil)
	seq := uint32(101)
	for i := range n {
		b := make([]byte, 80)
		copy(b, []byte{0x11, 0x22, 0x33, 0x44, 0, 0, 0, byte(i + 1)})
		if trailer {
			tl := b[len(b)-16:]
			clear(tl)
			tl[13] = 50
		}
		send(client, headend, seq, 501, decode.FlagACK|decode.FlagPSH, b)
		seq += uint32(len(b))
	}
	var c Capture
	tr.finish(&c)
	if len(c.Sessions) != 1 {
		t.Fatalf("%d sessions", len(c.Sessions))
	}
	return c.Sessions[0]
}

func TestClassifyESPSegments(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		trailer bool
		port    uint16
		want    Transport
		sure    bool
	}{
		{"trailer on any port", 5, true, 8443, TransportCTCP, true},
		{"ESP pattern without trailer on the cTCP port", 12, false, 10000, TransportCTCP, false},
		{"ESP pattern without trailer elsewhere", 12, false, 8443, TransportTCP, false},
		{"too few segments to tell", 2, false, 10000, TransportTCP, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := espSegments(t, tt.n, tt.trailer, tt.port)
			if s.Transport != tt.want || (tt.want == TransportCTCP && s.TransportSure != tt.sure) {
				t.Errorf("transport %s (sure %v, %q), want %s (sure %v)", s.Transport, s.TransportSure, s.TransportWhy, tt.want, tt.sure)
			}
			if s.ClientBy != "syn" || s.Client.Port() != 50000 {
				t.Errorf("client %s by %s", s.Client, s.ClientBy)
			}
		})
	}
}
