package decode

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDecodeLayout(t *testing.T) {
	ip4data := ipv4(ProtoTCP, -1, 0, tcpData())
	ip6data := ipv6(ProtoTCP, -1, tcpData())
	hdr := func(k HeaderKind, off, n int) Header { return Header{Off: off, Len: n, Kind: k} }
	tcpLen := len(tcpData())
	cases := []struct {
		name     string
		linkType uint16
		frame    []byte
		headers  []Header
		fields   []Field
		sums     []Checksum
		payload  Payload
	}{
		{
			name: "ethernet ipv4 tcp", linkType: LinkEthernet, frame: eth(0x0800, ip4data),
			headers: []Header{hdr(HeaderEthernet, 0, 14), hdr(HeaderIPv4, 14, 20), hdr(HeaderTCP, 34, 20)},
			fields:  []Field{{0, 6, FieldMAC}, {6, 6, FieldMAC}, {26, 4, FieldIPv4}, {30, 4, FieldIPv4}, {34, 4, FieldPorts}},
			sums: []Checksum{{Off: 24, Start: 14, End: 34, Kind: ChecksumIPv4},
				{Off: 50, Start: 34, End: 34 + tcpLen, Src: 26, Dst: 30, AddrLen: 4, Kind: ChecksumTCP}},
			payload: Payload{Off: 54, End: 34 + tcpLen, Len: tcpLen - 20, Proto: ProtoTCP},
		},
		{
			name: "vlan gre ipv6 cut in the tcp header", linkType: LinkEthernet,
			frame:   eth(0x8100, tag(5, 0x0800, ipv4(47, -1, 0, cat([]byte{0x80, 0}, be16(0x86dd), be32(0), ip6data))))[:18+20+8+40+10],
			headers: []Header{hdr(HeaderEthernet, 0, 14), hdr(HeaderDot1Q, 14, 4), hdr(HeaderIPv4, 18, 20), hdr(HeaderGRE, 38, 8), hdr(HeaderIPv6, 46, 40), hdr(HeaderTCP, 86, 10)},
			fields:  []Field{{0, 6, FieldMAC}, {6, 6, FieldMAC}, {30, 4, FieldIPv4}, {34, 4, FieldIPv4}, {54, 16, FieldIPv6}, {70, 16, FieldIPv6}, {86, 4, FieldPorts}},
			sums:    []Checksum{{Off: 28, Start: 18, End: 38, Kind: ChecksumIPv4}, {Off: 42, Start: 38, End: 96, Kind: ChecksumGRE}},
		},
		{
			name: "icmp error quoting tcp", linkType: LinkRaw,
			frame:   ipv4(1, -1, 0, cat([]byte{3, 3, 0, 0, 0, 0, 0, 0}, ipv4(ProtoTCP, 60, 0, tcpData())[:28])),
			headers: []Header{hdr(HeaderIPv4, 0, 20), hdr(HeaderICMP, 20, 8), hdr(HeaderIPv4, 28, 20), hdr(HeaderTCP, 48, 8)},
			fields:  []Field{{12, 4, FieldIPv4}, {16, 4, FieldIPv4}, {40, 4, FieldIPv4}, {44, 4, FieldIPv4}, {48, 4, FieldPorts}},
			sums: []Checksum{{Off: 10, Start: 0, End: 20, Kind: ChecksumIPv4}, {Off: 22, Start: 20, End: 56, Kind: ChecksumICMP},
				{Off: 38, Start: 28, End: 48, Kind: ChecksumIPv4}},
		},
		{
			name: "arp", linkType: LinkEthernet, frame: eth(0x0806, cat(be16(1), be16(0x0800), []byte{6, 4}, be16(1), macSrc, []byte{10, 0, 0, 1}, macDst, []byte{10, 0, 0, 2})),
			headers: []Header{hdr(HeaderEthernet, 0, 14), hdr(HeaderARP, 14, 8)},
			fields:  []Field{{0, 6, FieldMAC}, {6, 6, FieldMAC}, {22, 6, FieldMAC}, {28, 4, FieldIPv4}, {32, 6, FieldMAC}, {38, 4, FieldIPv4}},
		},
		{
			name: "ipv4 short", linkType: LinkRaw, frame: ip4data[:14],
			headers: []Header{hdr(HeaderIPv4, 0, 14)},
			fields:  []Field{{12, 2, FieldIPv4}},
		},
		{
			name: "ipcomp", linkType: LinkRaw, frame: ipv4(ProtoIPComp, -1, 0, ipcomp(ProtoTCP, tcpData())),
			headers: []Header{hdr(HeaderIPv4, 0, 20), hdr(HeaderIPComp, 20, 4)},
			fields:  []Field{{12, 4, FieldIPv4}, {16, 4, FieldIPv4}},
			sums:    []Checksum{{Off: 10, Start: 0, End: 20, Kind: ChecksumIPv4}},
		},
	}
	d := NewDecoder()
	var l Layout
	for _, tc := range cases {
		p := Packet{OrigLen: len(tc.frame)}
		_ = d.DecodeLayout(tc.frame, tc.linkType, &p, &l)
		if d := cmp.Diff(tc.headers, l.Headers(), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: headers (-want +got):\n%s", tc.name, d)
		}
		if d := cmp.Diff(tc.fields, l.Fields(), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tc.name, d)
		}
		if d := cmp.Diff(tc.sums, l.Checksums(), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s: checksums (-want +got):\n%s", tc.name, d)
		}
		if l.Payload != tc.payload || l.Overflow {
			t.Errorf("%s: payload %+v (overflow %v), want %+v", tc.name, l.Payload, l.Overflow, tc.payload)
		}
	}
}

