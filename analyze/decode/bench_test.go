package decode

import "testing"

// benchFrames is a mix of common frames: Ethernet/IPv4/TCP, IPv6/TCP,
// VLAN, Linux cooked.
func benchFrames() []frameCase {
	ip4 := ipv4(ProtoTCP, -1, 0, tcpData())
	ip6 := ipv6(ProtoTCP, -1, tcpData())
	sll := cat(be16(0), be16(1), be16(6), make([]byte, 8), be16(0x0800), ip4)
	return []frameCase{
		{name: "ethernet-ipv4-tcp", linkType: LinkEthernet, frame: eth(0x0800, ip4)},
		{name: "ethernet-ipv4-syn", linkType: LinkEthernet, frame: eth(0x0800, ipv4(ProtoTCP, -1, 0, tcpSyn()))},
		{name: "ethernet-ipv6-tcp", linkType: LinkEthernet, frame: eth(0x86dd, ip6)},
		{name: "vlan-ipv4-tcp", linkType: LinkEthernet, frame: eth(0x8100, tag(5, 0x0800, ip4))},
		{name: "sll-ipv4-tcp", linkType: LinkLinuxSLL, frame: sll},
		{name: "gre-ipv4-tcp", linkType: LinkEthernet, frame: eth(0x0800, ipv4(47, -1, 0, cat([]byte{0, 0}, be16(0x0800), ip4)))},
		{name: "udp-esp", linkType: LinkEthernet, frame: eth(0x0800, ipv4(ProtoUDP, -1, 0, udp(4500, 4500, make([]byte, 64))))},
	}
}

func BenchmarkDecode(b *testing.B) {
	d := NewDecoder()
	var p Packet
	for _, tc := range benchFrames() {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(tc.frame)))
			for b.Loop() {
				p.OrigLen = len(tc.frame)
				if err := d.Decode(tc.frame, tc.linkType, &p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("mix", func(b *testing.B) {
		frames := benchFrames()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			tc := &frames[i%len(frames)]
			i++
			p.OrigLen = len(tc.frame)
			if err := d.Decode(tc.frame, tc.linkType, &p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// sink keeps the decoded packet alive so the compiler cannot drop work.
var sink Packet

// TestDecodeNoAllocs asserts that decoding a frame successfully allocates
// nothing, for every hand-built frame that decodes without error.
func TestDecodeNoAllocs(t *testing.T) {
	d := NewDecoder()
	cases := append(benchFrames(), frameCases()...)
	for _, tc := range cases {
		if tc.wantErr != nil {
			continue
		}
		allocs := testing.AllocsPerRun(100, func() {
			sink.OrigLen = max(tc.origLen, len(tc.frame))
			if err := d.Decode(tc.frame, tc.linkType, &sink); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per Decode, want 0", tc.name, allocs)
		}
	}
}
