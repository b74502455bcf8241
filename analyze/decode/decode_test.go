package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"unsafe"
)

// summary is the part of a Packet the hand-built frame tests check.
type summary struct {
	IPVersion        uint8
	Proto            uint8
	Fragment         bool
	FragOffset       int
	InError          bool
	HasTransport     bool
	SrcPort, DstPort uint16
	Seq, Ack         uint32
	Flags            uint16
	WScale           int8
	MSS              uint16
	SACKPermitted    bool
	SACKBlocks       int
	OptionsTruncated bool
	PayloadLen       int
	Captured         int // len(Payload)
}

func summarize(p *Packet) summary {
	return summary{p.IPVersion, p.Proto, p.Fragment, p.FragOffset, p.InError, p.HasTransport,
		p.SrcPort, p.DstPort, p.Seq, p.Ack, p.Flags, p.WScale, p.MSS, p.SACKPermitted,
		p.SACKBlocks, p.OptionsTruncated, p.PayloadLen, len(p.Payload)}
}

var (
	wantSyn4 = summary{IPVersion: 4, Proto: ProtoTCP, HasTransport: true, SrcPort: 1234, DstPort: 80,
		Seq: 1000, Flags: FlagSYN, WScale: 7, MSS: 1460, SACKPermitted: true}
	wantData4 = summary{IPVersion: 4, Proto: ProtoTCP, HasTransport: true, SrcPort: 1234, DstPort: 80,
		Seq: 1001, Ack: 2001, Flags: FlagACK | FlagPSH, WScale: -1, PayloadLen: 5, Captured: 5}
	wantData6 = func() summary { s := wantData4; s.IPVersion = 6; return s }()
	wantUDP4  = summary{IPVersion: 4, Proto: ProtoUDP, HasTransport: true, SrcPort: 500, DstPort: 4500,
		WScale: -1, PayloadLen: 3, Captured: 3}
)

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

