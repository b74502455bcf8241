package decode

import (
	"bytes"
	"compress/flate"
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// TestIPCompPayload checks that Payload holds the inflated TCP payload.
func TestIPCompPayload(t *testing.T) {
	d := NewDecoder()
	frame := ipv4(ProtoIPComp, -1, 0, ipcomp(ProtoTCP, tcpData()))
	p := Packet{OrigLen: len(frame)}
	if err := d.Decode(frame, LinkRaw, &p); err != nil {
		t.Fatal(err)
	}
	if string(p.Payload) != "hello" {
		t.Errorf("Payload = %q, want %q", p.Payload, "hello")
	}
}

// TestIPCompSnaplen checks that a compressed payload cut by the snaplen
// yields what inflates before the cut, as in Wireshark: the inner IP
// length is clamped to the inflated bytes.
func TestIPCompSnaplen(t *testing.T) {
	inner := ipv4(ProtoTCP, -1, 0, tcp(1234, 80, 1001, 2001, FlagACK, nil, bytes.Repeat([]byte("x"), 1000)))
	// Stored blocks: 5 header bytes, then the bytes as they are.
	frame := ipv4(ProtoIPComp, -1, 0, cat([]byte{ProtoIPIP, 0}, be16(2), deflate(inner, flate.NoCompression)))
	cut := 20 + 4 + 5 + 20 + 20 + 10 // outer IP, IPComp, block header, inner IP, TCP, 10 bytes
	d := NewDecoder()
	p := Packet{OrigLen: len(frame)}
	if err := d.Decode(frame[:cut], LinkRaw, &p); err != nil {
		t.Fatal(err)
	}
	want := summary{IPVersion: 4, Proto: ProtoTCP, HasTransport: true, SrcPort: 1234, DstPort: 80,
		Seq: 1001, Ack: 2001, Flags: FlagACK, WScale: -1, PayloadLen: 10, Captured: 10}
	if got := summarize(&p); got != want {
		t.Errorf("Decode:\n got %+v\nwant %+v", got, want)
	}
}

// TestIPCompCaptureNoAllocs decodes the IPComp frames of a public capture
// (dynamic Huffman blocks) again and again: once the flate reader and the
// buffer exist, inflating allocates nothing.
func TestIPCompCaptureNoAllocs(t *testing.T) {
	frames, err := readCapture(filepath.Join(testcaps.Dir(t), "libpcap__AH-IPcomp-IPv4.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDecoder()
	var p Packet
	for _, f := range frames {
		if err := decodeFrame(d, f, &p); err != nil {
			t.Fatalf("frame %d: %v", f.num, err)
		}
		if p.Proto != ProtoTCP || !p.HasTransport {
			t.Fatalf("frame %d: proto %d transport %v, want TCP", f.num, p.Proto, p.HasTransport)
		}
		allocs := testing.AllocsPerRun(50, func() { _ = decodeFrame(d, f, &p) })
		if allocs != 0 {
			t.Errorf("frame %d: %v allocations per Decode, want 0", f.num, allocs)
		}
	}
}
