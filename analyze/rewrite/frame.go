package rewrite

import (
	"encoding/binary"

	"github.com/ctcpdiag/ctcpdiag/internal/anon"
)

// Link types (LINKTYPE_ values) the rewriter walks; the same list the
// decoder accepts.
const (
	linkNull         = 0
	linkEthernet     = 1
	linkPPP          = 9
	linkRawDLT12     = 12
	linkRawDLT14     = 14
	linkPPPHDLC      = 50
	linkRaw          = 101
	linkCHDLC        = 104
	linkIEEE80211    = 105
	linkLoop         = 108
	linkLinuxSLL     = 113
	linkPPPWithDir   = 204
	linkCHDLCWithDir = 205
	linkIPv4         = 228
	linkIPv6         = 229
	linkNFLOG        = 239
	linkLinuxSLL2    = 276
)

// EtherTypes and IP protocols followed.
const (
	etherIPv4      = 0x0800
	etherARP       = 0x0806
	etherIPv6      = 0x86dd
	etherDot1Q     = 0x8100
	etherQinQ      = 0x88a8
	etherQinQOld   = 0x9100
	etherQinQOld2  = 0x9200
	etherMPLS      = 0x8847
	etherMPLSMcast = 0x8848
	etherPPPoESess = 0x8864
	etherVNTag     = 0x8926
	etherTEB       = 0x6558
	etherERSPAN2   = 0x88be
	etherERSPAN3   = 0x22eb
	etherPPP       = 0x880b

	protoICMP   = 1
	protoIPIP   = 4
	protoTCP    = 6
	protoUDP    = 17
	protoIPv6   = 41
	protoGRE    = 47
	protoESP    = 50
	protoAH     = 51
	protoICMPv6 = 58
	protoIPComp = 108

	protoHopOpts  = 0
	protoRouting  = 43
	protoFragment = 44
	protoDstOpts  = 60
	protoMobility = 135
)

// maxFixups bounds the checksums fixed in one frame (tunnels nest).
const maxFixups = 16

// fixup is a checksum to adjust once the frame is rewritten: the
// ones'-complement sum of the covered captured bytes (and pseudo-header
// addresses) before and after tells how much to change it (RFC 1624), so
// a checksum over bytes the snaplen cut off stays right, and a wrong one
// stays wrong by the same amount.
type fixup struct {
	ck         int // offset of the 16-bit checksum field
	start, end int // covered captured bytes
	// addr, alen: offsets and length of the pseudo-header's source and
	// destination addresses (alen 0: no pseudo-header).
	src, dst, alen int
	udp            bool // a result of 0 is written as 0xffff
}