// TestLayoutProperties checks, for every hand-built frame cut at every
// length, that the Layout lies in the frame, that its payload is the
// Packet's and that Decode without a Layout decodes the same.
func TestLayoutProperties(t *testing.T) {
	d, plain := NewDecoder(), NewDecoder()
	var l Layout
	for _, tc := range frameCases() {
		for n := 0; n <= len(tc.frame); n++ {
			data := tc.frame[:n:n]
			p, q := Packet{OrigLen: len(tc.frame)}, Packet{OrigLen: len(tc.frame)}
			err := d.DecodeLayout(data, tc.linkType, &p, &l)
			err2 := plain.Decode(data, tc.linkType, &q)
			if (err == nil) != (err2 == nil) || summarize(&p) != summarize(&q) || p.Src != q.Src {
				t.Fatalf("%s cut at %d: DecodeLayout and Decode differ", tc.name, n)
			}
			checkLayout(t, tc.name, data, &p, &l)
		}
	}
}

func checkLayout(t *testing.T, name string, data []byte, p *Packet, l *Layout) {
	t.Helper()
	in := func(off, n int) bool { return off >= 0 && n >= 0 && off+n <= len(data) }
	for _, h := range l.Headers() {
		if !in(h.Off, h.Len) || h.Len == 0 || h.Kind == 0 {
			t.Fatalf("%s (%d bytes): header %+v", name, len(data), h)
		}
	}
	for _, f := range l.Fields() {
		if !in(f.Off, f.Len) || f.Len == 0 || f.Len > f.Kind.Size() {
			t.Fatalf("%s (%d bytes): field %+v", name, len(data), f)
		}
	}
	for _, c := range l.Checksums() {
		if !in(c.Off, 2) || !in(c.Start, c.End-c.Start) || c.Off < c.Start || c.Off+2 > c.End || !in(c.Src, c.AddrLen) || !in(c.Dst, c.AddrLen) {
			t.Fatalf("%s (%d bytes): checksum %+v", name, len(data), c)
		}
	}
	if pl := l.Payload; pl.Proto != 0 {
		if !in(pl.Off, pl.End-pl.Off) || pl.End <= pl.Off {
			t.Fatalf("%s (%d bytes): payload %+v", name, len(data), pl)
		}
		if pl.Proto != ProtoESP && (!within(p.Payload, data) || len(p.Payload) != pl.End-pl.Off || pl.Len != p.PayloadLen || &data[pl.Off] != &p.Payload[0]) {
			t.Fatalf("%s (%d bytes): payload %+v, the Packet's %d of %d bytes", name, len(data), pl, len(p.Payload), p.PayloadLen)
		}
	}
}

// TestDecodeLayoutNoAllocs asserts that DecodeLayout allocates nothing
// either.
func TestDecodeLayoutNoAllocs(t *testing.T) {
	d := NewDecoder()
	var l Layout
	for _, tc := range append(benchFrames(), frameCases()...) {
		if tc.wantErr != nil {
			continue
		}
		allocs := testing.AllocsPerRun(50, func() {
			sink.OrigLen = max(tc.origLen, len(tc.frame))
			if err := d.DecodeLayout(tc.frame, tc.linkType, &sink, &l); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per DecodeLayout, want 0", tc.name, allocs)
		}
	}
}
