package rewrite

import (
	"encoding/binary"

	"github.com/ctcpdiag/ctcpdiag/analyze/decode"
	"github.com/ctcpdiag/ctcpdiag/internal/anon"
)

// frame rewrites one frame: in is the original, out (same length) starts
// zeroed and receives only what is kept, with addresses mapped. The
// decoder walks the frame and records its Layout; frame copies the
// headers of that layout, maps its address fields, keeps what the
// analysis reads of the payload and fixes the checksums. It walks no
// protocol itself.
type frame struct {
	m       *anon.Mapper
	in, out []byte
	dec     *decode.Decoder
	p       decode.Packet
	lay     decode.Layout
	// ctcp holds the directions of TCP flows (addresses and ports as
	// sent) whose segments carried a cTCP trailer: where a proxy
	// re-segmented such a stream, a segment without any trailer still
	// carries a piece of a message whose edges the framing reads.
	ctcp map[flowDir]struct{}
}

// flowDir is one direction of a TCP flow: source and destination
// address (16 bytes each, IPv4 in the first 4) and ports.
type flowDir struct {
	src, dst     [16]byte
	sport, dport uint16
}

// run rewrites the frame of the given link type; origLen is its length on
// the wire. A frame the decoder cannot read to the end keeps the headers
// it read up to there; a frame of a link type it does not know, or with
// more headers than a Layout holds, is all zero.
func (f *frame) run(linkType uint16, origLen int) {
	clear(f.out)
	if f.dec == nil {
		f.dec = decode.NewDecoder()
	}
	f.p.CapLen, f.p.OrigLen = len(f.in), origLen
	_ = f.dec.DecodeLayout(f.in, linkType, &f.p, &f.lay) // the Layout holds what was read before an error
	l := &f.lay
	if l.Overflow {
		return
	}
	for _, h := range l.Headers() {
		f.header(h)
	}
	for _, a := range l.Fields() {
		f.field(a)
	}
	if pl := l.Payload; pl.End > pl.Off {
		switch pl.Proto {
		case decode.ProtoTCP:
			f.tcpPayload(pl.Off, pl.End, pl.Len)
		case decode.ProtoUDP:
			f.udpPayload(pl.Off, pl.End, pl.Len)
		}
	}
	f.checksums()
}

// header copies what is kept of a header: all of it, but for
//   - IPv4 options, and the bodies of IPv6 routing, destination-options
//     and mobility headers: zero (they may carry addresses: record route,
//     source route, timestamps, home address);
//   - NFLOG attributes: their type and length, and the value only of
//     the packet header (1), timestamp (3), hardware type (15) and
//     hardware header length (17);
//   - Linux cooked headers: not the link-layer address field (a MAC
//     there is mapped as a field).
//
// Address fields inside headers are overwritten afterwards (field).
func (f *frame) header(h decode.Header) {
	off, n := h.Off, h.Len
	switch h.Kind {
	case decode.HeaderIPv4Options:
		return
	case decode.HeaderIPv6Ext:
		switch uint8(h.Sub) {
		case decode.ProtoRouting, decode.ProtoDstOpts, decode.ProtoMobility:
			n = min(n, 2)
		}
	case decode.HeaderNFLOGAttr:
		switch h.Sub {
		case 1, 3, 15, 17:
		default:
			n = min(n, 4)
		}
	case decode.HeaderSLL: // packet type, ARPHRD, address length; protocol
		f.keep(off+14, n-14)
		n = min(n, 6)
	case decode.HeaderSLL2: // protocol, reserved, ifindex, ARPHRD, packet type, address length
		n = min(n, 12)
	}
	f.keep(off, n)
}

// keep copies in[off:off+n] (clipped to the frame) to out.
func (f *frame) keep(off, n int) {
	end := min(off+n, len(f.in))
	if off < 0 || off >= end {
		return
	}
	copy(f.out[off:end], f.in[off:end])
}

// keepRange copies in[off:end] (clipped) to out.
func (f *frame) keepRange(off, end int) { f.keep(off, end-off) }

// field writes the pseudonym of an address field captured whole; a
// partial one is zeroed. Ports stay as the header has them.
func (f *frame) field(a decode.Field) {
	if a.Kind == decode.FieldPorts {
		return
	}
	in, out := f.in[a.Off:a.Off+a.Len], f.out[a.Off:a.Off+a.Len]
	if a.Len < a.Kind.Size() {
		clear(out)
		return
	}
	switch a.Kind {
	case decode.FieldMAC:
		r := f.m.MAC([6]byte(in))
		copy(out, r[:])
	case decode.FieldIPv4:
		r := f.m.IPv4([4]byte(in))
		copy(out, r[:])
	case decode.FieldIPv6:
		r := f.m.IPv6([16]byte(in))
		copy(out, r[:])
	}
}

// checksums recomputes the IPv4 header checksums (over the rewritten
// header, options zero) and then adjusts the others, innermost first (an
// outer checksum covers the inner checksum fields and IPv4 headers):
// the ones'-complement sum of the covered captured bytes (and
// pseudo-header addresses) before and after tells how much to change it
// (RFC 1624), so a checksum over bytes the snaplen cut off stays right,
// and a wrong one stays wrong by the same amount. A UDP checksum of 0
// (none) stays 0, and a UDP result of 0 is written as 0xffff.
func (f *frame) checksums() {
	cks := f.lay.Checksums()
	for _, c := range cks {
		if c.Kind == decode.ChecksumIPv4 {
			f.out[c.Off], f.out[c.Off+1] = 0, 0
			binary.BigEndian.PutUint16(f.out[c.Off:], ^fold(sum(f.out[c.Start:c.End], 0)))
		}
	}
	for i := len(cks) - 1; i >= 0; i-- {
		c := &cks[i]
		if c.Kind == decode.ChecksumIPv4 {
			continue
		}
		udp := c.Kind == decode.ChecksumUDP
		hc := binary.BigEndian.Uint16(f.in[c.Off:])
		if udp && hc == 0 {
			f.out[c.Off], f.out[c.Off+1] = 0, 0
			continue
		}
		old, cur := uint64(0), uint64(0)
		if c.Off > c.Start {
			old = sum(f.in[c.Start:c.Off], old)
			cur = sum(f.out[c.Start:c.Off], cur)
		}
		if c.Off+2 < c.End {
			old = sum(f.in[c.Off+2:c.End], old)
			cur = sum(f.out[c.Off+2:c.End], cur)
		}
		if n := c.AddrLen; n > 0 {
			old = sum(f.in[c.Src:c.Src+n], old)
			old = sum(f.in[c.Dst:c.Dst+n], old)
			cur = sum(f.out[c.Src:c.Src+n], cur)
			cur = sum(f.out[c.Dst:c.Dst+n], cur)
		}
		// RFC 1624: HC' = ~(~HC + ~m + m'), summed over every changed word.
		v := uint64(^hc) + uint64(^fold(old)) + uint64(fold(cur))
		res := ^fold(v)
		if udp && res == 0 {
			res = 0xffff
		}
		binary.BigEndian.PutUint16(f.out[c.Off:], res)
	}
}

// sum adds the bytes of b to acc as big-endian 16-bit words (an odd last
// byte is the high half of a word).
func sum(b []byte, acc uint64) uint64 {
	for len(b) >= 8 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:]))
		b = b[8:]
	}
	for len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	return acc
}

// fold folds a ones'-complement sum to 16 bits.
func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}
