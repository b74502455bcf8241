package decode

import (
	"encoding/binary"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// counts are per-capture frame counts, as MANIFEST.tsv gives them (tshark
// display filters esp, udp.port == 4500, tcp.port == 10000, tcp.port ==
// 4500).
type counts struct {
	ESP, UDP4500, TCP10000, TCP4500 int
}

// countFrame adds p to c the way tshark's display filters count frames.
func (c *counts) add(p *Packet) {
	if !p.HasTransport {
		return
	}
	port := func(n uint16) bool { return p.SrcPort == n || p.DstPort == n }
	switch p.Proto {
	case ProtoESP:
		c.ESP++
	case ProtoUDP:
		if port(4500) {
			c.UDP4500++
			// RFC 3948: ESP unless the non-ESP marker (4 zero bytes)
			// or a one-byte NAT keepalive.
			if len(p.Payload) >= 4 && binary.BigEndian.Uint32(p.Payload) != 0 {
				c.ESP++
			}
		}
	case ProtoTCP:
		if port(10000) {
			c.TCP10000++
		}
		if port(4500) {
			c.TCP4500++
		}
	}
}

// TestManifestCounts decodes every public capture and compares aggregate
// counts with MANIFEST.tsv (tshark's). It needs no tshark.
func TestManifestCounts(t *testing.T) {
	for _, row := range testcaps.Manifest(t) {
		if row.Status() != "ok" {
			continue
		}
		t.Run(row.Name, func(t *testing.T) {
			frames, err := readCapture(row.Path)
			if err != nil {
				t.Logf("reading stopped after %d frames: %v", len(frames), err)
			}
			want := counts{
				ESP:      row.MustInt(t, "esp"),
				UDP4500:  row.MustInt(t, "udp_port_4500"),
				TCP10000: row.MustInt(t, "tcp_port_10000"),
				TCP4500:  row.MustInt(t, "tcp_port_4500"),
			}
			var got counts
			d := NewDecoder()
			var p Packet
			for _, f := range frames {
				if err := decodeFrame(d, f, &p); err != nil {
					continue
				}
				got.add(&p)
			}
			if got != want {
				t.Errorf("counts = %+v, MANIFEST.tsv has %+v", got, want)
			}
		})
	}
}