// frame rewrites one frame: in is the original, out (same length) starts
// zeroed and receives only what is kept, with addresses mapped. Every
// header the decoder reads is copied; everything else stays zero.
type frame struct {
	m       *anon.Mapper
	in, out []byte
	repEnd  int // like the decoder's: where the reported data ends
	inError bool
	withDir bool
	fix     [maxFixups]fixup
	nfix    int
	depth   int
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

// mac4 maps the 6-byte MAC at off if it is captured whole; a partial one
// stays zero.
func (f *frame) mac(off int) {
	if off < 0 || off+6 > len(f.in) {
		return
	}
	r := f.m.MAC([6]byte(f.in[off : off+6]))
	copy(f.out[off:], r[:])
}

// ip4addr maps the IPv4 address at off if it is captured whole.
func (f *frame) ip4addr(off int) {
	if off < 0 || off+4 > len(f.in) {
		return
	}
	r := f.m.IPv4([4]byte(f.in[off : off+4]))
	copy(f.out[off:], r[:])
}

// ip6addr maps the IPv6 address at off if it is captured whole.
func (f *frame) ip6addr(off int) {
	if off < 0 || off+16 > len(f.in) {
		return
	}
	r := f.m.IPv6([16]byte(f.in[off : off+16]))
	copy(f.out[off:], r[:])
}

func (f *frame) u16(off int) uint16 { return binary.BigEndian.Uint16(f.in[off:]) }

func (f *frame) addFix(x fixup) {
	if f.nfix < maxFixups && x.ck >= 0 && x.ck+2 <= len(f.in) && x.end <= len(f.in) {
		f.fix[f.nfix] = x
		f.nfix++
	}
}

// run rewrites the frame of the given link type; origLen is its length on
// the wire.
func (f *frame) run(linkType uint16, origLen int) {
	clear(f.out)
	f.nfix, f.depth, f.inError = 0, 0, false
	f.repEnd = max(origLen, len(f.in))
	f.withDir = linkType == linkPPPWithDir || linkType == linkCHDLCWithDir
	end := len(f.in)
	switch linkType {
	case linkEthernet:
		f.ether(0, end)
	case linkNull, linkLoop:
		if end < 4 {
			return
		}
		f.keep(0, 4)
		fam := binary.BigEndian.Uint32(f.in) // either byte order, as gopacket reads it
		if fam > 0xff {
			fam = binary.LittleEndian.Uint32(f.in)
		}
		switch fam {
		case 2:
			f.ip4(4, end)
		case 10, 24, 28, 30:
			f.ip6(4, end)
		}
	case linkPPP, linkPPPHDLC:
		f.ppp(0, end, true)
	case linkPPPWithDir:
		f.keep(0, 1)
		f.ppp(1, end, true)
	case linkCHDLC:
		f.chdlc(0, end)
	case linkCHDLCWithDir:
		f.keep(0, 1)
		f.chdlc(1, end)
	case linkRaw, linkRawDLT12, linkRawDLT14:
		f.ipByNibble(0, end)
	case linkIPv4:
		f.ip4(0, end)
	case linkIPv6:
		f.ip6(0, end)
	case linkIEEE80211:
		f.dot11(0, end)
	case linkLinuxSLL:
		f.sll(0, end)
	case linkLinuxSLL2:
		f.sll2(0, end)
	case linkNFLOG:
		f.nflog(0, end)
	}
	f.applyFixups()
}

// enter guards against unbounded nesting of tunnels.
func (f *frame) enter() bool {
	f.depth++
	return f.depth <= 32
}

// etherType follows an EtherType found at the end of a link header.
func (f *frame) etherType(t uint16, off, end int) {
	if !f.enter() {
		return
	}
	switch t {
	case etherIPv4:
		f.ip4(off, end)
	case etherIPv6:
		f.ip6(off, end)
	case etherARP:
		f.arp(off, end)
	case etherDot1Q, etherQinQ, etherQinQOld, etherQinQOld2:
		if end-off < 4 {
			return
		}
		f.keep(off, 4)
		next := f.u16(off + 2)
		if next < 0x0600 {
			f.llc(off+4, end)
			return
		}
		f.etherType(next, off+4, end)
	case etherMPLS, etherMPLSMcast:
		f.mpls(off, end)
	case etherPPPoESess:
		if end-off < 8 {
			return
		}
		f.keep(off, 8)
		if f.in[off+1] != 0 {
			return
		}
		pend := end
		if n := int(f.u16(off + 4)); n >= 2 {
			pend = f.limit(off+8, end, n-2)
		}
		f.pppProto(binary.BigEndian.Uint16(f.in[off+6:]), off+8, pend)
	case etherVNTag:
		if end-off < 6 {
			return
		}
		f.keep(off, 6)
		f.etherType(f.u16(off+4), off+6, end)
	}
}

// limit mirrors the decoder's: a length field n at off shorter than the
// data ends the data and the reported frame there.
func (f *frame) limit(off, end, n int) int {
	if n < 0 || n >= end-off && off+n >= f.repEnd {
		return end
	}
	f.repEnd = min(f.repEnd, off+n)
	return off + min(n, end-off)
}

func (f *frame) ether(off, end int) {
	if !f.enter() {
		return
	}
	f.mac(off)
	f.mac(off + 6)
	if end-off < 14 {
		return
	}
	f.keep(off+12, 2)
	t := f.u16(off + 12)
	if t < 0x0600 {
		// 802.3 length: the payload ends there.
		pend := end
		if n := int(t); off+14+n < end {
			pend = off + 14 + n
		}
		f.llc(off+14, pend)
		return
	}
	f.etherType(t, off+14, end)
}

// llc follows 802.2 LLC and SNAP to an EtherType.
func (f *frame) llc(off, end int) {
	if end-off < 3 {
		return
	}
	n := 3
	if c := f.in[off+2]; c&1 == 0 || c&3 == 1 {
		n = 4
	}
	if end-off < n {
		return
	}
	f.keep(off, n)
	if f.in[off]&0xfe != 0xaa || f.in[off+1]&0xfe != 0xaa {
		return
	}
	off += n
	if end-off < 5 {
		return
	}
	f.keep(off, 5)
	f.etherType(f.u16(off+3), off+5, end)
}

func (f *frame) arp(off, end int) {
	if end-off < 8 {
		return
	}
	f.keep(off, 8)
	ptype := f.u16(off + 2)
	hlen, plen := int(f.in[off+4]), int(f.in[off+5])
	p := off + 8
	for range 2 {
		if p+hlen > end {
			return
		}
		if hlen == 6 {
			f.mac(p)
		}
		p += hlen
		if p+plen > end {
			return
		}
		switch {
		case ptype == etherIPv4 && plen == 4:
			f.ip4addr(p)
		case ptype == etherIPv6 && plen == 16:
			f.ip6addr(p)
		}
		p += plen
	}
}

func (f *frame) mpls(off, end int) {
	for {
		if end-off < 4 {
			return
		}
		f.keep(off, 4)
		bottom := f.in[off+2]&1 == 1
		off += 4
		if bottom {
			break
		}
	}
	f.ipByNibble(off, end)
}

func (f *frame) ipByNibble(off, end int) {
	if off >= end {
		return
	}
	switch f.in[off] >> 4 {
	case 4:
		f.ip4(off, end)
	case 6:
		f.ip6(off, end)
	default:
		f.keep(off, 1) // the version nibble decides the decoder's error
	}
}

// ppp decodes PPP as the decoder does: an optional Cisco HDLC address
// (when hdlc), optional ff 03, a one- or two-byte protocol.
func (f *frame) ppp(off, end int, hdlc bool) {
	if hdlc && end-off >= 2 && (f.in[off] == 0x0f || f.in[off] == 0x8f) && f.in[off+1] == 0 {
		f.chdlc(off, end)
		return
	}
	if end-off >= 2 && f.in[off] == 0xff && f.in[off+1] == 0x03 {
		f.keep(off, 2)
		off += 2
	}
	if end-off < 1 {
		return
	}
	if f.in[off]&1 == 1 {
		f.keep(off, 1)
		f.pppProto(uint16(f.in[off]), off+1, end)
		return
	}
	if end-off < 2 {
		return
	}
	f.keep(off, 2)
	f.pppProto(f.u16(off), off+2, end)
}

func (f *frame) pppProto(proto uint16, off, end int) {
	switch proto {
	case 0x0021:
		f.ip4(off, end)
	case 0x0057:
		f.ip6(off, end)
	case 0x0281, 0x0283:
		f.mpls(off, end)
	}
}

func (f *frame) chdlc(off, end int) {
	if end-off < 4 {
		return
	}
	f.keep(off, 4)
	f.etherType(f.u16(off+2), off+4, end)
}

// sllProto mirrors the decoder's choice after a Linux cooked header.
func (f *frame) sllNext(arphrd, proto uint16, off, end int) {
	if arphrd != 778 && proto == 0x0004 {
		f.llc(off, end)
		return
	}
	f.etherType(proto, off, end)
}

func (f *frame) sll(off, end int) {
	if end-off < 16 {
		return
	}
	f.keep(off, 6)
	if f.u16(off+4) == 6 {
		f.mac(off + 6)
	}
	f.keep(off+14, 2)
	f.sllNext(f.u16(off+2), f.u16(off+14), off+16, end)
}

func (f *frame) sll2(off, end int) {
	if end-off < 20 {
		return
	}
	f.keep(off, 12) // protocol, reserved, ifindex, hatype, pkttype, halen
	if f.in[off+11] == 6 {
		f.mac(off + 12)
	}
	f.sllNext(f.u16(off+8), f.u16(off), off+20, end)
}

// nflog keeps the TLV structure and the attributes that say nothing about
// hosts (packet header, timestamp, hardware type and header length),
// zeroes the others (MAC, hardware header, prefix, uid, gid...) and
// rewrites the payload attribute.
func (f *frame) nflog(off, end int) {
	if end-off < 4 {
		return
	}
	f.keep(off, 4)
	family := f.in[off]
	p := off + 4
	var order binary.ByteOrder = binary.LittleEndian
	if end-p >= 4 {
		if n := int(binary.LittleEndian.Uint16(f.in[p:])); n < 4 || n > end-p {
			order = binary.BigEndian
		}
	}
	for end-p >= 4 {
		n := int(order.Uint16(f.in[p:]))
		typ := order.Uint16(f.in[p+2:]) & 0x7fff
		if n < 4 || n > end-p {
			return
		}
		f.keep(p, 4)
		switch typ {
		case 1, 3, 15, 17:
			f.keep(p+4, n-4)
		case 9:
			switch family {
			case 2:
				f.ip4(p+4, p+n)
			case 10:
				f.ip6(p+4, p+n)
			default:
				f.ipByNibble(p+4, p+n)
			}
			return
		}
		n = (n + 3) &^ 3
		if n > end-p {
			return
		}
		p += n
	}
}

// dot11 maps the addresses of an 802.11 frame and follows data frames
// (not protected, not null, not A-MSDU) into LLC.
func (f *frame) dot11(off, end int) {
	if end-off < 2 {
		return
	}
	f.keep(off, 4) // frame control, duration
	fc0, fc1 := f.in[off], f.in[off+1]
	typ, subtype := (fc0>>2)&3, fc0>>4
	switch typ {
	case 0: // management: three addresses, sequence control; body dropped
		f.mac(off + 4)
		f.mac(off + 10)
		f.mac(off + 16)
		f.keep(off+22, 2)
		return
	case 1: // control: receiver, and transmitter for some subtypes
		f.mac(off + 4)
		switch subtype {
		case 8, 9, 10, 11, 14, 15:
			f.mac(off + 10)
		}
		return
	case 2:
	default:
		return
	}
	f.mac(off + 4)
	f.mac(off + 10)
	f.mac(off + 16)
	f.keep(off+22, 2)
	n := 24
	if fc1&3 == 3 {
		f.mac(off + 24)
		n += 6
	}
	if subtype&8 != 0 {
		n += 2
		if fc1&0x80 != 0 {
			n += 4
		}
	}
	if fc0&3 != 0 || fc1&0x40 != 0 || subtype&4 != 0 || end-off < n {
		return
	}
	f.keepRange(off+24+6*boolInt(fc1&3 == 3), off+n)
	if subtype&8 != 0 && f.in[off+n-2-boolInt(fc1&0x80 != 0)*4]&0x80 != 0 {
		return // A-MSDU
	}
	f.llc(off+n, end)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
