package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/google/gopacket"
)

// Errors returned by Decoder.Decode. Every error Decode returns wraps one of
// them; test with errors.Is.
var (
	// ErrUnsupportedLink reports a link type the decoder does not know.
	ErrUnsupportedLink = errors.New("unsupported link type")
	// ErrMalformed reports a frame whose headers cannot be decoded: too
	// short for a header, or a length field that contradicts the header.
	ErrMalformed = errors.New("malformed frame")
)

// malformed returns a package-level error wrapping ErrMalformed, built once
// so that the error path does not allocate either.
func malformed(reason string) error { return fmt.Errorf("%w: %s", ErrMalformed, reason) }

var (
	errShortEthernet = malformed("short Ethernet header")
	errShortDot1Q    = malformed("short 802.1Q tag")
	errShortLLC      = malformed("short LLC header")
	errShortSNAP     = malformed("short SNAP header")
	errShortLoopback = malformed("short loopback header")
	errBadLoopback   = malformed("bad loopback address family")
	errShortSLL      = malformed("short Linux cooked header")
	errShortSLL2     = malformed("short Linux cooked v2 header")
	errShortNFLOG    = malformed("short NFLOG header")
	errBadNFLOG      = malformed("bad NFLOG attribute length")
	errShortCHDLC    = malformed("short Cisco HDLC header")
	errShortPPP      = malformed("short PPP header")
	errShortPPPoE    = malformed("short PPPoE header")
	errShortMPLS     = malformed("short MPLS label stack")
	errShortVNTag    = malformed("short VN-Tag")
	errShortGRE      = malformed("short GRE header")
	errShortERSPAN   = malformed("short ERSPAN header")
	errShortDot11    = malformed("short 802.11 header")
	errShortGTP      = malformed("short GTP-U header")
	errShortVXLAN    = malformed("short VXLAN header")
	errShortIPv4     = malformed("short IPv4 header")
	errIPv4HdrLen    = malformed("IPv4 header length below 20")
	errIPv4TotLen    = malformed("IPv4 total length below header length")
	errShortIPv6     = malformed("short IPv6 header")
	errShortExt      = malformed("truncated IPv6 extension header")
	errShortTCP      = malformed("truncated TCP header")
	errTCPHdrLen     = malformed("TCP data offset below 20")
	errShortUDP      = malformed("truncated UDP header")
	errIPVersion     = malformed("bad IP version")
	errLinkTooShort  = malformed("frame shorter than link header")
)

// Decoder decodes frames into Packets. It keeps one gopacket
// DecodingLayerParser and its layers, reused for every frame, so Decode
// does not allocate. A Decoder is not safe for concurrent use; use one per
// goroutine.
type Decoder struct {
	// parsers holds one parser per first layer; they share the layers.
	parsers map[gopacket.LayerType]*gopacket.DecodingLayerParser
	decoded []gopacket.LayerType
	// The parser of the last link type seen, saving a map lookup per
	// frame.
	lastLink   uint16
	lastParser *gopacket.DecodingLayerParser
	lastDir    bool

	// Per-frame state used by the layers.
	p       *Packet
	frame   []byte
	repEnd  int // offset in frame where the reported (wire) data ends
	inError bool
	withDir bool // link type has a direction byte first
	// inflated is set once an IPComp payload was inflated: frame and
	// repEnd then describe the inflated bytes.
	inflated bool
	saved    errorOuter

	// rec is the Layout DecodeLayout fills, nil when not recording and
	// once an IPComp payload is inflated.
	rec *Layout
	// pseudo locates the addresses of the innermost IP header, for the
	// pseudo-header of a transport checksum (recorded only).
	pseudo struct{ src, dst, alen int }

	// Layers from gopacket, used as they are or with our own next-layer
	// choice.
	eth   ethernetLayer
	dot1q dot1qLayer
	loop  loopbackLayer
	llc   llcLayer
	snap  snapLayer
	arp   arpLayer

	// Our own layers.
	sll    sllLayer
	sll2   sll2Layer
	nflog  nflogLayer
	chdlc  chdlcLayer
	ppp    pppLayer
	pppoe  pppoeLayer
	mpls   mplsLayer
	vntag  vntagLayer
	raw    rawLayer
	gre    greLayer
	ersp2  erspan2Layer
	ersp3  erspan3Layer
	dot11  dot11Layer
	gtpu   gtpuLayer
	vxlan  vxlanLayer
	ip4    ipv4Layer
	ip6    ipv6Layer
	tcp    tcpLayer
	udp    udpLayer
	esp    espLayer
	icmp4  icmpLayer
	icmp6  icmpLayer
	ipcomp ipcompLayer
}

