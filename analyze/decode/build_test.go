package decode

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
)

// Frame builders for hand-made test frames. Addresses are fixed:
// IPv4 10.0.0.1 -> 10.0.0.2, IPv6 2001:db8::1 -> 2001:db8::2.

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

var (
	macDst = []byte{0, 1, 2, 3, 4, 5}
	macSrc = []byte{0, 1, 2, 3, 4, 6}
)

func eth(etherType uint16, payload []byte) []byte {
	return cat(macDst, macSrc, be16(etherType), payload)
}

// tag is an 802.1Q-style tag: TCI then the inner EtherType.
func tag(vlan, inner uint16, payload []byte) []byte {
	return cat(be16(vlan), be16(inner), payload)
}

// ipv4 builds an IPv4 header; totLen < 0 means "correct".
func ipv4(proto uint8, totLen int, frag uint16, payload []byte) []byte {
	h := make([]byte, 20)
	h[0] = 0x45
	if totLen < 0 {
		totLen = 20 + len(payload)
	}
	binary.BigEndian.PutUint16(h[2:], uint16(totLen))
	binary.BigEndian.PutUint16(h[6:], frag)
	h[8] = 64
	h[9] = proto
	copy(h[12:], []byte{10, 0, 0, 1})
	copy(h[16:], []byte{10, 0, 0, 2})
	return cat(h, payload)
}

// ipv4Options inserts the IPv4 options opts (a multiple of 4 bytes) into
// the IPv4 packet pkt, updating the header and total lengths.
func ipv4Options(opts, pkt []byte) []byte {
	b := cat(pkt[:20], opts, pkt[20:])
	b[0] = 0x40 | byte((20+len(opts))/4)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// ipv6 builds an IPv6 header; plen < 0 means "correct".
func ipv6(next uint8, plen int, payload []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	if plen < 0 {
		plen = len(payload)
	}
	binary.BigEndian.PutUint16(h[4:], uint16(plen))
	h[6] = next
	h[7] = 64
	h[8], h[9], h[10], h[11], h[23] = 0x20, 0x01, 0x0d, 0xb8, 1
	h[24], h[25], h[26], h[27], h[39] = 0x20, 0x01, 0x0d, 0xb8, 2
	return cat(h, payload)
}

// ext6 builds a generic IPv6 extension header of 8*(1+extra) bytes.
func ext6(next uint8, extra int) []byte {
	h := make([]byte, 8*(1+extra))
	h[0] = next
	h[1] = uint8(extra)
	return h
}

// tcp builds a TCP header with options opts (padded to 4 bytes).
func tcp(sport, dport uint16, seq, ack uint32, flags uint16, opts []byte, payload []byte) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 1)
	}
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], sport)
	binary.BigEndian.PutUint16(h[2:], dport)
	binary.BigEndian.PutUint32(h[4:], seq)
	binary.BigEndian.PutUint32(h[8:], ack)
	h[12] = uint8((20+len(opts))/4)<<4 | uint8(flags>>8&1)
	h[13] = uint8(flags)
	binary.BigEndian.PutUint16(h[14:], 65535)
	return cat(h, opts, payload)
}

func udp(sport, dport uint16, payload []byte) []byte {
	return cat(be16(sport), be16(dport), be16(uint16(8+len(payload))), be16(0), payload)
}

// synOpts are the options of a typical SYN: MSS 1460, SACK permitted,
// window scale 7.
var synOpts = []byte{2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7}

// tcpSyn is a SYN segment from port 1234 to 80.
func tcpSyn() []byte { return tcp(1234, 80, 1000, 0, FlagSYN, synOpts, nil) }

// tcpData is an ACK segment carrying 5 bytes.
func tcpData() []byte {
	return tcp(1234, 80, 1001, 2001, FlagACK|FlagPSH, nil, []byte("hello"))
}

// deflate compresses b as raw DEFLATE (RFC 1951) at the given level.
func deflate(b []byte, level int) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, level)
	if err != nil {
		panic(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// ipcomp builds an IPComp header (RFC 3173) with CPI 2 (DEFLATE) followed
// by b compressed with DEFLATE.
func ipcomp(next uint8, b []byte) []byte {
	return cat([]byte{next, 0}, be16(2), deflate(b, flate.BestCompression))
}

// ah builds an AH header (RFC 4302) with a 12-byte ICV.
func ah(next uint8) []byte {
	return cat([]byte{next, 4, 0, 0}, be32(0x1234), be32(1), make([]byte, 12))
}

// skewedBytes returns n bytes whose values follow a skewed distribution,
// so that DEFLATE codes them with a dynamic Huffman code whose rare
// symbols have codes longer than 9 bits.
func skewedBytes(n int) []byte {
	b := make([]byte, n)
	x := uint32(1)
	for i := range b {
		x = x*1664525 + 1013904223 // LCG
		v := byte(0)
		for r := x >> 8; r&1 == 1 && v < 255; r >>= 1 {
			v++
		}
		b[i] = 'a' + v*7 + byte(x>>28)
	}
	return b
}