// nflogTLV builds an NFLOG attribute in the given byte order, padded.
func nflogTLV(order binary.ByteOrder, typ uint16, val []byte) []byte {
	h := make([]byte, 4)
	order.PutUint16(h, uint16(4+len(val)))
	order.PutUint16(h[2:], typ)
	b := cat(h, val)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

type frameCase struct {
	name     string
	linkType uint16
	frame    []byte
	origLen  int // 0: len(frame)
	want     summary
	wantErr  error
}

func frameCases() []frameCase {
	ip4data := ipv4(ProtoTCP, -1, 0, tcpData())
	ip6data := ipv6(ProtoTCP, -1, tcpData())
	sllHdr := cat(be16(0), be16(1), be16(6), make([]byte, 8))
	dot11 := func(fc1 byte, body []byte) []byte {
		h := make([]byte, 26) // QoS data: 24 + QoS control
		h[0], h[1] = 0x88, fc1
		return cat(h, []byte{0xaa, 0xaa, 3, 0, 0, 0}, be16(0x0800), body)
	}
	trunc := func(b []byte, n int) []byte { return b[:n] }
	wantTrunc := wantSyn4
	wantTrunc.OptionsTruncated = true
	wantTrunc.WScale, wantTrunc.SACKPermitted = -1, false // cut after MSS
	wantTrunc.PayloadLen = 100
	icmpErr := cat([]byte{3, 3, 0, 0, 0, 0, 0, 0}, trunc(ipv4(ProtoTCP, 60, 0, tcpData()), 28))
	return []frameCase{
		{name: "ethernet ipv4 syn", linkType: LinkEthernet, frame: eth(0x0800, ipv4(ProtoTCP, -1, 0, tcpSyn())), want: wantSyn4},
		{name: "ethernet ipv4 data", linkType: LinkEthernet, frame: eth(0x0800, ip4data), want: wantData4},
		{name: "ethernet padding", linkType: LinkEthernet, frame: eth(0x0800, cat(ip4data, make([]byte, 6))), want: wantData4},
		{name: "ethernet ipv6", linkType: LinkEthernet, frame: eth(0x86dd, ip6data), want: wantData6},
		{name: "vlan", linkType: LinkEthernet, frame: eth(0x8100, tag(5, 0x0800, ip4data)), want: wantData4},
		{name: "qinq 88a8", linkType: LinkEthernet, frame: eth(0x88a8, tag(5, 0x8100, tag(6, 0x0800, ip4data))), want: wantData4},
		{name: "qinq 9100", linkType: LinkEthernet, frame: eth(0x9100, tag(5, 0x8100, tag(6, 0x86dd, ip6data))), want: wantData6},
		{name: "vntag", linkType: LinkEthernet, frame: eth(0x8926, cat(be32(0x80010002), be16(0x0800), ip4data)), want: wantData4},
		{name: "arp", linkType: LinkEthernet, frame: eth(0x0806, make([]byte, 28)), want: summary{WScale: -1}},
		{name: "802.3 llc snap", linkType: LinkEthernet, frame: eth(uint16(8+len(ip4data)), cat([]byte{0xaa, 0xaa, 3, 0, 0, 0}, be16(0x0800), ip4data)), want: wantData4},
		{name: "pppoe", linkType: LinkEthernet, frame: eth(0x8864, cat([]byte{0x11, 0}, be16(1), be16(uint16(2+len(ip4data))), be16(0x0021), ip4data, make([]byte, 4))), want: wantData4},
		{name: "mpls two labels", linkType: LinkEthernet, frame: eth(0x8847, cat(be32(100<<12|64), be32(200<<12|1<<8|64), ip6data)), want: wantData6},
		{name: "gre key seq", linkType: LinkEthernet, frame: eth(0x0800, ipv4(47, -1, 0, cat([]byte{0x30, 0}, be16(0x0800), be32(7), be32(9), ip4data))), want: wantData4},
		{name: "gre checksum", linkType: LinkEthernet, frame: eth(0x0800, ipv4(47, -1, 0, cat([]byte{0x80, 0}, be16(0x86dd), be32(0), ip6data))), want: wantData6},
		{name: "gre teb", linkType: LinkEthernet, frame: eth(0x0800, ipv4(47, -1, 0, cat([]byte{0, 0}, be16(0x6558), eth(0x0800, ip4data)))), want: wantData4},
		{name: "erspan ii", linkType: LinkEthernet, frame: eth(0x0800, ipv4(47, -1, 0, cat([]byte{0x10, 0}, be16(0x88be), be32(1), make([]byte, 8), eth(0x0800, ip4data)))), want: wantData4},
		{name: "erspan i", linkType: LinkEthernet, frame: eth(0x0800, ipv4(47, -1, 0, cat([]byte{0, 0}, be16(0x88be), eth(0x0800, ip4data)))), want: wantData4},
		{name: "erspan iii", linkType: LinkEthernet, frame: eth(0x0800, ipv4(47, -1, 0, cat([]byte{0x10, 0}, be16(0x22eb), be32(1), make([]byte, 11), []byte{1}, make([]byte, 8), eth(0x0800, ip4data)))), want: wantData4},
		{name: "gre pptp ppp", linkType: LinkEthernet, frame: eth(0x0800, ipv4(47, -1, 0, cat([]byte{0x30, 0x81}, be16(0x880b), be32(0), be32(1), be32(2), []byte{0xff, 3, 0, 0x21}, ip4data))), want: wantData4},
		{name: "aruba 802.11 qos", linkType: LinkEthernet, frame: eth(0x0800, ipv4(47, -1, 0, cat([]byte{0, 0}, be16(0x8200), dot11(1, ip4data)))), want: wantData4},
		{name: "802.11 protected", linkType: LinkIEEE80211, frame: dot11(0x41, ip4data), want: summary{WScale: -1}},
		{name: "ip in ip", linkType: LinkEthernet, frame: eth(0x0800, ipv4(4, -1, 0, ip4data)), want: wantData4},
		{name: "6 in 4", linkType: LinkEthernet, frame: eth(0x0800, ipv4(41, -1, 0, ip6data)), want: wantData6},
		{name: "vxlan", linkType: LinkEthernet, frame: eth(0x0800, ipv4(ProtoUDP, -1, 0, udp(1, 4789, cat(make([]byte, 8), eth(0x0800, ip4data))))), want: wantData4},
		{name: "gtp-u", linkType: LinkEthernet, frame: eth(0x0800, ipv4(ProtoUDP, -1, 0, udp(2152, 2152, cat([]byte{0x32, 0xff}, be16(uint16(4+len(ip4data))), be32(1), be32(0), ip4data)))), want: wantData4},
		{name: "linux sll", linkType: LinkLinuxSLL, frame: cat(sllHdr, be16(0x0800), ip4data), want: wantData4},
		{name: "linux sll bad addr len", linkType: LinkLinuxSLL, frame: cat(be16(0), be16(1), be16(0xffff), make([]byte, 8), be16(0x0800), ip4data), want: wantData4},
		{name: "linux sll2", linkType: LinkLinuxSLL2, frame: cat(be16(0x86dd), be16(0), be32(2), be16(1), []byte{0, 6}, make([]byte, 8), ip6data), want: wantData6},
		{name: "nflog le", linkType: LinkNFLOG, frame: cat([]byte{2, 0, 0, 0}, nflogTLV(binary.LittleEndian, 1, make([]byte, 4)), nflogTLV(binary.LittleEndian, 9, ip4data)), want: wantData4},
		{name: "nflog be", linkType: LinkNFLOG, frame: cat([]byte{10, 0, 0, 0}, nflogTLV(binary.BigEndian, 1, make([]byte, 4)), nflogTLV(binary.BigEndian, 9, ip6data)), want: wantData6},
		{name: "nflog no payload", linkType: LinkNFLOG, frame: cat([]byte{2, 0, 0, 0}, nflogTLV(binary.LittleEndian, 1, make([]byte, 4))), want: summary{WScale: -1}},
		{name: "cisco hdlc", linkType: LinkCHDLC, frame: cat([]byte{0x0f, 0}, be16(0x0800), ip4data), want: wantData4},
		{name: "cisco hdlc slarp", linkType: LinkCHDLC, frame: cat([]byte{0x8f, 0}, be16(0x8035), make([]byte, 20)), want: summary{WScale: -1}},
		{name: "ppp cisco hdlc", linkType: LinkPPP, frame: cat([]byte{0x0f, 0}, be16(0x0800), ip4data), want: wantData4},
		{name: "ppp", linkType: LinkPPP, frame: cat(be16(0x0021), ip4data), want: wantData4},
		{name: "ppp hdlc", linkType: LinkPPPHDLC, frame: cat([]byte{0xff, 3}, be16(0x0057), ip6data), want: wantData6},
		{name: "ppp compressed protocol", linkType: LinkPPP, frame: cat([]byte{0xff, 3, 0x21}, ip4data), want: wantData4},
		{name: "ppp with dir", linkType: LinkPPPWithDir, frame: cat([]byte{1, 0xff, 3}, be16(0x0021), ip4data), want: wantData4},
		{name: "raw 101 v4", linkType: LinkRaw, frame: ip4data, want: wantData4},
		{name: "raw 12 v6", linkType: LinkRawDLT12, frame: ip6data, want: wantData6},
		{name: "raw 14 v4", linkType: LinkRawDLT14, frame: ip4data, want: wantData4},
		{name: "ipv4 228", linkType: LinkIPv4, frame: ip4data, want: wantData4},
		{name: "ipv6 229", linkType: LinkIPv6, frame: ip6data, want: wantData6},
		{name: "raw bad version", linkType: LinkRaw, frame: cat([]byte{0x50}, ip4data[1:]), wantErr: ErrMalformed},
		{name: "null le", linkType: LinkNull, frame: cat(le32(2), ip4data), want: wantData4},
		{name: "null be inet6 darwin", linkType: LinkNull, frame: cat(be32(30), ip6data), want: wantData6},
		{name: "null le inet6 freebsd", linkType: LinkNull, frame: cat(le32(28), ip6data), want: wantData6},
		{name: "loop be inet6 bsd", linkType: LinkLoop, frame: cat(be32(24), ip6data), want: wantData6},
		{name: "udp", linkType: LinkRaw, frame: ipv4(ProtoUDP, -1, 0, udp(500, 4500, []byte{1, 2, 3})), want: wantUDP4},
		{name: "udp length lies", linkType: LinkRaw, frame: ipv4(ProtoUDP, -1, 0, cat(be16(500), be16(4500), be16(900), be16(0), []byte{1, 2, 3})), want: wantUDP4},
		{name: "esp", linkType: LinkRaw, frame: ipv4(ProtoESP, -1, 0, cat(be32(0x1234), be32(1), make([]byte, 16))),
			want: summary{IPVersion: 4, Proto: ProtoESP, HasTransport: true, WScale: -1, PayloadLen: 24, Captured: 24}},
		{name: "esp short", linkType: LinkRaw, frame: ipv4(ProtoESP, -1, 0, be32(0x1234)), want: summary{IPVersion: 4, Proto: ProtoESP, WScale: -1}},
		{name: "ah ipv4", linkType: LinkRaw, frame: ipv4(ProtoAH, -1, 0, cat([]byte{ProtoTCP, 4, 0, 0}, make([]byte, 20), tcpData())), want: wantData4},
		{name: "ipcomp transport", linkType: LinkRaw, frame: ipv4(ProtoIPComp, -1, 0, ipcomp(ProtoTCP, tcpData())), want: wantData4},
		{name: "ah ipcomp tunnel", linkType: LinkEthernet, frame: eth(0x0800, ipv4(ProtoAH, -1, 0, cat(ah(ProtoIPComp), ipcomp(ProtoIPIP, ip4data)))), want: wantData4},
		{name: "ipv6 ipcomp", linkType: LinkRaw, frame: ipv6(ProtoIPComp, -1, ipcomp(ProtoTCP, tcpData())), want: wantData6},
		{name: "ipcomp ipv6 in ipv4", linkType: LinkRaw, frame: ipv4(ProtoIPComp, -1, 0, ipcomp(ProtoIPv6, ip6data)), want: wantData6},
		{name: "ipcomp long huffman codes", linkType: LinkRaw, frame: ipv4(ProtoIPComp, -1, 0, ipcomp(ProtoTCP, tcp(1234, 80, 1001, 2001, FlagACK, nil, skewedBytes(1400)))),
			want: summary{IPVersion: 4, Proto: ProtoTCP, HasTransport: true, SrcPort: 1234, DstPort: 80, Seq: 1001, Ack: 2001, Flags: FlagACK, WScale: -1, PayloadLen: 1400, Captured: 1400}},
		{name: "ipcomp not deflate", linkType: LinkRaw, frame: ipv4(ProtoIPComp, -1, 0, cat([]byte{ProtoTCP, 0}, be16(3), bytes.Repeat([]byte{0xff}, 40))),
			want: summary{IPVersion: 4, Proto: ProtoIPComp, WScale: -1}},
		{name: "ipcomp short", linkType: LinkRaw, frame: ipv4(ProtoIPComp, -1, 0, []byte{ProtoTCP, 0}), want: summary{IPVersion: 4, Proto: ProtoIPComp, WScale: -1}},
		{name: "ipcomp nested", linkType: LinkRaw, frame: ipv4(ProtoIPComp, -1, 0, ipcomp(ProtoIPComp, ipcomp(ProtoTCP, tcpData()))),
			want: summary{IPVersion: 4, Proto: ProtoIPComp, WScale: -1}},
		{name: "ipcomp first fragment", linkType: LinkRaw, frame: ipv4(ProtoIPComp, -1, 0x2000, ipcomp(ProtoTCP, tcpData())),
			want: summary{IPVersion: 4, Proto: ProtoIPComp, Fragment: true, WScale: -1}},
		{name: "ipv6 extension chain", linkType: LinkRaw, frame: ipv6(0, -1, cat(ext6(43, 0), ext6(60, 1), ext6(ProtoTCP, 0), tcpData())), want: wantData6},
		{name: "ipv6 ah", linkType: LinkRaw, frame: ipv6(ProtoAH, -1, cat([]byte{ProtoTCP, 4, 0, 0}, make([]byte, 20), tcpData())), want: wantData6},
		{name: "ipv6 first fragment", linkType: LinkRaw, frame: ipv6(44, -1, cat([]byte{ProtoTCP, 0, 0, 1}, be32(7), tcpData())),
			want: func() summary { s := wantData6; s.Fragment = true; return s }()},
		{name: "ipv6 later fragment", linkType: LinkRaw, frame: ipv6(44, -1, cat([]byte{ProtoTCP, 0, 0x05, 0x68}, be32(7), tcpData())),
			want: summary{IPVersion: 6, Proto: ProtoTCP, Fragment: true, FragOffset: 1384, WScale: -1}},
		{name: "ipv4 first fragment", linkType: LinkRaw, frame: ipv4(ProtoTCP, -1, 0x2000, tcpData()), want: func() summary { s := wantData4; s.Fragment = true; return s }()},
		{name: "ipv4 later fragment", linkType: LinkRaw, frame: ipv4(ProtoTCP, -1, 185, tcpData()), want: summary{IPVersion: 4, Proto: ProtoTCP, Fragment: true, FragOffset: 1480, WScale: -1}},
		{name: "ipv6 jumbogram", linkType: LinkRaw, frame: ipv6(0, 0, cat([]byte{ProtoTCP, 0, 0xc2, 4}, be32(8+20+70000), tcp(1234, 80, 1001, 2001, FlagACK|FlagPSH, nil, make([]byte, 70000)))),
			want: func() summary { s := wantData6; s.PayloadLen, s.Captured = 70000, 70000; return s }()},
		{name: "ipv6 jumbogram after padding", linkType: LinkRaw, frame: ipv6(0, 0, cat([]byte{ProtoTCP, 1, 0, 1, 3, 0, 0, 0, 0xc2, 4}, be32(16+20+70000), make([]byte, 2), tcp(1234, 80, 1001, 2001, FlagACK|FlagPSH, nil, make([]byte, 70000)))),
			want: func() summary { s := wantData6; s.PayloadLen, s.Captured = 70000, 70000; return s }()},
		// Jumbo lengths up to 65535 are invalid (RFC 2675); tshark 4.0.17
		// then reports "Jumbo Payload option missing" and decodes nothing
		// after the IPv6 header.
		{name: "ipv6 jumbogram too short", linkType: LinkRaw, frame: ipv6(0, 0, cat([]byte{ProtoTCP, 0, 0xc2, 4}, be32(8+uint32(len(tcpData()))), tcpData())), want: summary{IPVersion: 6, WScale: -1}},
		{name: "ipv6 plen 0 hop-by-hop without jumbo", linkType: LinkRaw, frame: ipv6(0, 0, cat([]byte{ProtoTCP, 0, 1, 4, 0, 0, 0, 0}, tcpData())), want: summary{IPVersion: 6, WScale: -1}},
		{name: "ipv6 jumbo option with plen set", linkType: LinkRaw, frame: ipv6(0, -1, cat([]byte{ProtoTCP, 0, 0xc2, 4}, be32(70000), tcpData())), want: wantData6},
		{name: "ipv6 plen 0 no jumbo", linkType: LinkRaw, frame: ipv6(ProtoTCP, 0, tcpData()), want: wantData6},
		{name: "ipv4 tso total length 0", linkType: LinkEthernet, frame: eth(0x0800, ipv4(ProtoTCP, 0, 0, tcpData())), want: wantData4},
		{name: "ipv4 total length beyond frame", linkType: LinkRaw, frame: ipv4(ProtoTCP, 1000, 0, tcpData()), want: wantData4},
		{name: "ipv4 total length below header", linkType: LinkRaw, frame: ipv4(ProtoTCP, 10, 0, tcpData()), wantErr: ErrMalformed},
		{name: "snaplen inside options", linkType: LinkRaw, frame: trunc(ipv4(ProtoTCP, 20+32+100, 0, tcpSyn()), 20+24), origLen: 20 + 32 + 100, want: wantTrunc},
		{name: "snaplen inside payload", linkType: LinkRaw, frame: trunc(ipv4(ProtoTCP, -1, 0, tcpData()), 42), origLen: 45,
			want: func() summary { s := wantData4; s.Captured = 2; return s }()},
		{name: "tcp short segment", linkType: LinkRaw, frame: ipv4(ProtoTCP, -1, 0, tcp(1234, 80, 1000, 0, FlagSYN, []byte{2, 4, 0x05, 0xb4}, nil)[:20:20]),
			want: summary{IPVersion: 4, Proto: ProtoTCP, HasTransport: true, SrcPort: 1234, DstPort: 80, Seq: 1000, Flags: FlagSYN, WScale: -1, OptionsTruncated: true, PayloadLen: -4}},
		{name: "tcp short header", linkType: LinkRaw, frame: trunc(ip4data, 30), origLen: len(ip4data), wantErr: ErrMalformed},
		{name: "tcp data offset below 20", linkType: LinkRaw, frame: func() []byte { b := ipv4(ProtoTCP, -1, 0, tcpData()); b[32] = 0x40; return b }(), wantErr: ErrMalformed},
		{name: "tcp option length lies", linkType: LinkRaw, frame: ipv4(ProtoTCP, -1, 0, tcp(1234, 80, 1000, 0, FlagSYN, []byte{2, 4, 0x05, 0xb4, 3, 40, 7, 1}, nil)),
			want: func() summary { s := wantSyn4; s.WScale, s.SACKPermitted = -1, false; return s }()},
		{name: "tcp option length 0", linkType: LinkRaw, frame: ipv4(ProtoTCP, -1, 0, tcp(1234, 80, 1000, 0, FlagSYN, []byte{2, 4, 0x05, 0xb4, 3, 0, 7, 4, 2, 1}, nil)),
			want: func() summary { s := wantSyn4; s.WScale, s.SACKPermitted = -1, false; return s }()},
		{name: "tcp option length 1", linkType: LinkRaw, frame: ipv4(ProtoTCP, -1, 0, tcp(1234, 80, 1000, 0, FlagSYN, []byte{1, 8, 1, 2, 4, 0x05, 0xb4}, nil)),
			want: func() summary { s := wantSyn4; s.WScale, s.SACKPermitted, s.MSS = -1, false, 0; return s }()},
		{name: "tcp option kind at the end", linkType: LinkRaw, frame: ipv4(ProtoTCP, -1, 0, tcp(1234, 80, 1000, 0, FlagSYN, []byte{2, 4, 0x05, 0xb4, 1, 1, 1, 4}, nil)),
			want: func() summary { s := wantSyn4; s.WScale, s.SACKPermitted = -1, false; return s }()},
		{name: "ipv4 options", linkType: LinkRaw, frame: ipv4Options([]byte{0x94, 4, 0, 0, 1, 1, 1, 0}, ip4data), want: wantData4},
		{name: "ipv4 options 40 bytes", linkType: LinkRaw, frame: ipv4Options(cat([]byte{7, 39, 4}, make([]byte, 37)), ip4data), want: wantData4},
		{name: "ipv4 option length lies", linkType: LinkRaw, frame: ipv4Options([]byte{0x83, 0, 0, 0}, ip4data), want: wantData4},
		{name: "ipv4 ihl past the frame", linkType: LinkRaw, frame: ipv4Options(make([]byte, 40), ip4data)[:40], wantErr: ErrMalformed},
		{name: "tcp sack blocks", linkType: LinkRaw, frame: ipv4(ProtoTCP, -1, 0, tcp(1234, 80, 1001, 2001, FlagACK, cat([]byte{1, 1, 5, 18}, make([]byte, 16)), nil)),
			want: summary{IPVersion: 4, Proto: ProtoTCP, HasTransport: true, SrcPort: 1234, DstPort: 80, Seq: 1001, Ack: 2001, Flags: FlagACK, WScale: -1, SACKBlocks: 2}},
		{name: "tcp ns flag", linkType: LinkRaw, frame: ipv4(ProtoTCP, -1, 0, tcp(1, 2, 3, 4, FlagNS|FlagACK, nil, nil)),
			want: summary{IPVersion: 4, Proto: ProtoTCP, HasTransport: true, SrcPort: 1, DstPort: 2, Seq: 3, Ack: 4, Flags: FlagNS | FlagACK, WScale: -1}},
		{name: "icmp error quoting tcp", linkType: LinkRaw, frame: ipv4(1, -1, 0, icmpErr),
			want: summary{IPVersion: 4, Proto: ProtoTCP, InError: true, HasTransport: true, SrcPort: 1234, DstPort: 80, Seq: 1001, WScale: -1}},
		{name: "icmp error quoting too little", linkType: LinkRaw, frame: ipv4(1, -1, 0, icmpErr[:20]), want: summary{IPVersion: 4, Proto: 1, WScale: -1}},
		{name: "icmp echo", linkType: LinkRaw, frame: ipv4(1, -1, 0, []byte{8, 0, 0, 0, 0, 1, 0, 1}), want: summary{IPVersion: 4, Proto: 1, WScale: -1}},
		{name: "icmpv6 error quoting tcp", linkType: LinkRaw, frame: ipv6(58, -1, cat([]byte{1, 4, 0, 0, 0, 0, 0, 0}, ip6data)),
			want: func() summary { s := wantData6; s.InError = true; return s }()},
		{name: "unsupported link", linkType: 147, frame: ip4data, wantErr: ErrUnsupportedLink},
		{name: "empty ethernet", linkType: LinkEthernet, frame: nil, wantErr: ErrMalformed},
	}
}

func TestDecodeFrames(t *testing.T) {
	d := NewDecoder()
	for _, tc := range frameCases() {
		t.Run(tc.name, func(t *testing.T) {
			p := Packet{Frame: 7, Time: 42, CapLen: len(tc.frame), OrigLen: max(tc.origLen, len(tc.frame))}
			p.SrcPort, p.Payload = 99, []byte{1} // must be reset
			err := d.Decode(tc.frame, tc.linkType, &p)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Decode error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if p.Frame != 7 || p.Time != 42 {
				t.Errorf("Decode changed Frame or Time: %d %d", p.Frame, p.Time)
			}
			if got := summarize(&p); got != tc.want {
				t.Errorf("Decode:\n got %+v\nwant %+v", got, tc.want)
			}
			if tc.want.IPVersion == 4 && !tc.want.InError && p.Src != netip.MustParseAddr("10.0.0.1") {
				t.Errorf("Src = %v", p.Src)
			}
			if tc.want.IPVersion == 6 && p.Dst != netip.MustParseAddr("2001:db8::2") {
				t.Errorf("Dst = %v", p.Dst)
			}
		})
	}
}

// checkProperties reports violations of the invariants every decoded
// Packet keeps.
func checkProperties(t testing.TB, d *Decoder, data []byte, p *Packet) {
	t.Helper()
	if p.PayloadLen < 0 && (!p.HasTransport || p.Proto != ProtoTCP || p.InError || p.Fragment || len(p.Payload) > 0) {
		t.Fatalf("PayloadLen %d < 0 outside a short TCP segment", p.PayloadLen)
	}
	if p.HasTransport && len(p.Payload) > max(p.PayloadLen, 0) {
		t.Fatalf("len(Payload) %d > PayloadLen %d", len(p.Payload), p.PayloadLen)
	}
	if len(p.Payload) > 0 && !within(p.Payload, data) && !within(p.Payload, d.ipcomp.buf) {
		t.Fatalf("Payload (%d bytes) neither in data (%d bytes) nor in the inflate buffer", len(p.Payload), len(data))
	}
	if p.IPVersion != 0 && p.IPVersion != 4 && p.IPVersion != 6 {
		t.Fatalf("IPVersion %d", p.IPVersion)
	}
	if p.IPVersion != 4 && (p.IPID != 0 || p.DF) || p.IPVersion == 0 && p.TTL != 0 {
		t.Fatalf("IP version %d with TTL %d, IP-ID %#x, DF %v", p.IPVersion, p.TTL, p.IPID, p.DF)
	}
	if p.HasTS && (!p.HasTransport || p.Proto != ProtoTCP || p.TCPHdrLen < 32) {
		t.Fatalf("timestamp option in a %d-byte TCP header (proto %d, transport %v)", p.TCPHdrLen, p.Proto, p.HasTransport)
	}
}

// within reports whether sub lies inside whole's bytes.
func within(sub, whole []byte) bool {
	if len(whole) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(whole)))
	s := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	return s >= lo && s+uintptr(len(sub)) <= lo+uintptr(len(whole))
}