// errorOuter keeps the IP fields of an ICMP error message, restored when
// the quoted packet cannot be decoded.
type errorOuter struct {
	valid     bool
	ipVersion uint8
	proto     uint8
	src, dst  netip.Addr
	fragment  bool
	fragOff   int
	ttl       uint8
	ipid      uint16
	df        bool
}

// NewDecoder returns a Decoder ready for use.
func NewDecoder() *Decoder {
	d := &Decoder{decoded: make([]gopacket.LayerType, 0, 32)}
	d.eth.d, d.dot1q.d, d.loop.d, d.snap.d, d.llc.d, d.arp.d = d, d, d, d, d, d
	d.sll.d, d.sll2.d, d.nflog.d, d.chdlc.d, d.ppp.d = d, d, d, d, d
	d.pppoe.d, d.mpls.d, d.vntag.d, d.raw.d, d.gre.d = d, d, d, d, d
	d.ersp2.d, d.ersp3.d, d.dot11.d, d.gtpu.d, d.vxlan.d = d, d, d, d, d
	d.ip4.d, d.ip6.d, d.tcp.d, d.udp.d, d.esp.d = d, d, d, d, d
	d.icmp4.d, d.icmp6.d, d.ipcomp.d = d, d, d
	d.icmp4.v6 = false
	d.icmp6.v6 = true
	all := []gopacket.DecodingLayer{&d.eth, &d.dot1q, &d.loop, &d.llc, &d.snap, &d.arp,
		&d.sll, &d.sll2, &d.nflog, &d.chdlc, &d.ppp, &d.pppoe, &d.mpls,
		&d.vntag, &d.raw, &d.gre, &d.ersp2, &d.ersp3, &d.dot11, &d.gtpu, &d.vxlan,
		&d.ip4, &d.ip6, &d.tcp, &d.udp, &d.esp, &d.icmp4, &d.icmp6, &d.ipcomp}
	d.parsers = make(map[gopacket.LayerType]*gopacket.DecodingLayerParser)
	for _, e := range linkTable {
		if e.first == gopacket.LayerTypeZero || d.parsers[e.first] != nil {
			continue
		}
		dlp := gopacket.NewDecodingLayerParser(e.first, all...)
		// A panic in a layer is a bug: let it surface instead of turning
		// it into an error.
		dlp.IgnorePanic = true
		// An unknown next layer (LLDP...) ends decoding without error.
		dlp.IgnoreUnsupported = true
		d.parsers[e.first] = dlp
	}
	return d
}

// Decode decodes one frame of the given link type (a LINKTYPE_ value) into
// *p. It keeps p.Frame, p.Time, p.CapLen and p.OrigLen, which the caller
// sets before the call (OrigLen, when larger than len(data), tells Decode
// how long the frame was on the wire), and overwrites every other field.
//
// Decode returns nil for a frame that holds no IP (ARP, LLDP...: IPVersion
// is 0) as well as for an IP frame. It returns an error wrapping
// ErrUnsupportedLink or ErrMalformed for a frame it cannot decode; the
// fields it decoded before the failure (for example the IP header of a
// frame whose TCP header is cut short) are left set.
//
// p.Payload aliases data, except for an IPComp payload, which Decode
// inflates into a buffer of the Decoder: p.Payload then points into that
// buffer and is valid until the next Decode. Decode does not allocate on
// success (the first IPComp packet makes the flate reader and the buffer).
func (d *Decoder) Decode(data []byte, linkType uint16, p *Packet) error {
	if linkType == LinkEthernet && d.rec == nil {
		d.start(data, p, false)
		done, err := d.fastEthernet(data)
		if done {
			d.p, d.frame = nil, nil
			return err
		}
	}
	if linkType != d.lastLink || d.lastParser == nil {
		first, dir := linkFirst(linkType)
		d.lastLink, d.lastParser, d.lastDir = linkType, d.parsers[first], dir
	}
	parser := d.lastParser
	if parser == nil {
		*p = Packet{Frame: p.Frame, Time: p.Time, CapLen: p.CapLen, OrigLen: p.OrigLen, WScale: -1}
		return fmt.Errorf("%w %d", ErrUnsupportedLink, linkType)
	}
	d.start(data, p, d.lastDir)
	err := parser.DecodeLayers(data, &d.decoded)
	d.p, d.frame = nil, nil
	if err == nil {
		return nil
	}
	if d.inError && d.saved.valid {
		// The quoted packet of an ICMP error is cut or bogus: the frame
		// itself is a fine ICMP message.
		d.restoreOuter(p)
		return nil
	}
	if !errors.Is(err, ErrMalformed) {
		return fmt.Errorf("%w: %v", ErrMalformed, err) // not expected: all layers return ours
	}
	return err
}

