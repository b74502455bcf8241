package decode

import (
	"github.com/google/gopacket"
)

// The numbers the decoder knows: link types, EtherTypes and IP protocol
// numbers, with their names and the layer that decodes what follows.
// They are the one table of them in ctcpdiag: the walk of Decode follows
// them, the anonymizer (analyze/rewrite) rewrites what that walk records
// (Layout), and analyze.LinkTypeName names link types from it.

// Link types (LINKTYPE_ values from the pcap and pcapng headers,
// https://www.tcpdump.org/linktypes.html) that Decode accepts.
const (
	LinkNull         uint16 = 0
	LinkEthernet     uint16 = 1
	LinkPPP          uint16 = 9
	LinkRawDLT12     uint16 = 12 // DLT_RAW on most BSDs, written as-is by some tools
	LinkRawDLT14     uint16 = 14 // DLT_RAW on OpenBSD, written as-is by some tools
	LinkPPPHDLC      uint16 = 50
	LinkRaw          uint16 = 101
	LinkCHDLC        uint16 = 104
	LinkIEEE80211    uint16 = 105
	LinkLoop         uint16 = 108
	LinkLinuxSLL     uint16 = 113
	LinkPPPWithDir   uint16 = 204
	LinkCHDLCWithDir uint16 = 205
	LinkIPv4         uint16 = 228
	LinkIPv6         uint16 = 229
	LinkNFLOG        uint16 = 239
	LinkLinuxSLL2    uint16 = 276
)

// linkTable lists the link types with a name or a decoder. name is the
// short name capinfos prints ("" where it has none); first is the layer
// that starts the frame (LayerTypeZero: not decoded); dir is set when a
// direction byte comes first.
var linkTable = [...]struct {
	lt    uint16
	name  string
	first gopacket.LayerType
	dir   bool
}{
	{LinkNull, "null", layerTypeLoopback, false},
	{LinkEthernet, "ether", layerTypeEthernet, false},
	{LinkPPP, "ppp", layerTypePPP, false},
	{LinkRawDLT12, "rawip", layerTypeRawIP, false},
	{LinkRawDLT14, "rawip", layerTypeRawIP, false},
	{LinkPPPHDLC, "ppp", layerTypePPP, false},
	{LinkRaw, "rawip", layerTypeRawIP, false},
	{LinkCHDLC, "chdlc", layerTypeCHDLC, false},
	{LinkIEEE80211, "ieee-802-11", layerTypeDot11, false},
	{LinkLoop, "loop", layerTypeLoopback, false},
	{LinkLinuxSLL, "linux-sll", layerTypeLinuxSLL, false},
	{127, "ieee-802-11-radiotap", gopacket.LayerTypeZero, false},
	{LinkPPPWithDir, "", layerTypePPPWithDir, true},
	{LinkCHDLCWithDir, "", layerTypeCHDLCWithDir, true},
	{LinkIPv4, "rawip4", layerTypeIPv4, false},
	{LinkIPv6, "rawip6", layerTypeIPv6, false},
	{LinkNFLOG, "nflog", layerTypeNFLOG, false},
	{LinkLinuxSLL2, "linux-sll2", layerTypeSLL2, false},
}

// LinkName returns the short name capinfos prints for a LINKTYPE_ value,
// "" where the table has none.
func LinkName(lt uint16) string {
	for i := range linkTable {
		if linkTable[i].lt == lt {
			return linkTable[i].name
		}
	}
	return ""
}

// linkFirst returns the layer that starts a frame of link type lt
// (LayerTypeZero for a link type Decode does not accept) and whether a
// direction byte comes first.
func linkFirst(lt uint16) (gopacket.LayerType, bool) {
	for i := range linkTable {
		if linkTable[i].lt == lt {
			return linkTable[i].first, linkTable[i].dir
		}
	}
	return gopacket.LayerTypeZero, false
}

// EtherTypes (IEEE 802 numbers, also GRE protocol types) the decoder
// follows.
const (
	etherIPv4       = 0x0800
	etherARP        = 0x0806
	etherIPv6       = 0x86dd
	etherDot1Q      = 0x8100
	etherQinQ       = 0x88a8
	etherQinQOld    = 0x9100
	etherQinQOld2   = 0x9200
	etherMPLS       = 0x8847
	etherMPLSMcast  = 0x8848
	etherPPPoESess  = 0x8864
	etherVNTag      = 0x8926
	etherTEB        = 0x6558 // transparent Ethernet bridging (GRE)
	etherERSPAN2    = 0x88be
	etherERSPAN3    = 0x22eb
	etherPPP        = 0x880b // PPP in GRE (PPTP)
	etherArubaFirst = 0x8200 // Aruba WLAN in GRE: 802.11 frame, no FCS
	etherArubaLast  = 0x82ff
)

// etherTable names the EtherTypes the decoder follows, the commonest
// first: etherNext after an Ethernet, 802.1Q, SNAP, VN-Tag, Linux cooked
// or Cisco HDLC header, greNext as a GRE protocol type (RFC 2784). Those
// two are switches, which cost less than a lookup in the table on the
// decoder's hot path; TestTables checks that they follow exactly the
// EtherTypes named here.
var etherTable = [...]struct {
	t    uint16
	name string
}{
	{etherIPv4, "IPv4"},
	{etherIPv6, "IPv6"},
	{etherDot1Q, "802.1Q"},
	{etherQinQ, "802.1ad"},
	{etherQinQOld, "802.1Q-in-Q"},
	{etherQinQOld2, "802.1Q-in-Q"},
	{etherARP, "ARP"},
	{etherMPLS, "MPLS"},
	{etherMPLSMcast, "MPLS multicast"},
	{etherPPPoESess, "PPPoE session"},
	{etherVNTag, "VN-Tag"},
	{etherTEB, "transparent Ethernet bridging"},
	{etherERSPAN2, "ERSPAN II"},
	{etherERSPAN3, "ERSPAN III"},
	{etherPPP, "PPP"},
}