// TestDecodeTruncatedEverywhere cuts every hand-built frame at every byte
// offset, with the original length kept, and checks Decode neither panics
// nor breaks the Packet invariants.
func TestDecodeTruncatedEverywhere(t *testing.T) {
	d := NewDecoder()
	var p Packet
	for _, tc := range frameCases() {
		for n := 0; n <= len(tc.frame); n++ {
			data := tc.frame[:n:n]
			p = Packet{OrigLen: len(tc.frame)}
			_ = d.Decode(data, tc.linkType, &p)
			checkProperties(t, d, data, &p)
			// Same bytes with an original length that lies (shorter).
			p = Packet{OrigLen: n / 2}
			_ = d.Decode(data, tc.linkType, &p)
			checkProperties(t, d, data, &p)
		}
	}
}

// TestDecodeLyingLengths rewrites each 16-bit word of every hand-built
// frame with extreme values.
func TestDecodeLyingLengths(t *testing.T) {
	d := NewDecoder()
	var p Packet
	for _, tc := range frameCases() {
		buf := make([]byte, len(tc.frame))
		for i := 0; i+1 < len(tc.frame); i++ {
			for _, v := range []uint16{0, 1, 0x00ff, 0xff00, 0xffff} {
				copy(buf, tc.frame)
				binary.BigEndian.PutUint16(buf[i:], v)
				p = Packet{OrigLen: len(buf)}
				_ = d.Decode(buf, tc.linkType, &p)
				checkProperties(t, d, buf, &p)
			}
		}
	}
}