// start resets *p and the per-frame state for decoding data; withDir
// says the link type has a direction byte first.
func (d *Decoder) start(data []byte, p *Packet, withDir bool) {
	*p = Packet{Frame: p.Frame, Time: p.Time, CapLen: p.CapLen, OrigLen: p.OrigLen, WScale: -1}
	d.p = p
	d.frame = data
	d.repEnd = max(p.OrigLen, len(data))
	d.inError = false
	d.inflated = false
	d.withDir = withDir
	d.saved.valid = false
}

// fastEthernet (not used by DecodeLayout) decodes the commonest frames, Ethernet then IPv4 or IPv6
// then TCP, UDP (without a tunnel inside) or ESP, with the same layers as
// the DecodingLayerParser and the same rules (decoding stops at the first
// layer with an empty payload or no next layer), but without its
// per-layer map lookups and interface calls. It returns false, having
// possibly written to the Packet, for any other frame: the caller then
// decodes the frame again from the start with the parser.
func (d *Decoder) fastEthernet(data []byte) (bool, error) {
	if len(data) < 14 {
		return false, nil
	}
	var ipBase *base
	switch binary.BigEndian.Uint16(data[12:14]) {
	case etherIPv4:
		if len(data) == 14 {
			return true, nil
		}
		if err := d.ip4.DecodeFromBytes(data[14:], nil); err != nil {
			return true, err
		}
		ipBase = &d.ip4.base
	case etherIPv6:
		if len(data) == 14 {
			return true, nil
		}
		if err := d.ip6.DecodeFromBytes(data[14:], nil); err != nil {
			return true, err
		}
		ipBase = &d.ip6.base
	default:
		return false, nil
	}
	pl := ipBase.payload
	if len(pl) == 0 {
		return true, nil
	}
	switch ipBase.next {
	case gopacket.LayerTypeZero:
		return true, nil
	case layerTypeTCP:
		return true, d.tcp.DecodeFromBytes(pl, nil)
	case layerTypeIPSecESP:
		return true, d.esp.DecodeFromBytes(pl, nil)
	case layerTypeUDP:
		err := d.udp.DecodeFromBytes(pl, nil)
		if err == nil && d.udp.next != gopacket.LayerTypeZero && len(d.udp.payload) > 0 {
			return false, nil // a tunnel over UDP
		}
		return true, err
	}
	return false, nil
}

// limit applies a length field found at b (such as PPPoE's payload
// length) that is shorter than the data: the data and the reported
// length of the frame end there, as in Wireshark.
func (d *Decoder) limit(b []byte, n int) []byte {
	if n < 0 || n >= len(b) && d.offset(b)+n >= d.repEnd {
		return b
	}
	d.repEnd = min(d.repEnd, d.offset(b)+n)
	return b[:min(n, len(b))]
}

// offset returns the offset of b (a subslice of the current frame) in the
// frame.
func (d *Decoder) offset(b []byte) int { return cap(d.frame) - cap(b) }

// clearTransport resets the fields a nested IP header replaces.
func (d *Decoder) clearTransport() {
	p := d.p
	p.Proto = 0
	p.Fragment, p.FragOffset = false, 0
	p.HasTransport = false
	p.SrcPort, p.DstPort = 0, 0
	p.Seq, p.Ack, p.Flags, p.Window, p.TCPHdrLen = 0, 0, 0, 0, 0
	p.WScale, p.MSS, p.SACKPermitted, p.SACKBlocks, p.OptionsTruncated = -1, 0, false, 0, false
	p.HasTS = false
	p.PayloadLen, p.Payload = 0, nil
}

func (d *Decoder) saveOuter() {
	p := d.p
	d.saved = errorOuter{valid: true, ipVersion: p.IPVersion, proto: p.Proto,
		src: p.Src, dst: p.Dst, fragment: p.Fragment, fragOff: p.FragOffset,
		ttl: p.TTL, ipid: p.IPID, df: p.DF}
}

func (d *Decoder) restoreOuter(p *Packet) {
	s := &d.saved
	frame, t, cl, ol := p.Frame, p.Time, p.CapLen, p.OrigLen
	*p = Packet{Frame: frame, Time: t, CapLen: cl, OrigLen: ol, WScale: -1}
	p.IPVersion, p.Proto = s.ipVersion, s.proto
	p.Src, p.Dst = s.src, s.dst
	p.Fragment, p.FragOffset = s.fragment, s.fragOff
	p.TTL, p.IPID, p.DF = s.ttl, s.ipid, s.df
}
