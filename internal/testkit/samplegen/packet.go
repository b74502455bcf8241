package samplegen

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Link types used by the generated captures (tcpdump.org LINKTYPE_ values).
const (
	linkEthernet = 1
	linkRaw      = 101
	linkSLL      = 113
)

// host is one IP endpoint as seen at the capture point.
type host struct {
	mac  [6]byte    // link-layer address frames from this host carry at the capture point
	addr netip.Addr // IP address
	ttl  uint8      // TTL (hop limit) of its packets when they pass the capture point
	df   bool       // sets Don't Fragment (IPv4)
	ipid uint16     // next IPv4 identification
	flow uint32     // IPv6 flow label base
}

func newHost(mac [6]byte, addr string, ttl uint8, df bool, ipid uint16) *host {
	return &host{mac: mac, addr: netip.MustParseAddr(addr), ttl: ttl, df: df, ipid: ipid}
}

// frame is one captured packet.
type frame struct {
	ts    time.Time
	data  []byte // full packet as on the wire
	iface int    // pcapng interface index
}

// checksum folds the one's-complement sum of b into sum.
func csumAdd(sum uint32, b []byte) uint32 {
	n := len(b)
	for i := 0; i+1 < n; i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if n%2 == 1 {
		sum += uint32(b[n-1]) << 8
	}
	return sum
}

func csumFold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// pseudoSum returns the pseudo-header sum for an upper-layer checksum.
func pseudoSum(src, dst netip.Addr, proto byte, length int) uint32 {
	var sum uint32
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		sum = csumAdd(sum, s[:])
		sum = csumAdd(sum, d[:])
	} else {
		s, d := src.As16(), dst.As16()
		sum = csumAdd(sum, s[:])
		sum = csumAdd(sum, d[:])
	}
	sum += uint32(proto)
	sum += uint32(length)
	return sum
}

// l4checksum returns the TCP/UDP checksum of seg (whose checksum field is zero).
func l4checksum(src, dst netip.Addr, proto byte, seg []byte) uint16 {
	c := csumFold(csumAdd(pseudoSum(src, dst, proto, len(seg)), seg))
	if proto == 17 && c == 0 {
		c = 0xffff
	}
	return c
}

// appendIP appends an IP header (v4 or v6 after src's family) and l4 to b,
// filling the IPv4 header checksum and, for TCP and UDP, the L4 checksum at
// ck (the offset of the checksum field inside l4; -1 for none).
func appendIP(b []byte, src, dst *host, proto byte, l4 []byte, ck int) []byte {
	if ck >= 0 {
		l4[ck], l4[ck+1] = 0, 0
		binary.BigEndian.PutUint16(l4[ck:], l4checksum(src.addr, dst.addr, proto, l4))
	}
	if src.addr.Is4() {
		h := len(b)
		b = append(b, 0x45, 0, 0, 0, 0, 0, 0, 0, src.ttl, proto, 0, 0)
		binary.BigEndian.PutUint16(b[h+2:], uint16(20+len(l4)))
		binary.BigEndian.PutUint16(b[h+4:], src.ipid)
		src.ipid++
		if src.df {
			b[h+6] = 0x40
		}
		s, d := src.addr.As4(), dst.addr.As4()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
		binary.BigEndian.PutUint16(b[h+10:], csumFold(csumAdd(0, b[h:h+20])))
	} else {
		h := len(b)
		b = append(b, 0x60, 0, 0, 0, 0, 0, proto, src.ttl)
		binary.BigEndian.PutUint32(b[h:], 6<<28|src.flow&0xfffff)
		binary.BigEndian.PutUint16(b[h+4:], uint16(len(l4)))
		s, d := src.addr.As16(), dst.addr.As16()
		b = append(b, s[:]...)
		b = append(b, d[:]...)
	}
	return append(b, l4...)
}

// appendLink appends the link-layer header for a packet from src to dst.
func appendLink(b []byte, link int, src, dst *host, outgoing bool) []byte {
	et := uint16(0x0800)
	if src.addr.Is6() {
		et = 0x86dd
	}
	switch link {
	case linkEthernet:
		b = append(b, dst.mac[:]...)
		b = append(b, src.mac[:]...)
		b = binary.BigEndian.AppendUint16(b, et)
	case linkSLL:
		pt := uint16(0) // to us
		if outgoing {
			pt = 4 // sent by us
		}
		b = binary.BigEndian.AppendUint16(b, pt)
		b = binary.BigEndian.AppendUint16(b, 1) // ARPHRD_ETHER
		b = binary.BigEndian.AppendUint16(b, 6)
		b = append(b, src.mac[:]...)
		b = append(b, 0, 0)
		b = binary.BigEndian.AppendUint16(b, et)
	}
	return b
}

// tcpHeader appends a TCP header with options opts (padded to 4 bytes) and
// payload to b and returns it; the checksum is left zero.
func tcpHeader(b []byte, sport, dport uint16, seq, ack uint32, flags uint8, win uint16, opts, payload []byte) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 0) // EOL padding; callers pad with NOPs themselves
	}
	h := len(b)
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, ack)
	b = append(b, byte((20+len(opts))/4)<<4, flags)
	b = binary.BigEndian.AppendUint16(b, win)
	b = append(b, 0, 0, 0, 0)
	b = append(b, opts...)
	_ = h
	return append(b, payload...)
}

// udpHeader appends a UDP header and payload to b; the checksum is left zero.
func udpHeader(b []byte, sport, dport uint16, payload []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(payload)))
	b = append(b, 0, 0)
	return append(b, payload...)
}

// TCP flag bits.
const (
	flFIN = 0x01
	flSYN = 0x02
	flRST = 0x04
	flPSH = 0x08
	flACK = 0x10
)
