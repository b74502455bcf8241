package decode

import (
	"encoding/binary"
	"testing"
)

// ipFingerprint is the part of a Packet that tells senders apart: the
// innermost IP header's TTL (hop limit), IPv4 identification and Don't
// Fragment flag, and the presence of the TCP timestamp option.
type ipFingerprint struct {
	IPVersion uint8
	TTL       uint8
	IPID      uint16
	DF        bool
	HasTS     bool
}

func fingerprintOf(p *Packet) ipFingerprint {
	return ipFingerprint{p.IPVersion, p.TTL, p.IPID, p.DF, p.HasTS}
}

// withIPv4 sets the TTL, identification and DF flag of the IPv4 header at
// the start of pkt (a copy is returned; the checksum is not recomputed:
// Decode does not check it).
func withIPv4(pkt []byte, ttl uint8, id uint16, df bool) []byte {
	b := cat(pkt)
	b[8] = ttl
	binary.BigEndian.PutUint16(b[4:], id)
	if df {
		b[6] |= 0x40
	} else {
		b[6] &^= 0x40
	}
	return b
}

// withHopLimit sets the hop limit of the IPv6 header at the start of pkt.
func withHopLimit(pkt []byte, hlim uint8) []byte {
	b := cat(pkt)
	b[7] = hlim
	return b
}

// tsOpt is a TCP timestamp option (TSval 0x01020304, TSecr 0x05060708)
// after two NOPs, as Linux sends it on data segments.
var tsOpt = []byte{1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8}

// tcpDataTS is tcpData with the timestamp option.
func tcpDataTS() []byte {
	return tcp(1234, 80, 1001, 2001, FlagACK|FlagPSH, tsOpt, []byte("hello"))
}

func TestDecodeIPFingerprint(t *testing.T) {
	v4ts := withIPv4(ipv4(ProtoTCP, -1, 0, tcpDataTS()), 117, 0xbeef, true)
	v4 := withIPv4(ipv4(ProtoTCP, -1, 0, tcpData()), 250, 0x0102, false)
	v6ts := withHopLimit(ipv6(ProtoTCP, -1, tcpDataTS()), 3)
	sll := cat(be16(0), be16(1), be16(6), make([]byte, 8))
	// An ICMP error from a router (TTL 254, ID 7) quoting a segment sent
	// with TTL 1, ID 0x4242 and DF.
	quoted := withIPv4(ipv4(ProtoTCP, 60, 0, tcpData()), 1, 0x4242, true)[:28]
	icmpErr := withIPv4(ipv4(1, -1, 0, cat([]byte{11, 0, 0, 0, 0, 0, 0, 0}, quoted)), 254, 7, false)
	icmpShort := withIPv4(ipv4(1, -1, 0, cat([]byte{11, 0, 0, 0, 0, 0, 0, 0}, quoted[:12])), 254, 7, false)
	tsSyn := tcp(1234, 80, 1000, 0, FlagSYN, cat([]byte{2, 4, 0x05, 0xb4, 4, 2}, []byte{8, 10, 0, 0, 0, 1, 0, 0, 0, 0}, []byte{1, 3, 3, 7}), nil)
	want4ts := ipFingerprint{4, 117, 0xbeef, true, true}
	want4 := ipFingerprint{4, 250, 0x0102, false, false}
	want6ts := ipFingerprint{6, 3, 0, false, true}
	tests := []struct {
		name     string
		linkType uint16
		frame    []byte
		want     ipFingerprint
	}{
		{"ethernet ipv4 (fast path)", LinkEthernet, eth(0x0800, v4ts), want4ts},
		{"vlan ipv4 (parser)", LinkEthernet, eth(0x8100, tag(5, 0x0800, v4ts)), want4ts},
		{"linux sll ipv4 (parser)", LinkLinuxSLL, cat(sll, be16(0x0800), v4ts), want4ts},
		{"raw ipv4", LinkRaw, v4ts, want4ts},
		{"ipv4 without DF or timestamps", LinkEthernet, eth(0x0800, v4), want4},
		{"ethernet ipv6 (fast path)", LinkEthernet, eth(0x86dd, v6ts), want6ts},
		{"raw ipv6", LinkRaw, v6ts, want6ts},
		{"ip in ip: the inner header", LinkEthernet, eth(0x0800, withIPv4(ipv4(ProtoIPIP, -1, 0, v4ts), 9, 0xffff, false)), want4ts},
		{"6 in 4: no IPv4 fields left", LinkEthernet, eth(0x0800, withIPv4(ipv4(ProtoIPv6, -1, 0, v6ts), 9, 0x1234, true)), want6ts},
		{"gre: the inner header", LinkEthernet, eth(0x0800, withIPv4(ipv4(47, -1, 0, cat([]byte{0, 0}, be16(0x0800), v4)), 30, 0x5555, true)), want4},
		{"icmp error: the quoted header", LinkRaw, icmpErr, ipFingerprint{4, 1, 0x4242, true, false}},
		{"icmp error quoting too little: the outer header", LinkRaw, icmpShort, ipFingerprint{4, 254, 7, false, false}},
		{"syn with timestamps", LinkRaw, ipv4(ProtoTCP, -1, 0, tsSyn), ipFingerprint{4, 64, 0, false, true}},
		{"timestamp option with a bad length", LinkRaw, ipv4(ProtoTCP, -1, 0, tcp(1234, 80, 1, 2, FlagACK, []byte{1, 1, 8, 9, 1, 2, 3, 4, 5, 6, 7}, nil)), ipFingerprint{4, 64, 0, false, false}},
		{"timestamp option cut by the snaplen", LinkRaw, ipv4(ProtoTCP, 20+32+5, 0, tcpDataTS())[:20+20+6], ipFingerprint{4, 64, 0, false, false}},
		{"timestamp after end of options", LinkRaw, ipv4(ProtoTCP, -1, 0, tcp(1234, 80, 1, 2, FlagACK, cat([]byte{0, 0}, tsOpt[2:]), nil)), ipFingerprint{4, 64, 0, false, false}},
		{"arp", LinkEthernet, eth(0x0806, make([]byte, 28)), ipFingerprint{}},
	}
	d := NewDecoder()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Decode a frame with every field set first: nothing of it
			// may stay.
			var p Packet
			if err := d.Decode(eth(0x0800, v4ts), LinkEthernet, &p); err != nil {
				t.Fatal(err)
			}
			p.OrigLen = len(tc.frame)
			if err := d.Decode(tc.frame, tc.linkType, &p); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := fingerprintOf(&p); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestDecodeFingerprintNoAllocs checks that the new fields cost no
// allocation on the fast path and on the parser's.
func TestDecodeFingerprintNoAllocs(t *testing.T) {
	d := NewDecoder()
	v4ts := withIPv4(ipv4(ProtoTCP, -1, 0, tcpDataTS()), 117, 0xbeef, true)
	for _, f := range []struct {
		link  uint16
		frame []byte
	}{{LinkEthernet, eth(0x0800, v4ts)}, {LinkRaw, v4ts}, {LinkEthernet, eth(0x86dd, ipv6(ProtoTCP, -1, tcpDataTS()))}} {
		var p Packet
		if n := testing.AllocsPerRun(100, func() { _ = d.Decode(f.frame, f.link, &p) }); n != 0 {
			t.Errorf("link %d: %v allocations per Decode", f.link, n)
		}
	}
}
