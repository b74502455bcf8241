package decode

import (
	"encoding/binary"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Layer types gopacket lacks. The numbers lie in the range gopacket leaves
// to applications (>= 2000, looked up in a map only when printed).
var (
	layerTypeSLL2         = gopacket.RegisterLayerType(29001, gopacket.LayerTypeMetadata{Name: "LinuxSLL2"})
	layerTypeNFLOG        = gopacket.RegisterLayerType(29002, gopacket.LayerTypeMetadata{Name: "NFLOG"})
	layerTypeCHDLC        = gopacket.RegisterLayerType(29003, gopacket.LayerTypeMetadata{Name: "CiscoHDLC"})
	layerTypeCHDLCWithDir = gopacket.RegisterLayerType(29004, gopacket.LayerTypeMetadata{Name: "CiscoHDLCWithDir"})
	layerTypePPPWithDir   = gopacket.RegisterLayerType(29005, gopacket.LayerTypeMetadata{Name: "PPPWithDir"})
	layerTypeRawIP        = gopacket.RegisterLayerType(29006, gopacket.LayerTypeMetadata{Name: "RawIP"})
	layerTypeVNTag        = gopacket.RegisterLayerType(29007, gopacket.LayerTypeMetadata{Name: "VNTag"})
	layerTypeERSPAN3      = gopacket.RegisterLayerType(29008, gopacket.LayerTypeMetadata{Name: "ERSPANIII"})
	layerTypePPPNoAddr    = gopacket.RegisterLayerType(29009, gopacket.LayerTypeMetadata{Name: "PPPProtocol"})
)

// ethernetLayer is gopacket's Ethernet decoder with our own choice of the
// next layer (gopacket maps neither 0x9100 QinQ nor VN-Tag).
type ethernetLayer struct {
	layers.Ethernet
	d *Decoder
}

func (l *ethernetLayer) DecodeFromBytes(b []byte, df gopacket.DecodeFeedback) error {
	if l.d.rec != nil {
		l.d.recEthernet(b)
	}
	if l.Ethernet.DecodeFromBytes(b, df) != nil {
		return errShortEthernet
	}
	return nil
}

// recEthernet records an Ethernet header at b: the MACs and, when
// captured whole, the EtherType.
func (d *Decoder) recEthernet(b []byte) {
	n := 14
	if len(b) < n {
		n = 12 // the MACs: a partial EtherType is not read
	}
	d.hdr(HeaderEthernet, b, 0, n)
	d.fld(FieldMAC, b, 0)
	d.fld(FieldMAC, b, 6)
}

func (l *ethernetLayer) NextLayerType() gopacket.LayerType {
	if l.EthernetType == layers.EthernetTypeLLC {
		return layers.LayerTypeLLC
	}
	return etherNext(uint16(l.EthernetType))
}

// dot1qLayer is gopacket's 802.1Q decoder (also used for 802.1ad QinQ
// tags) with our own choice of the next layer.
type dot1qLayer struct {
	layers.Dot1Q
	d *Decoder
}

func (l *dot1qLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeDot1Q }

func (l *dot1qLayer) DecodeFromBytes(b []byte, df gopacket.DecodeFeedback) error {
	if l.Dot1Q.DecodeFromBytes(b, df) != nil {
		return errShortDot1Q
	}
	l.d.hdr(HeaderDot1Q, b, 0, 4)
	return nil
}

func (l *dot1qLayer) NextLayerType() gopacket.LayerType {
	if l.Type < 0x0600 {
		return layers.LayerTypeLLC
	}
	return etherNext(uint16(l.Type))
}

// snapLayer is gopacket's SNAP decoder with our own choice of the next
// layer.
type snapLayer struct {
	layers.SNAP
	d *Decoder
}

func (l *snapLayer) DecodeFromBytes(b []byte, df gopacket.DecodeFeedback) error {
	if l.SNAP.DecodeFromBytes(b, df) != nil {
		return errShortSNAP
	}
	l.d.hdr(HeaderSNAP, b, 0, 5)
	return nil
}

func (l *snapLayer) NextLayerType() gopacket.LayerType { return etherNext(uint16(l.Type)) }

// llcLayer is gopacket's 802.2 LLC decoder; SNAP follows for DSAP and
// SSAP 0xaa.
type llcLayer struct {
	layers.LLC
	d *Decoder
}

func (l *llcLayer) DecodeFromBytes(b []byte, df gopacket.DecodeFeedback) error {
	if l.LLC.DecodeFromBytes(b, df) != nil {
		return errShortLLC
	}
	l.d.hdr(HeaderLLC, b, 0, len(l.Contents))
	return nil
}

// loopbackLayer is gopacket's BSD loopback decoder (LINKTYPE_NULL and
// LINKTYPE_LOOP: a 4-byte address family in either byte order) with our
// own choice of the next layer.
type loopbackLayer struct {
	layers.Loopback
	d *Decoder
}

func (l *loopbackLayer) DecodeFromBytes(b []byte, df gopacket.DecodeFeedback) error {
	if len(b) < 4 {
		return errShortLoopback
	}
	l.d.hdr(HeaderLoopback, b, 0, 4)
	if l.Loopback.DecodeFromBytes(b, df) != nil {
		return errBadLoopback
	}
	return nil
}

func (l *loopbackLayer) NextLayerType() gopacket.LayerType {
	switch l.Family {
	case 2: // AF_INET
		return layers.LayerTypeIPv4
	case 10, 24, 28, 30: // AF_INET6: Linux, NetBSD/OpenBSD, FreeBSD, Darwin
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypeZero
}

// base holds the payload and next layer of our own decoding layers.
type base struct {
	d       *Decoder
	payload []byte
	next    gopacket.LayerType
}

func (b *base) LayerPayload() []byte              { return b.payload }
func (b *base) NextLayerType() gopacket.LayerType { return b.next }

func (b *base) set(payload []byte, next gopacket.LayerType) {
	b.payload, b.next = payload, next
}

// sllLayer decodes the Linux cooked header v1 (LINKTYPE_LINUX_SLL, 16
// bytes). gopacket's LinuxSLL slices the address with the length field
// unchecked, which panics on a bogus length.
type sllLayer struct{ base }

func (l *sllLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeLinuxSLL }

func (l *sllLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 16 {
		return errShortSLL
	}
	if l.d.rec != nil {
		l.d.hdr(HeaderSLL, b, 0, 16)
		if binary.BigEndian.Uint16(b[4:6]) == 6 {
			l.d.fld(FieldMAC, b, 6)
		}
	}
	l.set(b[16:], sllProto(binary.BigEndian.Uint16(b[2:4]), binary.BigEndian.Uint16(b[14:16])))
	return nil
}

// sllProto maps the protocol field of a Linux cooked header.
func sllProto(arphrd, proto uint16) gopacket.LayerType {
	switch {
	case arphrd == 778: // ARPHRD_IPGRE: the protocol is a GRE protocol type
		return etherNext(proto)
	case proto == 0x0004: // ETH_P_802_2: LLC follows
		return layers.LayerTypeLLC
	}
	return etherNext(proto)
}

// sll2Layer decodes the Linux cooked header v2 (LINKTYPE_LINUX_SLL2, 20
// bytes, protocol first).
type sll2Layer struct{ base }

func (l *sll2Layer) CanDecode() gopacket.LayerClass { return layerTypeSLL2 }

func (l *sll2Layer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 20 {
		return errShortSLL2
	}
	if l.d.rec != nil {
		l.d.hdr(HeaderSLL2, b, 0, 20)
		if b[11] == 6 {
			l.d.fld(FieldMAC, b, 12)
		}
	}
	l.set(b[20:], sllProto(binary.BigEndian.Uint16(b[8:10]), binary.BigEndian.Uint16(b[0:2])))
	return nil
}

// nflogLayer decodes LINKTYPE_NFLOG: a 4-byte header (address family,
// version, resource id) and TLV attributes whose length and type are in
// the capturing host's byte order; attribute 9 (NFULA_PAYLOAD) holds the
// IP packet.
type nflogLayer struct{ base }

func (l *nflogLayer) CanDecode() gopacket.LayerClass { return layerTypeNFLOG }

func (l *nflogLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 4 {
		return errShortNFLOG
	}
	l.d.hdr(HeaderNFLOG, b, 0, 4)
	family := b[0]
	rest := b[4:]
	var order binary.ByteOrder = binary.LittleEndian
	if len(rest) >= 4 {
		// Guess the byte order from the first attribute's length.
		if n := int(binary.LittleEndian.Uint16(rest)); n < 4 || n > len(rest) {
			order = binary.BigEndian
		}
	}
	for len(rest) >= 4 {
		n := int(order.Uint16(rest))
		typ := order.Uint16(rest[2:]) & 0x7fff
		if n < 4 || n > len(rest) {
			return errBadNFLOG
		}
		l.d.hdrSub(HeaderNFLOGAttr, rest, 0, n, typ)
		if typ == 9 {
			payload := rest[4:n]
			switch family {
			case 2:
				l.set(payload, layers.LayerTypeIPv4)
			case 10:
				l.set(payload, layers.LayerTypeIPv6)
			default:
				l.set(payload, layerTypeRawIP)
			}
			return nil
		}
		n = (n + 3) &^ 3
		if n > len(rest) {
			break
		}
		rest = rest[n:]
	}
	l.set(nil, gopacket.LayerTypeZero)
	return nil
}

// chdlcLayer decodes Cisco HDLC (LINKTYPE_C_HDLC): address, control and an
// EtherType. withDir is set for LINKTYPE_C_HDLC_WITH_DIR (one direction
// byte first).
type chdlcLayer struct {
	base
}

func (l *chdlcLayer) CanDecode() gopacket.LayerClass {
	return gopacket.NewLayerClass([]gopacket.LayerType{layerTypeCHDLC, layerTypeCHDLCWithDir})
}

func (l *chdlcLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if l.d.withDir && l.d.offset(b) == 0 {
		if len(b) < 1 {
			return errShortCHDLC
		}
		l.d.hdr(HeaderDirection, b, 0, 1)
		b = b[1:]
	}
	if len(b) < 4 {
		return errShortCHDLC
	}
	l.d.hdr(HeaderCHDLC, b, 0, 4)
	l.set(b[4:], etherNext(binary.BigEndian.Uint16(b[2:4])))
	return nil
}

// pppLayer decodes PPP (LINKTYPE_PPP, LINKTYPE_PPP_HDLC, PPP in GRE or
// PPPoE): an optional ff 03 address and control, then a one- or two-byte
// protocol. A frame of LINKTYPE_PPP that starts with a Cisco HDLC address
// (0x0f or 0x8f) is decoded as Cisco HDLC, as Wireshark does.
type pppLayer struct{ base }

func (l *pppLayer) CanDecode() gopacket.LayerClass {
	return gopacket.NewLayerClass([]gopacket.LayerType{layers.LayerTypePPP, layerTypePPPWithDir, layerTypePPPNoAddr})
}

func (l *pppLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	d := l.d
	if d.withDir && d.offset(b) == 0 {
		if len(b) < 1 {
			return errShortPPP
		}
		d.hdr(HeaderDirection, b, 0, 1)
		b = b[1:]
	}
	if len(b) >= 2 && (b[0] == 0x0f || b[0] == 0x8f) && b[1] == 0x00 {
		d.hdr(HeaderCHDLC, b, 0, 4)
		if len(b) < 4 {
			return errShortCHDLC
		}
		l.set(b[4:], etherNext(binary.BigEndian.Uint16(b[2:4])))
		return nil
	}
	n := 0
	if len(b) >= 2 && b[0] == 0xff && b[1] == 0x03 {
		n = 2
	}
	var proto uint16
	switch {
	case len(b) < n+1:
		d.hdr(HeaderPPP, b, 0, n)
		return errShortPPP
	case b[n]&1 == 1: // protocol field compressed to one byte
		proto = uint16(b[n])
		n++
	case len(b) < n+2:
		d.hdr(HeaderPPP, b, 0, n)
		return errShortPPP
	default:
		proto = binary.BigEndian.Uint16(b[n:])
		n += 2
	}
	if n == 1 && (b[0] == 0x0f || b[0] == 0x8f) {
		d.hdr(HeaderPPP, b, 0, 2) // with the byte read to tell it from Cisco HDLC
	} else {
		d.hdr(HeaderPPP, b, 0, n)
	}
	l.set(b[n:], pppNext(proto))
	return nil
}

func pppNext(proto uint16) gopacket.LayerType {
	switch proto {
	case 0x0021:
		return layers.LayerTypeIPv4
	case 0x0057:
		return layers.LayerTypeIPv6
	case 0x0281, 0x0283:
		return layers.LayerTypeMPLS
	}
	return gopacket.LayerTypeZero
}

// pppoeLayer decodes a PPPoE session header (6 bytes) and the PPP protocol
// that follows it.
type pppoeLayer struct{ base }

func (l *pppoeLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypePPPoE }

func (l *pppoeLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 8 {
		return errShortPPPoE
	}
	l.d.hdr(HeaderPPPoE, b, 0, 8)
	if b[1] != 0 { // not a session data packet
		l.set(nil, gopacket.LayerTypeZero)
		return nil
	}
	payload := b[8:]
	if n := int(binary.BigEndian.Uint16(b[4:6])); n >= 2 {
		payload = l.d.limit(payload, n-2) // strip Ethernet padding
	}
	l.set(payload, pppNext(binary.BigEndian.Uint16(b[6:8])))
	return nil
}

// mplsLayer decodes an MPLS label stack and picks IPv4 or IPv6 from the
// first nibble after the bottom of stack.
type mplsLayer struct{ base }

func (l *mplsLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeMPLS }

func (l *mplsLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	n := 0
	for {
		if len(b) < n+4 {
			l.d.hdr(HeaderMPLS, b, 0, n)
			return errShortMPLS
		}
		n += 4
		if b[n-2]&1 == 1 { // bottom of stack
			break
		}
	}
	l.d.hdr(HeaderMPLS, b, 0, n)
	l.set(b[n:], l.d.ipNext(b[n:]))
	return nil
}

// ipByNibble picks IPv4 or IPv6 from the version nibble of b.
func ipByNibble(b []byte) gopacket.LayerType {
	if len(b) == 0 {
		return gopacket.LayerTypeZero
	}
	switch b[0] >> 4 {
	case 4:
		return layers.LayerTypeIPv4
	case 6:
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypeZero
}

// ipNext is ipByNibble that records a byte of another version as
// HeaderIPVersion.
func (d *Decoder) ipNext(b []byte) gopacket.LayerType {
	next := ipByNibble(b)
	if next == gopacket.LayerTypeZero {
		d.hdr(HeaderIPVersion, b, 0, 1)
	}
	return next
}

// rawLayer starts a raw IP frame (LINKTYPE_RAW and DLT_RAW): IPv4 or IPv6
// by the version nibble.
type rawLayer struct{ base }

func (l *rawLayer) CanDecode() gopacket.LayerClass { return layerTypeRawIP }

func (l *rawLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	next := l.d.ipNext(b)
	if next == gopacket.LayerTypeZero && len(b) > 0 {
		return errIPVersion
	}
	l.set(b, next)
	return nil
}

// vntagLayer decodes a Cisco VN-Tag (EtherType 0x8926): 4 bytes of tag and
// the next EtherType.
type vntagLayer struct{ base }

func (l *vntagLayer) CanDecode() gopacket.LayerClass { return layerTypeVNTag }

func (l *vntagLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 6 {
		return errShortVNTag
	}
	l.d.hdr(HeaderVNTag, b, 0, 6)
	l.set(b[6:], etherNext(binary.BigEndian.Uint16(b[4:6])))
	return nil
}

// arpLayer records an ARP packet's fixed header and, where they are
// captured, its hardware addresses when 6 bytes long (MACs) and its
// protocol addresses when IPv4 or IPv6 (RFC 826); decoding ends there.
type arpLayer struct{ base }

func (l *arpLayer) CanDecode() gopacket.LayerClass { return layers.LayerTypeARP }

func (l *arpLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	l.set(nil, gopacket.LayerTypeZero)
	d := l.d
	if d.rec == nil || len(b) < 8 {
		return nil
	}
	d.hdr(HeaderARP, b, 0, 8)
	ptype := binary.BigEndian.Uint16(b[2:4])
	hlen, plen := int(b[4]), int(b[5])
	var pk FieldKind
	switch {
	case ptype == etherIPv4 && plen == 4:
		pk = FieldIPv4
	case ptype == etherIPv6 && plen == 16:
		pk = FieldIPv6
	}
	// Sender then target: hardware address, protocol address.
	i := 8
	for range 2 {
		if i+hlen > len(b) {
			return nil
		}
		if hlen == 6 {
			d.fld(FieldMAC, b, i)
		}
		i += hlen
		if i+plen > len(b) {
			return nil
		}
		if pk != 0 {
			d.fld(pk, b, i)
		}
		i += plen
	}
	return nil
}