// etherNext maps an EtherType found after an Ethernet, 802.1Q, VN-Tag, SNAP,
// Linux cooked or Cisco HDLC header to the layer that decodes what
// follows.
func etherNext(t uint16) gopacket.LayerType {
	switch t {
	case etherIPv4:
		return layerTypeIPv4
	case etherIPv6:
		return layerTypeIPv6
	case etherDot1Q, etherQinQ, etherQinQOld, etherQinQOld2:
		return layerTypeDot1Q
	case etherARP:
		return layerTypeARP
	case etherMPLS, etherMPLSMcast:
		return layerTypeMPLS
	case etherPPPoESess:
		return layerTypePPPoE
	case etherVNTag:
		return layerTypeVNTag
	}
	return gopacket.LayerTypeZero
}

// greNext maps a GRE protocol type to the layer that decodes what
// follows; seq says the GRE header has a sequence number.
func greNext(t uint16, seq bool) gopacket.LayerType {
	switch {
	case t == etherIPv4:
		return layerTypeIPv4
	case t == etherIPv6:
		return layerTypeIPv6
	case t == etherTEB:
		return layerTypeEthernet
	case t == etherERSPAN2 && seq:
		return layerTypeERSPANII
	case t == etherERSPAN2:
		return layerTypeEthernet // ERSPAN type I: no ERSPAN header
	case t == etherERSPAN3:
		return layerTypeERSPAN3
	case t == etherMPLS || t == etherMPLSMcast:
		return layerTypeMPLS
	case t == etherPPP:
		return layerTypePPPNoAddr
	case t >= etherArubaFirst && t <= etherArubaLast:
		return layerTypeDot11
	}
	return gopacket.LayerTypeZero
}

// EtherTypeName returns a short name of an EtherType the decoder follows,
// "" for another.
func EtherTypeName(t uint16) string {
	for _, e := range etherTable {
		if e.t == t {
			return e.name
		}
	}
	if t >= etherArubaFirst && t <= etherArubaLast {
		return "Aruba WLAN"
	}
	return ""
}

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers") the
// decoder follows or skips.
const (
	ProtoHopOpts  uint8 = 0
	ProtoICMP     uint8 = 1
	ProtoIPIP     uint8 = 4
	ProtoTCP      uint8 = 6
	ProtoUDP      uint8 = 17
	ProtoIPv6     uint8 = 41
	ProtoRouting  uint8 = 43
	ProtoFragment uint8 = 44
	ProtoGRE      uint8 = 47
	ProtoESP      uint8 = 50
	ProtoAH       uint8 = 51
	ProtoICMPv6   uint8 = 58
	ProtoNoNext   uint8 = 59
	ProtoDstOpts  uint8 = 60
	ProtoIPComp   uint8 = 108
	ProtoMobility uint8 = 135
)

// protoTable names the IP protocol numbers the decoder follows (protoNext)
// or skips (isExtension, and no next header), a switch each for the same
// reason as etherNext; TestTables checks them against the table.
var protoTable = [...]struct {
	p    uint8
	name string
}{
	{ProtoHopOpts, "IPv6 hop-by-hop options"},
	{ProtoICMP, "ICMP"},
	{ProtoIPIP, "IPv4"},
	{ProtoTCP, "TCP"},
	{ProtoUDP, "UDP"},
	{ProtoIPv6, "IPv6"},
	{ProtoRouting, "IPv6 routing"},
	{ProtoFragment, "IPv6 fragment"},
	{ProtoGRE, "GRE"},
	{ProtoESP, "ESP"},
	{ProtoAH, "AH"},
	{ProtoICMPv6, "ICMPv6"},
	{ProtoNoNext, "IPv6 no next header"},
	{ProtoDstOpts, "IPv6 destination options"},
	{ProtoIPComp, "IPComp"},
	{ProtoMobility, "IPv6 mobility"},
}

// ProtoName returns the name of an IP protocol number the decoder knows,
// "" for another.
func ProtoName(p uint8) string {
	for _, e := range protoTable {
		if e.p == p {
			return e.name
		}
	}
	return ""
}

// protoNext maps an IP protocol number to the layer that decodes it. In
// the packet an ICMP error quotes, only transports and ICMP are followed
// (not tunnels); IPComp is followed outside fragments (and only once:
// Decode inflates it).
func (d *Decoder) protoNext(proto uint8) gopacket.LayerType {
	switch proto {
	case ProtoTCP:
		return layerTypeTCP
	case ProtoUDP:
		return layerTypeUDP
	case ProtoESP:
		return layerTypeIPSecESP
	case ProtoICMP:
		return layerTypeICMPv4
	case ProtoICMPv6:
		return layerTypeICMPv6
	}
	if d.inError {
		return gopacket.LayerTypeZero
	}
	switch proto {
	case ProtoIPIP:
		return layerTypeIPv4
	case ProtoIPv6:
		return layerTypeIPv6
	case ProtoGRE:
		return layerTypeGRE
	case ProtoIPComp:
		if !d.p.Fragment {
			return layerTypeIPComp
		}
	}
	return gopacket.LayerTypeZero
}

// isExtension reports whether proto is an IPv6 extension header the
// decoder skips (hop-by-hop, routing, fragment, destination options,
// mobility, AH).
func isExtension(proto uint8) bool {
	switch proto {
	case ProtoHopOpts, ProtoRouting, ProtoFragment, ProtoDstOpts, ProtoMobility, ProtoAH:
		return true
	}
	return false
}
