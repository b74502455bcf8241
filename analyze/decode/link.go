package decode

import (
	"encoding/binary"

	"github.com/google/gopacket"
)

// Layer types. gopacket's layers package defines most of them, but
// linking it costs every run of the binary about 20 ms of package
// initialization (it fills metadata tables of 65,536 entries), so decode
// registers its own. The numbers lie in the range gopacket leaves to
// applications (>= 2000, looked up in a map only when printed), away from
// the layers package's, which tests link to compare with.
var (
	layerTypeEthernet = gopacket.RegisterLayerType(29020, gopacket.LayerTypeMetadata{Name: "Ethernet"})
	layerTypeDot1Q    = gopacket.RegisterLayerType(29021, gopacket.LayerTypeMetadata{Name: "Dot1Q"})
	layerTypeLLC      = gopacket.RegisterLayerType(29022, gopacket.LayerTypeMetadata{Name: "LLC"})
	layerTypeSNAP     = gopacket.RegisterLayerType(29023, gopacket.LayerTypeMetadata{Name: "SNAP"})
	layerTypeSTP      = gopacket.RegisterLayerType(29024, gopacket.LayerTypeMetadata{Name: "STP"})
	layerTypeLoopback = gopacket.RegisterLayerType(29025, gopacket.LayerTypeMetadata{Name: "Loopback"})
	layerTypeLinuxSLL = gopacket.RegisterLayerType(29026, gopacket.LayerTypeMetadata{Name: "LinuxSLL"})
	layerTypeARP      = gopacket.RegisterLayerType(29027, gopacket.LayerTypeMetadata{Name: "ARP"})
	layerTypePPP      = gopacket.RegisterLayerType(29028, gopacket.LayerTypeMetadata{Name: "PPP"})
	layerTypePPPoE    = gopacket.RegisterLayerType(29029, gopacket.LayerTypeMetadata{Name: "PPPoE"})
	layerTypeMPLS     = gopacket.RegisterLayerType(29030, gopacket.LayerTypeMetadata{Name: "MPLS"})
	layerTypeDot11    = gopacket.RegisterLayerType(29031, gopacket.LayerTypeMetadata{Name: "Dot11"})
	layerTypeGRE      = gopacket.RegisterLayerType(29032, gopacket.LayerTypeMetadata{Name: "GRE"})
	layerTypeERSPANII = gopacket.RegisterLayerType(29033, gopacket.LayerTypeMetadata{Name: "ERSPANII"})
	layerTypeVXLAN    = gopacket.RegisterLayerType(29034, gopacket.LayerTypeMetadata{Name: "VXLAN"})
	layerTypeGTPv1U   = gopacket.RegisterLayerType(29035, gopacket.LayerTypeMetadata{Name: "GTPv1U"})
	layerTypeIPv4     = gopacket.RegisterLayerType(29036, gopacket.LayerTypeMetadata{Name: "IPv4"})
	layerTypeIPv6     = gopacket.RegisterLayerType(29037, gopacket.LayerTypeMetadata{Name: "IPv6"})
	layerTypeTCP      = gopacket.RegisterLayerType(29038, gopacket.LayerTypeMetadata{Name: "TCP"})
	layerTypeUDP      = gopacket.RegisterLayerType(29039, gopacket.LayerTypeMetadata{Name: "UDP"})
	layerTypeIPSecESP = gopacket.RegisterLayerType(29040, gopacket.LayerTypeMetadata{Name: "IPSecESP"})
	layerTypeICMPv4   = gopacket.RegisterLayerType(29041, gopacket.LayerTypeMetadata{Name: "ICMPv4"})
	layerTypeICMPv6   = gopacket.RegisterLayerType(29042, gopacket.LayerTypeMetadata{Name: "ICMPv6"})
)

// Layer types gopacket lacks altogether.
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

// ethernetLayer decodes an Ethernet II or 802.3 header, as gopacket's
// Ethernet does (an 802.3 length is followed by LLC, and the payload is
// cut to that length), with our own choice of the next layer (gopacket
// maps neither 0x9100 QinQ nor VN-Tag).
type ethernetLayer struct{ base }

func (l *ethernetLayer) CanDecode() gopacket.LayerClass { return layerTypeEthernet }

func (l *ethernetLayer) DecodeFromBytes(b []byte, df gopacket.DecodeFeedback) error {
	if l.d.rec != nil {
		l.d.recEthernet(b)
	}
	if len(b) < 14 {
		return errShortEthernet
	}
	typ, payload := binary.BigEndian.Uint16(b[12:14]), b[14:]
	if typ < 0x0600 { // 802.3: a length, and LLC follows
		if n := int(typ); n < len(payload) {
			payload = payload[:n] // padding
		} else if n > len(payload) {
			df.SetTruncated() // as gopacket's Ethernet
		}
		l.set(payload, layerTypeLLC)
		return nil
	}
	l.set(payload, etherNext(typ))
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

// dot1qLayer decodes an 802.1Q tag (also an 802.1ad QinQ tag): 4 bytes,
// the last two the EtherType (below 0x0600, a length: LLC follows).
type dot1qLayer struct{ base }

func (l *dot1qLayer) CanDecode() gopacket.LayerClass { return layerTypeDot1Q }

func (l *dot1qLayer) DecodeFromBytes(b []byte, df gopacket.DecodeFeedback) error {
	if len(b) < 4 {
		df.SetTruncated() // as gopacket's Dot1Q
		return errShortDot1Q
	}
	l.d.hdr(HeaderDot1Q, b, 0, 4)
	typ := binary.BigEndian.Uint16(b[2:4])
	if typ < 0x0600 {
		l.set(b[4:], layerTypeLLC)
	} else {
		l.set(b[4:], etherNext(typ))
	}
	return nil
}

// snapLayer decodes a SNAP header (5 bytes: the organization code and an
// EtherType).
type snapLayer struct{ base }

func (l *snapLayer) CanDecode() gopacket.LayerClass { return layerTypeSNAP }

func (l *snapLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 5 {
		return errShortSNAP
	}
	l.d.hdr(HeaderSNAP, b, 0, 5)
	l.set(b[5:], etherNext(binary.BigEndian.Uint16(b[3:5])))
	return nil
}

// llcLayer decodes an 802.2 LLC header (3 bytes, or 4 with an I- or
// S-format control field); SNAP follows for DSAP and SSAP 0xaa, and STP
// (not decoded) for 0x42.
type llcLayer struct{ base }

func (l *llcLayer) CanDecode() gopacket.LayerClass { return layerTypeLLC }

func (l *llcLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 3 {
		return errShortLLC
	}
	n := 3
	if c := b[2]; c&0x1 == 0 || c&0x3 == 0x1 {
		if len(b) < 4 {
			return errShortLLC
		}
		n = 4
	}
	l.d.hdr(HeaderLLC, b, 0, n)
	next := gopacket.LayerTypeZero
	switch dsap, ssap := b[0]&0xfe, b[1]&0xfe; {
	case dsap == 0xaa && ssap == 0xaa:
		next = layerTypeSNAP
	case dsap == 0x42 && ssap == 0x42:
		next = layerTypeSTP
	}
	l.set(b[n:], next)
	return nil
}

// loopbackLayer decodes the BSD loopback header (LINKTYPE_NULL and
// LINKTYPE_LOOP): a 4-byte address family in either byte order (big
// endian when its first two bytes are zero), below 256.
type loopbackLayer struct{ base }

func (l *loopbackLayer) CanDecode() gopacket.LayerClass { return layerTypeLoopback }

func (l *loopbackLayer) DecodeFromBytes(b []byte, _ gopacket.DecodeFeedback) error {
	if len(b) < 4 {
		return errShortLoopback
	}
	l.d.hdr(HeaderLoopback, b, 0, 4)
	family := binary.LittleEndian.Uint32(b[:4])
	if b[0] == 0 && b[1] == 0 {
		family = binary.BigEndian.Uint32(b[:4])
	}
	if family > 0xff {
		return errBadLoopback
	}
	next := gopacket.LayerTypeZero
	switch family {
	case 2: // AF_INET
		next = layerTypeIPv4
	case 10, 24, 28, 30: // AF_INET6: Linux, NetBSD/OpenBSD, FreeBSD, Darwin
		next = layerTypeIPv6
	}
	l.set(b[4:], next)
	return nil
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

func (l *sllLayer) CanDecode() gopacket.LayerClass { return layerTypeLinuxSLL }

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
		return layerTypeLLC
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
				l.set(payload, layerTypeIPv4)
			case 10:
				l.set(payload, layerTypeIPv6)
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
	return gopacket.NewLayerClass([]gopacket.LayerType{layerTypePPP, layerTypePPPWithDir, layerTypePPPNoAddr})
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
		return layerTypeIPv4
	case 0x0057:
		return layerTypeIPv6
	case 0x0281, 0x0283:
		return layerTypeMPLS
	}
	return gopacket.LayerTypeZero
}

// pppoeLayer decodes a PPPoE session header (6 bytes) and the PPP protocol
// that follows it.
type pppoeLayer struct{ base }

func (l *pppoeLayer) CanDecode() gopacket.LayerClass { return layerTypePPPoE }

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

func (l *mplsLayer) CanDecode() gopacket.LayerClass { return layerTypeMPLS }

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
		return layerTypeIPv4
	case 6:
		return layerTypeIPv6
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

func (l *arpLayer) CanDecode() gopacket.LayerClass { return layerTypeARP }

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
